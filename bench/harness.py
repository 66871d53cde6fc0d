"""The one harness of the benchmarks: databases, programmes, fakes, bot processes and figures.

* Databases: a migrated temp SQLite file (`temp_database`), or any URL (`database`), with
  PostgreSQL ones dropped and created for a run (`recreate_database`; never a protected name).
* Programmes: N enrolled students with platform identities spread over time zones
  (`seed_students`), check-in schedules (`add_schedule`), an occurrence already opened and
  fanned out (`open_checkins`), or one due a minute ago for a bot's start-up catch-up to open
  (`prepare_programme`).
* Fakes: the loopback Slack and Discord of `mentorbot_fakes`, started on an exit stack.
* Bot processes: `mentorbot run` configured through the environment exactly as in production
  except that the platform URLs point at the fakes (`bot_environment`), in a subprocess of its
  own (`BotProcess`: start until ready, SIGINT, SIGKILL, restart, CPU) or in this process.
* Prompts and answers: which check-in prompts reached the fake (`PromptLedger`) and pressing
  their mood buttons with signed Slack requests (`AnswerBurst`).
* Figures: one JSON object as the last line of stdout (`emit`), percentiles, windows.

Everything here talks only to 127.0.0.1 (the fakes, the bot's ports, the database server) and
to temp files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import re
import resource
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import aiohttp
from sqlalchemy import create_engine, func, insert, text, update
from sqlalchemy import select as select_columns
from sqlalchemy.engine import Engine, make_url
from sqlmodel import col, select

from adapters.slack.render import BadButton, decode_action
from bot.config import CoreSettings
from bot.delivery import nonce_for
from bot.model import Message, Recipient
from bot.services.occurrences import checkin_dedupe_key, open_occurrences
from mentorbot_fakes.discord_api import FakeDiscord
from mentorbot_fakes.slack_api import FakeSlack, RecordedCall
from mentorbot_fakes.slack_signing import (
    TEAM_ID,
    block_actions_body,
    block_actions_payload,
    sign_request,
)
from storage import crypto
from storage.db import Database
from storage.migrate import upgrade
from storage.tables import (
    Checkin,
    CheckinSchedule,
    Group,
    GroupMember,
    Identity,
    MoodEntry,
    Outbox,
    Person,
)

REPO_ROOT = Path(__file__).resolve().parent.parent

# Thirty IANA zones from UTC-10 to UTC+13, a realistic spread for an international programme.
ZONES: tuple[str, ...] = (
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "Atlantic/Azores",
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Europe/Helsinki",
    "Europe/Istanbul",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Adelaide",
    "Australia/Sydney",
    "Pacific/Auckland",
)

SLACK_TEAM = TEAM_ID  # the fake's workspace
DISCORD_USER_BASE = 400_000_000_000_000_000  # students' Discord snowflakes start here
SIGNING_SECRET = "bench-signing-secret-0001"
PROMPT_KIND = "checkin"

# One encryption key per bench process; a bot subprocess is handed the same one.
BENCH_KEY = crypto.generate_key()

# The shared server of the machine; each benchmark uses a database of its own on it.
DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
# Other engineers' test runs drop the schema of `test`: never touch it (nor the maintenance db).
PROTECTED_DATABASES = frozenset({"test", "postgres", "template0", "template1"})

# Settings the parent's environment might carry that must not leak into the bot under test.
_SCRUBBED_PREFIXES = ("SLACK_", "DISCORD_", "OUTBOX_", "CATCHUP_")
_SCRUBBED_NAMES = frozenset({"DATABASE_URL", "ENCRYPTION_KEYS", "ENCRYPTION_KEY_FILE", "DEMO_SEED"})
# scheduling/scheduler.py logs this (WARNING) when its catch-up opened anything.
CATCHUP_LINE = re.compile(r"scheduler catch-up since .*?: (\d+) check-in\(s\) sent")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# How a bot process is started: as an operator would (`mentorbot run`, its logging and all),
# or the same runner with only errors logged (`serve_bot`), for the throughput benchmarks.
MENTORBOT_RUN: tuple[str, ...] = ("-m", "mentorbot.cli", "run")
QUIET_RUN: tuple[str, ...] = ("-m", "bench.harness", "--serve-bot")


# --------------------------------------------------------------------------- figures


def emit(result: dict[str, Any]) -> dict[str, Any]:
    """Print the benchmark's figures as ONE JSON line (the last line of stdout) and return them."""
    print(json.dumps(result, sort_keys=False), flush=True)
    return result


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def spread(values: Sequence[float]) -> dict[str, float]:
    """Best, median and worst of repeated timings (seconds), rounded."""
    return {
        "best": round(min(values), 4),
        "median": round(statistics.median(values), 4),
        "worst": round(max(values), 4),
    }


