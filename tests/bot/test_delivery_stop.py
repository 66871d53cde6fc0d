"""Stopping the delivery loop: the send in flight finishes, claimed rows go back, none lost."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlmodel import select

from bot.delivery import DeliveryObserver, DeliveryStats, OutboxDelivery
from bot.model import Message, Recipient, SendResult
from bot.outbox import Push, push_rows
from bot.pacing import Pacer, PlatformLimits, RateLimit
from bot.people import person_by_email
from bot.services.delivery_events import ServiceDeliveryEvents
from storage.tables import Outbox

# All in Europe/London, awake at the test clock's 10:00 UTC (Alex's quiet hours would defer).
PEOPLE = ("sam@example.edu", "maya@example.edu", "admin@example.edu")


@dataclass
class GatedMessenger:
    """Holds the first send until released, so a stop can arrive while it is in flight."""

    started: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    sent: list[str] = field(default_factory=list)

    async def send(self, to: Recipient, message: Message, *, nonce: str) -> SendResult:
        """Signal the start, wait for the release, then record the send."""
        self.started.set()
        await self.release.wait()
        self.sent.append(to.user_id or "")
        return SendResult(message_id=f"m{len(self.sent)}", channel_id=f"D{len(self.sent)}")


@dataclass
class CountingObserver(DeliveryObserver):
    """Counts the hooks the loop calls."""

    counts: dict[str, int] = field(default_factory=dict)

    def sent(self, platform: str) -> None:
        self.counts["sent"] = self.counts.get("sent", 0) + 1

    def pass_done(self, stats: DeliveryStats, seconds: float) -> None:
        self.counts["passes"] = self.counts.get("passes", 0) + 1


def queue_one_each(demo, clock) -> None:
    """One plain console push for each demo person."""
    with demo.session() as session:
        pushes = []
        for email in PEOPLE:
            person = person_by_email(session, email)
            assert person is not None
            pushes.append(Push(f"stop-test:{email}", Message(text="hello"), person=person))
        push_rows(session, pushes, clock.now(), "UTC")


def statuses(db) -> list[tuple[str, int]]:
    with db.session() as session:
        rows = session.exec(select(Outbox).order_by(Outbox.id)).all()
        return [(r.status, r.attempts) for r in rows]


async def test_stop_finishes_the_send_in_flight_and_releases_the_rest(
    demo, clock, core_settings
) -> None:
    """Stop mid claim: the send in flight is recorded; claimed rows go back, no attempt counted."""
    queue_one_each(demo, clock)
    messenger = GatedMessenger()
    observer = CountingObserver()
    # One send a second: the rows after the first wait on the pace when the stop comes.
    pacer = Pacer({"console": PlatformLimits(overall=RateLimit(1.0, 1.0))})
    delivery = OutboxDelivery(
        demo,
        {"console": messenger},
        clock,
        core_settings,
        ServiceDeliveryEvents(core_settings),
        pacer=pacer,
        observer=observer,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(delivery.run_forever(stop))
    await asyncio.wait_for(messenger.started.wait(), 5)
    stop.set()
    messenger.release.set()
    await asyncio.wait_for(running, 5)
    assert len(messenger.sent) == 1
    assert sorted(statuses(demo)) == [("pending", 0)] * 2 + [("sent", 1)]
    # The paced loop had claimed some of the rest ahead (prefetch): those were handed back.
    assert 1 <= delivery.released_at_stop <= 2
    assert observer.counts == {"sent": 1, "passes": 1}


async def test_released_rows_are_sent_by_the_next_loop(demo, clock, core_settings) -> None:
    """What one loop released at stop, a fresh loop (the next start) sends, each once."""
    queue_one_each(demo, clock)
    first = GatedMessenger()
    pacer = Pacer({"console": PlatformLimits(overall=RateLimit(1.0, 1.0))})
    delivery = OutboxDelivery(
        demo,
        {"console": first},
        clock,
        core_settings,
        ServiceDeliveryEvents(core_settings),
        pacer=pacer,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(delivery.run_forever(stop))
    await asyncio.wait_for(first.started.wait(), 5)
    stop.set()
    first.release.set()
    await asyncio.wait_for(running, 5)
    second = GatedMessenger()
    second.release.set()
    stats = await OutboxDelivery(
        demo, {"console": second}, clock, core_settings, ServiceDeliveryEvents(core_settings)
    ).deliver_once()
    assert stats.sent == 2
    assert sorted(first.sent + second.sent) == sorted(PEOPLE)
    assert {status for status, _ in statuses(demo)} == {"sent"}
