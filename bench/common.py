"""Shared set-up for the benchmarks: database, students, schedules, figures.

A migrated temp SQLite database, N enrolled students with platform identities spread over time
zones, a check-in schedule, and the JSON convention (`emit`).

Everything here talks only to 127.0.0.1 (the fakes in mentorbot_fakes) and to temp files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import statistics
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert
from sqlalchemy import select as select_columns
from sqlmodel import col, select

from bot.config import CoreSettings
from bot.model import Message, Recipient
from storage import crypto
from storage.db import Database
from storage.migrate import upgrade
from storage.tables import CheckinSchedule, Group, GroupMember, Identity, Outbox, Person

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

SLACK_TEAM = "T0MENTOR01"  # the fake's team id (mentorbot_fakes/slack_signing.py)
DISCORD_USER_BASE = 400_000_000_000_000_000  # students' Discord snowflakes start here


def emit(result: dict[str, Any]) -> dict[str, Any]:
    """Print the benchmark's figures as ONE JSON line (the last line of stdout) and return them."""
    print(json.dumps(result, sort_keys=False), flush=True)
    return result


def slack_user_id(index: int) -> str:
    """Student `index`'s Slack user id (U-prefixed, as Slack's are)."""
    return f"U{index:09d}"


def discord_user_id(index: int) -> str:
    """Student `index`'s Discord user id (a snowflake-sized number)."""
    return str(DISCORD_USER_BASE + index)


def user_id_for(platform: str, index: int) -> str:
    """Student `index`'s user id on `platform`."""
    return slack_user_id(index) if platform == "slack" else discord_user_id(index)


def floor_minute(when: datetime) -> datetime:
    """`when` with seconds and microseconds dropped."""
    return when.replace(second=0, microsecond=0)


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


# --------------------------------------------------------------------------- database


# One encryption key per bench process; a bot subprocess is handed the same one.
BENCH_KEY = crypto.generate_key()


@contextlib.contextmanager
def temp_database(keep: Path | None = None) -> Iterator[Database]:
    """A fresh, migrated SQLite database in a temp folder (or `keep`), disposed afterwards."""
    crypto.configure([BENCH_KEY])
    with tempfile.TemporaryDirectory(prefix="mentorbot-bench-") as folder:
        path = (keep or Path(folder)) / "bench.db"
        db = Database(f"sqlite:///{path}")
        upgrade(db.engine)
        try:
            yield db
        finally:
            db.dispose()


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
                    "email": f"student{i}@example.edu",
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
        people = [
            (int(by_email[f"student{i}@example.edu"]), user_id_for(platform, i))
            for i in range(count)
        ]
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


def outbox_counts(db: Database) -> dict[str, int]:
    """Outbox rows by status."""
    with db.session() as session:
        rows = session.execute(
            select_columns(col(Outbox.status), func.count()).group_by(col(Outbox.status))
        ).all()
    return {str(status): int(n) for status, n in rows}


def table_count(db: Database, table: type) -> int:
    """Rows in a table."""
    with db.session() as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


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


def core_settings() -> CoreSettings:
    """The core's default settings (what a programme gets without a .env)."""
    return CoreSettings()


def utc_now() -> datetime:
    """The current time, UTC, aware."""
    return datetime.now(UTC)


async def wait_until(
    predicate: Callable[[], bool], *, within: float, interval: float = 0.05
) -> bool:
    """Poll `predicate` until it holds or `within` seconds pass; returns whether it held."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(interval)
    return True