def busiest_window(times: Sequence[float], window: float) -> int:
    """The most events in any half-open interval of `window` seconds (any start, sliding)."""
    ordered = sorted(times)
    best = start = 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def delivery_figures(expected: Sequence[str], per_channel: Counter[str]) -> dict[str, int]:
    """Delivered, duplicates, missing and stray for `expected` channels, from counts per channel.

    Each expected channel should hold exactly one message: a second is a duplicate, none is
    missing; messages in channels nobody expected are `stray`.
    """
    wanted = set(expected)
    delivered = sum(1 for ch in wanted if per_channel.get(ch, 0) >= 1)
    duplicates = sum(max(0, per_channel.get(ch, 0) - 1) for ch in wanted)
    stray = sum(n for ch, n in per_channel.items() if ch not in wanted)
    return {
        "delivered": delivered,
        "duplicates": duplicates,
        "missing": len(wanted) - delivered,
        "stray": stray,
    }


# --------------------------------------------------------------------------- this process


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to the hard limit; returns the new soft limit.

    The all-at-once reference sender opens one connection per message, and the loopback fake
    holds the other end in the same process.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
    return soft


def utc_now() -> datetime:
    """The current time, UTC, aware."""
    return datetime.now(UTC)


def floor_minute(when: datetime) -> datetime:
    """`when` with seconds and microseconds dropped."""
    return when.replace(second=0, microsecond=0)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for(
    predicate: Callable[[], bool | Awaitable[bool]],
    *,
    timeout: float,  # noqa: ASYNC109
    interval: float = 0.02,
    tick: Callable[[], object] | None = None,
) -> bool:
    """Poll `predicate()` (sync or async) until true or `timeout`; `tick()` runs each round."""
    deadline = time.perf_counter() + timeout
    while True:
        if tick is not None:
            tick()
        result = predicate()
        if not isinstance(result, bool):
            result = await result
        if result:
            return True
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(interval)


# --------------------------------------------------------------------------- databases


@contextlib.contextmanager
def database(url: str, *, migrate: bool = True) -> Iterator[Database]:
    """The database at `url` (migrated to the latest revision first), disposed afterwards."""
    db = Database(url)
    try:
        if migrate:
            upgrade(db.engine)
        yield db
    finally:
        db.dispose()


@contextlib.contextmanager
def temp_database(keep: Path | None = None) -> Iterator[Database]:
    """A fresh, migrated SQLite database in a temp folder (or `keep`), disposed afterwards."""
    crypto.configure([BENCH_KEY])
    with tempfile.TemporaryDirectory(prefix="mentorbot-bench-") as folder:
        path = (keep or Path(folder)) / "bench.db"
        with database(f"sqlite:///{path}") as db:
            yield db


def is_postgres_url(url: str) -> bool:
    """True for a PostgreSQL URL."""
    return make_url(url).get_backend_name() == "postgresql"


