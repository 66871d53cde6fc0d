"""Benchmark: several instances on one PostgreSQL database, one killed in the middle.

    python -m bench cluster [--instances 3] [--kill 1] [--students 400] [--database-url URL]
                            [--budget owner|postgres]

N students, half on Slack and half on Discord, with a schedule due a minute ago. I
`mentorbot run` processes start together on one database with ONE token per platform (one
loopback Slack with its chat.postMessage limit on, one loopback Discord with its global and
per-route limits on) and CLUSTER=true. One of them takes the owner lease (storage/leases.py):
it runs the Discord gateway and the tick (whose catch-up opens the occurrence); the others
serve Slack's HTTP requests (the bench sends each Slack answer to a random living instance,
as a load balancer would) and stand by. Who sends (PACING_BUDGET, `--budget`): `owner`, all
delivery by the owner, one in-process pacer; `postgres`, every instance delivers what it
runs (Slack everywhere, Discord on the gateway's owner), all pacing through one token bucket
per platform in PostgreSQL (storage/budget.py).

As prompts arrive the bench answers them: Slack by a signed `block_actions` press, Discord by
a button interaction on the gateway (pressed again, as a student would, if no answer came in
5 s). When prompts delivered plus answers acknowledged reach `--kill-at` of their total, the
owner is SIGKILLed (`--kill` times, each time the current owner); a standby must take the
lease over, open the Discord gateway again and finish the fan-out.

Figures:
* `missing`: students with no prompt; `duplicates_unexplained`: extra prompts not explained by
  a send the platform accepted while the outbox row was not yet marked sent at the kill.
* `http_429`: 429 answers of both fakes.
* `ratio_to_bound`: per platform, the fan-out's sending time (the failover gap taken out)
  over the time the platform's bound needs for its requests (Discord: the prompts and the DM
  openings, which count against the same global limit) at the configured rate; the worse of
  the two at the top. 1.0 is the bound; three instances each sending at the full budget would
  show about 0.33 and 429s.
* `failover_seconds`: from the kill until the new owner's Discord gateway session is ready.
* `double_responses`: Discord interactions the bot answered more than once (every instance
  would receive every interaction if several held the gateway).
* `lost`: answers acknowledged (HTTP 200 / an interaction response) with no mood stored.

PostgreSQL only; when the server is unreachable the JSON carries an "error", exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from adapters.discord.custom_ids import decode_action
from bench.crash import keep_logs
from bench.harness import (
    BENCH_KEY,
    DEFAULT_SERVER,
    AnswerBurst,
    BotProcess,
    Programme,
    PromptLedger,
    Student,
    bot_environment,
    database,
    database_url_on,
    discord_user_id,
    drop_database,
    is_postgres_url,
    outbox_drained,
    outbox_status,
    platform_environment,
    prepare_programme,
    recreate_database,
    run_with_workdir,
    stored_answers,
    wait_for,
)
from bot.delivery import nonce_for
from mentorbot_fakes.discord_api import DispatchedInteraction, FakeDiscord
from mentorbot_fakes.slack_api import FakeSlack
from storage import crypto
from storage.tables import Identity, Person

BENCHMARK = True
OWNER_LINE = "this instance owns the Discord gateway"
DISCORD_ANSWER_WAIT = 5.0
# Three interpreters importing everything at once on a busy machine take a while.
START_TIMEOUT = 180.0


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(prog="python -m bench cluster", description=__doc__)
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--kill", type=int, default=1, help="owners SIGKILLed mid-burst")
    parser.add_argument("--students", type=int, default=400, help="half Slack, half Discord")
    parser.add_argument("--kill-at", type=float, default=0.4, help="fraction of the progress")
    parser.add_argument(
        "--database-url",
        default=database_url_on(DEFAULT_SERVER, "mentorbot_cluster"),
        help="a PostgreSQL database of your own: it is dropped and created",
    )
    parser.add_argument("--slack-rate", type=float, default=20.0, help="SLACK_RATE_WORKSPACE")
    parser.add_argument("--discord-rate", type=float, default=20.0, help="DISCORD_RATE_GLOBAL")
    parser.add_argument("--lease", type=int, default=5, help="OUTBOX_LEASE_SECONDS")
    parser.add_argument("--lease-check", type=float, default=3.0, help="LEASE_CHECK_SECONDS")
    parser.add_argument("--concurrency", type=int, default=8, help="answers in flight")
    parser.add_argument(
        "--budget",
        choices=("owner", "postgres"),
        default="owner",
        help="PACING_BUDGET: all sending by the owner, or every instance through PostgreSQL",
    )
    parser.add_argument(
        "--start-timeout", type=float, default=START_TIMEOUT, help="seconds for each to be ready"
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=None, help="default: from N")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    return parser


# --------------------------------------------------------------------------- the programme


def split_programme(url: str, programme: Programme, discord: FakeDiscord) -> list[Student]:
    """Move every odd student to Discord (identity, preferred platform); returns them."""
    moved = [s for s in programme.students if s.index % 2 == 1]
    with database(url, migrate=False) as db, db.session() as session:
        for student in moved:
            uid = discord_user_id(student.index)
            session.execute(
                update(Identity)
                .where(col(Identity.person_id) == student.person_id)
                .values(platform="discord", user_id=uid, workspace="dm", dm_channel_id=None)
            )
            session.execute(
                update(Person)
                .where(col(Person.id) == student.person_id)
                .values(preferred_platform="discord")
            )
    for student in moved:
        discord.add_user(f"student{student.index}", discord_user_id(student.index))
    return moved


# --------------------------------------------------------------------------- Discord side


@dataclass(frozen=True)
class DiscordPrompt:
    """One check-in prompt the loopback Discord accepted."""

    student: Student
    channel_id: str
    message_id: str
    custom_id: str | None  # a mood button (scores 3-5: no alert to fan out)
    at: float


@dataclass
class DiscordLedger:
    """Prompts per student from the fake's recorded message posts (matched by nonce)."""

    fake: FakeDiscord
    students: Sequence[Student]
    posts: dict[int, list[DiscordPrompt]] = field(default_factory=dict)
    _seen: int = 0
    _message_ids: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._by_nonce = {nonce_for(s.dedupe_key)[:25]: s for s in self.students}

    def scan(self) -> list[DiscordPrompt]:
        """New calls since the last scan; returns each student's first prompt."""
        firsts: list[DiscordPrompt] = []
        calls = self.fake.calls
        while self._seen < len(calls):
            call = calls[self._seen]
            self._seen += 1
            if call.method != "POST" or call.route != "/channels/{channel_id}/messages":
                continue
            if call.status != 200 or not isinstance(call.json, dict):
                continue
            student = self._by_nonce.get(str(call.json.get("nonce")))
            message = call.response_json if isinstance(call.response_json, dict) else {}
            message_id = str(message.get("id", ""))
            # A retried send with the same nonce gets the message it already created: one post.
            if student is None or not message_id or message_id in self._message_ids:
                continue
            self._message_ids.add(message_id)
            prompt = DiscordPrompt(
                student=student,
                channel_id=call.path.split("/")[2],
                message_id=message_id,
                custom_id=_mood_button(call.json.get("components"), 3 + student.index % 3),
                at=call.at,
            )
            mine = self.posts.setdefault(student.index, [])
            mine.append(prompt)
            if len(mine) == 1:
                firsts.append(prompt)
        return firsts


