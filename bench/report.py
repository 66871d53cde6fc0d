"""Benchmark: the weekly digest and the HTML report over a term of data.

    python -m bench report --students 10000 [--database-url URL] [--weeks 12]

Seeds a term (bulk inserts) for N students: about 60 check-ins each (5 a week for 12
weeks: 70 % answered, 10 % skipped, 20 % missed), 10 mood logs each, 0.2 alerts per
student (most acknowledged, some resolved with an outcome), mentors of 30 students and
groups of 50. Then times, on SQLite and (with `--database-url` or
MENTORBOT_TEST_DATABASE_URL) PostgreSQL:

* `digest_staff_seconds`: the staff digest (all students, each group's mood, 4 charts);
* `digest_tick_seconds`: one tick of the digest job (staff + the first mentors' digests);
* `html_seconds`: `mentorbot report --format html` for the whole term;
* `peak_mib`: tracemalloc's peak over each step, in a second pass (Python allocations: flat
  when streamed, growing with N when rows are loaded whole). Tracing slows chart drawing
  about 1.7 times, so the times come from a first pass with tracing off.

Every step rolls its session back, so the second pass sees the same data as the first.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bench.harness import (
    BENCH_KEY,
    database,
    database_url_on,
    drop_database,
    emit,
    is_postgres_url,
    recreate_database,
    temp_database,
)
from bot.config import CoreSettings
from bot.services.reporting.digest import send_weekly_digests
from bot.services.reporting.figures import ReportBuilder
from bot.services.reporting.html import render_html
from bot.services.reporting.suppression import Scope
from storage import crypto
from storage.db import Database
from storage.enums import AlertKind, AlertStatus, CheckinStatus
from storage.tables import (
    Alert,
    Checkin,
    Group,
    GroupMember,
    MentorAssignment,
    MoodEntry,
    Person,
)

BENCHMARK = True
PG_ENV = "MENTORBOT_TEST_DATABASE_URL"
CHUNK = 20_000
KINDS = (AlertKind.LOW_MOOD, AlertKind.MISSED, AlertKind.HELP, AlertKind.CONCERN, AlertKind.DROP)
OUTCOMES = ("spoke", "counselling", "no_action")


def _insert(db: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    with db.session() as session:
        for i in range(0, len(rows), CHUNK):
            session.execute(insert(table), rows[i : i + CHUNK])


def seed_term(db: Database, students: int, end: datetime, weeks: int = 12, seed: int = 7) -> None:
    """A term of `weeks` weeks before `end` for `students` students (see the module doc)."""
    rng = random.Random(seed)
    start = end - timedelta(weeks=weeks)
    mentors = max(1, students // 30)
    groups = max(1, students // 50)
    people: list[dict[str, Any]] = [
        {"email": f"mentor{m}@example.edu", "name": f"Mentor {m}", "role": "mentor"}
        for m in range(mentors)
    ] + [
        {"email": f"student{s}@example.edu", "name": f"Student {s}", "role": "student"}
        for s in range(students)
    ]
    for row in people:
        row.update(active=True, created_at=start, quiet_start="00:00", quiet_end="00:00")
    _insert(db, Person, people)
    _insert(db, Group, [{"name": f"Group {g}", "created_at": start} for g in range(groups)])
    with db.session() as session:
        mentor_ids = list(
            session.exec(select(Person.id).where(Person.role == "mentor").order_by(col(Person.id)))
        )
        student_ids = list(
            session.exec(select(Person.id).where(Person.role == "student").order_by(col(Person.id)))
        )
        group_ids = list(session.exec(select(Group.id).order_by(col(Group.id))))
    _insert(
        db,
        MentorAssignment,
        [
            {
                "student_id": sid,
                "mentor_id": mentor_ids[i // 30 % len(mentor_ids)],
                "kind": "primary",
            }
            for i, sid in enumerate(student_ids)
        ],
    )
    _insert(
        db,
        GroupMember,
        [
            {"group_id": group_ids[i // 50 % len(group_ids)], "person_id": sid, "role": "member"}
            for i, sid in enumerate(student_ids)
        ],
    )
    # Shared datetime objects: one per (week, day), as a real occurrence's rows share them.
    days = [start + timedelta(weeks=w, days=d, hours=9) for w in range(weeks) for d in range(5)]
    statuses = [CheckinStatus.ANSWERED] * 7 + [CheckinStatus.SKIPPED] + [CheckinStatus.MISSED] * 2
    checkins: list[dict[str, Any]] = []
    moods: list[dict[str, Any]] = []
    for sid in student_ids:
        base = rng.choice((2, 3, 3, 4, 4, 5))
        for n, at in enumerate(days):
            status = rng.choice(statuses)
            checkins.append(
                {
                    "person_id": sid,
                    "occurrence_key": f"bench:{n}",
                    "status": status.value,
                    "step": "done",
                    "opened_at": at,
                    "answered_at": at if status == CheckinStatus.ANSWERED else None,
                    "mood": base if status == CheckinStatus.ANSWERED else None,
                }
            )
        for k in range(10):
            moods.append(
                {
                    "person_id": sid,
                    "score": max(1, min(5, base + rng.choice((-1, 0, 0, 1)))),
                    "source": "command",
                    "recorded_at": days[(k * len(days)) // 10],
                }
            )
        if len(checkins) >= CHUNK * 5:
            _insert(db, Checkin, checkins)
            _insert(db, MoodEntry, moods)
            checkins, moods = [], []
    _insert(db, Checkin, checkins)
    _insert(db, MoodEntry, moods)
    alerts: list[dict[str, Any]] = []
    for i in range(students // 5):
        sid = student_ids[rng.randrange(len(student_ids))]
        created = days[rng.randrange(len(days))] + timedelta(minutes=rng.randrange(600))
        acked = created + timedelta(minutes=rng.randrange(5, 600)) if i % 10 else None
        resolved = i % 3 == 0 and acked is not None
        alerts.append(
            {
                "student_id": sid,
                "mentor_id": mentor_ids[0],
                "kind": KINDS[i % len(KINDS)].value,
                "severity": "normal",
                "reason": "bench",
                "status": (
                    AlertStatus.RESOLVED
                    if resolved
                    else AlertStatus.ACKNOWLEDGED
                    if acked
                    else AlertStatus.OPEN
                ).value,
                "created_at": created,
                "acknowledged_at": acked,
                "resolved_at": acked if resolved else None,
                "outcome": OUTCOMES[i % 3] if resolved else None,
            }
        )
    _insert(db, Alert, alerts)
    settle(db)


def settle(db: Database) -> None:
    """Give PostgreSQL the statistics and visibility map a live database has.

    Autovacuum analyses a table within a minute of a bulk load in production; the bench
    times the reports at once, when the planner would still think `person` had 3 students
    and pick nested loops over all 10,000 (the digest tick took 14.1 s instead of 5.9 s,
    9.8 s of it in SQL). SQLite gathers no statistics unless asked, and the bot never
    asks, so it is timed as it runs.
    """
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


CPU: dict[str, float] = {}


def timed(step: Callable[[], object], name: str = "") -> float:
    """Wall seconds of one untraced call; its CPU seconds into CPU.

    On a shared machine the wall time includes waiting for a core; this process's CPU
    seconds (SQLite works in-process) say what the step itself cost.
    """
    began = time.perf_counter()
    cpu = time.process_time()
    step()
    seconds = time.perf_counter() - began
    CPU[name] = round(time.process_time() - cpu, 3)
    print(f"{name}: {seconds:.2f} s wall, {CPU[name]:.2f} s CPU", file=sys.stderr, flush=True)
    return round(seconds, 3)


def peak_mib(step: Callable[[], object]) -> float:
    """Peak MiB of Python allocations during one call, traced by tracemalloc."""
    tracemalloc.start()
    try:
        step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return round(peak / 2**20, 1)


def measure(db: Database, students: int, weeks: int) -> dict[str, Any]:
    """Seed, then time the staff digest, one digest tick and the HTML report."""
    # A Monday 09:00 UTC: the digest (Monday 08:00) is due.
    now = datetime.combine(date(2026, 11, 30), datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    began = time.perf_counter()
    seed_term(db, students, now - timedelta(hours=9), weeks=weeks)
    seed_seconds = round(time.perf_counter() - began, 1)
    settings = CoreSettings(staff_channel="slack:C0STAFF", digest_day="mon")
    result: dict[str, Any] = {"seed_seconds": seed_seconds}

    def staff() -> None:
        with db.session() as session:
            builder = ReportBuilder(session, settings, now)
            first = now.date() - timedelta(weeks=8)
            builder.build(Scope("All students"), first, now.date(), per_group=True)
            session.rollback()

    queued: list[int] = []

    def tick() -> None:
        with db.session() as session:
            outcome = send_weekly_digests(session, settings, now)
            queued.append(outcome.staff + outcome.mentors)
            # Not committed: the memory pass queues the same digests again.
            session.rollback()

    out = Path(tempfile.mkdtemp()) / "report.html"

    def html() -> None:
        with db.session() as session:
            builder = ReportBuilder(session, settings, now)
            report = builder.build(
                Scope("All students"),
                now.date() - timedelta(weeks=weeks),
                now.date(),
                per_group=True,
            )
            out.write_text(render_html(report), encoding="utf-8")
            session.rollback()

    print(f"seeded in {seed_seconds} s", file=sys.stderr, flush=True)
    steps = {"figures": staff, "digest_tick": tick, "html": html}
    for name, step in steps.items():
        result[f"{name}_seconds"] = timed(step, name)
    result["digests_queued"] = queued[0]
    result["html_bytes"] = out.stat().st_size
    for name, step in steps.items():
        result[f"{name}_peak_mib"] = peak_mib(step)
    result["cpu_seconds"] = dict(CPU)
    return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(prog="python -m bench report", description=__doc__)
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--database-url", default=os.environ.get(PG_ENV, ""))
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and print its JSON."""
    args = parse_args(argv)
    # The digest seals its outbox payloads: the bench key, whichever database runs first.
    crypto.configure([BENCH_KEY])
    result: dict[str, Any] = {"students": args.students, "weeks": args.weeks}
    if not args.no_sqlite:
        with temp_database() as db:
            result["sqlite"] = measure(db, args.students, args.weeks)
    if args.database_url and is_postgres_url(args.database_url):
        # A database of its own beside the given one: the given one is never dropped.
        name = f"{make_url(args.database_url).database}_bench_report"
        url = database_url_on(args.database_url, name)
        recreate_database(url)
        try:
            with database(url) as db:
                result["postgresql"] = measure(db, args.students, args.weeks)
        finally:
            drop_database(url)
    return emit(result)