def database_url_on(server_url: str, name: str) -> str:
    """The URL of database `name` on the server of `server_url` (same user, host, driver)."""
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def postgres_problem(url: str) -> str | None:
    """Why the PostgreSQL server of `url` can't be used (None when it answers)."""
    admin = make_url(url).set(database="postgres")
    try:
        engine = create_engine(admin, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as exc:
        return f"PostgreSQL unreachable at {admin.render_as_string()}: {exc}"
    return None


def _protected(url: str) -> str | None:
    name = make_url(url).database or ""
    if not name or name in PROTECTED_DATABASES:
        return f"refusing to drop or create the database {name!r}; name one of your own"
    return None


def database_problem(url: str) -> str | None:
    """Why a benchmark can't use `url` (a protected name, an unreachable server), or None."""
    if not is_postgres_url(url):
        return None
    return _protected(url) or postgres_problem(url)


def _admin_engine(url: str) -> Engine:
    problem = _protected(url)
    if problem is not None:
        raise ValueError(problem)
    admin = make_url(url).set(database="postgres")
    return create_engine(admin, isolation_level="AUTOCOMMIT")


def recreate_database(url: str) -> None:
    """Start from nothing: drop and create a PostgreSQL database, or delete a SQLite file."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                Path(parsed.database + suffix).unlink(missing_ok=True)
        return
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            # WITH (FORCE): a bot left over from an aborted run must not keep the name busy.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        engine.dispose()


def drop_database(url: str) -> None:
    """Drop a PostgreSQL database made by `recreate_database` (SQLite files go with their dir)."""
    if not is_postgres_url(url):
        return
    engine = _admin_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        engine.dispose()


def table_count(db: Database, table: type) -> int:
    """Rows in a table."""
    with db.session() as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def count_rows(database_url: str, table: type) -> int:
    """Rows of a table of the database at `database_url` (a bot process's)."""
    with database(database_url, migrate=False) as db:
        return table_count(db, table)


def outbox_counts(db: Database) -> dict[str, int]:
    """Outbox rows by status."""
    with db.session() as session:
        rows = session.execute(
            select_columns(col(Outbox.status), func.count()).group_by(col(Outbox.status))
        ).all()
    return {str(status): int(n) for status, n in rows}


def outbox_status(database_url: str, kind: str = PROMPT_KIND) -> dict[str, str]:
    """dedupe_key -> status of the outbox rows of one kind (payloads stay sealed, unread)."""
    with database(database_url, migrate=False) as db, db.session() as session:
        rows = session.execute(
            select_columns(col(Outbox.dedupe_key), col(Outbox.status)).where(
                col(Outbox.kind) == kind
            )
        ).all()
    return {key: status for key, status in rows}


async def outbox_drained(database_url: str) -> bool:
    """True once no check-in prompt is waiting or being sent (the bots finished their work)."""
    statuses = await asyncio.to_thread(outbox_status, database_url)
    return not any(s in ("pending", "sending") for s in statuses.values())


def stored_answers(database_url: str) -> set[int]:
    """Check-in ids that have a mood entry: the answers the database kept."""
    with database(database_url, migrate=False) as db, db.session() as session:
        ids = session.exec(
            select(MoodEntry.checkin_id).where(col(MoodEntry.checkin_id).is_not(None))
        ).all()
    return {int(i) for i in ids if i is not None}


@dataclass(frozen=True)
class QueuedPush:
    """One queued outbox prompt, as a reference sender (not the outbox) would send it."""

    recipient: Recipient
    message: Message
    dedupe_key: str


def queued_pushes(db: Database, platform: str) -> list[QueuedPush]:
    """The pending outbox rows of a platform, oldest first, as recipients and messages."""
    with db.session() as session:
        rows = session.exec(
            select(Outbox)
            .where(col(Outbox.platform) == platform, col(Outbox.status) == "pending")
            .order_by(col(Outbox.id))
        ).all()
        return [
            QueuedPush(
                Recipient(
                    platform=platform,
                    user_id=row.user_id,
                    channel_id=row.channel_id,
                    person_id=row.person_id,
                ),
                Message.from_json(row.payload),
                row.dedupe_key,
            )
            for row in rows
        ]


# --------------------------------------------------------------------------- programmes


def slack_user_id(index: int) -> str:
    """Student `index`'s Slack user id (U-prefixed, as Slack's are)."""
    return f"U{index:09d}"


def discord_user_id(index: int) -> str:
    """Student `index`'s Discord user id (a snowflake-sized number)."""
    return str(DISCORD_USER_BASE + index)


def user_id_for(platform: str, index: int) -> str:
    """Student `index`'s user id on `platform`."""
    return slack_user_id(index) if platform == "slack" else discord_user_id(index)


def student_email(index: int) -> str:
    """Student `index`'s roster email."""
    return f"student{index}@example.edu"


def seed_students(
    db: Database,
    count: int,
    *,
    platform: str,
    now: datetime,
    zones: Sequence[str] = ZONES,
    dm_channel_of: Callable[[int, str], str | None] | None = None,
    workspace: str = SLACK_TEAM,
    quiet_hours: tuple[str, str] = ("00:00", "00:00"),
) -> list[tuple[int, str]]:
    """Enrol `count` students with one identity each on `platform`, round-robin over `zones`.

    Quiet hours default to none (start == end) so every prompt is due at once. `dm_channel_of`
    (index, user id) -> DM channel id makes the DM channels known, as on a programme's second
    day. Returns (person id, platform user id) in index order.
    """
    if count == 0:
        return []
    with db.session() as session:
        session.execute(
            insert(Person),
            [
                {
                    "email": student_email(i),
                    "name": f"Student {i}",
                    "role": "student",
                    "timezone": zones[i % len(zones)],
                    "quiet_start": quiet_hours[0],
                    "quiet_end": quiet_hours[1],
                    "preferred_platform": platform,
                    "active": True,
                    "created_at": now - timedelta(days=30),
                }
                for i in range(count)
            ],
        )
        rows = session.execute(
            select_columns(col(Person.id), col(Person.email))
            .where(col(Person.email).like("student%@example.edu"))
            .order_by(col(Person.id))
        ).all()
        by_email = {email: pid for pid, email in rows}
        people = [(int(by_email[student_email(i)]), user_id_for(platform, i)) for i in range(count)]
        session.execute(
            insert(Identity),
            [
                {
                    "person_id": pid,
                    "platform": platform,
                    "workspace": workspace if platform == "slack" else "dm",
                    "user_id": uid,
                    "dm_channel_id": dm_channel_of(i, uid) if dm_channel_of else None,
                }
                for i, (pid, uid) in enumerate(people)
            ],
        )
    return people


def add_schedule(
    db: Database,
    *,
    local_time: str,
    created_at: datetime,
    timezone: str | None = None,
    name: str = "Daily check-in",
    target: str = "all",
    target_ref: str | None = None,
    questions: str = "mood,note,goal",
) -> int:
    """Add an every-day check-in schedule; returns its id."""
    with db.session() as session:
        schedule = CheckinSchedule(
            name=name,
            target=target,
            target_ref=target_ref,
            days="*",
            local_time=local_time,
            questions=questions,
            timezone=timezone,
            created_at=created_at,
        )
        session.add(schedule)
        session.flush()
        assert schedule.id is not None
        return schedule.id


def add_zone_groups(db: Database, zones: Sequence[str], now: datetime) -> dict[str, str]:
    """One group per zone holding every student of that zone; returns zone -> group name."""
    names = {zone_name: f"zone-{index:02d}" for index, zone_name in enumerate(zones)}
    with db.session() as session:
        session.execute(
            insert(Group), [{"name": name, "created_at": now} for name in names.values()]
        )
        group_ids = dict(session.execute(select_columns(col(Group.name), col(Group.id))).all())
        students = session.execute(
            select_columns(col(Person.id), col(Person.timezone)).where(
                col(Person.role) == "student"
            )
        ).all()
        members = [
            {"group_id": group_ids[names[tz]], "person_id": pid, "role": "member"}
            for pid, tz in students
            if tz in names
        ]
        if members:
            session.execute(insert(GroupMember), members)
    return names


def open_checkins(
    db: Database, students: int, platform: str
) -> tuple[list[tuple[int, str]], dict[int, int]]:
    """N students with an open check-in whose prompt was delivered (the fan-out is over).

    One occurrence opened by the core, its outbox rows marked sent, so a bot started on this
    database has nothing left to send. Returns the students (person id, user id) and
    person id -> check-in id.
    """
    settings = CoreSettings()
    now = utc_now()
    due = floor_minute(now)
    people = seed_students(db, students, platform=platform, now=now)
    add_schedule(db, local_time=f"{due:%H:%M}", timezone="UTC", created_at=now - timedelta(days=1))
    open_occurrences(db, settings, now - timedelta(minutes=5), now)
    with db.session() as session:
        checkin_of = {
            int(pid): int(cid)
            for cid, pid in session.execute(select_columns(col(Checkin.id), col(Checkin.person_id)))
        }
        session.execute(update(Outbox).values(status="sent", sent_at=now))
    return people, checkin_of


@dataclass(frozen=True)
class Student:
    """One benchmark student: roster row, Slack user and the key of today's prompt."""

    index: int
    person_id: int
    user_id: str
    email: str
    dedupe_key: str


@dataclass(frozen=True)
class Programme:
    """What `prepare_programme` wrote, and how to recognise each student's prompt."""

    schedule_id: int
    local_date: date
    students: tuple[Student, ...]

    def by_nonce(self) -> dict[str, Student]:
        """Prompts carry `nonce_for(dedupe_key)` in their Slack metadata: nonce -> student."""
        return {nonce_for(s.dedupe_key): s for s in self.students}


def prepare_programme(
    database_url: str,
    students: int,
    fake: FakeSlack,
    *,
    now: datetime | None = None,
    known_dm_every: int = 2,
) -> Programme:
    """Migrate, enrol `students` Slack students and add a daily schedule due a minute ago.

    The schedule's time is the minute before `now` (UTC), so the bot's start-up catch-up (first
    run: it looks back one grace window) opens exactly this occurrence, whatever the clock says.
    No quiet hours (start == end), so nothing is deferred. Every `known_dm_every`-th student's
    DM channel is already on their identity; the others are reached by user id, so the fake
    opens the DM and the bot has to remember its channel.
    """
    now = now or utc_now()
    due = floor_minute(now) - timedelta(minutes=1)

    def known_dm(index: int, user_id: str) -> str | None:
        known = known_dm_every > 0 and index % known_dm_every == 0
        return fake.dm_channel_id(user_id) if known else None

    with database(database_url) as db:
        people = seed_students(
            db, students, platform="slack", now=now, zones=("UTC",), dm_channel_of=known_dm
        )
        schedule_id = add_schedule(
            db,
            name="Bench daily",
            local_time=f"{due:%H:%M}",
            timezone="UTC",
            created_at=now - timedelta(days=1),
        )
    for index, (_pid, user_id) in enumerate(people):
        fake.add_user(user_id, email=student_email(index), tz="UTC")
    local_date = due.date()
    return Programme(
        schedule_id=schedule_id,
        local_date=local_date,
        students=tuple(
            Student(
                index=i,
                person_id=pid,
                user_id=uid,
                email=student_email(i),
                dedupe_key=checkin_dedupe_key(schedule_id, pid, local_date),
            )
            for i, (pid, uid) in enumerate(people)
        ),
    )


# --------------------------------------------------------------------------- fakes


async def start_fake_slack(stack: contextlib.AsyncExitStack, **options: Any) -> FakeSlack:
    """A started `FakeSlack(**options)`, stopped when `stack` closes."""
    fake = FakeSlack(**options)
    await fake.start()
    stack.push_async_callback(fake.stop)
    return fake


async def start_fake_discord(stack: contextlib.AsyncExitStack, *, latency: float) -> FakeDiscord:
    """A started `FakeDiscord` adding `latency` to every request, stopped when `stack` closes."""
    fake = FakeDiscord(heartbeat_interval_ms=5000)
    await fake.start()
    stack.push_async_callback(fake.stop)
    fake.latency = latency
    return fake


class BenchSlack(FakeSlack):
    """The loopback Slack, also accepting `extra_tokens` as bot tokens.

    One workspace, one app, but each bot process may get a token of its own, so the recorded
    calls (`RecordedCall.token`) tell which process sent what.
    """

    def __init__(self, extra_tokens: Sequence[str] = ()) -> None:
        super().__init__()
        self.extra_tokens = frozenset(extra_tokens)

    def _check_auth(self, method: str, token: str | None) -> None:
        if token in self.extra_tokens and method != "apps.connections.open":
            return
        super()._check_auth(method, token)


# --------------------------------------------------------------------------- the bot


def platform_environment(fake: FakeSlack | FakeDiscord) -> dict[str, str]:
    """The settings that point a bot's platform at a fake (Slack in HTTP mode)."""
    if isinstance(fake, FakeSlack):
        return {
            "SLACK_BOT_TOKEN": fake.token,
            "SLACK_MODE": "http",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_HTTP_HOST": "127.0.0.1",
            "SLACK_API_URL": fake.base_url,
        }
    return {
        "DISCORD_BOT_TOKEN": fake.token,
        "DISCORD_API_URL": fake.api_base,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
        "DISCORD_APPLICATION_ID": fake.application_id,
    }


def bot_environment(
    *,
    database_url: str,
    fake: FakeSlack | FakeDiscord,
    encryption_key: str = BENCH_KEY,
    settings: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The production settings (see .env.example) of a bot talking to `fake`, no demo seed.

    Inherited settings are scrubbed so a developer's shell can't point the bot elsewhere;
    `settings` (OUTBOX_LEASE_SECONDS, SLACK_HTTP_WORKERS, ...) come last. The key must be the
    one this process configured (`crypto.configure`) if both read what the other sealed.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_SCRUBBED_PREFIXES) and k not in _SCRUBBED_NAMES
    }
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")])),
        PYTHONUNBUFFERED="1",
        DATABASE_URL=database_url,
        DEMO_SEED="false",
        ENCRYPTION_KEYS=encryption_key,
        # Bots run side by side here (cluster): no shared default health port.
        HEALTH_PORT="0",
    )
    env.update(platform_environment(fake))
    env.update(settings or {})
    return env


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for a block, restoring the old values afterwards."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def serve_bot() -> None:
    """`mentorbot run` from the environment until SIGINT, logging errors only (`QUIET_RUN`)."""
    from mentorbot.runner import run
    from mentorbot.settings import Settings

    logging.basicConfig(level=logging.ERROR)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(Settings(env_file=None)))


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class BotStartError(RuntimeError):
    """The bot did not come up (its log's tail is in the message)."""


