"""Data rights: self-service deletion (confirmed, short-lived, complete), export, retention."""

from __future__ import annotations

import json
from dataclasses import replace

from sqlmodel import SQLModel, func, select

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import NOT_ENROLLED, MentorBot
from bot.model import Actor, Inbound
from bot.outbox import Push, push_rows
from bot.people import person_by_email
from bot.services import goals as goal_service
from bot.services.alerts import raise_alert
from bot.services.privacy import (
    deletion_token,
    erase_person,
    purge_expired_text,
)
from storage.db import Database
from storage.enums import AlertSeverity
from storage.tables import (
    Alert,
    AlertEvent,
    AuditLog,
    Checkin,
    Goal,
    GoalUpdate,
    Group,
    Identity,
    MentorNote,
    Milestone,
    MoodEntry,
    Outbox,
    Person,
    Rsvp,
    StudentMessage,
    WorkshopSession,
)
from tests.conftest import Chat, find_choice, text_of
from tests.dbdump import raw_text_values, snapshot, sqlite_bytes, text_columns, text_values
from tests.tick import PERSONAL_DATA

SAM = "sam@example.edu"
SAM_NAME = "Sam Student"
# Everything Sam writes (or is written about Sam); each is unique in the database.
SAM_TEXT = {
    "mood": "privacy-mood-note-cannot-sleep-before-exams",
    "checkin": "privacy-checkin-note-argument-with-flatmate",
    "message": "privacy-free-message-thinking-of-dropping-out",
    "help": "privacy-help-request-please-call-me-tonight",
    "goal": "privacy-goal-title-book-a-gp-appointment",
    "milestone": "privacy-milestone-call-the-surgery",
    "update": "privacy-goal-update-note-booked-for-friday",
    "mentor_note": "privacy-mentor-note-carer-for-younger-brother",
    "outbox": "privacy-outbox-payload-for-sam-only",
}
ALEX_TEXT = "privacy-alex-keeps-this-note"


def fill_sam(core: MentorBot, sam: Chat, maya: Chat, alex: Chat) -> None:
    """Give Sam data of every kind, through the chat where possible."""
    sam.send(f"/mood 2 {SAM_TEXT['mood']}")
    sam.send("/checkin")
    sam.press("4")
    sam.send(SAM_TEXT["checkin"])
    sam.send(SAM_TEXT["message"])
    sam.send(f"/help {SAM_TEXT['help']}")
    sam.send(f"/goal add {SAM_TEXT['goal']}")
    maya.send(f"/note {SAM} {SAM_TEXT['mentor_note']}")
    alex.send(f"/mood 4 {ALEX_TEXT}")
    now = core.clock.now()
    with core.db.session() as session:
        person = person_by_email(session, SAM)
        assert person is not None and person.id is not None
        goal = session.exec(select(Goal).where(Goal.person_id == person.id)).one()
        goal_service.add_milestone(session, person, str(goal.id), SAM_TEXT["milestone"])
        goal_service.set_progress(session, person, str(goal.id), "30", now, SAM_TEXT["update"])
        group = session.exec(select(Group)).first()
        assert group is not None and group.id is not None
        workshop = WorkshopSession(
            group_id=group.id, title="Revision", starts_at=now, created_at=now
        )
        session.add(workshop)
        session.flush()
        assert workshop.id is not None
        session.add(
            Rsvp(session_id=workshop.id, person_id=person.id, status="going", updated_at=now)
        )
        from bot.model import Message

        push_rows(
            session,
            [Push(dedupe_key="privacy:sam", message=Message(SAM_TEXT["outbox"]), person=person)],
            now,
            "UTC",
        )


def confirm_deletion(sam: Chat) -> None:
    prompt = sam.send("/mydata delete")
    sam.press(find_choice(prompt, "Yes, delete everything"))


def count(db: Database, model: type[SQLModel], *where: object) -> int:
    with db.session() as session:
        return int(
            session.exec(select(func.count()).select_from(model).where(*where)).one()  # type: ignore[arg-type]
        )


def test_delete_asks_for_confirmation_first_and_changes_nothing(core: MentorBot, sam: Chat) -> None:
    """/mydata delete only shows a warning with Confirm and Cancel; nothing is deleted yet."""
    sam.send(f"/mood 3 {SAM_TEXT['mood']}")
    before = snapshot(core.db)
    prompt = sam.send("/mydata delete")
    assert "can't be undone" in text_of(prompt)
    confirm = find_choice(prompt, "Yes, delete everything")
    assert confirm.action == "mydata.delete.confirm" and confirm.style == "danger"
    assert find_choice(prompt, "Cancel").action == "mydata.delete.cancel"
    assert snapshot(core.db) == before
    assert "Nothing was deleted" in text_of(sam.press("Cancel", prompt))
    assert snapshot(core.db) == before


