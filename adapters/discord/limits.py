"""Staying inside Discord's limits beyond what discord.py does by itself.

* `InvalidRequestGuard`: Discord bans (for about an hour, by IP) a bot that sends 10,000
  invalid requests in 10 minutes: answers 401, 403, and 429 other than the `shared` scope.
  discord.py neither counts nor avoids them. The guard counts every such answer the client
  gets (an aiohttp trace on discord.py's own session) and, when the count in the last 10
  minutes reaches `limit` (far below the ban), pauses every push until it falls again.
  The same trace tells `global_listeners` of every global 429 and its retry_after:
  discord.py waits those out inside the library, unseen by the delivery loop's pacer, which
  must hold its sends too (else they pile up behind the library's lock and go as one bunch).
* `BucketPruner`: discord.py keeps a rate-limit bucket per route and channel, and once it
  holds 256 it scans all of them for idle ones on every new bucket, dropping only those
  unused for 5 minutes. A fan-out to 10,000 DM channels (a bucket each, all used within the
  200 s it takes) made that quadratic: 1.7 ms per scan at 5,000 buckets, 17 s of CPU per
  fan-out and a 3.4 ms stall per send at its end. The pruner drops buckets at rest (no
  request in flight or queued, and not exhausted) before that happens; the delivery pacer's
  own per-channel bucket keeps the channel's pace meanwhile.
* `FirstContactRamp`: opening a DM with someone the bot never wrote to is limited by
  Discord (403 code 40003, "opening direct messages too fast", no published figure). First
  contacts start slowly, speed up while Discord accepts them, and halve and wait long
  after a 40003.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Callable
from types import SimpleNamespace

import aiohttp

#: Discord's ban threshold and its window.
BAN_THRESHOLD = 10_000
INVALID_WINDOW_SECONDS = 600.0
#: Sends pause when this many invalid requests were answered in the window: a tenth of the
#: ban, so a burst of refusals (a revoked token, a closed server) can never approach it.
DEFAULT_INVALID_LIMIT = 1_000
#: How long to wait after a 40003 before opening DMs again (Discord gives no Retry-After).
DM_OPEN_BACKOFF_SECONDS = 600.0

Clock = Callable[[], float]


class InvalidRequestGuard:
    """Counts invalid requests over 10 minutes; says how long sends should pause."""

    def __init__(
        self,
        limit: int = DEFAULT_INVALID_LIMIT,
        window: float = INVALID_WINDOW_SECONDS,
        clock: Clock = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._at: deque[float] = deque()
        self.total = 0
        #: Called with retry_after (seconds) on every global 429 (see the module docstring).
        self.global_listeners: list[Callable[[float], None]] = []

    def global_limited(self, retry_after: float) -> None:
        """Discord refused a request under its global limit: tell every listener."""
        for listener in self.global_listeners:
            listener(retry_after)

    def record(self, status: int, scope: str | None = None) -> None:
        """Count one answer if Discord counts it as invalid (401, 403, non-shared 429)."""
        if status in (401, 403) or (status == 429 and scope != "shared"):
            self._at.append(self.clock())
            self.total += 1

    def count(self) -> int:
        """Invalid requests answered in the last window."""
        cutoff = self.clock() - self.window
        while self._at and self._at[0] < cutoff:
            self._at.popleft()
        return len(self._at)

    def pause_seconds(self) -> float:
        """0 to go on; else seconds until the count is back under the limit."""
        excess = self.count() - self.limit
        if excess < 0:
            return 0.0
        # When the oldest `excess + 1` answers have left the window, the count is under.
        return max(0.0, self._at[excess] + self.window - self.clock())

    def trace_config(self) -> aiohttp.TraceConfig:
        """An aiohttp trace that records every answer discord.py's session receives."""
        trace = aiohttp.TraceConfig()

        async def on_request_end(
            session: aiohttp.ClientSession,
            context: SimpleNamespace,
            params: aiohttp.TraceRequestEndParams,
        ) -> None:
            response = params.response
            scope = response.headers.get("X-RateLimit-Scope")
            self.record(response.status, scope)
            if (
                response.status == 429
                and self.global_listeners
                and (scope == "global" or response.headers.get("X-RateLimit-Global") == "true")
            ):
                self.global_limited(await _retry_after(response))

        trace.on_request_end.append(on_request_end)
        return trace


