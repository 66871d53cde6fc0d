# mentorbot: `docker build -t mentorbot .` then see docs/deploy.md (compose.yaml runs it with
# PostgreSQL). Dependencies come from requirements.lock, exact versions; tests/deploy runs these
# same install steps in a fresh virtualenv so the lock and this file keep working.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/mentorbot/bin:$PATH

# A system user with no login shell and no home of its own runs the bot; never root.
RUN groupadd --system --gid 10001 mentorbot \
    && useradd --system --uid 10001 --gid mentorbot --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin mentorbot \
    && mkdir -p /data \
    && chown mentorbot:mentorbot /data \
    && chmod 0700 /data

WORKDIR /opt/mentorbot/src

# The dependencies first (a layer that changes only with the lock), exactly as locked...
COPY requirements.lock ./
RUN python -m venv /opt/mentorbot \
    && /opt/mentorbot/bin/pip install --no-deps -r requirements.lock

# ...then the project itself, without letting pip resolve anything beyond the lock.
COPY pyproject.toml README.md ./
COPY mentorbot ./mentorbot
COPY bot ./bot
COPY adapters ./adapters
COPY scheduling ./scheduling
COPY storage ./storage
RUN /opt/mentorbot/bin/pip install --no-deps . \
    && /opt/mentorbot/bin/pip check

# SQLite (when DATABASE_URL is not PostgreSQL) lives on the /data volume. Set ENCRYPTION_KEYS
# from your secret store (docs/deploy.md); the health endpoint listens inside the container
# on every interface, so the platform's health check and Prometheus can reach it.
ENV DATABASE_URL=sqlite:////data/mentorbot.db \
    HEALTH_HOST=0.0.0.0 \
    HEALTH_PORT=8080 \
    LOG_FORMAT=json
VOLUME ["/data"]
WORKDIR /data
USER mentorbot:mentorbot
EXPOSE 8080 3000

# `mentorbot health` asks GET /healthz and exits 1 on 503 (a platform down, delivery stalled,
# the database unreachable, an urgent alert stuck).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["mentorbot", "health", "--timeout", "8"]

# SIGTERM stops the bot cleanly within 10 s (docker's default grace period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["mentorbot"]
CMD ["run"]