def test_confirmed_deletion_leaves_no_trace_of_the_students_text(
    core: MentorBot, sam: Chat, maya: Chat, alex: Chat
) -> None:
    """After deletion no table, no column (opened or raw) and no database file byte holds it."""
    fill_sam(core, sam, maya, alex)
    everything = [*SAM_TEXT.values(), SAM, SAM_NAME]
    assert any(SAM_TEXT["help"] in v for _, _, v in text_values(core.db))  # it was there

    confirm_deletion(sam)

    for table, column, value in text_values(core.db):
        for secret in everything:
            assert secret not in value, f"{table}.{column} still holds {secret!r}"
    for table, column in text_columns():
        for value in raw_text_values(core.db, table, column):
            for secret in everything:
                assert secret not in value, f"raw {table}.{column} still holds {secret!r}"
    raw = sqlite_bytes(core.db)
    for secret in everything:
        assert secret.encode() not in raw, f"the SQLite file still holds {secret!r}"
    # Alex is untouched.
    assert any(v == ALEX_TEXT for _, _, v in text_values(core.db))


def test_deletion_removes_every_record_and_anonymises_the_person(
    core: MentorBot, sam: Chat, maya: Chat, alex: Chat
) -> None:
    """Identities, check-ins, moods, goals, messages, notes, RSVPs, groups, outbox: all gone."""
    fill_sam(core, sam, maya, alex)
    with core.db.session() as session:
        person = person_by_email(session, SAM)
        assert person is not None
        pid = person.id
    confirm_deletion(sam)
    db = core.db
    for model, where in (
        (Identity, Identity.person_id == pid),
        (Checkin, Checkin.person_id == pid),
        (MoodEntry, MoodEntry.person_id == pid),
        (Goal, Goal.person_id == pid),
        (StudentMessage, StudentMessage.person_id == pid),
        (MentorNote, MentorNote.student_id == pid),
        (Rsvp, Rsvp.person_id == pid),
        (Outbox, Outbox.person_id == pid),
        (Alert, Alert.student_id == pid),
    ):
        assert count(db, model, where) == 0, model.__name__
    assert count(db, Milestone) == 0 and count(db, GoalUpdate) == 0
    with db.session() as session:
        person = session.get(Person, pid)
        assert person is not None
        assert person.email == f"erased-{pid}@invalid" and person.name == "Erased person"
        assert person.active is False and person.deleted_at == core.clock.now()
        actions = session.exec(select(AuditLog.action).where(AuditLog.subject_id == pid)).all()
        assert "erase" in actions
    # Alex's mood survived.
    assert count(db, MoodEntry) == 1


def test_alerts_keep_only_a_deidentified_record(
    core: MentorBot, sam: Chat, maya: Chat, alex: Chat
) -> None:
    """Alerts stay for safety statistics: no student, no excerpt, reason = kind, times kept."""
    fill_sam(core, sam, maya, alex)
    with core.db.session() as session:
        before = {a.id: a for a in session.exec(select(Alert)).all()}
    assert before and all(a.student_id is not None for a in before.values())
    confirm_deletion(sam)
    with core.db.session() as session:
        after = {a.id: a for a in session.exec(select(Alert)).all()}
        events = session.exec(select(AlertEvent)).all()
    assert set(after) == set(before)
    for alert_id, alert in after.items():
        old = before[alert_id]
        assert alert.student_id is None and alert.excerpt is None
        assert alert.reason == alert.kind == old.kind
        assert alert.created_at == old.created_at and alert.mentor_id == old.mentor_id
        assert alert.status != "open" and alert.next_escalation_at is None
    assert all(e.detail == "" for e in events)


def test_after_deletion_the_student_is_a_stranger_on_every_platform(
    core: MentorBot, sam: Chat, maya: Chat, alex: Chat
) -> None:
    """The old account gets 'not enrolled', and so does a new account with the same email."""
    fill_sam(core, sam, maya, alex)
    confirm_deletion(sam)
    assert text_of(sam.send("/mood 4")) == NOT_ENROLLED
    slack = Actor("slack", "T1", "U123SAM", email=SAM)
    assert text_of(core.handle(Inbound(slack, "command", "mood", {}, "4"))) == NOT_ENROLLED
    assert count(core.db, Identity, Identity.user_id == "U123SAM") == 0