class BotProcess:
    """One `mentorbot run` on a fixed Slack HTTP port: start, stop, SIGKILL, start again.

    In a subprocess of its own, started with `command` (`MENTORBOT_RUN` or `QUIET_RUN`) in
    `workdir` (not the repo: a developer's .env there must not configure the bot under test),
    its output in `workdir/NAME-K.log` for incarnation K when `log_output`, else on this
    process's stdout. `in_process` runs the runner as a task of this event loop instead.
    """

    def __init__(
        self,
        name: str,
        env: Mapping[str, str],
        workdir: Path,
        *,
        command: Sequence[str] = MENTORBOT_RUN,
        log_output: bool = True,
        port: int | None = None,
        in_process: bool = False,
    ) -> None:
        self.name = name
        self.port = port or free_port()
        self.env = {**env, "SLACK_HTTP_PORT": str(self.port)}
        self.workdir = workdir
        self.command = tuple(command)
        self.log_output = log_output
        self.in_process = in_process
        self.process: asyncio.subprocess.Process | None = None
        self.task: asyncio.Task[int] | None = None
        self.starts = 0
        self.kills = 0
        self.start_seconds: list[float] = []
        self._log: IO[bytes] | None = None
        self._env_cm: contextlib.AbstractContextManager[None] | None = None

    @property
    def events_url(self) -> str:
        """Where Slack would POST events and interactivity."""
        return f"http://127.0.0.1:{self.port}/slack/events"

    @property
    def running(self) -> bool:
        """True while the current incarnation lives."""
        if self.task is not None:
            return not self.task.done()
        return self.process is not None and self.process.returncode is None

    @property
    def log_path(self) -> Path:
        """The log of the current (or last) incarnation."""
        return self.workdir / f"{self.name}-{self.starts}.log"

    async def healthy(self) -> bool:
        """True when the bot's `GET /healthz` answers 200."""
        with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
            async with (
                aiohttp.ClientSession() as http,
                http.get(
                    f"http://127.0.0.1:{self.port}/healthz", timeout=aiohttp.ClientTimeout(total=1)
                ) as response,
            ):
                return response.status == 200
        return False

    async def start(
        self,
        timeout: float = 60.0,  # noqa: ASYNC109
        *,
        ready: Callable[[], Awaitable[bool]] | None = None,
        interval: float = 0.05,
    ) -> float:
        """Start an incarnation and wait until `ready()` (default: /healthz answers).

        Returns the seconds it took; raises `BotStartError` when the bot exits first or is
        not ready within `timeout` (it is killed then).
        """
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.starts += 1
        started = time.perf_counter()
        if self.in_process:
            from mentorbot.runner import run
            from mentorbot.settings import Settings

            self._env_cm = environment(self.env)
            self._env_cm.__enter__()
            self.task = asyncio.create_task(run(Settings(env_file=None)))
        else:
            self._close_log()
            if self.log_output:
                self._log = self.log_path.open("wb")
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                *self.command,
                cwd=self.workdir,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=self._log,
                stderr=asyncio.subprocess.STDOUT if self._log is not None else None,
            )
        check = ready or self.healthy
        deadline = started + timeout
        while not await check():
            if not self.running:
                if self.task is not None:
                    self.task.result()  # the runner's own exception, if it raised one
                raise BotStartError(f"{self.name} exited at start:\n{self.log_tail()}")
            if time.perf_counter() > deadline:
                await self.kill()
                raise BotStartError(f"{self.name}: not ready in {timeout}s\n{self.log_tail()}")
            await asyncio.sleep(interval)
        seconds = time.perf_counter() - started
        self.start_seconds.append(seconds)
        return seconds

    async def stop(self) -> None:
        """Stop the bot as Ctrl-C would (SIGINT; SIGKILL after 20 s)."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
            self.task = None
            if self._env_cm is not None:
                self._env_cm.__exit__(None, None, None)
                self._env_cm = None
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()
        self._close_log()

    async def kill(self) -> None:
        """SIGKILL the incarnation (by its own pid) and reap it; nothing runs on the way out."""
        if self.in_process:
            await self.stop()
            return
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        await process.wait()
        self.kills += 1
        self._close_log()

    async def restart(self, timeout: float = 60.0) -> float:  # noqa: ASYNC109
        """Kill (if running) and start again on the same port."""
        await self.kill()
        return await self.start(timeout)

    def pids(self) -> list[int]:
        """The bot's process and its children (SLACK_HTTP_WORKERS); none in-process."""
        if self.process is None:
            return []
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        extra = [int(c) for c in children.read_text().split()] if children.exists() else []
        return [pid, *extra]

    def cpu_seconds(self) -> float | None:
        """User + system CPU of the bot and its worker processes so far (None in-process)."""
        if self.process is None:
            return None
        return sum(process_cpu_seconds(pid) for pid in self.pids())

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the bot logged."""
        if not self.log_output:
            return "(logged to the bench's output)"
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _logged_lines(self) -> Iterator[str]:
        for path in self.workdir.glob(f"{self.name}-*.log"):
            yield from path.read_text(errors="replace").splitlines()

    def catchup_opened(self) -> int:
        """Check-ins this bot's start-up catch-ups opened, from their warning lines."""
        return sum(
            int(match.group(1))
            for line in self._logged_lines()
            for match in CATCHUP_LINE.finditer(line)
        )

    def error_lines(self) -> int:
        """How many ERROR or Traceback lines this bot logged over all its incarnations."""
        return sum(
            1 for line in self._logged_lines() if " ERROR " in line or line.startswith("Traceback")
        )

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


