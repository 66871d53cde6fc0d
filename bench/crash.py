"""Benchmark: SIGKILL the bot K times during a check-in fan-out and the answer burst after it.

    python -m bench crash [--students 200] [--kills 3] [--seed S] [--backend sqlite|postgresql]

N students with Slack identities (every other DM channel already known) and a schedule due a
minute ago; `mentorbot run` starts as a subprocess (bench/harness.py) and its start-up catch-up
opens the occurrence. As prompts reach the loopback Slack, the bench presses a mood button on
each (signed `block_actions`, a few at a time). At K points drawn with a seeded RNG from the
run's progress (prompts delivered + answers acknowledged, 0 .. 2N) the bot is killed with
SIGKILL and started again. After the last restart everything drains (bounded by a timeout).

Figures, per student: a prompt missing (none reached Slack), duplicate prompts (split into
*explained* ones, whose earlier copy Slack accepted while the outbox row was not yet marked
sent when the process died, and unexplained ones, which would be a bug), answers acknowledged
with HTTP 200 and answers lost (acknowledged but with no mood entry stored at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.harness import (
    BENCH_KEY,
    DEFAULT_SERVER,
    AnswerBurst,
    BotProcess,
    PromptLedger,
    bot_environment,
    database_url_on,
    drop_database,
    is_postgres_url,
    outbox_drained,
    outbox_status,
    prepare_programme,
    recreate_database,
    run_with_workdir,
    stored_answers,
    summarise_prompts,
    wait_for,
)
from mentorbot_fakes.slack_api import FakeSlack
from storage import crypto

BENCHMARK = True


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(prog="python -m bench crash", description=__doc__)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--seed", type=int, default=None, help="default: random, reported")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--database-url",
        default=None,
        help="overrides --backend (PostgreSQL: the database is dropped and created)",
    )
    parser.add_argument("--rate", type=float, default=50.0, help="SLACK_RATE_WORKSPACE")
    parser.add_argument("--lease", type=int, default=5, help="OUTBOX_LEASE_SECONDS")
    parser.add_argument("--concurrency", type=int, default=8, help="answers in flight")
    parser.add_argument("--drain-seconds", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=None, help="default: from N and K")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    return parser


def _server_database_url(args: argparse.Namespace) -> str | None:
    """The database named on the command line or on the PostgreSQL server; None: SQLite."""
    if args.database_url:
        return str(args.database_url)
    if args.backend == "postgresql":
        return database_url_on(DEFAULT_SERVER, "mentorbot_crash")
    return None


def _database_url(args: argparse.Namespace, workdir: Path) -> str:
    return _server_database_url(args) or f"sqlite:///{workdir / 'crash.db'}"


async def run_crash(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    """Run the benchmark in `workdir` (logs, SQLite file); returns the figures."""
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    students: int = args.students
    url = _database_url(args, workdir)
    budget = args.timeout or 60.0 + 4 * students / args.rate + args.kills * (args.lease + 15)
    crypto.configure([BENCH_KEY])
    await asyncio.to_thread(recreate_database, url)
    # Kill points: progress levels (delivered + acknowledged) and a jitter after reaching them.
    targets = sorted(rng.randrange(0, 2 * students) for _ in range(args.kills))
    jitters = [rng.uniform(0.0, 0.3) for _ in targets]
    async with FakeSlack() as fake:
        programme = await asyncio.to_thread(prepare_programme, url, students, fake)
        env = bot_environment(
            database_url=url,
            fake=fake,
            settings={
                "SLACK_RATE_WORKSPACE": str(args.rate),
                "OUTBOX_LEASE_SECONDS": str(args.lease),
            },
        )
        bot = BotProcess("crash", env, workdir)
        ledger = PromptLedger(fake, programme)
        started = time.perf_counter()
        deadline = started + budget
        kill_log: list[dict[str, object]] = []
        # dedupe key -> kills at which Slack had the prompt but the outbox row was not 'sent'.
        at_risk: Counter[str] = Counter()
        accounted: dict[str, int] = {}  # posts per key already judged at a kill
        async with AnswerBurst(
            fake, [bot], concurrency=args.concurrency, deadline=deadline, rng=rng
        ) as burst:

            def scan() -> None:
                for prompt in ledger.scan():
                    burst.answer(prompt)

            def progress_reached(level: int) -> bool:
                return ledger.delivered + burst.acked >= level

            try:
                await bot.start()
                for target, jitter in zip(targets, jitters, strict=True):
                    reached = await wait_for(
                        functools.partial(progress_reached, target),
                        timeout=max(0.0, deadline - time.perf_counter()),
                        tick=scan,
                    )
                    await wait_for(lambda: False, timeout=jitter, tick=scan)
                    killed_at = time.monotonic()  # the fake's clock (RecordedCall.at)
                    await bot.kill()
                    # Let the fake finish requests already received from the dead process.
                    await wait_for(lambda: False, timeout=0.3, tick=scan)
                    statuses = await asyncio.to_thread(outbox_status, url)
                    # A prompt Slack has but whose row is not 'sent': the dead process sent it
                    # and died before recording it. Only a post not counted at an earlier kill
                    # (a row still waiting for its lease to expire is no new risk).
                    posts = ledger.posts_of_key()
                    risky = [
                        k
                        for k, n in posts.items()
                        if n > accounted.get(k, 0) and statuses.get(k) != "sent"
                    ]
                    at_risk.update(risky)
                    accounted.update({k: posts[k] for k in risky})
                    ages = [killed_at - ledger.last_post_at(k) for k in risky]
                    kill_log.append(
                        {
                            "target": target,
                            "reached": reached,
                            "at_seconds": round(time.perf_counter() - started, 2),
                            "delivered": ledger.delivered,
                            "acked": burst.acked,
                            "accepted_not_recorded": len(risky),
                            # How long before the kill Slack had accepted the oldest of them.
                            "oldest_unrecorded_seconds": round(max([0.0, *ages]), 2),
                        }
                    )
                    await bot.start()

                async def drained() -> bool:
                    if ledger.delivered < students or burst.acked < len(burst.answers):
                        return False
                    return await outbox_drained(url)

                finished = await wait_for(
                    drained, timeout=max(0.0, deadline - time.perf_counter()), tick=scan
                )
                seconds = time.perf_counter() - started
                acked_ids = {a.checkin_id for a in burst.answers.values() if a.acked_at}

                async def answers_stored() -> bool:
                    return acked_ids <= await asyncio.to_thread(stored_answers, url)

                await wait_for(answers_stored, timeout=args.drain_seconds, interval=0.25)
            finally:
                await bot.kill()
        scan()
        stored = await asyncio.to_thread(stored_answers, url)
        statuses = await asyncio.to_thread(outbox_status, url)
        errors = bot.error_lines()
    if is_postgres_url(url) and not args.keep:
        await asyncio.to_thread(drop_database, url)

    prompts = summarise_prompts(ledger, students)
    explained = sum(
        min(max(0, n - 1), at_risk[k]) for k, n in ledger.posts_of_key().items() if n > 1
    )
    answers = list(burst.answers.values())
    acked = [a for a in answers if a.acked_at is not None]
    lost = [a for a in acked if a.checkin_id not in stored]
    ack_seconds = sorted(a.ack_seconds for a in acked if a.ack_seconds is not None)
    statuses_seen: Counter[str] = Counter()
    for a in answers:
        statuses_seen.update(a.statuses)
    return {
        "benchmark": "crash",
        "backend": "postgresql" if is_postgres_url(url) else "sqlite",
        "students": students,
        "kills": len(kill_log),
        "seed": seed,
        "missing": prompts["missing"],
        "duplicates": prompts["duplicates"],
        "duplicates_explained": explained,
        "duplicates_unexplained": prompts["duplicates"] - explained,
        "prompts_delivered": prompts["delivered"],
        "answers_acked": len(acked),
        "answers_stored": sum(1 for a in acked if a.checkin_id in stored),
        "answers_lost": len(lost),
        "answers_never_acked": len(answers) - len(acked),
        "answer_attempts": sum(a.attempts for a in answers),
        "answer_responses": dict(statuses_seen),
        # The acknowledged request's round trip: the core stores the answer before the ack.
        "ack_seconds_p50": round(ack_seconds[len(ack_seconds) // 2], 3) if ack_seconds else None,
        "ack_seconds_max": round(ack_seconds[-1], 3) if ack_seconds else None,
        "outbox": dict(Counter(statuses.values())),
        "drained": finished,
        "seconds": round(seconds, 2),
        "start_seconds_mean": round(sum(bot.start_seconds) / len(bot.start_seconds), 2),
        "bot_error_lines": errors,
        "kill_points": kill_log,
        "rate": args.rate,
        "lease_seconds": args.lease,
    }


def keep_logs(workdir: Path) -> str:
    """Copy the bot's logs out of the temp folder; returns where they are."""
    kept = Path(tempfile.mkdtemp(prefix="bench-crash-logs-"))
    for log in workdir.glob("*.log"):
        (kept / log.name).write_bytes(log.read_bytes())
    return str(kept)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark and print its JSON as the last line."""
    args = build_parser().parse_args(argv)

    async def run(workdir: Path) -> dict[str, object]:
        result = await run_crash(args, workdir)
        if args.keep:
            result["logs"] = await asyncio.to_thread(keep_logs, workdir)
        return result

    return run_with_workdir("crash", run, database_url=_server_database_url(args))


if __name__ == "__main__":
    main()