def test_delete_button_expires_after_ten_minutes(
    core: MentorBot, sam: Chat, clock: FixedClock
) -> None:
    """A confirm button pressed after 10 minutes deletes nothing and says it expired."""
    sam.send(f"/mood 3 {SAM_TEXT['mood']}")
    prompt = sam.send("/mydata delete")
    clock.advance(minutes=10, seconds=1)
    before = snapshot(core.db)
    reply = sam.press("Yes, delete everything", prompt)
    assert "expired" in text_of(reply)
    assert snapshot(core.db) == before


def test_delete_button_still_works_just_before_it_expires(
    core: MentorBot, sam: Chat, clock: FixedClock
) -> None:
    """Pressed at 9 minutes 59 seconds, the confirm button deletes."""
    prompt = sam.send("/mydata delete")
    clock.advance(minutes=9, seconds=59)
    assert "has been deleted" in text_of(sam.press("Yes, delete everything", prompt))


def test_forged_or_borrowed_delete_tokens_are_refused(
    core: MentorBot, sam: Chat, alex: Chat
) -> None:
    """A made-up token, a token with a moved expiry and Alex's own token cannot delete Sam."""
    sam.send("/help")  # Sam's first contact links the account before the snapshot
    alex_prompt = alex.send("/mydata delete")
    alex_token = find_choice(alex_prompt, "Yes, delete everything").args_dict()["token"]
    with core.db.session() as session:
        person = person_by_email(session, SAM)
        assert person is not None and person.id is not None
        sam_token = deletion_token(person.id, core.clock.now())
    expires, _, signature = sam_token.partition(".")
    before = snapshot(core.db)
    for token in (
        "not-a-token",
        f"{int(expires) + 3600}.{signature}",  # a later expiry with the old signature
        f"{expires}.{'B' if signature[0] != 'B' else 'C'}{signature[1:]}",  # one char changed
        alex_token,
        "",
    ):
        reply = sam.press(
            replace(find_choice(alex_prompt, "Yes, delete everything"), args=(("token", token),))
        )
        assert reply.error is not None, token
        assert snapshot(core.db) == before


def test_a_used_delete_button_cannot_be_replayed(core: MentorBot, sam: Chat) -> None:
    """Once Sam is erased, pressing the same confirm button again does nothing at all."""
    prompt = sam.send("/mydata delete")
    sam.press("Yes, delete everything", prompt)
    before = snapshot(core.db)
    assert text_of(sam.press("Yes, delete everything", prompt)) == NOT_ENROLLED
    assert snapshot(core.db) == before


def test_deletion_waits_for_a_mentor_to_answer_a_crisis_alert(
    core: MentorBot, core_settings: CoreSettings, sam: Chat, maya: Chat
) -> None:
    """With an unacknowledged urgent alert, deletion is refused; once acknowledged, it works."""
    prompt = sam.send("/mydata delete")  # a button from before the crisis
    with core.db.session() as session:
        person = person_by_email(session, SAM)
        assert person is not None
        alert = raise_alert(
            session,
            core_settings,
            core.clock.now(),
            person,
            "crisis",
            "test",
            severity=AlertSeverity.URGENT,
        )
        assert alert is not None
        alert_id = alert.id
    before = snapshot(core.db)
    assert "hasn't yet responded" in text_of(sam.send("/mydata delete"))
    assert "hasn't yet responded" in text_of(sam.press("Yes, delete everything", prompt))
    assert snapshot(core.db) == before
    maya.press("Acknowledge", maya.send("/alerts"))
    with core.db.session() as session:
        acked = session.get(Alert, alert_id)
        assert acked is not None and acked.acknowledged_at is not None
    assert "has been deleted" in text_of(sam.press("Yes, delete everything", prompt))


def test_staff_cannot_delete_their_own_account_by_chat(maya: Chat, avery: Chat) -> None:
    """Mentors and admins are told the programme lead removes staff accounts."""
    for chat in (maya, avery):
        reply = chat.send("/mydata delete")
        assert "programme lead" in text_of(reply) and reply.error is not None