# --------------------------------------------------------------------------- prompts


@dataclass(frozen=True)
class Prompt:
    """One check-in prompt the fake accepted (chat.postMessage answered ok)."""

    student: Student
    channel: str
    ts: str
    blocks: list[Any]
    at: float
    token: str | None  # which bot process sent it (each gets a token of its own)


@dataclass
class PromptLedger:
    """Reads the fake's recorded calls incrementally and files prompts by student."""

    fake: FakeSlack
    programme: Programme
    posts: dict[int, list[Prompt]] = field(default_factory=dict)
    _nonces: dict[str, Student] = field(default_factory=dict)
    _seen: int = 0

    def __post_init__(self) -> None:
        self._nonces = self.programme.by_nonce()

    def scan(self) -> list[Prompt]:
        """File the calls recorded since the last scan; returns each student's *first* prompt."""
        calls = self.fake.calls
        new_firsts: list[Prompt] = []
        while self._seen < len(calls):
            call = calls[self._seen]
            self._seen += 1
            prompt = self._prompt_of(call)
            if prompt is None:
                continue
            mine = self.posts.setdefault(prompt.student.index, [])
            mine.append(prompt)
            if len(mine) == 1:
                new_firsts.append(prompt)
        return new_firsts

    def _prompt_of(self, call: RecordedCall) -> Prompt | None:
        if call.method != "chat.postMessage" or not call.ok:
            return None
        metadata = call.json_params.get("metadata")
        if not isinstance(metadata, dict):
            return None
        payload = metadata.get("event_payload")
        nonce = payload.get("nonce") if isinstance(payload, dict) else None
        student = self._nonces.get(str(nonce))
        if student is None:
            return None
        blocks = call.json_params.get("blocks")
        return Prompt(
            student=student,
            channel=str(call.response.get("channel") or ""),
            ts=str(call.response.get("ts") or ""),
            blocks=blocks if isinstance(blocks, list) else [],
            at=call.at,
            token=call.token,
        )

    @property
    def delivered(self) -> int:
        """Students with at least one prompt."""
        return sum(1 for p in self.posts.values() if p)

    def by_token(self) -> dict[str, int]:
        """Prompts per sending token (per bot process)."""
        return dict(Counter(p.token or "" for posts in self.posts.values() for p in posts))

    def counts(self) -> Counter[int]:
        """Prompts per student index."""
        return Counter({i: len(p) for i, p in self.posts.items()})

    def last_post_at(self, dedupe_key: str) -> float:
        """When the fake accepted the latest prompt of a key (its `time.monotonic()`)."""
        for student in self.programme.students:
            if student.dedupe_key == dedupe_key and self.posts.get(student.index):
                return self.posts[student.index][-1].at
        return time.monotonic()

    def posts_of_key(self) -> dict[str, int]:
        """Prompts so far per dedupe key."""
        return {self.programme.students[i].dedupe_key: len(p) for i, p in self.posts.items() if p}


