"""Benchmark: one check-in occurrence for N students, delivered at the platform's rate limit.

    python -m bench fanout --platform slack|discord --students 10000 [--latency 0.05]

N enrolled students (DM channels already known, as on a programme's second day; or
`--first-contact`) get one occurrence opened by the core (`run_due_work`: check-in rows and
outbox rows in bulk), then the real `OutboxDelivery` with its pacer pushes them through the
adapter's real Messenger (SlackMessenger over AsyncWebClient, DiscordMessenger over discord.py)
to the loopback fake, which enforces the platform's documented limits and adds a round-trip
delay to every request:

* Slack: about 1 message/s per channel (token bucket) and a workspace limit on
  chat.postMessage (`--workspace-rate`, per second, enforced as Slack does per minute: a
  sliding 60 s window of rate*60 calls).
* Discord: 50 requests/s global (a fixed 1 s window) and per-route buckets of 5 per 5 s per
  channel (POST /channels/{id}/messages).

The pacer is configured from the same options, `--pace-margin` below the limit (a token bucket
of rate r and burst 1 admits 1 + r*T sends in T seconds, and loopback timing jitters by a few
milliseconds, so pacing at exactly the limit would invite an occasional 429). The margin's
default is per platform (`PACE_MARGIN`): Slack's 60 s window needs far less than Discord's 1 s.

In the same run the same N go through two reference senders written here: a plain loop awaiting
each send, and an all-at-once `asyncio.gather` relying on the client library's own 429 handling
(discord.py's built-in retries; slack_sdk's AsyncRateLimitErrorRetryHandler). Each is bounded
by `--reference-timeout`; what did not arrive by then counts as missing.

Prints one JSON object (the last line): seconds, bound_seconds (N / allowed rate),
ratio_to_bound, http_429, delivered, duplicates, missing, core_prepare_seconds,
busiest_window (the most requests the fake's overall limit counted in any window of its
length, against that limit: how close ours came), and the two references' figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp

from bench.harness import (
    QueuedPush,
    add_schedule,
    busiest_window,
    delivery_figures,
    emit,
    floor_minute,
    outbox_counts,
    queued_pushes,
    raise_fd_limit,
    seed_students,
    start_fake_discord,
    start_fake_slack,
    temp_database,
    utc_now,
)
from bot.clock import SystemClock
from bot.config import CoreSettings
from bot.delivery import OutboxDelivery, nonce_for
from bot.model import Messenger, SendResult
from bot.pacing import Pacer, PlatformLimits, RateLimit
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.occurrences import open_occurrences
from storage.db import Database

BENCHMARK = True

log = logging.getLogger(__name__)

SendOne = Callable[[QueuedPush, str], Awaitable[SendResult]]


@dataclass
class Platform:
    """A started fake plus the adapter's messenger(s) for one platform."""

    name: str
    messenger: Messenger
    # The messenger the all-at-once reference uses (library 429 handling switched on).
    eager_messenger: Messenger
    channel_of: Callable[[str], str]  # user id -> the DM channel the fake files it under
    snapshot: Callable[[], Any]
    counts_since: Callable[[Any], Counter[str]]
    http_429: Callable[[], int]
    # Monotonic times of every request the fake's overall limit counted, in order, and that
    # limit: `window_limit` requests per `window_seconds`.
    counted_times: Callable[[], list[float]]
    window_seconds: float
    window_limit: int
    reset_limits: Callable[[], Awaitable[None]]


