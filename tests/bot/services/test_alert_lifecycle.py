"""The alert lifecycle through the core: transitions, bad input, folding, follow-up, the student.

Issue 13, part 5. Every test runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.model import Inbound, Message
from bot.registry import Count
from bot.services.roster import import_roster, parse_roster
from storage.crypto import raw_view
from storage.db import Database
from storage.enums import OutboxKind
from storage.tables import Alert, AlertEvent, Outbox
from tests.conftest import Chat, find_choice, text_of
from tests.dbdump import snapshot
from tests.tick import REGISTRY, run_due_work

CRISIS = "I want to kill myself tonight"
CONCERN = "I feel so hopeless and alone"

FOLLOW_UPS = "send_due_follow_up_reminders"
REESCALATE = "reescalate_due_alerts"


def alerts(db: Database) -> list[Alert]:
    with db.session() as session:
        rows = list(session.exec(select(Alert).order_by(col(Alert.id))).all())
        for row in rows:
            session.expunge(row)
        return rows


def events(db: Database, alert_id: int | None) -> list[str]:
    with db.session() as session:
        rows = session.exec(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(col(AlertEvent.id))
        ).all()
        return [r.event for r in rows]


def outbox(db: Database, **where: object) -> list[Outbox]:
    with db.session() as session:
        query = select(Outbox).order_by(col(Outbox.id))
        for name, value in where.items():
            query = query.where(getattr(Outbox, name) == value)
        rows = list(session.exec(query).all())
        for row in rows:
            session.expunge(row)
        return rows


@pytest.fixture
def olly(core: MentorBot, db: Database) -> Chat:
    """Olly, a mentor who is not Sam's (nor anyone's)."""
    with db.session() as session:
        import_roster(
            session,
            parse_roster("email,name,role\nother@example.edu,Olly Other,mentor\n"),
            core.clock.now(),
        )
    return Chat(core, "other@example.edu")


def crisis_alert(sam: Chat) -> Alert:
    sam.send(CRISIS)
    [alert] = alerts(sam.core.db)
    return alert


# ---------------------------------------------------------------- transitions


def test_full_lifecycle_by_buttons_and_command(sam: Chat, maya: Chat, clock: FixedClock) -> None:
    """Open -> acknowledged -> following up -> resolved, each step an event and a new state."""
    alert = crisis_alert(sam)
    assert alert.status == "open"
    listing = maya.send("/alerts")
    assert {"Acknowledge", "I'll follow up", "Resolve"} <= {
        c.label for m in listing.messages for c in m.choices
    }
    reply = maya.press(find_choice(listing, "Acknowledge"))
    assert reply.update is not None and "acknowledged" in reply.update.text
    assert {c.label for c in reply.update.choices} == {"I'll follow up", "Resolve"}
    assert alerts(sam.core.db)[0].status == "acknowledged"
    clock.advance(minutes=5)
    reply = maya.press(find_choice(reply, "follow up"))
    assert reply.update is not None and "will follow up on" in reply.update.text
    assert alerts(sam.core.db)[0].status == "following"
    clock.advance(hours=2)
    reply = maya.send(f"/alerts resolve {alert.id} counselling Called Sam; booked the counsellor")
    assert reply.update is not None and "resolved" in reply.update.text
    assert "Referred to counselling" in text_of(reply)
    assert reply.update.choices == ()
    [done] = alerts(sam.core.db)
    assert (done.status, done.outcome, done.resolved_at) == ("resolved", "counselling", clock.now())
    assert done.resolution_note == "Called Sam; booked the counsellor"
    assert done.next_escalation_at is None and done.next_follow_up_at is None
    assert events(sam.core.db, alert.id) == [
        "created",
        "shown_to_student",
        "acknowledged",
        "student_told",
        "follow_up",
        "resolved",
    ]
    assert maya.send("/alerts").messages[0].text == "No open alerts. 🎉"


def test_resolution_note_is_sealed_at_rest(sam: Chat, maya: Chat, db: Database) -> None:
    """The resolution note is encrypted in the database, like a mentor's note."""
    alert = crisis_alert(sam)
    maya.send(f"/alerts resolve {alert.id} spoke Sam is staying with a friend tonight")
    view = raw_view("alert", "resolution_note")
    with db.engine.connect() as conn:
        [stored] = conn.execute(select(view.c.resolution_note)).scalars().all()
    assert stored and "staying with a friend" not in stored
    assert alerts(db)[0].resolution_note == "Sam is staying with a friend tonight"