def _mood_button(components: Any, score: int) -> str | None:
    for row in components or ():
        for item in row.get("components", ()) if isinstance(row, dict) else ():
            custom_id = str(item.get("custom_id", "")) if isinstance(item, dict) else ""
            decoded = decode_action(custom_id)
            if decoded and decoded[0] == "checkin.mood" and decoded[1].get("score") == str(score):
                return custom_id
    return None


@dataclass
class DiscordAnswers:
    """Presses each prompt's mood button; pressed again when nothing answered in 5 s."""

    fake: FakeDiscord
    deadline: float
    interactions: list[DispatchedInteraction] = field(default_factory=list)
    acked: dict[int, str] = field(default_factory=dict)  # student index -> check-in id
    checkin_of: dict[int, int] = field(default_factory=dict)
    presses: int = 0
    unanswered_presses: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def answer(self, prompt: DiscordPrompt) -> None:
        """Start answering a prompt in the background."""
        if prompt.custom_id is None:
            return
        decoded = decode_action(prompt.custom_id)
        if decoded is not None and decoded[1].get("checkin", "").isdigit():
            self.checkin_of[prompt.student.index] = int(decoded[1]["checkin"])
        task = asyncio.create_task(self._press(prompt, prompt.custom_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _press(self, prompt: DiscordPrompt, custom_id: str) -> None:
        uid = discord_user_id(prompt.student.index)
        while time.perf_counter() < self.deadline:
            try:
                inter = await self.fake.dispatch_button(
                    custom_id,
                    user_id=uid,
                    channel_id=prompt.channel_id,
                    message_id=prompt.message_id,
                )
            except RuntimeError:  # no gateway session at all (between owners)
                await asyncio.sleep(0.5)
                continue
            self.presses += 1
            self.interactions.append(inter)
            # Polled here: hundreds of presses waiting on the fake's own condition cost more.
            answered = await wait_for(
                lambda inter=inter: inter.response_type is not None,  # type: ignore[misc]
                timeout=DISCORD_ANSWER_WAIT,
                interval=0.05,
            )
            if not answered:
                # Sent to a dead owner's session: "This interaction failed"; press again.
                self.unanswered_presses += 1
                continue
            self.acked[prompt.student.index] = custom_id
            return

    def double_responses(self) -> int:
        """Interactions the bot called back more than once (accepted or refused)."""
        callbacks = Counter(
            call.path.split("/")[2]
            for call in self.fake.calls
            if call.path.startswith("/interactions/") and call.path.endswith("/callback")
        )
        return sum(1 for inter in self.interactions if callbacks.get(inter.id, 0) > 1)

    async def close(self) -> None:
        """Cancel presses still in flight."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


# --------------------------------------------------------------------------- figures


def owner_of(bots: Sequence[BotProcess]) -> BotProcess | None:
    """The living instance whose current incarnation logged that it owns the lease."""
    for bot in bots:
        if not bot.running:
            continue
        with contextlib.suppress(OSError):
            if OWNER_LINE in bot.log_path.read_text(errors="replace"):
                return bot
    return None


def pace_figures(
    times: Sequence[float],
    rate: float,
    gaps: Sequence[tuple[float, float]],
    *,
    extra_requests: int = 0,
) -> dict[str, Any]:
    """Sending seconds (outage gaps removed) against the bound: requests / rate.

    `extra_requests` are the fan-out's other requests that count against the same limit
    (Discord: opening each first-contact DM is a request of its own).
    """
    if len(times) < 2:
        return {"sent": len(times), "ratio_to_bound": None}
    ordered = sorted(times)
    span = ordered[-1] - ordered[0]
    # The owner's death and the takeover: no one sends, by design, until the lease moves.
    outage = sum(max(0.0, min(end, ordered[-1]) - max(start, ordered[0])) for start, end in gaps)
    bound = (len(ordered) + extra_requests) / rate
    busiest = max(
        (sum(1 for t in ordered[i:] if t - at < 1.0) for i, at in enumerate(ordered)), default=0
    )
    return {
        "sent": len(ordered),
        "seconds": round(span, 2),
        "outage_seconds": round(outage, 2),
        "bound_seconds": round(bound, 2),
        "other_requests": extra_requests,
        "ratio_to_bound": round((span - outage) / bound, 4),
        "busiest_second": busiest,
        "rate": rate,
    }


def first_sends_after(times: Sequence[float], moment: float) -> float | None:
    """The first send at or after `moment`."""
    later = [t for t in times if t >= moment]
    return min(later) if later else None


# --------------------------------------------------------------------------- the run


async def run_cluster(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Run the benchmark (logs in `workdir`); returns the figures."""
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    url: str = args.database_url
    students: int = args.students
    rate = min(args.slack_rate, args.discord_rate)
    budget = args.timeout or 90.0 + 2 * students / rate + args.kill * (args.lease + 30)
    crypto.configure([BENCH_KEY])
    await asyncio.to_thread(recreate_database, url)
    async with contextlib.AsyncExitStack() as stack:
        slack = FakeSlack(
            rate_limits=True,
            # Slack's chat.postMessage budget for the workspace, for all instances together.
            method_rpm={"chat.postMessage": max(1, round(args.slack_rate * 60))},
        )
        await slack.start()
        stack.push_async_callback(slack.stop)
        discord = FakeDiscord(heartbeat_interval_ms=5000)
        await discord.start()
        stack.push_async_callback(discord.stop)
        discord.enforce_global_limit = True
        discord.enforce_route_limits = True
        programme = await asyncio.to_thread(prepare_programme, url, students, slack)
        on_discord = await asyncio.to_thread(split_programme, url, programme, discord)
        on_slack = [s for s in programme.students if s.index % 2 == 0]
        env = bot_environment(
            database_url=url,
            fake=slack,
            settings={
                **platform_environment(discord),
                "CLUSTER": "true",
                "SLACK_RATE_WORKSPACE": str(args.slack_rate),
                "DISCORD_RATE_GLOBAL": str(args.discord_rate),
                "OUTBOX_LEASE_SECONDS": str(args.lease),
                "LEASE_CHECK_SECONDS": str(args.lease_check),
                "PACING_BUDGET": args.budget,
            },
        )
        bots = [BotProcess(f"node{i}", env, workdir) for i in range(args.instances)]
        slack_ledger = PromptLedger(
            slack, Programme(programme.schedule_id, programme.local_date, tuple(on_slack))
        )
        discord_ledger = DiscordLedger(discord, on_discord)
        total = 2 * students

        def scan() -> None:
            for prompt in slack_ledger.scan():
                burst.answer(prompt)
            for dprompt in discord_ledger.scan():
                discord_answers.answer(dprompt)

        def progress() -> int:
            return (
                slack_ledger.delivered
                + len(discord_ledger.posts)
                + burst.acked
                + len(discord_answers.acked)
            )

        kills: list[dict[str, Any]] = []
        gaps: list[tuple[float, float]] = []
        at_risk: Counter[str] = Counter()

        async def kill_all() -> None:
            await asyncio.gather(*(bot.kill() for bot in bots))

        stack.push_async_callback(kill_all)
        # Start-up (imports on a busy machine) is not part of the budget.
        await asyncio.gather(*(bot.start(timeout=args.start_timeout) for bot in bots))
        started = time.perf_counter()
        deadline = started + budget
        discord_answers = DiscordAnswers(discord, deadline)
        stack.push_async_callback(discord_answers.close)
        burst = await stack.enter_async_context(
            AnswerBurst(slack, bots, concurrency=args.concurrency, deadline=deadline, rng=rng)
        )
        try:
            for k in range(args.kill):
                level = int(total * args.kill_at * (k + 1) / args.kill)
                await wait_for(
                    lambda level=level: progress() >= level,  # type: ignore[misc]
                    timeout=max(0.0, deadline - time.perf_counter()),
                    tick=scan,
                )
                owner = owner_of(bots)
                if owner is None:
                    kills.append({"error": "no owner found"})
                    break
                identified = discord.identify_count
                killed_at = time.monotonic()  # the fakes' clock
                await owner.kill()
                await wait_for(lambda: False, timeout=0.3, tick=scan)
                statuses = await asyncio.to_thread(outbox_status, url)
                risky = [
                    s.dedupe_key
                    for s in programme.students
                    if statuses.get(s.dedupe_key) != "sent"
                    and (slack_ledger.posts.get(s.index) or discord_ledger.posts.get(s.index))
                ]
                at_risk.update(risky)
                took_over = await wait_for(
                    lambda identified=identified: discord.identify_count > identified,  # type: ignore[misc]
                    timeout=60.0,
                    tick=scan,
                )
                failover = time.monotonic() - killed_at if took_over else None
                gaps.append((killed_at, time.monotonic()))
                kills.append(
                    {
                        "killed": owner.name,
                        "at_progress": progress(),
                        "accepted_not_recorded": len(risky),
                        "failover_seconds": round(failover, 2) if failover else None,
                        "new_owner": getattr(owner_of(bots), "name", None),
                    }
                )

            async def drained() -> bool:
                if slack_ledger.delivered < len(on_slack) or len(discord_ledger.posts) < len(
                    on_discord
                ):
                    return False
                if burst.acked < len(burst.answers) or len(discord_answers.acked) < len(
                    discord_ledger.posts
                ):
                    return False
                return await outbox_drained(url)

            finished = await wait_for(
                drained, timeout=max(0.0, deadline - time.perf_counter()), tick=scan
            )
            seconds = time.perf_counter() - started
            await wait_for(lambda: False, timeout=1.0, tick=scan)
        finally:
            await asyncio.gather(*(bot.kill() for bot in bots))
        scan()
        stored = await asyncio.to_thread(stored_answers, url)
        statuses = await asyncio.to_thread(outbox_status, url)
        errors = sum(bot.error_lines() for bot in bots)
        double = discord_answers.double_responses()
        slack_times = [p.at for posts in slack_ledger.posts.values() for p in posts]
        discord_times = [p.at for posts in discord_ledger.posts.values() for p in posts]
        http_429 = slack.http_429 + discord.http_429
        dm_opens = sum(
            1
            for call in discord.calls
            if call.method == "POST" and call.path == "/users/@me/channels" and call.status == 200
        )
    if not args.keep:
        await asyncio.to_thread(drop_database, url)

    counts: Counter[str] = Counter()
    for ledger_posts in (slack_ledger.posts, discord_ledger.posts):
        for index, posts in ledger_posts.items():
            counts[programme.students[index].dedupe_key] += len(posts)
    missing = sum(1 for s in programme.students if counts.get(s.dedupe_key, 0) == 0)
    duplicates = sum(max(0, n - 1) for n in counts.values())
    explained = sum(min(max(0, n - 1), at_risk[k]) for k, n in counts.items() if n > 1)
    slack_acked = {a.checkin_id for a in burst.answers.values() if a.acked_at is not None}
    discord_acked = {discord_answers.checkin_of[i] for i in discord_answers.acked}
    lost = len((slack_acked | discord_acked) - stored)
    slack_pace = pace_figures(slack_times, args.slack_rate, gaps)
    discord_pace = pace_figures(discord_times, args.discord_rate, gaps, extra_requests=dm_opens)
    ratios = [r for r in (slack_pace["ratio_to_bound"], discord_pace["ratio_to_bound"]) if r]
    failovers = [k["failover_seconds"] for k in kills if k.get("failover_seconds") is not None]
    return {
        "benchmark": "cluster",
        "backend": "postgresql",
        "instances": args.instances,
        "budget": args.budget,
        "students": students,
        "seed": seed,
        "missing": missing,
        "duplicates": duplicates,
        "duplicates_explained": explained,
        "duplicates_unexplained": duplicates - explained,
        "http_429": http_429,
        "ratio_to_bound": max(ratios) if ratios else None,
        "failover_seconds": max(failovers) if failovers else None,
        "double_responses": double,
        "lost": lost,
        "answers_acked": {"slack": len(slack_acked), "discord": len(discord_acked)},
        "discord_presses": discord_answers.presses,
        "discord_presses_unanswered": discord_answers.unanswered_presses,
        "pace": {"slack": slack_pace, "discord": discord_pace},
        "kills": kills,
        "outbox": dict(Counter(statuses.values())),
        "drained": finished,
        "seconds": round(seconds, 2),
        "bot_error_lines": errors,
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark and print its JSON as the last line (exit 1 without PostgreSQL)."""
    args = build_parser().parse_args(argv)

    async def run(workdir: Path) -> dict[str, Any]:
        result = await run_cluster(args, workdir)
        if args.keep:
            result["logs"] = await asyncio.to_thread(keep_logs, workdir)
        return result

    return run_with_workdir(
        "cluster",
        run,
        database_url=args.database_url,
        problem=None
        if is_postgres_url(args.database_url)
        else "cluster needs PostgreSQL (--database-url postgresql+psycopg://...)",
    )


if __name__ == "__main__":
    main()
