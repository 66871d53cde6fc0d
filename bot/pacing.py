"""Outbound pacing: token buckets per platform and per channel.

Sends stay under the platforms' rate limits instead of running into 429s.

A bucket of rate r and burst b lets through at most b + r*T sends in any T seconds. Buckets
here *reserve*: taking a token may put the bucket into debt and returns how long the caller
must wait before using it, so waiters are served in order without polling. Time comes from an
injected monotonic clock and sleep, so tests move virtual time and never sleep for real.

The delivery loop first waits until the channel has a slot (outside its concurrency limit,
taking nothing), then waits on the platform's bucket, and takes the channel's slot right before
the send, so a channel's sends are counted when they happen. 10,000 DMs to 10,000 different
channels therefore go at the platform's overall rate, and one busy channel (a staff channel)
waits alone and never holds up the others.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from storage.budget import Grant

log = logging.getLogger(__name__)

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
#: Called with the seconds every send to a platform must wait (see `HoldReporter`).
Hold = Callable[[float], None]


@runtime_checkable
class HoldReporter(Protocol):
    """A messenger that learns of platform-wide refusals its client library retries by itself.

    discord.py answers Discord's global 429 by waiting and retrying inside the library: the
    delivery loop never sees it, and its pacer would go on releasing sends that pile up behind
    the library's lock and then all go at once, overflowing the next window too. The delivery
    loop hands such a messenger its pacer's `hold` for the platform.
    """

    def report_holds(self, hold: Hold) -> None:
        """Call `hold(seconds)` whenever the platform refuses every send for that long."""


@dataclass(frozen=True)
class RateLimit:
    """`rate` sends per second on average, at most `burst` at once."""

    rate: float
    burst: float = 1.0


@dataclass(frozen=True)
class PlatformLimits:
    """A platform's overall (workspace/global) limit and its per-channel limit.

    `dm_open_cost`: extra overall tokens a send costs when the DM channel is not known yet
    (Discord opens it with a request of its own that counts against the global limit).
    """

    overall: RateLimit | None = None
    per_channel: RateLimit | None = None
    dm_open_cost: int = 0


class TokenBucket:
    """A reserving token bucket."""

    def __init__(self, limit: RateLimit, monotonic: Monotonic) -> None:
        if limit.rate <= 0 or limit.burst < 1:
            raise ValueError("a rate limit needs rate > 0 and burst >= 1")
        self.rate = limit.rate
        self.burst = float(limit.burst)
        self._monotonic = monotonic
        self._tokens = self.burst
        self._at = monotonic()

    def _refill(self) -> float:
        now = self._monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        return now

    def reserve(self, tokens: float = 1.0) -> float:
        """Take `tokens` now; returns the seconds to wait before they may be used."""
        self._refill()
        self._tokens -= tokens
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def delay(self, tokens: float = 1.0) -> float:
        """Seconds until `tokens` are available, without taking them."""
        self._refill()
        missing = tokens - self._tokens
        return 0.0 if missing <= 0 else missing / self.rate

    def block_for(self, seconds: float) -> None:
        """Hold the bucket empty for `seconds` (the platform said Retry-After)."""
        self._refill()
        self._tokens = min(self._tokens, -seconds * self.rate)

    @property
    def idle(self) -> bool:
        """True when the bucket is full again (it can be forgotten)."""
        self._refill()
        return self._tokens >= self.burst


class Pacer:
    """Every bucket of every platform; platforms without limits are not paced."""

    # Idle channel buckets are dropped once there are this many, so memory stays bounded.
    MAX_IDLE_CHANNELS = 50_000
    # Seconds a send may run ahead of the sent-count bucket. It absorbs the scheduler's own
    # wake-up jitter (else each late wake-up would push every later send back), and costs at
    # most rate * 5 ms extra sends in any window (0.25 at 50/s).
    LATE_TOLERANCE = 0.005

    def __init__(
        self,
        limits: Mapping[str, PlatformLimits] | None = None,
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.limits = dict(limits or {})
        self.monotonic = monotonic
        self.sleep = sleep
        self._overall: dict[str, TokenBucket] = {}
        # The same overall limits, counting sends when they really happen (see wait_overall).
        self._overall_sent: dict[str, TokenBucket] = {}
        self._channels: dict[tuple[str, str], TokenBucket] = {}

    def overall_rate(self, platform: str) -> float | None:
        """The platform's overall sends per second, or None when unpaced."""
        limit = self.limits.get(platform)
        return limit.overall.rate if limit is not None and limit.overall is not None else None

    def _overall_bucket(self, platform: str) -> TokenBucket | None:
        limit = self.limits.get(platform)
        if limit is None or limit.overall is None:
            return None
        bucket = self._overall.get(platform)
        if bucket is None:
            bucket = self._overall[platform] = TokenBucket(limit.overall, self.monotonic)
        return bucket

    def _channel_bucket(self, platform: str, channel: str) -> TokenBucket | None:
        limit = self.limits.get(platform)
        if limit is None or limit.per_channel is None:
            return None
        key = (platform, channel)
        bucket = self._channels.get(key)
        if bucket is None:
            if len(self._channels) >= self.MAX_IDLE_CHANNELS:
                self._channels = {k: b for k, b in self._channels.items() if not b.idle}
            bucket = self._channels[key] = TokenBucket(limit.per_channel, self.monotonic)
        return bucket

    def channel_delay(self, platform: str, channel: str) -> float:
        """Seconds until the channel has a slot (nothing is taken)."""
        bucket = self._channel_bucket(platform, channel)
        return bucket.delay() if bucket is not None else 0.0

    def take_channel(self, platform: str, channel: str) -> float:
        """Take the channel's slot at the moment of sending; returns any wait still due."""
        bucket = self._channel_bucket(platform, channel)
        return bucket.reserve() if bucket is not None else 0.0

    async def wait_channel(self, platform: str, channel: str) -> None:
        """Wait for the channel's next slot and take it (for callers with no overall wait)."""
        wait = self.channel_delay(platform, channel)
        while wait > 0:
            await self.sleep(wait)
            wait = self.channel_delay(platform, channel)
        self.take_channel(platform, channel)

    async def wait_overall(self, platform: str, *, opens_dm: bool = False) -> None:
        """Wait for the platform's next slot (two when the send must open a DM first)."""
        bucket = self._overall_bucket(platform)
        if bucket is None:
            return
        limit = self.limits[platform]
        tokens = 1.0 + (limit.dm_open_cost if opens_dm else 0)
        wait = bucket.reserve(tokens)
        if wait > 0:
            await self.sleep(wait)
        # A reservation is a time slot; a late wake-up (a garbage-collection pause, a busy
        # loop) lets every waiter whose slot has passed go at once, and that bunch can break
        # the platform's window (measured: bench/fanout.py, 429s after a 0.36 s GC pause). So
        # sends are counted again when they really go out, which spaces a bunch out again;
        # on time, this bucket always has the token and adds no wait.
        sent = self._sent_bucket(platform)
        assert sent is not None
        need = min(tokens, sent.burst)  # a DM opening may cost more than the burst
        late = sent.delay(need)
        # A nanosecond over the tolerance for float rounding: a sleep too short to move the
        # clock would otherwise repeat for ever.
        while late > self.LATE_TOLERANCE + 1e-9:
            # Sleep only until the tolerance admits the send, not until the bucket is full:
            # waking up is always a little late, and sleeping the full `late` every time
            # added that lateness send after send, a steady drift below the pace (measured:
            # 1.2 % at 48.5/s in bench/fanout.py).
            await self.sleep(late - self.LATE_TOLERANCE)
            late = sent.delay(need)
        sent.reserve(tokens)

    def _sent_bucket(self, platform: str) -> TokenBucket | None:
        limit = self.limits.get(platform)
        if limit is None or limit.overall is None:
            return None
        sent = self._overall_sent.get(platform)
        if sent is None:
            sent = self._overall_sent[platform] = TokenBucket(limit.overall, self.monotonic)
        return sent

    def hold(self, platform: str, seconds: float) -> None:
        """The platform refused every send for `seconds` (a global 429): none goes before.

        Both overall buckets are held: new reservations queue behind the hold, and sends
        whose slot already came wait in `wait_overall` and then go one at a time at the
        pace, instead of as one bunch when the hold ends.
        """
        if seconds <= 0:
            return
        for bucket in (self._overall_bucket(platform), self._sent_bucket(platform)):
            if bucket is not None:
                bucket.block_for(seconds)

    def retry_after(self, platform: str, channel: str, seconds: float) -> None:
        """The platform answered 429 with Retry-After: hold this channel back that long."""
        bucket = self._channel_bucket(platform, channel)
        if bucket is not None and seconds > 0:
            bucket.block_for(seconds)


