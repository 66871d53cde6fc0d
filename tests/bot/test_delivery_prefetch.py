"""Prefetch: the next batch is claimed before the current one drains, never twice, in order."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.delivery import Claimed, OutboxDelivery, nonce_for
from bot.model import Message, Recipient, SendResult
from bot.pacing import Pacer, PlatformLimits, RateLimit
from bot.services.delivery_events import ServiceDeliveryEvents
from storage.db import Database
from tests.bot.test_pacing import NOW, VirtualTime, max_in_window, outbox_rows, queue

T = TypeVar("T")


@pytest.fixture(autouse=True)
def inline_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Database work runs inline, so virtual time cannot run ahead of a claim in a thread."""

    async def inline(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return func(*args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", inline)


@dataclass
class SlowMessenger:
    """Records (virtual time, channel, nonce) per send; a send to `slow` takes `slow_seconds`."""

    clock: VirtualTime
    slow: str = ""
    slow_seconds: float = 0.0
    sent: list[tuple[float, str, str]] = field(default_factory=list)

    async def send(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        """Take the send's time, then record it."""
        channel = to.channel_id or ""
        if channel == self.slow:
            await self.clock.sleep(self.slow_seconds)
        self.sent.append((self.clock.monotonic(), channel, nonce))
        return SendResult(message_id=nonce, channel_id=channel)


class ClaimLog(OutboxDelivery):
    """A delivery loop that notes each claim: when, and which rows."""

    def __init__(self, *args: Any, clock: VirtualTime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.virtual = clock
        self.claims: list[tuple[float, list[int]]] = []

    def claim_due(
        self, platforms: Sequence[str], limit: int, user_id: str | None = None
    ) -> list[Claimed]:
        """Claim as usual, noting the claim."""
        rows = super().claim_due(platforms, limit, user_id)
        if rows:
            self.claims.append((self.virtual.monotonic(), [r.id for r in rows]))
        return rows


def paced_delivery(
    db: Database, clock: VirtualTime, messenger: SlowMessenger, lease: int
) -> ClaimLog:
    """Slack at 5/s overall, 1/s per channel, with the given lease (claims of rate * lease/2)."""
    pacer = Pacer(
        {"slack": PlatformLimits(RateLimit(5, 1), RateLimit(1, 1))},
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )
    settings = CoreSettings(outbox_lease_seconds=lease)
    return ClaimLog(
        db,
        {"slack": messenger},
        FixedClock(NOW),
        settings,
        ServiceDeliveryEvents(settings),
        pacer=pacer,
        clock=clock,
    )


async def run(clock: VirtualTime, work: Awaitable[T]) -> T:
    """Run `work` on virtual time."""
    return await clock.run(work)  # type: ignore[arg-type]


async def test_the_next_claim_comes_before_the_last_send_and_claims_nothing_twice(
    db: Database,
) -> None:
    """100 DMs in claims of 25 (a short first): each made while the last sends; each row once."""
    clock = VirtualTime()
    messenger = SlowMessenger(clock)
    queue(db, [f"D{i}" for i in range(100)])
    delivery = paced_delivery(db, clock, messenger, lease=10)
    stats = await run(clock, delivery.deliver_once(["slack"]))
    assert stats.sent == 100
    claimed_ids = [i for _, ids in delivery.claims for i in ids]
    # The first claim is two leads (2 x 1 s at 5/s), the next ones half a 10 s lease at 5/s.
    assert [len(ids) for _, ids in delivery.claims] == [10, 25, 25, 25, 15]
    assert sorted(claimed_ids) == sorted(set(claimed_ids))
    assert sorted(c for _, c, _ in messenger.sent) == sorted(f"D{i}" for i in range(100))
    sent_at = {c: t for t, c, _ in messenger.sent}
    for (_, ids), (next_claim_at, _) in itertools.pairwise(delivery.claims):
        last_send = max(sent_at[f"D{i - 1}"] for i in ids)  # row id i is channel D{i-1}
        assert next_claim_at < last_send  # prefetched: no gap between claims
    times = sorted(sent_at.values())
    assert max(b - a for a, b in itertools.pairwise(times)) <= 1 / 5 + 1e-9
    assert max_in_window(times, 1.0) <= 1 + 5
    assert {r.status for r in outbox_rows(db)} == {"sent"}


async def test_a_channel_keeps_its_order_across_prefetched_claims(db: Database) -> None:
    """A channel still sending its rows of one claim sends the next claim's rows after them."""
    clock = VirtualTime()
    # Rows 1-5 and 11-12 go to the slow channel C (a second a send); the rest are DMs.
    channels = ["C"] * 5 + [f"D{i}" for i in range(5)] + ["C", "C"] + [f"E{i}" for i in range(8)]
    queue(db, channels)
    messenger = SlowMessenger(clock, slow="C", slow_seconds=1.0)
    delivery = ClaimLog(
        db,
        {"slack": messenger},
        FixedClock(NOW),
        CoreSettings(),
        ServiceDeliveryEvents(CoreSettings()),
        batch_size=10,
        concurrency=2,
        pacer=Pacer(monotonic=clock.monotonic, sleep=clock.sleep),
        clock=clock,
    )
    stats = await run(clock, delivery.deliver_once(["slack"]))
    assert stats.sent == len(channels)
    first, second = delivery.claims[0], delivery.claims[1]
    c_times = [t for t, c, _ in messenger.sent if c == "C"]
    assert second[0] < c_times[4]  # the second claim came while C still sent the first's rows
    order = [nonce for _, c, nonce in messenger.sent if c == "C"]
    assert order == [nonce_for(f"test:{i}") for i in (0, 1, 2, 3, 4, 10, 11)]
    assert sorted(first[1] + second[1]) == list(range(1, 21))