# How far under the overall limit the pacer goes, per platform, by default. A token bucket of
# rate r and burst 1 admits 1 + r*T sends in any T seconds, plus r * 5 ms (the pacer's late
# tolerance); what the fake counts also moves by the jitter between a send and its count
# (`busiest_window` in the output is the fake's own count, any window start: the figure to
# check these by).
# * Slack counts a sliding 60 s window (3,000 at 50/s): at 1 % with burst 4.95 that admits
#   4.95 + 49.5 * 60 = 2,975, leaving 25 requests (0.5 s of sends) for jitter and stalls.
# * Discord counts a 1 s window of 50: at 3 %, 1 + 48.5 + 0.24 leaves half a request, and the
#   busiest second the fake counted (sliding; its own windows are fixed) was already 50-51
#   in 2,000-student runs: a stalled loop lets the requests in flight be counted late, on top
#   of the next second's. Less margin would invite 429s.
PACE_MARGIN = {"slack": 0.01, "discord": 0.03}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(prog="python -m bench fanout", description=__doc__)
    parser.add_argument("--platform", choices=("slack", "discord"), default="slack")
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument(
        "--latency", type=float, default=0.05, help="round trip added per request (s)"
    )
    parser.add_argument(
        "--workspace-rate",
        type=float,
        default=50.0,
        help="Slack chat.postMessage per second per workspace (enforced per minute)",
    )
    parser.add_argument("--channel-rate", type=float, default=1.0, help="Slack per channel /s")
    parser.add_argument("--global-rate", type=int, default=50, help="Discord requests/s")
    parser.add_argument("--route-limit", type=int, default=5, help="Discord per-channel bucket")
    parser.add_argument("--route-window", type=float, default=5.0, help="its window (s)")
    parser.add_argument(
        "--pace-margin",
        type=float,
        default=None,
        help="pace this fraction under the overall limit (absorbs loopback jitter; "
        "default per platform: " + ", ".join(f"{p} {m:g}" for p, m in PACE_MARGIN.items()) + ")",
    )
    parser.add_argument("--concurrency", type=int, default=50, help="delivery's sends in flight")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="delivery's claim cap (default: its own)"
    )
    parser.add_argument("--first-contact", action="store_true", help="no DM channel known yet")
    parser.add_argument(
        "--timeout", type=float, default=None, help="cap for ours (default 3 x bound + 30 s)"
    )
    parser.add_argument(
        "--reference-timeout",
        type=float,
        default=None,
        help="cap per reference run (default 1.2 x bound, at least 10 s)",
    )
    parser.add_argument("--no-reference", action="store_true", help="skip the reference senders")
    parser.add_argument(
        "--no-gc-freeze",
        dest="gc_freeze",
        action="store_false",
        help="leave start-up objects in the collector's full passes",
    )
    parser.add_argument("--log-level", default="ERROR")
    args = parser.parse_args(argv)
    if args.pace_margin is None:
        args.pace_margin = PACE_MARGIN[args.platform]
    return args


def allowed_rate(args: argparse.Namespace) -> float:
    """The platform's overall sends per second (what bounds a fan-out)."""
    return args.workspace_rate if args.platform == "slack" else float(args.global_rate)


def pacer_limits(args: argparse.Namespace) -> dict[str, PlatformLimits]:
    """The pacer's buckets for the limits the fake enforces (see the module docstring)."""
    rate = allowed_rate(args) * (1 - args.pace_margin)
    if args.platform == "slack":
        # Slack counts a minute, so the bucket may hold a tenth of a second's sends, as
        # production's PacingSettings does: a send the loop wakes late for is made up within
        # the minute instead of lost (burst 1 lost ~4 % of the pace at load 6: ratio 1.051,
        # busiest minute 2,912 of 3,000). b + r*60 = 4.95 + 2,970 still leaves 25 for jitter.
        overall = RateLimit(rate, max(1.0, rate / 10))
        return {
            "slack": PlatformLimits(overall=overall, per_channel=RateLimit(args.channel_rate, 1.0))
        }
    # Discord counts a fixed second of 50: no room for more than burst 1 at 48.5/s.
    overall = RateLimit(rate, 1.0)
    # A fixed window of L per W seconds: burst 1 plus (L - 1) / W per second never exceeds it.
    per_channel = RateLimit(max(0.01, (args.route_limit - 1) / args.route_window), 1.0)
    return {"discord": PlatformLimits(overall=overall, per_channel=per_channel, dm_open_cost=1)}


# --------------------------------------------------------------------------- platforms


