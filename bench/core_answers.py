"""Benchmark: the core alone answering N check-ins, in batches of B (no platform, no HTTP).

    python -m bench core_answers --students 3000 --batch 1 --batch 20 --batch 64

What `MentorBot.handle_batch` costs per mood answer when the group commit hands it B events
at once (B=1: an event on its own), on a temp SQLite file with N students whose check-ins are
open. Prints JSON: per batch size, answers per second and CPU milliseconds per answer, and
how many answers were stored (must be N for every batch size).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from sqlmodel import func, select

from bench.harness import SLACK_TEAM, emit, open_checkins, temp_database
from bot.clock import SystemClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.features import build_registry
from bot.model import Actor, Inbound
from storage.tables import MoodEntry

BENCHMARK = True


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark; prints its JSON as the last line and returns it."""
    parser = argparse.ArgumentParser(prog="python -m bench core_answers", description=__doc__)
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--batch", type=int, action="append", dest="batches")
    args = parser.parse_args(argv)
    batches: list[int] = args.batches or [1, 20, 64]
    result: dict[str, Any] = {"benchmark": "core_answers", "students": args.students}
    for size in batches:
        result[f"batch_{size}"] = run_batches(args.students, size)
    return emit(result)


def run_batches(students: int, size: int) -> dict[str, float | int]:
    """Answer every student's check-in, `size` events per `handle_batch`, on a fresh database."""
    with temp_database() as db:
        # N students plus a spare that warms the caches up.
        people, checkin_of = open_checkins(db, students + 1, "slack")
        core = MentorBot(db, CoreSettings(), SystemClock(), registry=build_registry())
        presses = [
            Inbound(
                Actor("slack", SLACK_TEAM, uid),
                "action",
                "checkin.mood",
                {"checkin": str(checkin_of[pid]), "score": str(3 + index % 3)},
            )
            for index, (pid, uid) in enumerate(people)
        ]
        core.handle(presses[-1])  # the spare student warms the caches up
        presses = presses[:-1]
        started, cpu = time.perf_counter(), time.process_time()
        for first in range(0, len(presses), size):
            core.handle_batch(presses[first : first + size])
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
        with db.session() as session:
            stored = int(session.exec(select(func.count()).select_from(MoodEntry)).one()) - 1
    return {
        "answers_per_second": round(len(presses) / seconds, 1),
        "cpu_ms_per_answer": round(cpu_seconds / len(presses) * 1000, 3),
        "stored": stored,
    }


if __name__ == "__main__":
    main()