def test_resolve_form_and_button_hint(sam: Chat, maya: Chat) -> None:
    """The form resolves; a bare Resolve button (no form on the platform) explains the command."""
    alert = crisis_alert(sam)
    hint = maya.press(find_choice(maya.send("/alerts"), "Resolve"))
    assert f"/alerts resolve {alert.id} OUTCOME NOTE" in text_of(hint)
    reply = maya.form("alert.resolve", alert=str(alert.id), outcome="emergency", note="999 called")
    assert reply.error is None and "resolved" in text_of(reply)
    assert alerts(sam.core.db)[0].outcome == "emergency"


def test_admin_and_backup_may_act_on_an_alert(sam: Chat, avery: Chat) -> None:
    """The admin (also Sam's backup mentor in the demo) may resolve Sam's alert."""
    alert = crisis_alert(sam)
    reply = avery.send(f"/alerts resolve {alert.id} none False alarm, a song lyric")
    assert reply.error is None
    assert alerts(sam.core.db)[0].status == "resolved"


@pytest.mark.parametrize(
    ("who", "line", "expected"),
    [
        ("maya", "/alerts resolve 999 spoke Called them", "can't find that alert"),
        ("maya", "/alerts resolve 99999999999999999999 spoke Called", "isn't an alert number"),
        ("maya", "/alerts resolve -3 spoke Called", "isn't an alert number"),
        ("maya", "/alerts resolve abc spoke Called", "isn't an alert number"),
        ("maya", "/alerts ack 99999999999999999999", "isn't an alert number"),
        ("maya", "/alerts resolve {id} spoke", "add a short note"),
        ("maya", "/alerts resolve {id}", "how it ended"),
        ("maya", "/alerts resolve {id} maybe Talked", "isn't an outcome I know"),
        ("maya", "/alerts resolve", "Use /alerts resolve ID"),
        ("maya", "/alerts frobnicate 1", "don't know '/alerts frobnicate'"),
        ("other", "/alerts resolve {id} spoke Called them", "only see the students you mentor"),
        ("other", "/alerts ack {id}", "only see the students you mentor"),
        ("sam", "/alerts resolve {id} spoke Called them", "only for mentors"),
    ],
)
def test_bad_input_is_answered_clearly_and_changes_nothing(
    sam: Chat, core: MentorBot, db: Database, olly: Chat, who: str, line: str, expected: str
) -> None:
    """Unknown or huge ids, someone else's alert, no note, a bad outcome: refused, no change."""
    alert = crisis_alert(sam)
    actor = {"maya": "maya@example.edu", "other": "other@example.edu", "sam": "sam@example.edu"}
    chat = Chat(core, actor[who])
    chat.send("/help")  # first contact links the console identity: not part of the check
    before = snapshot(db)
    reply = chat.send(line.format(id=alert.id))
    assert reply.error is not None and expected in reply.error
    assert snapshot(db) == before


def test_resolving_twice_is_refused_and_changes_nothing(
    sam: Chat, maya: Chat, db: Database
) -> None:
    """A second resolve (or an acknowledge after it) is answered clearly; the record stands."""
    alert = crisis_alert(sam)
    maya.send(f"/alerts resolve {alert.id} spoke Called Sam")
    before = snapshot(db)
    for line in (f"/alerts resolve {alert.id} none again", f"/alerts ack {alert.id}"):
        reply = maya.send(line)
        assert reply.error is not None and "already resolved" in reply.error
    form = maya.form("alert.resolve", alert=str(alert.id), outcome="none", note="again")
    assert form.error is not None and "already resolved" in form.error
    assert snapshot(db) == before


def test_a_button_of_another_mentor_changes_nothing(
    sam: Chat, maya: Chat, core: MentorBot, db: Database, olly: Chat
) -> None:
    """A mentor who isn't Sam's pressing Maya's Resolve/Acknowledge button is refused."""
    crisis_alert(sam)
    listing = maya.send("/alerts")
    other = Chat(core, "other@example.edu")
    other.send("/help")  # first contact links the console identity: not part of the check
    before = snapshot(db)
    for label in ("Acknowledge", "I'll follow up", "Resolve"):
        reply = other.press(find_choice(listing, label))
        assert reply.error is not None and "students you mentor" in reply.error
    assert snapshot(db) == before


# ---------------------------------------------------------------- the student is told once