async def start_slack(args: argparse.Namespace, stack: contextlib.AsyncExitStack) -> Platform:
    """FakeSlack with Slack's limits, and SlackMessengers over real AsyncWebClients."""
    from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler

    from adapters.slack.messenger import SlackMessenger

    fake = await start_fake_slack(
        stack,
        latency=args.latency,
        rate_limits=True,
        channel_rate=args.channel_rate,
        method_rpm={"chat.postMessage": max(1, round(args.workspace_rate * 60))},
    )
    # As SlackService gives its client once started: one pooled HTTP session.
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    stack.push_async_callback(session.close)
    client = fake.web_client(session=session)
    # The library default: no session, a new connection per call.
    eager = fake.web_client()
    # The library's own answer to 429: wait Retry-After and try again (its default count).
    eager.retry_handlers.append(AsyncRateLimitErrorRetryHandler())

    def snapshot() -> Counter[str]:
        return Counter({ch: len(msgs) for ch, msgs in fake.messages.items()})

    def counts_since(before: Counter[str]) -> Counter[str]:
        return snapshot() - before

    async def reset_limits() -> None:
        fake.reset_rate_limits()

    def counted_times() -> list[float]:
        # Slack's window counts the calls it accepts, at arrival (a 429 uses no quota).
        return [c.at for c in fake.calls if c.method == "chat.postMessage" and c.status == 200]

    return Platform(
        name="slack",
        messenger=SlackMessenger(client),
        eager_messenger=SlackMessenger(eager),
        channel_of=fake.dm_channel_id,
        snapshot=snapshot,
        counts_since=counts_since,
        http_429=lambda: fake.http_429,
        counted_times=counted_times,
        window_seconds=60.0,
        window_limit=fake.method_rpm["chat.postMessage"],
        reset_limits=reset_limits,
    )


async def start_discord(
    args: argparse.Namespace,
    db: Database,
    settings: CoreSettings,
    stack: contextlib.AsyncExitStack,
) -> Platform:
    """FakeDiscord with Discord's limits, a logged-in MentorDiscordClient and its Messenger."""
    from adapters.discord.client import MentorDiscordClient
    from adapters.discord.messenger import DiscordMessenger
    from adapters.discord.urls import point_discord_at
    from bot.core import MentorBot
    from bot.features import build_registry

    fake = await start_fake_discord(stack, latency=args.latency)
    point_discord_at(fake.api_base, fake.gateway_url)
    client = MentorDiscordClient(
        MentorBot(db, settings, SystemClock(), registry=build_registry()), guild_ready_timeout=0.05
    )
    task = asyncio.create_task(client.start(fake.token))

    async def close() -> None:
        await client.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10)

    stack.push_async_callback(close)
    try:
        await asyncio.wait_for(client.wait_until_ready(), 30)
    except TimeoutError:
        if task.done():
            task.result()
        raise
    # Limits on only now: logging in is not part of the fan-out, and the 1 s window it
    # opened must be over before ours starts.
    await asyncio.sleep(1.2)
    fake.enforce_global_limit = True
    fake.global_limit = args.global_rate
    fake.enforce_route_limits = True
    fake.route_limits[("POST", "/channels/{channel_id}/messages")].limit = args.route_limit
    fake.route_limits[("POST", "/channels/{channel_id}/messages")].window = args.route_window

    def snapshot() -> int:
        return len(fake.messages_sent)

    def counts_since(start: int) -> Counter[str]:
        return Counter(str(m["channel_id"]) for m in fake.messages_sent[start:])

    async def reset_limits() -> None:
        # Let the 1 s global window run out (no private state poked). Per channel, ours and
        # the two references send one message each: 3, within the route's 5 per 5 s.
        await asyncio.sleep(1.1)

    # As the runtime builds it: the client's guard, whose trace also reports global 429s.
    messenger = DiscordMessenger(client, guard=client.guard)
    return Platform(
        name="discord",
        messenger=messenger,
        # discord.py always handles 429s itself (sleeps Retry-After, up to 5 tries).
        eager_messenger=messenger,
        channel_of=fake.dm_channel_id_for,
        snapshot=snapshot,
        counts_since=counts_since,
        http_429=lambda: fake.http_429,
        counted_times=lambda: list(fake.global_counted_at),
        window_seconds=fake.global_window,
        window_limit=fake.global_limit,
        reset_limits=reset_limits,
    )


