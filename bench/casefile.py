"""Benchmark: how long a mentor waits for a case file, and for the progress report PDF.

    python -m bench casefile [--weeks 12] [--per-day 3] [--repeat 5]

A student with `--per-day` mood entries and one check-in a day for `--weeks` weeks, goals
with milestones, notes and alerts (SQLite in a temporary folder). Timed through the core,
as a chat answer is: `/student EMAIL` (the queries, the chart drawn by matplotlib, the
messages) and the report button (the queries, the chart words and the A4 PDF). Reported:
best, median and worst seconds of each, the PNG and PDF sizes, and the PDF's pages.
"""

from __future__ import annotations

import argparse
import re
import time
from datetime import timedelta
from typing import Any

from bench.harness import emit, spread, temp_database, utc_now
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.demo import seed_demo
from bot.features import build_registry
from bot.model import Actor, Inbound
from bot.people import person_by_email
from bot.safety import assess
from bot.services import goals as goal_service
from storage import crypto
from storage.enums import CheckinStatus
from storage.tables import Checkin, MentorNote, MoodEntry

BENCHMARK = True


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(prog="python -m bench casefile", description=__doc__)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--per-day", type=int, default=3, help="mood entries per day")
    parser.add_argument("--repeat", type=int, default=5)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print and return its figures."""
    args = parse_args(argv)
    crypto.configure([crypto.generate_key()])
    now = utc_now().replace(microsecond=0)
    with temp_database() as db:
        with db.session() as session:
            seed_demo(session, now - timedelta(weeks=args.weeks + 1))
            sam = person_by_email(session, "sam@example.edu")
            maya = person_by_email(session, "maya@example.edu")
            assert sam is not None and sam.id is not None and maya is not None
            assert maya.id is not None
            for day in range(args.weeks * 7):
                at = now - timedelta(days=day, hours=1)
                session.add(
                    Checkin(
                        person_id=sam.id,
                        occurrence_key=f"bench:{day}",
                        status=CheckinStatus.ANSWERED if day % 5 else CheckinStatus.MISSED,
                        opened_at=at,
                    )
                )
                for n in range(args.per_day):
                    at_n = at - timedelta(hours=n)
                    session.add(
                        MoodEntry(person_id=sam.id, score=1 + (day + n) % 5, recorded_at=at_n)
                    )
            for g in range(5):
                goal = goal_service.add_goal(session, sam, f"Goal {g}", None, now, now.date())
                for m in range(4):
                    goal_service.add_milestone(session, sam, str(goal.id), f"Step {m}")
            for n in range(10):
                session.add(
                    MentorNote(
                        student_id=sam.id, author_id=maya.id, text=f"Note {n}", created_at=now
                    )
                )
        # The bot compiles the safety screen at start (build_app): not part of an answer.
        assess("warming up")
        core = MentorBot(db, CoreSettings(), FixedClock(now), registry=build_registry())
        who = Actor("console", "local", "maya@example.edu", email="maya@example.edu")
        case_times: list[float] = []
        pdf_times: list[float] = []
        png = pdf = b""
        pages = 0
        for _ in range(args.repeat):
            started = time.perf_counter()
            reply = core.handle(Inbound(who, "command", "student", {}, "sam@example.edu"))
            case_times.append(time.perf_counter() - started)
            first = reply.messages[0]
            assert first.attachment is not None, reply
            png = first.attachment.data
            choice = first.choices[0]
            started = time.perf_counter()
            answer = core.handle(Inbound(who, "action", choice.action, choice.args_dict()))
            pdf_times.append(time.perf_counter() - started)
            attachment = answer.messages[0].attachment
            assert attachment is not None, answer
            pdf = attachment.data
            pages = len(re.findall(rb"/Type /Page\b", pdf))
    return emit(
        {
            "benchmark": "casefile",
            "weeks": args.weeks,
            "mood_entries": args.weeks * 7 * args.per_day,
            "case_file_seconds": spread(case_times),
            "report_pdf_seconds": spread(pdf_times),
            "png_bytes": len(png),
            "pdf_bytes": len(pdf),
            "pdf_pages": pages,
        }
    )
