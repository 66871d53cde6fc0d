"""Crisis end to end over Slack HTTP mode (issue 6).

A student DMs crisis text at 02:00 their time: help in the same reply, the mentor and the on-call
staff channel alerted at once (quiet hours notwithstanding), re-escalation to the backup mentor
when nobody acknowledges within `crisis_ack_minutes`, and none once someone does.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.people import person_by_email
from bot.registry import Count
from mentorbot_fakes.slack_api import StoredMessage
from storage.tables import Alert, AlertEvent, Outbox
from tests.adapters.slack.conftest import (
    ADMIN,
    MENTOR,
    STUDENT,
    Harness,
    all_text,
    buttons_of,
)
from tests.tick import run_due_work

ONCALL = "C0ONCALL01"
# 02:00 in London on a Monday in November (GMT, so 02:00 UTC): deep in everyone's quiet hours.
NIGHT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CRISIS_TEXT = "i want to end it all tonight"


@pytest.fixture
def clock() -> FixedClock:
    """The clock at 02:00 local time for Sam (Europe/London)."""
    return FixedClock(NIGHT)


@pytest.fixture
def core_settings() -> CoreSettings:
    """Default settings plus an on-call staff channel on Slack."""
    return CoreSettings(staff_channel=f"slack:{ONCALL}")


def _labels(message: StoredMessage) -> set[str]:
    return {b["text"]["text"] for _, b in buttons_of(message.blocks)}


def _alert(slack: Harness) -> Alert:
    with slack.db.session() as session:
        alert = session.exec(select(Alert)).one()
        session.expunge(alert)
        return alert


def _events(slack: Harness, alert_id: int | None) -> list[str]:
    with slack.db.session() as session:
        rows = session.exec(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(col(AlertEvent.id))
        ).all()
        return [row.event for row in rows]


async def _crisis_dm_and_first_delivery(slack: Harness) -> StoredMessage:
    """Sam's crisis DM at 02:00, then one delivery pass; returns Maya's alert DM."""
    slack.fake.add_channel(ONCALL, name="mentoring-oncall")
    status, _ = await slack.dm(CRISIS_TEXT, event_id="Ev0CRISIS01")
    assert status == 200
    await slack.settle()
    stats = await slack.delivery.deliver_once(["slack"])
    assert stats.sent == 2  # Maya's DM and the staff channel, nothing deferred
    [to_maya] = slack.dm_messages(MENTOR)
    return to_maya


async def test_crisis_dm_at_night_gets_help_alerts_at_once_and_reescalates_unacknowledged(
    slack: Harness, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """02:00 crisis DM: help in-reply, urgent mentor+on-call alert now, backup after the window."""
    slack.fake.add_channel(ONCALL, name="mentoring-oncall")
    status, _ = await slack.dm(CRISIS_TEXT, event_id="Ev0CRISIS01")
    assert status == 200
    await slack.settle()

    # (1) The answer in the same turn: crisis lines for GB, and that the mentor is being told.
    [help_reply] = slack.dm_messages(STUDENT)
    help_text = all_text(help_reply.blocks)
    assert "Samaritans" in help_text and "116 123" in help_text
    assert "let your mentor know" in help_text
    assert help_reply.text.startswith("🚨")

    # (2) Delivery at the same instant: quiet hours (21:00-08:00) do not hold back urgent alerts.
    stats = await slack.delivery.deliver_once(["slack"])
    assert stats.sent == 2
    [to_maya] = slack.dm_messages(MENTOR)
    [on_call] = slack.fake.messages_in(ONCALL)
    for message in (to_maya, on_call):
        assert "CRISIS: needs contact now" in all_text(message.blocks)
        assert message.blocks is not None and message.blocks[0]["type"] == "header"
        assert message.blocks[0]["text"]["text"].startswith("🚨")  # marked urgent
        assert "Acknowledge" in _labels(message)
        assert CRISIS_TEXT in all_text(message.blocks)
    with slack.db.session() as session:
        rows = session.exec(select(Outbox).where(Outbox.kind == "alert")).all()
        assert {(r.urgent, r.status) for r in rows} == {(True, "sent")}
        assert all(r.next_attempt_at.replace(tzinfo=UTC) <= NIGHT for r in rows)
    assert slack.dm_messages(ADMIN) == []
    alert = _alert(slack)
    assert alert.delivered_at is not None and alert.acknowledged_at is None

    # (3) Nobody acknowledges: one minute past the window, the backup and on-call hear again.
    clock.advance(minutes=core_settings.crisis_ack_minutes + 1)
    report = run_due_work(slack.db, core_settings, clock.now())
    assert report.outcome("reescalate_due_alerts", Count).n == 1
    stats = await slack.delivery.deliver_once(["slack"])
    assert stats.sent == 2
    [to_avery] = slack.dm_messages(ADMIN)
    assert "CRISIS: needs contact now" in all_text(to_avery.blocks)
    assert "step 1: not yet acknowledged" in all_text(to_avery.blocks)
    assert "Acknowledge" in _labels(to_avery)
    on_call_posts = slack.fake.messages_in(ONCALL)
    assert len(on_call_posts) == 2
    assert "step 1: not yet acknowledged" in all_text(on_call_posts[1].blocks)
    assert len(slack.dm_messages(MENTOR)) == 1  # Maya is not sent a duplicate
    assert "escalated" in _events(slack, alert.id)
    assert _alert(slack).escalation_level == 1


async def test_acknowledged_crisis_alert_is_not_reescalated(
    slack: Harness, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Maya pressing Acknowledge on the crisis DM stops re-escalation to the backup mentor."""
    to_maya = await _crisis_dm_and_first_delivery(slack)
    status, _ = await slack.press(to_maya, "Acknowledge", user=MENTOR)
    assert status == 200
    await slack.settle()
    assert "Maya Mentor acknowledged this" in to_maya.text
    [on_call] = slack.fake.messages_in(ONCALL)
    assert "Maya Mentor acknowledged this" in on_call.text  # the on-call copy is updated too

    clock.advance(minutes=core_settings.crisis_ack_minutes + 1)
    report = run_due_work(slack.db, core_settings, clock.now())
    assert report.outcome("reescalate_due_alerts", Count).n == 0
    await slack.delivery.deliver_once(["slack"])
    assert slack.dm_messages(ADMIN) == []
    assert len(slack.fake.messages_in(ONCALL)) == 1
    alert = _alert(slack)
    with slack.db.session() as session:
        maya = person_by_email(session, "maya@example.edu")
        assert maya is not None
        assert alert.acknowledged_by == maya.id
    assert alert.next_escalation_at is None and alert.escalation_level == 0
    assert "escalated" not in _events(slack, alert.id)