# --------------------------------------------------------------------------- runs


async def deliver_ours(
    db: Database,
    settings: CoreSettings,
    platform: Platform,
    args: argparse.Namespace,
    time_limit: float,
) -> dict[str, Any]:
    """The real OutboxDelivery with the pacer, until every row is sent (or `time_limit`)."""
    delivery = OutboxDelivery(
        db,
        {platform.name: platform.messenger},
        SystemClock(),
        settings,
        ServiceDeliveryEvents(settings),
        concurrency=args.concurrency,
        pacer=Pacer(pacer_limits(args)),
        **({"batch_size": args.batch_size} if args.batch_size else {}),
    )
    totals: Counter[str] = Counter()
    cpu = time.process_time()
    started = time.perf_counter()
    deadline = started + time_limit
    while True:
        stats = await delivery.deliver_once([platform.name])
        totals.update(sent=stats.sent, retried=stats.retried, failed=stats.failed)
        totals.update(deferred=stats.deferred)
        counts = await asyncio.to_thread(outbox_counts, db)
        if not counts.get("pending") and not counts.get("sending"):
            break
        if time.perf_counter() >= deadline:
            break
        # Rows waiting for a retry time: look again shortly, as run_forever would.
        await asyncio.sleep(0.1)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu,
        "stats": dict(totals),
        "outbox": outbox_counts(db),
    }


def _error_kind(exc: BaseException) -> str:
    text = f"{type(exc).__name__} {exc}".lower()
    if "429" in text or "rate" in text:
        return "rate_limited"
    if "network" in text or "connect" in text or "too many open files" in text:
        return "connection"
    return type(exc).__name__


async def reference_run(
    name: str,
    pushes: Sequence[QueuedPush],
    messenger: Messenger,
    time_limit: float,
    *,
    all_at_once: bool,
) -> dict[str, Any]:
    """Send every push without the outbox: one after another, or all at once; bounded."""
    errors: Counter[str] = Counter()
    sent = 0

    async def one(push: QueuedPush) -> None:
        nonlocal sent
        try:
            await messenger.send(
                push.recipient, push.message, nonce=nonce_for(f"{name}:{push.dedupe_key}")
            )
            sent += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a reference sender just counts what failed
            errors[_error_kind(exc)] += 1

    async def run() -> None:
        if all_at_once:
            await asyncio.gather(*(one(p) for p in pushes))
        else:
            for push in pushes:
                await one(push)

    started = time.perf_counter()
    finished = True
    try:
        await asyncio.wait_for(run(), time_limit)
    except TimeoutError:
        finished = False
    return {
        "seconds": time.perf_counter() - started,
        "finished": finished,
        "sent_ok": sent,
        "errors": dict(errors),
    }