def test_student_is_told_once_when_first_acknowledged(sam: Chat, maya: Chat, avery: Chat) -> None:
    """The first acknowledgement queues one gentle note to Sam; later actions add none."""
    alert = crisis_alert(sam)
    assert outbox(sam.core.db, kind="alert_seen") == []
    maya.send(f"/alerts ack {alert.id}")
    maya.send(f"/alerts followup {alert.id}")
    avery.send(f"/alerts ack {alert.id}")
    maya.send(f"/alerts resolve {alert.id} spoke Called Sam")
    [told] = outbox(sam.core.db, kind="alert_seen")
    assert told.user_id == "sam@example.edu" and told.urgent
    message = Message.from_json(told.payload)
    assert "a person from the mentoring programme has seen your message" in message.text
    assert CRISIS not in message.text
    assert alerts(sam.core.db)[0].student_told_at is not None


@pytest.fixture
def quiet_settings() -> CoreSettings:
    """TELL_STUDENT_WHEN_SEEN off."""
    return CoreSettings(tell_student_when_seen=False)


def test_student_is_not_told_when_the_setting_is_off(
    demo: Database, quiet_settings: CoreSettings, clock: FixedClock
) -> None:
    """With the setting off nothing goes to the student on acknowledgement."""
    core = MentorBot(demo, quiet_settings, clock, registry=REGISTRY)
    sam, maya = Chat(core, "sam@example.edu"), Chat(core, "maya@example.edu")
    alert = crisis_alert(sam)
    maya.send(f"/alerts ack {alert.id}")
    assert outbox(demo, kind="alert_seen") == []


def test_student_is_not_told_about_a_missed_checkins_alert(sam: Chat, maya: Chat) -> None:
    """Only alerts raised by what the student wrote or asked tell them; a low mood does not."""
    sam.send("/mood 1")
    [alert] = alerts(sam.core.db)
    maya.send(f"/alerts ack {alert.id}")
    assert outbox(sam.core.db, kind="alert_seen") == []


# ---------------------------------------------------------------- folding


def test_five_crisis_messages_make_one_alert_with_four_folds(
    sam: Chat, clock: FixedClock, db: Database
) -> None:
    """Repeated crisis messages fold into the open alert instead of making new ones."""
    for index in range(5):
        sam.send(f"{CRISIS} ({index})")
        clock.advance(minutes=1)
    [alert] = alerts(db)
    assert alert.folded_count == 4 and alert.kind == "crisis" and alert.severity == "urgent"
    assert events(db, alert.id).count("folded") == 4
    assert alert.latest_excerpt == f"{CRISIS} (4)"
    # One alert copy for Maya (still unsent, so it simply goes out up to date).
    [copy] = outbox(db, kind="alert")
    assert "4 more messages since" in copy.payload and f"{CRISIS} (4)" in copy.payload
    # The folded event records the kind, never the words.
    with db.session() as session:
        details = [e.detail for e in session.exec(select(AlertEvent))]
    assert not any("myself tonight" in d for d in details)


def test_fold_after_delivery_queues_an_edit_of_each_posted_copy(
    sam: Chat, db: Database, clock: FixedClock
) -> None:
    """Once Maya's copy is posted, a fold queues an edit of that copy through the outbox."""
    crisis_alert(sam)
    with db.session() as session:
        row = session.exec(select(Outbox).where(Outbox.kind == "alert")).one()
        row.status, row.platform_message_id, row.platform_channel_id = "sent", "m1", "dm-maya"
        session.add(row)
    clock.advance(minutes=1)
    sam.send(CRISIS)
    clock.advance(minutes=1)
    sam.send(CRISIS)
    edits = outbox(db, kind=OutboxKind.ALERT_UPDATE)
    assert len(edits) == 2
    assert {e.edit_of for e in edits} == {row.id}
    assert edits[0].channel_id == "dm-maya"
    assert "1 more message since" in edits[0].payload
    assert "2 more messages since" in edits[1].payload