def summarise_prompts(ledger: PromptLedger, students: int) -> dict[str, int]:
    """Figures: missing (no prompt), duplicates (extra prompts), delivered (all prompts)."""
    counts = ledger.counts()
    return {
        "missing": students - sum(1 for i in range(students) if counts.get(i, 0) > 0),
        "duplicates": sum(max(0, c - 1) for c in counts.values()),
        "delivered": sum(counts.values()),
    }


# --------------------------------------------------------------------------- answers


def mood_button(blocks: Sequence[Any], score: int) -> tuple[str, str, int] | None:
    """(action_id, value, check-in id) of the prompt's button for `score`, if it has one."""
    for block in blocks:
        if not isinstance(block, dict):
            continue
        for element in block.get("elements") or ():
            if not isinstance(element, dict) or element.get("type") != "button":
                continue
            action_id, value = str(element.get("action_id", "")), str(element.get("value", ""))
            try:
                pressed = decode_action(action_id, value)
            except BadButton:
                continue
            if pressed.action == "checkin.mood" and pressed.args.get("score") == str(score):
                return action_id, value, int(pressed.args["checkin"])
    return None


@dataclass
class Answer:
    """One student's answer: what the bench pressed and what the bot said to it."""

    student: Student
    checkin_id: int
    attempts: int = 0
    acked_at: float | None = None  # perf_counter of the first HTTP 200
    ack_seconds: float | None = None  # how long the acknowledged request took
    statuses: Counter[str] = field(default_factory=Counter)