async def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    """Set up, deliver ours, then the references; returns the figures."""
    raise_fd_limit()
    settings = CoreSettings()
    n = args.students
    rate = allowed_rate(args)
    # Discord opens a DM with a request of its own, which counts against the global limit.
    requests_per_student = 2 if (args.first_contact and args.platform == "discord") else 1
    bound = n * requests_per_student / rate
    timeout = args.timeout if args.timeout is not None else 3 * bound + 30
    ref_timeout = (
        args.reference_timeout if args.reference_timeout is not None else max(10.0, 1.2 * bound)
    )
    result: dict[str, Any] = {
        "benchmark": "fanout",
        "platform": args.platform,
        "students": n,
        "first_contact": args.first_contact,
        "latency_ms": round(args.latency * 1000, 1),
        "limit_per_second": rate,
        "pace_per_second": round(rate * (1 - args.pace_margin), 3),
    }
    with temp_database() as db:
        async with contextlib.AsyncExitStack() as stack:
            if args.platform == "slack":
                platform = await start_slack(args, stack)
            else:
                platform = await start_discord(args, db, settings, stack)
            channel_of = platform.channel_of
            now = utc_now()
            due = floor_minute(now)
            people = seed_students(
                db,
                n,
                platform=args.platform,
                now=now,
                dm_channel_of=None if args.first_contact else (lambda _i, uid: channel_of(uid)),
            )
            # One programme-wide schedule in a fixed zone: everyone's check-in falls due at
            # the same instant, whatever their own zone (the students span 30 zones).
            add_schedule(
                db,
                local_time=f"{due:%H:%M}",
                timezone="UTC",
                created_at=now - timedelta(days=1),
            )
            # The scheduler tick's bulk step (run_due_work's open_occurrences): every check-in
            # row and outbox row of the occurrence, written in one transaction per zone.
            started, cpu = time.perf_counter(), time.process_time()
            outcomes = await asyncio.to_thread(
                open_occurrences, db, settings, now - timedelta(minutes=5), now
            )
            result["core_prepare_seconds"] = round(time.perf_counter() - started, 3)
            result["core_prepare_cpu_seconds"] = round(time.process_time() - cpu, 3)
            result["checkins_opened"] = sum(o.created for o in outcomes if o.sent)
            pushes = queued_pushes(db, args.platform)
            result["outbox_rows"] = len(pushes)
            expected = [channel_of(uid) for _pid, uid in people]

            before, before_429 = platform.snapshot(), platform.http_429()
            counted_before = len(platform.counted_times())
            if args.gc_freeze:
                # What a long-running bot does after start-up: the objects built so far
                # (modules, the fake's world) leave the collector's full passes.
                gc.collect()
                gc.freeze()
            ours = await deliver_ours(db, settings, platform, args, timeout)
            # Anything still in flight at the fake when ours returned is counted too.
            await asyncio.sleep(args.latency + 0.05)
            figures = delivery_figures(expected, platform.counts_since(before))
            result.update(
                seconds=round(ours["seconds"], 3),
                bound_seconds=round(bound, 3),
                ratio_to_bound=round(ours["seconds"] / bound, 4) if bound else None,
                http_429=platform.http_429() - before_429,
                **figures,
                # How close ours came to the limit, as the fake counted (any window start).
                busiest_window={
                    "seconds": platform.window_seconds,
                    "limit": platform.window_limit,
                    "requests": busiest_window(
                        platform.counted_times()[counted_before:], platform.window_seconds
                    ),
                },
                # CPU of this whole process (the bot's delivery and the fake) per message.
                cpu_ms_per_message=round(ours["cpu_seconds"] / n * 1000, 3) if n else None,
                outbox=ours["outbox"],
                delivery_stats=ours["stats"],
            )
            if not args.no_reference:
                for name, eager in (("sequential", False), ("all_at_once", True)):
                    await platform.reset_limits()
                    before, before_429 = platform.snapshot(), platform.http_429()
                    messenger = platform.eager_messenger if eager else platform.messenger
                    ref = await reference_run(
                        name, pushes, messenger, ref_timeout, all_at_once=eager
                    )
                    # Requests cut off by the timeout may still land; give them a moment.
                    await asyncio.sleep(args.latency + 0.2)
                    figures = delivery_figures(expected, platform.counts_since(before))
                    result[name] = {
                        "seconds": round(ref["seconds"], 3),
                        "finished": ref["finished"],
                        "timeout_seconds": round(ref_timeout, 1),
                        "http_429": platform.http_429() - before_429,
                        **figures,
                        "errors": ref["errors"],
                    }
    return result


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark; prints its JSON as the last line and returns it."""
    args = parse_args(argv)
    logging.basicConfig(level=getattr(logging, args.log_level.upper(), logging.ERROR))
    return emit(asyncio.run(run_bench(args)))


if __name__ == "__main__":
    main()