def test_self_export_has_all_own_data_but_not_mentor_notes(
    core: MentorBot, sam: Chat, maya: Chat, alex: Chat
) -> None:
    """/mydata export holds every kind of Sam's data, says why notes are left out, omits them."""
    fill_sam(core, sam, maya, alex)
    maya.send(f"/notes {SAM}")  # an access that the export lists
    reply = sam.send("/mydata export")
    content = reply.messages[0].attachment.content  # type: ignore[union-attr]
    data = json.loads(content)
    for key in ("moods", "checkins", "goals", "milestones", "goal_updates", "messages", "alerts"):
        assert data[key], key
    for kind in ("mood", "checkin", "message", "help", "goal", "milestone", "update"):
        assert SAM_TEXT[kind] in content, kind
    assert SAM_TEXT["mentor_note"] not in content and "mentor_notes" not in data
    assert "not included" in data["notice"] and "never fully confidential" in data["notice"]
    assert any(e["action"] == "notes.read" and e["by"] == "Maya Mentor" for e in data["access_log"])
    assert ALEX_TEXT not in content


def test_staff_export_includes_mentor_notes(
    core: MentorBot, sam: Chat, maya: Chat, alex: Chat
) -> None:
    """The admin export (CLI) includes the notes, with their author, and a review reminder."""
    from bot.services.export import export_person

    fill_sam(core, sam, maya, alex)
    with core.db.session() as session:
        person = person_by_email(session, SAM)
        assert person is not None
        data = export_person(session, person, include_mentor_notes=True, tables=PERSONAL_DATA)
    assert [n["text"] for n in data["mentor_notes"]] == [SAM_TEXT["mentor_note"]]
    assert data["mentor_notes"][0]["author"] == "Maya Mentor"
    assert "safeguarding" in data["notice"]


def test_cli_style_erasure_is_audited_with_no_actor(core: MentorBot, sam: Chat) -> None:
    """An erasure by an admin tool records who did it (nobody in chat) and what went."""
    sam.send(f"/mood 3 {SAM_TEXT['mood']}")
    with core.db.session() as session:
        person = person_by_email(session, SAM)
        assert person is not None
        report = erase_person(
            session, person, core.clock.now(), actor_id=None, via="cli", tables=PERSONAL_DATA
        )
    assert report.counts["moods"] == 1
    with core.db.session() as session:
        row = session.exec(select(AuditLog).where(AuditLog.action == "erase")).one()
    assert row.actor_id is None and "via cli" in row.detail and "moods 1" in row.detail


# ---------------------------------------------------------------- retention


def test_purge_removes_only_text_older_than_the_retention_period(
    core: MentorBot, sam: Chat, maya: Chat, clock: FixedClock
) -> None:
    """Old notes are nulled (scores kept), old messages and notes deleted, recent text kept."""
    sam.send("/mood 2 old-mood-note")
    sam.send("old free message")
    maya.send(f"/note {SAM} old mentor note")
    clock.advance(days=300)
    sam.send("/mood 4 recent-mood-note")
    sam.send("recent free message")
    clock.advance(days=70)  # the old ones are now 370 days old, the recent ones 70
    with core.db.session() as session:
        # A year on, every push has long been delivered.
        for row in session.exec(select(Outbox)).all():
            row.status = "sent"
            session.add(row)
    settings = CoreSettings(retention_days=365)
    with core.db.session() as session:
        changed = purge_expired_text(session, settings, clock.now(), tables=PERSONAL_DATA)
    # The mood note, the alert's excerpt, the message, the mentor note, the alert's push.
    assert changed >= 5
    values = [v for _, _, v in text_values(core.db)]
    for old in ("old-mood-note", "old free message", "old mentor note"):
        assert not any(old in v for v in values), old
    assert "recent-mood-note" in values and "recent free message" in values
    with core.db.session() as session:
        moods = session.exec(select(MoodEntry).order_by(MoodEntry.recorded_at)).all()
        assert [(m.score, m.note) for m in moods] == [(2, None), (4, "recent-mood-note")]
        assert session.exec(select(AuditLog).where(AuditLog.action == "privacy.purge")).one()


def test_purge_drops_only_undelivered_rows_older_than_retention(
    core: MentorBot, sam: Chat, clock: FixedClock, caplog
) -> None:
    """A push undelivered for the whole retention period goes (with a warning); newer stay."""
    sam.send("/mood 1 very low")  # queues an alert push to Maya
    old = count(core.db, Outbox, Outbox.status == "pending")
    assert old >= 1
    clock.advance(days=300)
    sam.send("/mood 1 still low")  # a newer alert push, 300 days younger
    clock.advance(days=100)
    pending = count(core.db, Outbox, Outbox.status == "pending")
    with core.db.session() as session:
        purge_expired_text(
            session, CoreSettings(retention_days=365), clock.now(), tables=PERSONAL_DATA
        )
    assert count(core.db, Outbox, Outbox.status == "pending") == pending - old
    assert "never delivered" in caplog.text
