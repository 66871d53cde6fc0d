"""The health endpoint of `mentorbot run`, in every mode, on HEALTH_HOST:HEALTH_PORT.

`GET /healthz` answers JSON: the database, each platform connection, the delivery loop's
lag and any stuck urgent alert; HTTP 200 when all is well, 503 when anything is not (a
container's HEALTHCHECK, a load balancer or a monitor acts on the status alone). `GET
/metrics` serves the Prometheus metrics (mentorbot/metrics.py) from the same server.

The report carries ids, counts and ages only: no names, no message text, no error text
(a driver's error can quote the DATABASE_URL with its password).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from aiohttp import web
from sqlalchemy import func, text
from sqlmodel import Session, col, select

from bot.clock import Clock, as_utc
from storage.db import Database
from storage.enums import AlertSeverity, AlertStatus, OutboxStatus
from storage.tables import Alert, Outbox

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
DATABASE_TIMEOUT_SECONDS = 5.0

# A platform's connection check: True when connected (Socket Mode, gateway, HTTP server up).
PlatformCheck = Callable[[], Awaitable[bool]]
# Stuck urgent alerts in a session at `now`. The composition root binds the real watchdog.
StuckAlerts = Callable[[Session, datetime], Sequence[Any]]


class Heartbeat(Protocol):
    """What the health check reads from the delivery loop (bot.delivery.OutboxDelivery)."""

    heartbeat: float


def oldest_pending_urgent_alert_age(session: Session, now: datetime) -> float:
    """Seconds the oldest open, undelivered urgent alert has waited (0 when none)."""
    oldest = session.exec(
        select(func.min(Alert.created_at)).where(
            Alert.severity == AlertSeverity.URGENT,
            Alert.status == AlertStatus.OPEN,
            col(Alert.delivered_at).is_(None),
        )
    ).one()
    return max(0.0, (now - as_utc(oldest)).total_seconds()) if oldest else 0.0


def oldest_due_age(session: Session, now: datetime) -> float:
    """Seconds the oldest due, unsent outbox row has waited past its due time (0 when none)."""
    oldest = session.exec(
        select(func.min(Outbox.next_attempt_at)).where(
            Outbox.status == OutboxStatus.PENDING, col(Outbox.next_attempt_at) <= now
        )
    ).one()
    return max(0.0, (now - as_utc(oldest)).total_seconds()) if oldest else 0.0


def outbox_depth(session: Session) -> dict[tuple[str, str], int]:
    """Rows not (yet) sent, by platform and status: pending, sending, failed."""
    rows = session.exec(
        select(Outbox.platform, Outbox.status, func.count())
        .where(
            col(Outbox.status).in_(
                (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED)
            )
        )
        .group_by(Outbox.platform, Outbox.status)
    ).all()
    return {(str(platform), str(status)): int(n) for platform, status, n in rows}


@dataclass
class HealthReport:
    """What `/healthz` answers."""

    ok: bool
    # False until start-up has finished (every configured platform registered its check).
    started: bool = True
    database: dict[str, Any] = field(default_factory=dict)
    platforms: dict[str, dict[str, Any]] = field(default_factory=dict)
    delivery: dict[str, Any] = field(default_factory=dict)
    stuck_urgent_alerts: dict[str, Any] = field(default_factory=dict)

    def failing(self) -> list[str]:
        """The names of the checks that failed."""
        named = {
            "database": self.database,
            "delivery": self.delivery,
            "stuck_urgent_alerts": self.stuck_urgent_alerts,
            **{f"platform {name}": part for name, part in self.platforms.items()},
        }
        failed = [name for name, part in named.items() if part and not part.get("ok", False)]
        return failed if self.started else ["starting", *failed]

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return asdict(self)


class HealthMonitor:
    """Gathers the health report; every check is bounded in time and never raises."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        delivery: Heartbeat | None = None,
        platforms: dict[str, PlatformCheck] | None = None,
        stuck_alerts: StuckAlerts,
        max_delivery_lag: float = 120.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.clock = clock
        self.delivery = delivery
        self.platforms: dict[str, PlatformCheck] = dict(platforms or {})
        self.stuck_alerts = stuck_alerts
        self.max_delivery_lag = max_delivery_lag
        self.monotonic = monotonic
        # Set by `mentorbot run` once every platform has started: until then a platform
        # not yet registered must not make the bot look healthy.
        self.started = False

    def add_platform(self, name: str, check: PlatformCheck) -> None:
        """Report this platform's connection (registered by the platform's starter)."""
        self.platforms[name] = check

    def _database_facts(self) -> tuple[float, list[Any]]:
        """In a worker thread: ping, the oldest due row's wait, the stuck urgent alerts."""
        now = self.clock.now()
        with self.db.session() as session:
            session.execute(text("SELECT 1"))
            due = oldest_due_age(session, now)
            stuck = list(self.stuck_alerts(session, now))
        return due, stuck

    async def report(self) -> HealthReport:
        """Check everything now."""
        report = HealthReport(ok=True, started=self.started)
        started = self.monotonic()
        due_age: float | None = None
        stuck: list[Any] | None = None
        try:
            due_age, stuck = await asyncio.wait_for(
                asyncio.to_thread(self._database_facts), DATABASE_TIMEOUT_SECONDS
            )
            report.database = {
                "ok": True,
                "backend": "postgresql" if self.db.is_postgres else "sqlite",
                "seconds": round(self.monotonic() - started, 4),
            }
        except Exception as exc:
            # The type only: a driver's message may quote the URL and its password.
            log.warning("health: the database check failed (%s)", type(exc).__name__)
            report.database = {"ok": False, "error": type(exc).__name__}
        for name, check in sorted(self.platforms.items()):
            try:
                connected = bool(await asyncio.wait_for(check(), DATABASE_TIMEOUT_SECONDS))
            except Exception as exc:
                report.platforms[name] = {"ok": False, "error": type(exc).__name__}
            else:
                report.platforms[name] = {"ok": connected, "connected": connected}
        if self.delivery is not None:
            lag = max(0.0, self.monotonic() - self.delivery.heartbeat)
            report.delivery = {
                "ok": lag <= self.max_delivery_lag,
                "loop_lag_seconds": round(lag, 3),
                "max_lag_seconds": self.max_delivery_lag,
            }
            if due_age is not None:
                report.delivery["oldest_due_seconds"] = round(due_age, 3)
        if stuck is not None:
            report.stuck_urgent_alerts = {
                "ok": not stuck,
                "count": len(stuck),
                "alert_ids": [_alert_id(item) for item in stuck][:20],
            }
        else:
            report.stuck_urgent_alerts = {"ok": False, "error": "database unavailable"}
        parts = [report.database, *report.platforms.values(), report.stuck_urgent_alerts]
        if report.delivery:
            parts.append(report.delivery)
        report.ok = self.started and all(part.get("ok", False) for part in parts)
        if not report.ok:
            log.warning("health: unhealthy (%s)", ", ".join(report.failing()))
        return report


