"""Benchmark: resident memory per enrolled student, and start-up time, of a running bot.

    python -m bench memory --students 10000 [--repeat 3]

Each measurement runs in a fresh subprocess (no memory shared with the bench or with another
measurement): the composition root is built (`build_app`: settings, database, core), the
adapters' core objects are made (the Slack service with its bolt app and Web API client, the
Discord client and its Messenger, the outbox delivery with its pacer), and the scheduler is
started (`start_scheduler`), whose first tick, in the background, is the start-up catch-up;
memory is measured once that catch-up has finished. The database holds N enrolled students
with platform identities in 30 zones and a schedule due in the current minute, so that tick
opens N check-ins and queues N prompts: the 09:00 worst case.

Reported: bytes_per_student = (RSS with N students - RSS with none) / N, with RSS from
/proc/self/status VmRSS after a garbage collection, after the start and the first catch-up
(and the peak, VmHWM); startup_seconds = build_app + adapters + scheduler start, with N
students (the bot serves from then on); catchup_seconds = from the scheduler's start until
the background catch-up finished.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.harness import (
    BENCH_KEY,
    add_schedule,
    emit,
    floor_minute,
    seed_students,
    spread,
    temp_database,
    utc_now,
)

BENCHMARK = True


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(prog="python -m bench memory", description=__doc__)
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per measurement")
    parser.add_argument(
        "--not-due",
        action="store_true",
        help="the schedule is not due at start-up: the tick opens nothing (steady state)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def status_kib(field: str) -> int:
    """A `kB` field of /proc/self/status (VmRSS, VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def rss_after_trim() -> int | None:
    """VmRSS after asking glibc to return free heap pages (None off glibc).

    Tells memory the bot holds apart from memory the allocator keeps after the tick.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        return None
    return status_kib("VmRSS")


async def running_bot() -> dict[str, Any]:
    """Build and start the bot as `mentorbot run` does, minus connecting; measure it."""
    from adapters.discord.client import MentorDiscordClient
    from adapters.discord.messenger import DiscordMessenger
    from adapters.slack import SlackConfig, SlackService
    from mentorbot.app import build_app
    from mentorbot.settings import Settings
    from scheduling import start_scheduler

    rss_imported = status_kib("VmRSS")
    started = time.perf_counter()
    app = build_app(Settings(env_file=None))
    slack = SlackService(
        SlackConfig(bot_token="xoxb-bench", mode="http", signing_secret="bench"),
        app.core,
    )
    app.add_messenger("slack", slack.messenger)
    discord_client = MentorDiscordClient(app.core)
    app.add_messenger("discord", DiscordMessenger(discord_client))
    scheduler = await start_scheduler(
        app.db,
        app.core_settings,
        app.clock,
        jobs=app.core.registry.jobs,
        personal_data=app.core.registry.personal_data,
        on_work=app.delivery.wake,
    )
    # Started: the catch-up runs in the background as the tick's first run.
    startup = time.perf_counter() - started
    caught_up = time.perf_counter()
    report = await scheduler.wait_caught_up()
    if report is None:
        raise RuntimeError("the start-up catch-up failed (see the log)")
    catchup = time.perf_counter() - caught_up
    opened = 0
    with app.db.session() as session:
        from sqlalchemy import func, select

        from storage.tables import Checkin

        opened = int(session.execute(select(func.count()).select_from(Checkin)).scalar_one())
    gc.collect()
    figures: dict[str, float | None] = {
        "rss_kib": status_kib("VmRSS"),
        "peak_kib": status_kib("VmHWM"),
        "rss_after_imports_kib": rss_imported,
        "startup_seconds": startup,
        "catchup_seconds": catchup,
        "checkins_opened": opened,
        "jobs": scheduler.job_count,
    }
    figures["rss_after_malloc_trim_kib"] = rss_after_trim()
    scheduler.shutdown()
    await discord_client.close()
    app.db.dispose()
    return figures


def child() -> None:
    """The subprocess side: print one JSON line of figures."""
    import logging

    logging.basicConfig(level=logging.ERROR)
    print(json.dumps(asyncio.run(running_bot())), flush=True)


def prepare(folder: Path, students: int, *, due: bool = True) -> str:
    """A database with `students` students and a schedule (due now, or in 6 h); its URL."""
    now = utc_now()
    at = floor_minute(now) + (timedelta() if due else timedelta(hours=6))
    with temp_database(keep=folder) as db:
        seed_students(db, students, platform="slack", now=now, dm_channel_of=lambda _i, u: f"D{u}")
        add_schedule(
            db,
            local_time=f"{at:%H:%M}",
            timezone="UTC",
            created_at=now - timedelta(days=1),
        )
        return db.url


def measure(url: str) -> dict[str, Any]:
    """Run the child once against a copy-free database URL; returns its figures."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ENCRYPTION_KEYS": BENCH_KEY,
        "DEMO_SEED": "false",
    }
    out = subprocess.run(
        [sys.executable, "-m", "bench.memory", "--child"],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Measure with none and with N students, each `repeat` times in fresh processes."""
    empty: list[dict[str, Any]] = []
    full: list[dict[str, Any]] = []
    for _ in range(args.repeat):
        # A fresh database each time: the catch-up tick must open the occurrence every run.
        for count, into in ((0, empty), (args.students, full)):
            with tempfile.TemporaryDirectory(prefix="mentorbot-mem-") as folder:
                into.append(measure(prepare(Path(folder), count, due=not args.not_due)))
    per_student = (
        [
            (f["rss_kib"] - e["rss_kib"]) * 1024 / args.students
            for e, f in zip(empty, full, strict=True)
        ]
        if args.students
        else [0.0]
    )
    return {
        "benchmark": "memory",
        "students": args.students,
        "occurrence_due_at_start": not args.not_due,
        "repeat": args.repeat,
        "bytes_per_student": round(min(per_student)),
        "bytes_per_student_spread": spread(per_student),
        "rss_mib_empty": round(min(e["rss_kib"] for e in empty) / 1024, 1),
        "rss_mib_full": round(min(f["rss_kib"] for f in full) / 1024, 1),
        "peak_mib_full": round(min(f["peak_kib"] for f in full) / 1024, 1),
        "startup_seconds": round(min(f["startup_seconds"] for f in full), 3),
        "startup_seconds_spread": spread([f["startup_seconds"] for f in full]),
        "startup_seconds_empty": round(min(e["startup_seconds"] for e in empty), 3),
        # From the scheduler's start until its background catch-up finished, with N students.
        "catchup_seconds": round(min(f["catchup_seconds"] for f in full), 3),
        "catchup_seconds_spread": spread([f["catchup_seconds"] for f in full]),
        "bytes_per_student_after_malloc_trim": (
            round(
                min(
                    (f["rss_after_malloc_trim_kib"] - e["rss_after_malloc_trim_kib"])
                    * 1024
                    / args.students
                    for e, f in zip(empty, full, strict=True)
                )
            )
            if args.students and empty[0].get("rss_after_malloc_trim_kib") is not None
            else None
        ),
        "checkins_opened": full[0]["checkins_opened"],
        "jobs": full[0]["jobs"],
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark; prints its JSON as the last line and returns it."""
    args = parse_args(argv)
    if args.child:
        child()
        return {}
    return emit(run_bench(args))


if __name__ == "__main__":
    main()
