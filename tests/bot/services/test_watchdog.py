"""The watchdog: which urgent alerts are stuck and why, and the alarm on every channel."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.core import MentorBot
from bot.model import Inbound, Message
from bot.services.roster import import_roster, parse_roster
from bot.services.watchdog import (
    UNACKNOWLEDGED,
    UNDELIVERED,
    sound_alarms,
    stuck_urgent_alerts,
)
from storage.tables import Alert, Outbox
from tests.conftest import Chat

CRISIS = "i want to end it all tonight"


def stuck(core: MentorBot, after: timedelta) -> list:
    with core.db.session() as session:
        return stuck_urgent_alerts(session, core.settings, core.clock.now() + after)


def alert(core: MentorBot) -> Alert:
    with core.db.session() as session:
        return session.exec(select(Alert)).one()


def test_undelivered_past_the_deadline_is_stuck(sam: Chat, core, core_settings) -> None:
    """Not delivered: fine for 120 s, stuck after, with why and its age."""
    sam.send(CRISIS)
    deadline = core_settings.urgent_delivery_deadline_seconds
    assert stuck(core, timedelta(seconds=deadline - 1)) == []
    [item] = stuck(core, timedelta(seconds=deadline + 5))
    assert (item.alert_id, item.kind, item.reason) == (alert(core).id, "crisis", UNDELIVERED)
    assert item.age == timedelta(seconds=deadline + 5)
    assert "not delivered to anyone who can act within 120 s" in item.why


def test_delivered_but_unacknowledged_is_stuck_after_its_reescalation(
    sam: Chat, core, core_settings, clock
) -> None:
    """Delivered: the first interval is the re-escalation's; unacknowledged past the second."""
    sam.send(CRISIS)
    with core.db.session() as session:
        row = session.exec(select(Alert)).one()
        row.delivered_at = clock.now()
    interval = timedelta(minutes=core_settings.crisis_ack_minutes)
    assert stuck(core, 2 * interval - timedelta(seconds=1)) == []
    [item] = stuck(core, 2 * interval)
    assert item.reason == UNACKNOWLEDGED and "not acknowledged" in item.why


def test_acknowledged_or_normal_alerts_are_never_stuck(sam: Chat, maya: Chat, core) -> None:
    """An acknowledged crisis and a low-mood alert never count, however old."""
    sam.send("/mood 1")
    sam.send(CRISIS)
    maya.send("/alerts")
    [crisis] = [a for a in _alerts(core) if a.kind == "crisis"]
    maya.core.handle(Inbound(maya.actor, "action", "alert.ack", {"alert": str(crisis.id)}))
    assert stuck(core, timedelta(days=3)) == []


def _alerts(core: MentorBot) -> list[Alert]:
    with core.db.session() as session:
        return list(session.exec(select(Alert)).all())


def test_alarm_goes_to_every_admin_identity_email_and_webhook_once(
    sam: Chat, core, core_settings, clock
) -> None:
    """Avery on Slack and Discord, email and a webhook run: one alarm on each, keyed once."""
    roster = (
        "email,name,role,timezone,mentor_email,backup_mentor_email,groups,slack_user_id,"
        "discord_user_id\n"
        "admin@example.edu,Avery Admin,admin,Europe/London,,,,U0AVERY001,301000000000000501\n"
    )
    with core.db.session() as session:
        import_roster(session, parse_roster(roster), clock.now())
    sam.send(CRISIS)
    later = clock.now() + timedelta(seconds=core_settings.urgent_delivery_deadline_seconds + 1)
    running = frozenset({"slack", "discord", "email", "webhook"})
    with core.db.session() as session:
        assert sound_alarms(session, core_settings, later, running) == 4
    with core.db.session() as session:
        assert sound_alarms(session, core_settings, later, running) == 0
    with core.db.session() as session:
        alarms = session.exec(
            select(Outbox).where(Outbox.kind == "alarm").order_by(col(Outbox.id))
        ).all()
    assert {(r.platform, r.user_id) for r in alarms} == {
        ("slack", "U0AVERY001"),
        ("discord", "301000000000000501"),
        ("email", "admin@example.edu"),
        ("webhook", ""),
    }
    for row in alarms:
        text = Message.from_json(row.payload).text
        assert CRISIS not in text
        # Admins in a chat may know whom it is about; the email and the webhook are not told.
        assert ("Sam Student" in text) == (row.platform in ("slack", "discord"))
