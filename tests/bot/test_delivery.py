"""The outbox delivery loop: sends, records ids, retries, fails with a notice, resumes."""

from __future__ import annotations

from sqlmodel import select

from bot.delivery import OutboxDelivery
from bot.services.delivery_events import ServiceDeliveryEvents
from mentorbot_fakes.recording import RecordingMessenger
from storage.tables import Alert, Identity, Outbox
from tests.conftest import Chat


def rows(db) -> list[Outbox]:
    with db.session() as session:
        return list(session.exec(select(Outbox).order_by(Outbox.id)).all())


async def test_alert_is_delivered_and_recorded(sam: Chat, core, clock, core_settings) -> None:
    """A low-mood alert reaches Maya; the row is sent with the platform id; the alert delivered."""
    sam.send("/mood 1")
    messenger = RecordingMessenger()
    delivery = OutboxDelivery(
        core.db, {"console": messenger}, clock, core_settings, ServiceDeliveryEvents(core_settings)
    )
    stats = await delivery.deliver_once()
    assert stats.sent == 1
    [sent] = messenger.sent
    assert sent.to.user_id == "maya@example.edu" and "Low mood" in sent.message.text
    [row] = rows(core.db)
    assert (row.status, row.platform_message_id) == ("sent", "m1")
    with core.db.session() as session:
        assert session.exec(select(Alert)).one().delivered_at == clock.now()
    assert (await delivery.deliver_once()).sent == 0  # nothing is sent twice


async def test_dm_channel_is_remembered(sam: Chat, maya: Chat, core, clock, core_settings) -> None:
    """The DM channel returned by a send is stored on the identity for the next fan-out."""
    maya.send("/alerts")  # Maya's console identity exists after first contact
    sam.send("/mood 1")
    delivery = OutboxDelivery(
        core.db,
        {"console": RecordingMessenger()},
        clock,
        core_settings,
        ServiceDeliveryEvents(core_settings),
    )
    await delivery.deliver_once()
    with core.db.session() as session:
        identity = session.exec(
            select(Identity).where(Identity.user_id == "maya@example.edu")
        ).one()
        assert identity.dm_channel_id == "D-maya@example.edu"


async def test_transient_failure_retries_after_retry_after(
    sam: Chat, core, clock, core_settings
) -> None:
    """A 429-like failure is retried no sooner than Retry-After, then succeeds."""
    sam.send("/mood 1")
    messenger = RecordingMessenger(transient_failures={"maya@example.edu": 30.0})
    delivery = OutboxDelivery(
        core.db, {"console": messenger}, clock, core_settings, ServiceDeliveryEvents(core_settings)
    )
    assert (await delivery.deliver_once()).retried == 1
    clock.advance(seconds=29)
    messenger.transient_failures.clear()
    assert (await delivery.deliver_once()).sent == 0
    clock.advance(seconds=2)
    assert (await delivery.deliver_once()).sent == 1


async def test_permanent_failure_is_recorded_and_staff_told(
    sam: Chat, core, clock, core_settings
) -> None:
    """DMs closed: the row is failed and an admin gets a delivery notice (no loop)."""
    sam.send("/help can we talk about my timetable")
    messenger = RecordingMessenger(permanent_failures={"maya@example.edu"})
    delivery = OutboxDelivery(
        core.db, {"console": messenger}, clock, core_settings, ServiceDeliveryEvents(core_settings)
    )
    await delivery.deliver_once()
    await delivery.deliver_once()
    statuses = {(r.kind, r.user_id): r.status for r in rows(core.db)}
    assert statuses[("alert", "maya@example.edu")] == "failed"
    notices = [r for r in rows(core.db) if r.kind == "delivery_notice"]
    assert [n.user_id for n in notices] == ["admin@example.edu"]
    assert notices[0].status == "sent"


async def test_crash_while_sending_is_resumed_after_lease(
    sam: Chat, core, clock, core_settings
) -> None:
    """A row claimed by a process that died is sent once its lease expires."""
    sam.send("/mood 1")
    delivery = OutboxDelivery(
        core.db,
        {"console": RecordingMessenger()},
        clock,
        core_settings,
        ServiceDeliveryEvents(core_settings),
    )
    claimed = delivery.claim_due(["console"], 10)  # claimed, then the process "dies"
    assert len(claimed) == 1
    assert (await delivery.deliver_once()).sent == 0  # lease still held
    clock.advance(seconds=core_settings.outbox_lease_seconds + 1)
    assert (await delivery.deliver_once()).sent == 1


async def test_quiet_hours_defer_normal_pushes(sam: Chat, core, clock, core_settings) -> None:
    """An alert raised at 23:00 in the mentor's zone waits until 08:00 local, never dropped."""
    clock.set(clock.now().replace(hour=23))  # London is UTC in November
    sam.send("/mood 1")
    [row] = rows(core.db)
    assert row.next_attempt_at.hour == 8 and row.next_attempt_at.day == clock.now().day + 1


async def test_a_claim_counts_one_attempt(sam: Chat, core, clock, core_settings) -> None:
    """A claimed row carries the attempt count it was stored with: 1 on its first claim."""
    sam.send("/mood 1")
    delivery = OutboxDelivery(
        core.db,
        {"console": RecordingMessenger()},
        clock,
        core_settings,
        ServiceDeliveryEvents(core_settings),
    )
    [claimed] = delivery.claim_due(["console"], 10)
    [row] = rows(core.db)
    assert claimed.attempts == row.attempts == 1