def _alert_id(item: Any) -> int | None:
    """The alert id of a stuck-alert record, whichever shape the watchdog gives it."""
    for name in ("alert_id", "id"):
        value = getattr(item, name, None)
        if isinstance(value, int):
            return value
    alert = getattr(item, "alert", None)
    value = getattr(alert, "id", None)
    return value if isinstance(value, int) else None


class HealthPortError(Exception):
    """HEALTH_HOST:HEALTH_PORT can't be listened on; the message says what to change."""


# Renders the metrics (text, content type); called in a worker thread (it queries).
MetricsRenderer = Callable[[], tuple[bytes, str]]


class HealthServer:
    """aiohttp on HEALTH_HOST:HEALTH_PORT: `/healthz`, and `/metrics` when given a renderer."""

    def __init__(
        self,
        monitor: HealthMonitor,
        host: str,
        port: int,
        *,
        metrics: MetricsRenderer | None = None,
    ) -> None:
        self.monitor = monitor
        self.host = host
        self.port = port
        self.metrics = metrics
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen (port 0: any free port, then `self.port` says which)."""
        app = web.Application()
        app.router.add_get(HEALTH_PATH, self._health)
        if self.metrics is not None:
            app.router.add_get(METRICS_PATH, self._metrics)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise HealthPortError(
                f"The health endpoint can't listen on {self.host}:{self.port} ({exc.strerror}). "
                "Another mentorbot on this host? Give each its own HEALTH_PORT, or 0 for none."
            ) from exc
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("health endpoint on http://%s:%s%s", self.host, self.port, HEALTH_PATH)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, request: web.Request) -> web.StreamResponse:
        report = await self.monitor.report()
        return web.json_response(report.to_json(), status=200 if report.ok else 503)

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        assert self.metrics is not None
        body, content_type = await asyncio.to_thread(self.metrics)
        response = web.Response(body=body)
        # prometheus-client's type carries parameters aiohttp's content_type= refuses.
        response.headers["Content-Type"] = content_type
        return response