#: Prune when discord.py holds this many buckets: under the 256 where its own scan starts.
PRUNE_AT = 200


class BucketPruner:
    """Keeps discord.py's table of rate-limit buckets small (see the module docstring)."""

    def __init__(self, at: int = PRUNE_AT) -> None:
        self.at = at
        self._next = at
        self.pruned = 0

    def prune(self, http: object) -> int:
        """Drop `http`'s buckets at rest once there are enough; returns how many went.

        Buckets still needed (a request in flight or waiting, or exhausted until its reset)
        stay. When many stay, the next prune waits until the table doubles, so pruning
        costs O(1) per request however many there are.
        """
        buckets = getattr(http, "_buckets", None)
        if not isinstance(buckets, dict) or len(buckets) < self._next:
            return 0
        idle = [key for key, bucket in buckets.items() if _at_rest(bucket)]
        for key in idle:
            del buckets[key]
        self._next = max(self.at, 2 * len(buckets))
        self.pruned += len(idle)
        return len(idle)


def _at_rest(bucket: object) -> bool:
    """True for a discord.py `Ratelimit` nobody waits on and that isn't exhausted."""
    try:
        sleeping = bucket._sleeping.locked()  # type: ignore[attr-defined]
        return (
            not sleeping
            and bucket.outgoing == 0  # type: ignore[attr-defined]
            and not bucket._pending_requests  # type: ignore[attr-defined]
            and (bucket.remaining > 0 or bucket.is_expired())  # type: ignore[attr-defined]
        )
    except AttributeError:  # another discord.py: leave its table alone
        return False


async def _retry_after(response: aiohttp.ClientResponse) -> float:
    """A 429's wait in seconds: the body's exact `retry_after`, else the rounded header.

    Discord rounds the Retry-After header up to whole seconds; the body has the exact figure
    (reading it here is safe: aiohttp keeps the body for discord.py's own read).
    """
    with contextlib.suppress(Exception):
        body = await response.json(content_type=None)
        if isinstance(body, dict) and isinstance(body.get("retry_after"), int | float):
            return float(body["retry_after"])
    with contextlib.suppress(ValueError):
        return float(response.headers.get("Retry-After", "1"))
    return 1.0


class FirstContactRamp:
    """A token bucket for opening new DMs whose rate grows while Discord accepts them.

    Holds up to `burst` first contacts (a few new students at once go straight out); refills
    at `start` per second; every `step` seconds without a refusal the rate doubles, up to
    `ceiling`. A 40003 halves it (not below `floor`), empties the bucket and pauses for
    `backoff`.
    """

    def __init__(
        self,
        start: float = 0.15,
        ceiling: float = 1.0,
        burst: int = 20,
        floor: float = 1 / 60,
        step: float = 60.0,
        backoff: float = DM_OPEN_BACKOFF_SECONDS,
        clock: Clock = time.monotonic,
    ) -> None:
        self.rate = start
        self.burst = float(burst)
        self.ceiling = ceiling
        self.floor = floor
        self.step = step
        self.backoff = backoff
        self.clock = clock
        now = clock()
        self._tokens = self.burst
        self._updated = now
        self._changed = now
        self._paused_until = 0.0
        self.refusals = 0

    def wait(self) -> float:
        """Take a first contact now (0.0), or return the seconds to wait for one."""
        now = self.clock()
        if now < self._paused_until:
            return self._paused_until - now
        while now - self._changed >= self.step and self.rate < self.ceiling:
            self.rate = min(self.ceiling, self.rate * 2)
            self._changed += self.step
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate

    def refund(self) -> None:
        """A first contact taken with `wait` failed for another reason: give it back."""
        self._tokens = min(self.burst, self._tokens + 1.0)

    def refused(self) -> float:
        """Discord said 40003: slow down and pause; returns the pause in seconds."""
        now = self.clock()
        self.refusals += 1
        self.rate = max(self.floor, self.rate / 2)
        self._changed = now
        self._tokens = 0.0
        self._updated = now
        self._paused_until = now + self.backoff
        return self.backoff