class AnswerBurst:
    """Presses one mood button per prompt, signed like Slack, a bounded number at a time.

    An answer counts as acknowledged only on HTTP 200. A refused connection (the bot is down)
    or a dropped one (killed mid-request) is pressed again, as a student would, until
    `deadline`; the press is idempotent in the core (it updates the same mood entry).
    """

    def __init__(
        self,
        fake: FakeSlack,
        bots: Sequence[BotProcess],
        *,
        concurrency: int = 8,
        deadline: float,
        rng: random.Random,
        retry_seconds: float = 0.1,
        max_retry_seconds: float = 1.0,
    ) -> None:
        self.fake = fake
        self.bots = list(bots)
        self.deadline = deadline
        self.rng = rng
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.answers: dict[int, Answer] = {}
        self._semaphore = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AnswerBurst:
        # force_close: a kept-alive connection to a killed incarnation would only fail later.
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    @property
    def acked(self) -> int:
        """Students whose answer was acknowledged with HTTP 200."""
        return sum(1 for a in self.answers.values() if a.acked_at is not None)

    def answer(self, prompt: Prompt) -> None:
        """Start answering a prompt in the background (scores 3-5: no alerts to fan out)."""
        score = self.rng.choice((3, 4, 5))
        button = mood_button(prompt.blocks, score)
        if button is None:
            return
        action_id, value, checkin_id = button
        answer = Answer(student=prompt.student, checkin_id=checkin_id)
        self.answers[prompt.student.index] = answer
        task = asyncio.create_task(self._press(answer, prompt, action_id, value))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _press(self, answer: Answer, prompt: Prompt, action_id: str, value: str) -> None:
        assert self._http is not None
        user = prompt.student.user_id
        pause = self.retry_seconds
        while time.perf_counter() < self.deadline:
            payload = block_actions_payload(
                action_id,
                value,
                user_id=user,
                channel_id=prompt.channel,
                message_ts=prompt.ts,
                # Loopback: nothing may try hooks.slack.com.
                response_url=self.fake.response_url(f"answer-{user}-{answer.attempts}"),
            )
            body = block_actions_body(payload)
            headers = {
                **sign_request(body, SIGNING_SECRET),
                "Content-Type": "application/x-www-form-urlencoded",
            }
            # Any living process will do (cluster runs several); Slack has one URL per app.
            bot = self.rng.choice([b for b in self.bots if b.running] or self.bots)
            answer.attempts += 1
            async with self._semaphore:
                sent = time.perf_counter()
                try:
                    async with self._http.post(
                        bot.events_url,
                        data=body.encode(),
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=10),
                    ) as response:
                        await response.read()
                        status = str(response.status)
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    status = type(exc).__name__
            answer.statuses[status] += 1
            if status == "200":
                answer.acked_at = time.perf_counter()
                answer.ack_seconds = answer.acked_at - sent
                return
            # Backing off: a bot that is down (between kill and restart) refuses at once.
            await asyncio.sleep(pause)
            pause = min(self.max_retry_seconds, pause * 2)

    async def wait(self) -> None:
        """Wait for every press in flight (each stops by itself at the deadline)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


# --------------------------------------------------------------------------- running one


def run_with_workdir(
    name: str,
    run: Callable[[Path], Coroutine[Any, Any, dict[str, Any]]],
    *,
    database_url: str | None = None,
    problem: str | None = None,
) -> dict[str, Any]:
    """Run a bot-process benchmark in a temp folder; prints its JSON last (exit 1 on a problem).

    `problem`, or one of `database_url` (a protected name, an unreachable server), ends the
    run before it starts, with the JSON carrying an "error".
    """
    if problem is None and database_url is not None:
        problem = database_problem(database_url)
    if problem is not None:
        emit({"benchmark": name, "error": problem})
        raise SystemExit(1)
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
        result = asyncio.run(run(Path(folder)))
    return emit(result)


if __name__ == "__main__":
    if sys.argv[1:] != ["--serve-bot"]:
        raise SystemExit("usage: python -m bench.harness --serve-bot  (a bot of QUIET_RUN)")
    serve_bot()
