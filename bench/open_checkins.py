"""Benchmark: open one occurrence's check-ins (rows + outbox prompts) for N students on SQLite.

    python -m bench open_checkins [--students 10000] [--zones 1]

Prints JSON: how long `open_due_checkins` took for the whole occurrence (every zone), and how
long firing it a second time took (a no-op: the unique keys absorb it).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta

from bench.harness import add_schedule, emit, seed_students, table_count, temp_database
from bot.config import CoreSettings
from bot.services.occurrences import Occurrence, open_due_checkins, target_zones
from storage.tables import Checkin, CheckinSchedule, Outbox

BENCHMARK = True

ZONES = ("UTC", "Europe/London", "America/New_York", "Asia/Tokyo", "Pacific/Auckland")


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark; prints its JSON as the last line and returns it."""
    parser = argparse.ArgumentParser(prog="python -m bench open_checkins", description=__doc__)
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--zones", type=int, default=1, choices=range(1, len(ZONES) + 1))
    args = parser.parse_args(argv)
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with temp_database() as db:
        seed_students(
            db,
            args.students,
            platform="slack",
            now=now,
            zones=ZONES[: args.zones],
            quiet_hours=("21:00", "08:00"),
            dm_channel_of=lambda index, _user_id: f"D{index:08d}",
        )
        schedule_id = add_schedule(
            db, name="Daily", local_time="09:00", created_at=now - timedelta(days=1)
        )
        settings = CoreSettings()
        with db.session() as session:
            schedule = session.get_one(CheckinSchedule, schedule_id)
        with db.session() as session:
            zones = target_zones(session, schedule, settings.default_timezone)
        # Every zone's 09:00, all opened "now": the work of one occurrence per zone.
        runs: list[float] = []
        cpus: list[float] = []
        for _ in range(2):
            started, cpu = time.perf_counter(), time.process_time()
            for zone_name, raw in zones.items():
                with db.session() as session:
                    open_due_checkins(
                        session,
                        settings,
                        schedule,
                        zone_name,
                        Occurrence(now.date(), now),
                        now,
                        raw_zones=raw,
                    )
            runs.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
        checkins = table_count(db, Checkin)
        outbox = table_count(db, Outbox)
    return emit(
        {
            "benchmark": "open_checkins",
            "backend": "sqlite",
            "students": args.students,
            "zones": len(zones),
            "checkins": checkins,
            "outbox_rows": outbox,
            "first_fire_seconds": round(runs[0], 3),
            "second_fire_seconds": round(runs[1], 3),
            "first_fire_cpu_seconds": round(cpus[0], 3),
        }
    )


if __name__ == "__main__":
    main()
