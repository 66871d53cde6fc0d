"""Benchmark: two bot processes on one PostgreSQL database during one check-in occurrence.

    python -m bench twin [--students 1000] [--processes 2] [--database-url URL]

N students with Slack identities and a schedule due a minute ago; P `mentorbot run`
subprocesses start at the same moment on the same database (bench/harness.py). Each one's
start-up catch-up opens the same occurrence, and all of them run their delivery loops against
the same loopback Slack, claiming outbox rows concurrently (`FOR UPDATE SKIP LOCKED`).
Nobody is killed: whatever the processes do to each other, every student must get exactly one
prompt. Figures: duplicates (extra prompts), missing (students with none), delivered (prompts
that reached Slack), seconds (first start until everything was sent).

PostgreSQL only (the production setup for more than one process); when the server is
unreachable the JSON carries an "error" and the exit status is 1.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import Connection, create_engine, text

from bench.harness import (
    BENCH_KEY,
    DEFAULT_SERVER,
    BenchSlack,
    BotProcess,
    PromptLedger,
    bot_environment,
    count_rows,
    database_url_on,
    drop_database,
    is_postgres_url,
    outbox_drained,
    outbox_status,
    prepare_programme,
    recreate_database,
    run_with_workdir,
    summarise_prompts,
    wait_for,
)
from storage import crypto
from storage.tables import Checkin

BENCHMARK = True


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(prog="python -m bench twin", description=__doc__)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--database-url",
        default=database_url_on(DEFAULT_SERVER, "mentorbot_twin"),
        help="a PostgreSQL database of your own: it is dropped and created",
    )
    parser.add_argument("--rate", type=float, default=50.0, help="SLACK_RATE_WORKSPACE each")
    parser.add_argument("--lease", type=int, default=5, help="OUTBOX_LEASE_SECONDS")
    parser.add_argument("--timeout", type=float, default=None, help="default: from N")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--no-gate",
        dest="gate",
        action="store_false",
        help="don't hold the catch-ups back to release them together",
    )
    return parser


class CatchupGate:
    """Holds every process's catch-up at its first check-in insert, then releases them at once.

    Started together, the processes still reach their catch-up a second or so apart (start-up
    costs differ), and the later one would find the occurrence done. `LOCK TABLE checkin IN
    SHARE MODE` lets reads through (start-up checks, the delivery loops) but makes INSERTs wait;
    once every process waits on it, one COMMIT lets them all insert the same occurrence's rows
    at the same moment: a real race, decided only by the unique keys.
    """

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self._holder: Connection | None = None

    def close(self) -> None:
        """Take the lock (in a transaction kept open until `open`)."""
        self._holder = self.engine.connect()
        self._holder.execute(text("LOCK TABLE checkin IN SHARE MODE"))

    def waiting(self) -> int:
        """Backends waiting for the lock: processes whose catch-up reached the insert."""
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(DISTINCT pid) FROM pg_locks "
                        "WHERE relation = 'checkin'::regclass AND NOT granted"
                    )
                ).scalar_one()
            )

    def waiting_at_least(self, count: int) -> bool:
        """True once `count` processes wait at the gate."""
        return self.waiting() >= count

    def open(self) -> None:
        """Release everyone (idempotent)."""
        if self._holder is not None:
            self._holder.commit()
            self._holder.close()
            self._holder = None

    def dispose(self) -> None:
        """Close the gate's connections."""
        self.engine.dispose()


async def run_twin(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    """Run the benchmark (logs in `workdir`); returns the figures."""
    url: str = args.database_url
    students: int = args.students
    budget = args.timeout or 60.0 + 3 * students / args.rate
    crypto.configure([BENCH_KEY])
    await asyncio.to_thread(recreate_database, url)
    tokens = [f"xoxb-twin-{i}" for i in range(args.processes)]
    async with BenchSlack(tokens) as fake:
        programme = await asyncio.to_thread(prepare_programme, url, students, fake)
        bots = [
            BotProcess(
                f"twin{i}",
                bot_environment(
                    database_url=url,
                    fake=fake,
                    settings={
                        "SLACK_BOT_TOKEN": token,
                        "SLACK_RATE_WORKSPACE": str(args.rate),
                        "OUTBOX_LEASE_SECONDS": str(args.lease),
                    },
                ),
                workdir,
            )
            for i, token in enumerate(tokens)
        ]
        ledger = PromptLedger(fake, programme)
        gate = CatchupGate(url)
        started = time.perf_counter()
        try:
            if args.gate:
                await asyncio.to_thread(gate.close)
            await asyncio.gather(*(bot.start() for bot in bots))
            held = 0
            if args.gate:
                await wait_for(
                    lambda: asyncio.to_thread(gate.waiting_at_least, args.processes),
                    timeout=30.0,
                    interval=0.1,
                    tick=ledger.scan,
                )
                held = await asyncio.to_thread(gate.waiting)
                await asyncio.to_thread(gate.open)
            released = time.perf_counter() - started

            async def drained() -> bool:
                return ledger.delivered >= students and await outbox_drained(url)

            finished = await wait_for(drained, timeout=budget, interval=0.05, tick=ledger.scan)
            seconds = time.perf_counter() - started
            # Nothing is left to claim once drained; a short wait still catches a late copy.
            await wait_for(lambda: False, timeout=1.0, tick=ledger.scan)
        finally:
            await asyncio.to_thread(gate.open)
            await asyncio.gather(*(bot.kill() for bot in bots))
            gate.dispose()
        ledger.scan()
        statuses = await asyncio.to_thread(outbox_status, url)
        checkins = await asyncio.to_thread(count_rows, url, Checkin)
        errors = sum(bot.error_lines() for bot in bots)
        opened = [bot.catchup_opened() for bot in bots]
        sent_by = ledger.by_token()
    if not args.keep:
        await asyncio.to_thread(drop_database, url)
    prompts = summarise_prompts(ledger, students)
    return {
        "benchmark": "twin",
        "backend": "postgresql",
        "processes": args.processes,
        "students": students,
        "duplicates": prompts["duplicates"],
        "missing": prompts["missing"],
        "delivered": prompts["delivered"],
        "checkins": checkins,
        # Catch-ups held at the gate and released together (0 with --no-gate).
        "catchups_raced": held,
        "released_at_seconds": round(released, 2),
        # Who did the work: check-ins each process's catch-up opened, prompts each one sent.
        "opened_per_process": opened,
        "sent_per_process": [sent_by.get(token, 0) for token in tokens],
        "outbox": dict(Counter(statuses.values())),
        "drained": finished,
        "seconds": round(seconds, 2),
        "start_seconds": [round(s, 2) for bot in bots for s in bot.start_seconds],
        "bot_error_lines": errors,
        "rate_per_process": args.rate,
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark and print its JSON as the last line (exit 1 without PostgreSQL)."""
    args = build_parser().parse_args(argv)
    return run_with_workdir(
        "twin",
        lambda workdir: run_twin(args, workdir),
        database_url=args.database_url,
        problem=None
        if is_postgres_url(args.database_url)
        else "twin needs PostgreSQL (--database-url postgresql+psycopg://...)",
    )


if __name__ == "__main__":
    main()
