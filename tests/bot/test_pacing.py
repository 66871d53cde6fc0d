"""Outbound pacing: token buckets per platform and per channel, on virtual time (no sleeping).

Proves that sends stay under each bucket's rate, that 10,000 DMs to 10,000 channels go at the
platform's overall rate (per-channel buckets don't serialise them), that a busy channel holds
up no other, and that the delivery loop honours Retry-After and hands back what it cannot send
within its lease.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlmodel import select

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.delivery import OutboxDelivery
from bot.model import Message, Recipient, SendResult, TransientDeliveryError
from bot.pacing import Pacer, PlatformLimits, RateLimit, TokenBucket
from bot.services.delivery_events import ServiceDeliveryEvents
from storage.db import Database
from storage.tables import Outbox
from tests.scheduling.world import utc

T = TypeVar("T")
NOW = utc(2026, 11, 23, 12, 0)


class VirtualTime:
    """A monotonic clock and a sleep that only advance when every task is waiting on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), future))
        await future

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro`, jumping time to the next sleeper whenever nothing else can run."""
        task = asyncio.ensure_future(coro)
        while not task.done():
            for _ in range(20):  # let every runnable task (and finished DB threads) move on
                await asyncio.sleep(0)
            if self._sleepers and not task.done():
                wake, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, wake)
                future.set_result(None)
        return task.result()


def max_in_window(times: list[float], window: float) -> int:
    """The most events in any half-open interval of `window` seconds."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_token_bucket_reserves_in_order() -> None:
    """A 2/s bucket with burst 2: two now, then one every half second."""
    clock = VirtualTime()
    bucket = TokenBucket(RateLimit(2.0, 2), clock.monotonic)
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.0, 0.5, 1.0]
    clock.now = 10.0
    assert bucket.reserve() == 0.0


async def send_all(pacer: Pacer, clock: VirtualTime, channels: list[str]) -> list[float]:
    """Send one message per entry (channel ids may repeat) the way the delivery loop does."""
    sent: list[float] = []
    semaphore = asyncio.Semaphore(50)
    by_channel: dict[str, int] = {}
    for channel in channels:
        by_channel[channel] = by_channel.get(channel, 0) + 1

    async def channel_task(channel: str, count: int) -> None:
        for _ in range(count):
            await clock.sleep(pacer.channel_delay("discord", channel))
            async with semaphore:
                await pacer.wait_overall("discord")
                await clock.sleep(pacer.take_channel("discord", channel))
                sent.append(clock.monotonic())

    await asyncio.gather(*(channel_task(c, n) for c, n in by_channel.items()))
    return sent


async def test_ten_thousand_dms_go_at_the_global_rate() -> None:
    """10,000 DMs to 10,000 channels take 10,000/rate seconds, never faster than the limit."""
    clock = VirtualTime()
    limits = {"discord": PlatformLimits(RateLimit(50, 5), RateLimit(0.8, 1))}
    pacer = Pacer(limits, monotonic=clock.monotonic, sleep=clock.sleep)
    channels = [f"dm-{i}" for i in range(10_000)]
    sent = await clock.run(send_all(pacer, clock, channels))
    assert len(sent) == 10_000
    assert (10_000 - 5) / 50 <= max(sent) <= 10_000 / 50 + 1  # the global rate, not per channel
    assert max_in_window(sent, 1.0) <= 5 + 50


class StallingTime(VirtualTime):
    """Virtual time with one event-loop stall: from `at`, every sleeper wakes `length` late."""

    def __init__(self, at: float, length: float) -> None:
        super().__init__()
        self.at, self.length, self.stalled = at, length, False

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """As VirtualTime.run, but time jumps `length` past the first wake-up due after `at`."""
        task = asyncio.ensure_future(coro)
        while not task.done():
            for _ in range(20):
                await asyncio.sleep(0)
            if self._sleepers and not task.done():
                wake, _, future = heapq.heappop(self._sleepers)
                if wake >= self.at and not self.stalled:
                    self.stalled, wake = True, wake + self.length
                self.now = max(self.now, wake)
                future.set_result(None)
        return task.result()


async def test_a_stalled_loop_does_not_bunch_the_sends_after_it() -> None:
    """After a 0.4 s stall (a GC pause) the sends whose slot passed are spaced out again."""
    clock = StallingTime(at=2.0, length=0.4)
    limits = {"discord": PlatformLimits(RateLimit(48.5, 1), RateLimit(0.8, 1))}
    pacer = Pacer(limits, monotonic=clock.monotonic, sleep=clock.sleep)
    sent = await clock.run(send_all(pacer, clock, [f"dm-{i}" for i in range(300)]))
    assert len(sent) == 300 and clock.stalled
    # Burst 1 + 48.5 a second + the 5 ms tolerance: under Discord's 50 in any second.
    assert max_in_window(sent, 1.0) <= 50
    assert max_in_window(sent, 0.1) <= 6


async def test_a_global_hold_stops_every_send_and_spaces_them_after() -> None:
    """A 0.7 s hold (a global 429): nothing goes during it, and no bunch goes when it ends."""
    clock = VirtualTime()
    limits = {"discord": PlatformLimits(RateLimit(48.5, 1), RateLimit(0.8, 1))}
    pacer = Pacer(limits, monotonic=clock.monotonic, sleep=clock.sleep)
    held_at: list[float] = []

    async def hold_once() -> None:
        await clock.sleep(1.0)
        held_at.append(clock.monotonic())
        pacer.hold("discord", 0.7)

    async def both() -> list[float]:
        sent, _ = await asyncio.gather(
            send_all(pacer, clock, [f"dm-{i}" for i in range(300)]), hold_once()
        )
        return sent

    sent = await clock.run(both())
    assert len(sent) == 300
    start = held_at[0]
    assert not [t for t in sent if start < t < start + 0.7]
    after = [t for t in sent if t >= start + 0.7]
    # The waiters whose slots fell in the hold go at the pace again, not all at once.
    assert max_in_window(after, 0.1) <= 6 and max_in_window(sent, 1.0) <= 50


class JitteryTime(VirtualTime):
    """Virtual time whose sleeps wake up late as on a busy loop: 0.5 ms, or `spike` s."""

    def __init__(self, spike: float, every: int) -> None:
        super().__init__()
        self.spike, self.every, self.sleeps = spike, every, 0

    async def sleep(self, seconds: float) -> None:
        """Sleep `seconds` plus the lateness: a spike every `every`-th sleep (none to yield)."""
        if seconds <= 0:
            await super().sleep(seconds)
            return
        self.sleeps += 1
        await super().sleep(seconds + (self.spike if self.sleeps % self.every == 0 else 0.0005))


async def test_late_wake_ups_do_not_add_up_to_a_drift() -> None:
    """Sleeps waking up late (15 ms now and then) leave the pace intact and the window kept."""
    clock = JitteryTime(spike=0.015, every=20)
    limits = {"discord": PlatformLimits(RateLimit(48.5, 1), RateLimit(0.8, 1))}
    pacer = Pacer(limits, monotonic=clock.monotonic, sleep=clock.sleep)
    sent = await clock.run(send_all(pacer, clock, [f"dm-{i}" for i in range(1000)]))
    assert len(sent) == 1000
    # On pace: the last send about 999 / 48.5 s after the first, give or take a spike (sleeping
    # until the bucket was full used to add each late wake-up to every later send: +66 ms).
    assert max(sent) - min(sent) <= 999 / 48.5 + 0.03
    assert max_in_window(sent, 1.0) <= 50


async def test_a_busy_channel_holds_up_no_other() -> None:
    """20 posts to one channel trickle at its rate; 100 DMs elsewhere are done within 2 s."""
    clock = VirtualTime()
    limits = {"discord": PlatformLimits(RateLimit(50, 5), RateLimit(1.0, 1))}
    pacer = Pacer(limits, monotonic=clock.monotonic, sleep=clock.sleep)
    per_channel: dict[str, list[float]] = {}

    async def post(channel: str) -> None:
        await clock.sleep(pacer.channel_delay("discord", channel))
        await pacer.wait_overall("discord")
        await clock.sleep(pacer.take_channel("discord", channel))
        per_channel.setdefault(channel, []).append(clock.monotonic())

    async def busy() -> None:
        for _ in range(20):
            await post("staff")

    await clock.run(asyncio.gather(busy(), *(post(f"dm-{i}") for i in range(100))))
    others = [t for c, ts in per_channel.items() if c != "staff" for t in ts]
    assert max(others) <= 2.1
    assert max_in_window(per_channel["staff"], 0.999) <= 1  # one a second (float slack)
    assert max(per_channel["staff"]) >= 19


async def test_retry_after_holds_the_channel_back() -> None:
    """After a Retry-After of 5 s the channel's next send waits at least 5 s."""
    clock = VirtualTime()
    pacer = Pacer(
        {"slack": PlatformLimits(None, RateLimit(1.0, 1))},
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )
    await clock.run(pacer.wait_channel("slack", "C1"))
    pacer.retry_after("slack", "C1", 5.0)
    await clock.run(pacer.wait_channel("slack", "C1"))
    assert clock.now >= 5.0


@dataclass
class TimedMessenger:
    """Records the virtual time of every send; can answer 429 once per channel."""

    clock: VirtualTime
    sent: list[tuple[float, str]] = field(default_factory=list)
    throttle_once: dict[str, float] = field(default_factory=dict)

    async def send(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        channel = to.channel_id or to.user_id or ""
        if channel in self.throttle_once:
            raise TransientDeliveryError("ratelimited", self.throttle_once.pop(channel))
        self.sent.append((self.clock.monotonic(), channel))
        return SendResult(message_id=nonce, channel_id=channel)


@dataclass
class HoldingMessenger(TimedMessenger):
    """Like a client library that waits out a platform-wide 429 by itself, and reports it."""

    hold_at_send: int = 10
    hold_seconds: float = 2.0
    holds: list[Callable[[float], None]] = field(default_factory=list)

    def report_holds(self, hold: Callable[[float], None]) -> None:
        self.holds.append(hold)

    async def send(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        if len(self.sent) + 1 == self.hold_at_send:
            for hold in self.holds:
                hold(self.hold_seconds)
            await self.clock.sleep(self.hold_seconds)  # the library's own wait, then its retry
        return await super().send(to, message, nonce=nonce)


async def test_delivery_holds_every_send_on_a_hold_its_messenger_reports(db: Database) -> None:
    """A 2 s platform-wide hold from the messenger: the other sends wait it out, spaced."""
    clock = VirtualTime()
    messenger = HoldingMessenger(clock)
    queue(db, [f"D{i}" for i in range(100)], platform="discord")
    loop = delivery(db, clock, messenger, {"discord": PlatformLimits(RateLimit(10, 1), None)})
    stats = await clock.run(loop.deliver_once(["discord"]))
    assert stats.sent == 100 and len(messenger.holds) == 1  # hooked once
    times = [t for t, _ in messenger.sent]
    held_from = times[8]  # the ninth send went, then the tenth met the hold
    assert not [t for t in times if held_from < t < held_from + 2.0]
    # No bunch when the hold ends: burst 1 + the rate, as everywhere else.
    assert max_in_window(times, 1.0) <= 1 + 10 + 1


def queue(db: Database, channels: list[str], platform: str = "slack") -> None:
    """Pending outbox rows, one per entry, to these channels."""
    from sqlalchemy import insert

    with db.session() as session:
        session.execute(
            insert(Outbox),
            [
                dict(
                    dedupe_key=f"test:{i}",
                    platform=platform,
                    user_id=f"U{i}",
                    channel_id=c,
                    kind="message",
                    payload=Message(text="hi").to_json(),
                    urgent=False,
                    status="pending",
                    attempts=0,
                    next_attempt_at=NOW,
                    created_at=NOW,
                )
                for i, c in enumerate(channels)
            ],
        )


def delivery(
    db: Database, clock: VirtualTime, messenger: TimedMessenger, limits: dict[str, PlatformLimits]
) -> OutboxDelivery:
    pacer = Pacer(limits, monotonic=clock.monotonic, sleep=clock.sleep)
    return OutboxDelivery(
        db,
        {"slack": messenger, "discord": messenger},
        FixedClock(NOW),
        CoreSettings(),
        ServiceDeliveryEvents(CoreSettings()),
        pacer=pacer,
    )


def outbox_rows(db: Database) -> list[Outbox]:
    with db.session() as session:
        return list(session.exec(select(Outbox).order_by(Outbox.id)).all())


async def test_delivery_paces_a_fan_out_under_the_workspace_rate(db) -> None:
    """400 DMs on Slack at 5/s: all sent, in claim batches that fit the lease, never > rate."""
    clock = VirtualTime()
    messenger = TimedMessenger(clock)
    queue(db, [f"D{i}" for i in range(400)])
    loop = delivery(
        db, clock, messenger, {"slack": PlatformLimits(RateLimit(5, 1), RateLimit(1, 1))}
    )
    assert loop._claim_limit("slack") == 150  # half a 60 s lease at 5/s
    stats = await clock.run(loop.deliver_once(["slack"]))
    assert stats.sent == 400 and len(messenger.sent) == 400
    times = [t for t, _ in messenger.sent]
    assert max_in_window(times, 1.0) <= 1 + 5
    assert max(times) >= 79
    assert {r.status for r in outbox_rows(db)} == {"sent"}


async def test_delivery_honours_retry_after_for_the_channel(db) -> None:
    """A 429 with Retry-After 7 s: the row retries no sooner, and the channel's next row waits."""
    clock = VirtualTime()
    messenger = TimedMessenger(clock, throttle_once={"C1": 7.0})
    queue(db, ["C1", "C1", "C2"])
    loop = delivery(db, clock, messenger, {"slack": PlatformLimits(None, RateLimit(1, 1))})
    stats = await clock.run(loop.deliver_once(["slack"]))
    assert (stats.sent, stats.retried) == (2, 1)
    c1_times = [t for t, c in messenger.sent if c == "C1"]
    assert c1_times and min(c1_times) >= 7.0
    first = outbox_rows(db)[0]
    assert first.status == "pending" and first.next_attempt_at >= utc(2026, 11, 23, 12, 0, 7)


async def test_delivery_hands_back_what_a_channel_cannot_send_within_the_lease(db) -> None:
    """50 posts to one Discord channel at 0.8/s: those beyond half a lease go back unsent."""
    clock = VirtualTime()
    messenger = TimedMessenger(clock)
    queue(db, ["CSTAFF"] * 50, platform="discord")
    loop = delivery(
        db, clock, messenger, {"discord": PlatformLimits(RateLimit(45, 4.5), RateLimit(0.8, 1))}
    )
    stats = await clock.run(loop.deliver_once(["discord"]))
    assert stats.sent + stats.deferred == 50 and 20 <= stats.sent <= 26
    assert max(t for t, _ in messenger.sent) <= 30
    waiting = [r for r in outbox_rows(db) if r.status == "pending"]
    assert len(waiting) == stats.deferred
    assert all(r.attempts == 0 and r.next_attempt_at > NOW for r in waiting)


@dataclass
class StallingMessenger(TimedMessenger):
    """A send that takes `first_send_seconds` the first time (a starved loop), then none."""

    first_send_seconds: float = 0.0

    async def send(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        if not self.sent:
            await self.clock.sleep(self.first_send_seconds)
        return await super().send(to, message, nonce=nonce)


async def test_rows_held_back_near_their_lease_end_are_handed_back(db: Database) -> None:
    """Rows whose slot comes after 80 % of their lease go back and are claimed anew, once."""
    clock = VirtualTime()
    messenger = StallingMessenger(clock, first_send_seconds=50.0)  # of a 60 s lease
    queue(db, [f"D{i}" for i in range(5)], platform="discord")
    loop = delivery(db, clock, messenger, {"discord": PlatformLimits(RateLimit(10, 1), None)})
    loop.concurrency = 1  # the others wait behind the stalled send
    stats = await clock.run(loop.deliver_once(["discord"]))
    assert (stats.sent, stats.deferred) == (5, 4)
    assert sorted(c for _, c in messenger.sent) == [f"D{i}" for i in range(5)]  # each once
    rows = outbox_rows(db)
    assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}