# --------------------------------------------------------------------------- shared budget


class SharedBudget(Protocol):
    """A token bucket all instances of a cluster take from (storage/budget.py: PostgreSQL).

    Both calls block (a database round trip); the pacer runs them in a thread.
    """

    def take(
        self,
        platform: str,
        bucket: str,
        want: int,
        limit: RateLimit,
        ahead: float,
        least: int = 1,
    ) -> Grant:
        """Refill and take `least` to `want` tokens in one atomic step (or none).

        The bucket may go `ahead` seconds of its rate into debt (future slots).
        """
        ...

    def hold(self, platform: str, bucket: str, seconds: float, limit: RateLimit) -> None:
        """Empty the bucket for `seconds` (a platform-wide Retry-After), for every instance."""
        ...


class SharedPacer(Pacer):
    """A `Pacer` whose overall buckets are shared by all instances through a `SharedBudget`.

    Channel buckets stay in the process (a claim holds a channel's rows; see
    docs/architecture.md). For the overall budget, a round trip reserves a few tokens at once
    (about `chunk_seconds` of the rate, never more than the waiting sends need), each with the
    time slot the shared bucket gave it. A token is used at its slot and at most
    `late_tolerance` after it; a token whose slot has passed by more (a busy loop, a dead
    waiter) is dropped, never used late. So the sends of all instances together follow the
    shared bucket's slots: in any T seconds at most burst + rate * (T + late_tolerance +
    the round trip's return time) requests, as one instance's `Pacer` (a send that also opens
    a DM uses its two consecutive slots at the second). A dead instance's reserved tokens are
    lost with it: the others lose at most its last reservation, `chunk_seconds` of budget.

    The shared bucket goes into debt (future slots) rather than refusing: an instance waits
    for its slots as it would in a local queue, and instances take turns a chunk at a time.
    Refusing at a small debt made them poll (measured: two refused round trips per grant
    with three instances). Each instance holds at most one chunk ahead, so the debt stays
    under instances * `chunk_seconds`; `ahead_seconds` only caps it.
    """

    def __init__(
        self,
        limits: Mapping[str, PlatformLimits] | None,
        budget: SharedBudget,
        *,
        monotonic: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        chunk_seconds: float = 0.25,
        ahead_seconds: float = 2.0,
        late_tolerance: float = 0.02,
        bucket: str = "overall",
    ) -> None:
        super().__init__(limits, monotonic=monotonic, sleep=sleep)
        self.budget = budget
        self.chunk_seconds = chunk_seconds
        self.ahead_seconds = ahead_seconds
        self.late_tolerance = late_tolerance
        self.bucket = bucket
        # Per platform: reserved slots (local monotonic times) in order, not yet used.
        self._slots: dict[str, collections.deque[float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._demand: dict[str, int] = {}
        self._held_until: dict[str, float] = {}
        self._background: set[asyncio.Future[None]] = set()
        # Counters for tests and benchmarks.
        self.round_trips = 0
        self.dropped = 0  # reserved tokens never used (late, or inside a hold)

    async def wait_overall(self, platform: str, *, opens_dm: bool = False) -> None:
        """Wait for the platform's next shared slot(s) and use them now."""
        limit = self.limits.get(platform)
        if limit is None or limit.overall is None:
            return
        tokens = 1 + (limit.dm_open_cost if opens_dm else 0)
        self._demand[platform] = self._demand.get(platform, 0) + tokens
        try:
            while True:
                slots = await self._take_slots(platform, limit.overall, tokens)
                wait = slots[-1] - self.monotonic()
                if wait > 0:
                    await self.sleep(wait)
                late = self.monotonic() - slots[-1]
                held = slots[0] < self._held_until.get(platform, 0.0)
                if late <= self.late_tolerance + 1e-9 and not held:
                    return
                # Woken too late: using the slot now could bunch with other instances'.
                self.dropped += len(slots)
        finally:
            self._demand[platform] -= tokens

    def _drop_stale(self, platform: str, slots: collections.deque[float]) -> None:
        oldest = max(self.monotonic() - self.late_tolerance, self._held_until.get(platform, 0.0))
        while slots and slots[0] < oldest:
            slots.popleft()
            self.dropped += 1

    async def _take_slots(self, platform: str, limit: RateLimit, tokens: int) -> list[float]:
        slots = self._slots.setdefault(platform, collections.deque())
        lock = self._locks.setdefault(platform, asyncio.Lock())
        while True:
            self._drop_stale(platform, slots)
            if len(slots) >= tokens:
                return [slots.popleft() for _ in range(tokens)]
            async with lock:
                self._drop_stale(platform, slots)
                if len(slots) >= tokens:
                    continue  # another waiter's round trip brought enough
                # What the waiting sends need, at most a chunk of the rate (at least this
                # send's): tokens reserved for nobody would be lost to the other instances.
                chunk = max(1, math.ceil(limit.rate * self.chunk_seconds))
                need = tokens - len(slots)
                want = max(need, min(chunk, self._demand[platform] - len(slots)))
                # All or nothing up to half a chunk: at saturation, grants of the one token
                # that freed up since the last ask made a round trip per send (measured with
                # three instances); never more than the bucket can ever hold.
                room = max(1, math.floor(limit.burst + limit.rate * self.ahead_seconds))
                least = min(room, max(need, min(want, math.ceil(chunk / 2))))
                grant = await asyncio.to_thread(
                    self.budget.take,
                    platform,
                    self.bucket,
                    want,
                    limit,
                    self.ahead_seconds,
                    least,
                )
                self.round_trips += 1
                now = self.monotonic()
                if grant.count <= 0:
                    await self.sleep(max(grant.retry_in, 1.0 / limit.rate / 10))
                    continue
                slots.extend(
                    now + max(0.0, (j - grant.level) / limit.rate)
                    for j in range(1, grant.count + 1)
                )

    def hold(self, platform: str, seconds: float) -> None:
        """A global 429: no local slot before it ends, and the shared bucket held for all."""
        limit = self.limits.get(platform)
        if seconds <= 0 or limit is None or limit.overall is None:
            return
        self._held_until[platform] = max(
            self._held_until.get(platform, 0.0), self.monotonic() + seconds
        )
        task = asyncio.ensure_future(self._hold_shared(platform, seconds, limit.overall))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _hold_shared(self, platform: str, seconds: float, limit: RateLimit) -> None:
        try:
            await asyncio.to_thread(self.budget.hold, platform, self.bucket, seconds, limit)
        except Exception:
            # This instance holds anyway; the others hear of the 429 from their own sends.
            log.exception("holding the shared %s budget failed", platform)
