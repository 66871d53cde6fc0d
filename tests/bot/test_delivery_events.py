"""The delivery loop keeps to transport: what follows from a send is the injected hooks' call."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from bot.delivery import Claimed, DeliveryEvents, OutboxDelivery
from bot.model import Message, Recipient
from bot.outbox import Push, push_rows
from mentorbot_fakes.recording import RecordingMessenger
from storage.enums import OutboxKind, OutboxStatus
from storage.tables import Outbox


@dataclass
class RecordingEvents:
    """A `DeliveryEvents` that only records what the loop told it."""

    calls: list[tuple[str, int | None]] = field(default_factory=list)
    urgent: bool = False

    def reroute(self, session: Session, now: datetime, running: AbstractSet[str]) -> None:
        self.calls.append(("reroute", None))

    def watch(self, session: Session, now: datetime, running: AbstractSet[str]) -> None:
        self.calls.append(("watch", None))

    def delivered(self, session: Session, row: Claimed, at: datetime) -> None:
        self.calls.append(("delivered", row.id))

    def holds_urgent_alert(self, session: Session, row: Claimed) -> bool:
        self.calls.append(("holds_urgent_alert", row.id))
        return self.urgent

    def urgent_retry(
        self,
        session: Session,
        row: Claimed,
        error: str,
        now: datetime,
        *,
        platform_wide: bool,
        running: AbstractSet[str],
    ) -> None:
        self.calls.append(("urgent_retry", row.id))

    def delivery_failed(self, session: Session, row: Claimed, error: str, now: datetime) -> None:
        self.calls.append(("delivery_failed", row.id))

    def dms_closed(self, session: Session, row: Claimed, error: str, now: datetime) -> None:
        self.calls.append(("dms_closed", row.id))

    def platform_down(
        self, session: Session, now: datetime, platform: str, error: str, running: AbstractSet[str]
    ) -> None:
        self.calls.append(("platform_down", None))


def _queue(db, clock, user_id: str, key: str = "t:1") -> int:
    """One plain console message in the outbox; returns its row id."""
    with db.session() as session:
        push_rows(
            session,
            [Push(key, Message(text="hello"), address=Recipient("console", user_id, None))],
            clock.now(),
            "UTC",
        )
        return int(session.exec(select(Outbox.id)).one())


def _status(db, row_id: int) -> str:
    """The stored status of an outbox row."""
    with db.session() as session:
        row = session.get(Outbox, row_id)
        assert row is not None
        return row.status


def _loop(db, clock, settings, messenger, events: DeliveryEvents) -> OutboxDelivery:
    """A delivery loop over the console messenger and the given hooks."""
    return OutboxDelivery(db, {"console": messenger}, clock, settings, events)


async def test_a_sent_row_is_reported_to_the_hooks(demo, clock, core_settings) -> None:
    """A pass maintains routes through the hooks, and reports each sent row as delivered."""
    row_id = _queue(demo, clock, "sam@example.edu")
    events = RecordingEvents()
    stats = await _loop(demo, clock, core_settings, RecordingMessenger(), events).deliver_once()
    assert stats.sent == 1 and _status(demo, row_id) == OutboxStatus.SENT
    assert events.calls == [("reroute", None), ("watch", None), ("delivered", row_id)]


async def test_a_failure_is_recorded_and_the_telling_left_to_the_hooks(
    demo, clock, core_settings
) -> None:
    """A refused send ends failed; the loop queues no notice itself, the hook is asked to."""
    row_id = _queue(demo, clock, "gone@example.edu")
    messenger = RecordingMessenger(permanent_failures={"gone@example.edu"})
    events = RecordingEvents()
    stats = await _loop(demo, clock, core_settings, messenger, events).deliver_once()
    assert stats.failed == 1 and _status(demo, row_id) == OutboxStatus.FAILED
    assert ("delivery_failed", row_id) in events.calls
    with demo.session() as session:
        assert session.exec(select(Outbox.id)).all() == [row_id]  # no notice row


async def test_an_urgent_alert_held_by_the_hooks_is_retried_not_given_up(
    demo, clock, core_settings
) -> None:
    """Past the attempt cap, a row the hooks call an urgent alert is retried and sent sideways."""
    row_id = _queue(demo, clock, "slow@example.edu")
    with demo.session() as session:
        row = session.get(Outbox, row_id)
        assert row is not None
        row.attempts = core_settings.outbox_max_attempts
        session.add(row)
    messenger = RecordingMessenger(transient_failures={"slow@example.edu": None})
    events = RecordingEvents(urgent=True)
    stats = await _loop(demo, clock, core_settings, messenger, events).deliver_once()
    assert stats.retried == 1 and _status(demo, row_id) == OutboxStatus.PENDING
    assert ("urgent_retry", row_id) in events.calls
    assert ("delivery_failed", row_id) not in events.calls


async def test_without_an_urgent_alert_the_cap_gives_up(demo, clock, core_settings) -> None:
    """Past the attempt cap an ordinary row fails, and the hooks hear of the failure."""
    row_id = _queue(demo, clock, "slow@example.edu")
    with demo.session() as session:
        row = session.get(Outbox, row_id)
        assert row is not None
        row.attempts = core_settings.outbox_max_attempts
        session.add(row)
    messenger = RecordingMessenger(transient_failures={"slow@example.edu": None})
    events = RecordingEvents()
    await _loop(demo, clock, core_settings, messenger, events).deliver_once()
    assert _status(demo, row_id) == OutboxStatus.FAILED
    assert ("delivery_failed", row_id) in events.calls
    assert ("urgent_retry", row_id) not in events.calls


def test_outbox_kinds_the_loop_acts_on_are_the_stored_strings() -> None:
    """The kinds the loop tells apart are the strings the services store."""
    assert (OutboxKind.ALERT, OutboxKind.ALERT_UPDATE) == ("alert", "alert_update")
    assert OutboxKind.DELIVERY_NOTICE == "delivery_notice"