def test_concern_then_crisis_upgrades_to_an_urgent_crisis(
    sam: Chat, maya: Chat, db: Database, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """A concern alert folds a crisis into itself: crisis, urgent, re-notified, re-escalating."""
    sam.send(CONCERN)
    [alert] = alerts(db)
    assert (alert.kind, alert.severity) == ("concern", "normal")
    maya.send(f"/alerts ack {alert.id}")  # acknowledged as a mere concern
    clock.advance(minutes=30)
    sam.send(CRISIS)
    [alert] = alerts(db)
    assert (alert.kind, alert.severity, alert.status) == ("crisis", "urgent", "open")
    assert alert.acknowledged_at is None
    assert alert.next_escalation_at == clock.now() + timedelta(
        minutes=core_settings.crisis_ack_minutes
    )
    assert {"folded", "upgraded", "reopened"} <= set(events(db, alert.id))
    # Notified as a crisis: a fresh urgent copy for Maya, not only an edit of the old one.
    urgent = [r for r in outbox(db, kind="alert") if r.urgent]
    assert len(urgent) == 1 and "CRISIS" in urgent[0].payload
    # Nobody acknowledges the crisis: it re-escalates like any crisis.
    clock.advance(minutes=core_settings.crisis_ack_minutes + 1)
    assert run_due_work(db, core_settings, clock.now()).outcome(REESCALATE, Count).n == 1


def test_concern_after_crisis_never_lowers_the_alert(sam: Chat, db: Database) -> None:
    """A concern folded into a crisis alert leaves it a crisis, urgent."""
    sam.send(CRISIS)
    sam.send(CONCERN)
    [alert] = alerts(db)
    assert (alert.kind, alert.severity, alert.folded_count) == ("crisis", "urgent", 1)


def test_a_resolved_alert_is_not_folded_into(sam: Chat, maya: Chat, db: Database) -> None:
    """After resolution a new crisis message raises a new alert."""
    alert = crisis_alert(sam)
    maya.send(f"/alerts resolve {alert.id} spoke Called Sam")
    sam.send(CRISIS)
    assert [a.status for a in alerts(db)] == ["resolved", "open"]


def test_crisis_after_acknowledgement_reopens_and_notifies_again(
    sam: Chat, maya: Chat, db: Database
) -> None:
    """A crisis message after the mentor acknowledged needs a new acknowledgement."""
    alert = crisis_alert(sam)
    maya.send(f"/alerts ack {alert.id}")
    sam.send(CRISIS)
    [alert] = alerts(db)
    assert alert.status == "open" and alert.acknowledged_at is None
    assert len(outbox(db, kind="alert")) == 2


# ---------------------------------------------------------------- follow-up reminders


def test_follow_up_reminder_after_the_interval_until_resolved(
    sam: Chat, maya: Chat, db: Database, clock: FixedClock
) -> None:
    """Following up brings Maya a reminder after 24 h, again every 24 h, none once resolved."""
    settings = CoreSettings()
    alert = crisis_alert(sam)
    maya.send(f"/alerts followup {alert.id}")
    clock.advance(hours=23, minutes=59)
    assert run_due_work(db, settings, clock.now()).outcome(FOLLOW_UPS, Count).n == 0
    clock.advance(minutes=1)
    report = run_due_work(db, settings, clock.now())
    assert report.outcome(FOLLOW_UPS, Count).n == 1
    assert run_due_work(db, settings, clock.now()).outcome(FOLLOW_UPS, Count).n == 0  # not twice
    [reminder] = outbox(db, kind="alert_reminder")
    assert reminder.user_id == "maya@example.edu"
    assert reminder.dedupe_key == f"alert:{alert.id}:followup:1"
    assert "You said you'd follow up" in reminder.payload and "Resolve" in reminder.payload
    clock.advance(hours=24)
    assert run_due_work(db, settings, clock.now()).outcome(FOLLOW_UPS, Count).n == 1
    maya.send(f"/alerts resolve {alert.id} spoke Called Sam, all fine")
    clock.advance(hours=48)
    assert run_due_work(db, settings, clock.now()).outcome(FOLLOW_UPS, Count).n == 0
    assert len(outbox(db, kind="alert_reminder")) == 2
    assert events(db, alert.id).count("follow_up_reminder") == 2


def test_follow_up_reminder_hours_is_a_setting(demo: Database, clock: FixedClock) -> None:
    """FOLLOW_UP_REMINDER_HOURS=2 reminds after two hours."""
    settings = CoreSettings(follow_up_reminder_hours=2)
    core = MentorBot(demo, settings, clock, registry=REGISTRY)
    sam, maya = Chat(core, "sam@example.edu"), Chat(core, "maya@example.edu")
    alert = crisis_alert(sam)
    maya.press(find_choice(maya.send("/alerts"), "follow up"))
    clock.advance(hours=2)
    assert run_due_work(demo, settings, clock.now()).outcome(FOLLOW_UPS, Count).n == 1
    assert alerts(demo)[0].id == alert.id


def test_handlers_reach_alerts_through_an_action_inbound(sam: Chat, maya: Chat) -> None:
    """The Acknowledge button and the ack command reach the same transition."""
    alert = crisis_alert(sam)
    reply = maya.core.handle(Inbound(maya.actor, "action", "alert.ack", {"alert": str(alert.id)}))
    assert reply.error is None
    again = maya.send(f"/alerts ack {alert.id}")  # harmless a second time
    assert again.error is None
    assert events(maya.core.db, alert.id).count("acknowledged") == 1
