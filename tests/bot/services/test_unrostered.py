"""A crisis from someone not on the roster: their provisional person and alert, end to end.

Acting on the alert, re-escalation, the alert list, roster imports that link them, erasure,
export and retention. Every test runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.model import Actor, Inbound, Reply
from bot.services import privacy
from bot.services.export import export_person
from bot.services.roster import import_roster_text
from storage.db import Database
from storage.enums import OutboxKind
from storage.tables import Alert, AlertEvent, Identity, MentorAssignment, Outbox, Person
from tests.conftest import Chat, find_choice, text_of
from tests.tick import REGISTRY, run_due_work

CRISIS = "I want to kill myself tonight"
NIA = Actor("discord", "", "812345678901234567", display_name="Nia")


def write(core: MentorBot, actor: Actor, text: str) -> Reply:
    return core.handle(Inbound(actor, "text", "message", {}, text))


def the_alert(db: Database) -> Alert:
    with db.session() as session:
        [alert] = session.exec(select(Alert)).all()
        session.expunge(alert)
        return alert


def person(db: Database, person_id: int | None) -> Person:
    with db.session() as session:
        row = session.get(Person, person_id)
        assert row is not None
        session.expunge(row)
        return row


def outbox(db: Database, **where: object) -> list[Outbox]:
    with db.session() as session:
        query = select(Outbox).order_by(col(Outbox.id))
        for name, value in where.items():
            query = query.where(getattr(Outbox, name) == value)
        rows = list(session.exec(query).all())
        for row in rows:
            session.expunge(row)
        return rows


def roster(db: Database, clock: FixedClock, csv: str) -> None:
    with db.session() as session:
        import_roster_text(session, csv, clock.now())


def test_the_alert_tells_staff_how_to_find_them(core: MentorBot, avery: Chat) -> None:
    """The admin's alert names the platform account and display name, the reason in words."""
    write(core, NIA, CRISIS)
    listing = avery.send("/alerts")
    shown = text_of(listing)
    assert "Discord user 812345678901234567" in shown and "Nia" in shown
    assert "Not on the roster" in shown and "on-call staff get this alert" in shown
    assert "CRISIS: needs contact now: Nia" in shown
    fields = {f.label: f.value for m in listing.messages for f in m.fields}
    assert "kill myself" in fields["They wrote"]
    assert "crisis." not in fields["Why"] and fields["Why"]  # plain words, never a code


def test_staff_acknowledge_and_resolve_it_and_the_stranger_is_told_once(
    core: MentorBot, avery: Chat, db: Database
) -> None:
    """One-click acknowledge and the resolve form work; the person is told someone saw it."""
    write(core, NIA, CRISIS)
    alert = the_alert(db)
    reply = avery.press(find_choice(avery.send("/alerts"), "Acknowledge"))
    assert reply.update is not None and "Nia: Avery Admin acknowledged this" in reply.update.text
    [seen] = outbox(db, kind=OutboxKind.ALERT_SEEN)
    assert (seen.platform, seen.user_id, seen.person_id) == (
        "discord",
        NIA.user_id,
        alert.student_id,
    )
    assert "has seen your message" in seen.payload
    assert "/resources" not in seen.payload  # a command they can't use: the lines are on the card
    done = avery.form("alert.resolve", alert=str(alert.id), outcome="spoke", note="Called her")
    assert done.error is None and "resolved" in text_of(done)
    assert the_alert(db).status == "resolved"
    assert len(outbox(db, kind=OutboxKind.ALERT_SEEN)) == 1


def test_a_mentor_who_is_not_theirs_cannot_act_on_it(core: MentorBot, maya: Chat) -> None:
    """Like a student without a mentor, only admins may act: a mentor is refused."""
    write(core, NIA, CRISIS)
    reply = maya.send(f"/alerts ack {the_alert(core.db).id}")
    assert reply.error is not None and "only see the students you mentor" in reply.error


def test_unacknowledged_it_escalates_to_the_admins_and_the_staff_channel(
    demo: Database, clock: FixedClock
) -> None:
    """Re-escalation repeats the urgent page, the staff channel included, until acknowledged."""
    settings = CoreSettings(staff_channel="slack:CSTAFF")
    core = MentorBot(demo, settings, clock, registry=REGISTRY)
    write(core, NIA, CRISIS)
    assert len(outbox(demo, channel_id="CSTAFF")) == 1
    clock.advance(minutes=settings.crisis_ack_minutes + 1)
    run_due_work(demo, settings, clock.now())
    assert the_alert(demo).escalation_level == 1
    assert len(outbox(demo, channel_id="CSTAFF")) == 2
    staff = outbox(demo, channel_id="CSTAFF")[-1]
    assert "Discord user 812345678901234567" in staff.payload and "step 1" in staff.payload


def test_a_roster_import_of_their_email_makes_them_a_student_with_the_alert(
    core: MentorBot, db: Database, clock: FixedClock
) -> None:
    """Same email: the provisional row becomes the student, alert and account kept."""
    write(core, Actor("slack", "T1", "UNIA", email="nia@example.edu"), CRISIS)
    alert = the_alert(db)
    roster(
        db,
        clock,
        "email,name,role,mentor_email\nnia@example.edu,Nia Nolan,student,maya@example.edu\n",
    )
    nia = person(db, alert.student_id)
    assert (nia.role, nia.name, nia.email) == ("student", "Nia Nolan", "nia@example.edu")
    reply = write(core, Actor("slack", "T1", "UNIA"), "/mood 4")
    assert "not enrolled" not in text_of(reply)


def test_a_roster_row_with_their_platform_id_adopts_them(
    core: MentorBot, db: Database, clock: FixedClock
) -> None:
    """Discord gives no email: a roster row naming their Discord id takes the row over."""
    write(core, NIA, CRISIS)
    alert = the_alert(db)
    roster(
        db,
        clock,
        "email,name,role,mentor_email,discord_user_id\n"
        "nia@example.edu,Nia Nolan,student,maya@example.edu,812345678901234567\n",
    )
    nia = person(db, alert.student_id)
    assert (nia.role, nia.email) == ("student", "nia@example.edu")
    with db.session() as session:
        assert len(session.exec(select(Identity).where(Identity.user_id == NIA.user_id)).all()) == 1


def test_a_roster_row_naming_a_known_student_takes_over_the_alert(
    core: MentorBot, db: Database, clock: FixedClock, maya: Chat
) -> None:
    """Sam wrote from a Discord account the roster didn't name: the re-import merges it."""
    write(core, NIA, CRISIS)
    write(core, NIA, "i have the rope ready tonight")
    provisional = the_alert(db).student_id
    roster(
        db,
        clock,
        "email,name,role,timezone,mentor_email,discord_user_id\n"
        "sam@example.edu,Sam Student,student,Europe/London,maya@example.edu,812345678901234567\n",
    )
    alert = the_alert(db)
    sam = person(db, alert.student_id)
    assert sam.email == "sam@example.edu" and alert.folded_count == 1
    assert person(db, provisional).deleted_at is not None
    with db.session() as session:
        [identity] = session.exec(select(Identity).where(Identity.user_id == NIA.user_id)).all()
        assert identity.person_id == sam.id
        linked = session.exec(select(AlertEvent).where(AlertEvent.event == "linked")).all()
        assert len(linked) == 1
    # Now Sam's own: his mentor sees and may act on it, and his next message is his.
    listing = maya.send("/alerts")
    assert "Sam Student" in text_of(listing) and "Not on the roster" not in text_of(listing)
    assert "not enrolled" not in text_of(write(core, NIA, "/mood 4"))


def test_the_roster_check_does_not_refuse_their_platform_id(
    core: MentorBot, db: Database, clock: FixedClock
) -> None:
    """A platform id held by a provisional person is not 'already someone else's'."""
    write(core, NIA, CRISIS)
    roster(
        db,
        clock,
        "email,name,role,mentor_email,discord_user_id\n"
        "nia@example.edu,Nia Nolan,student,maya@example.edu,812345678901234567\n",
    )  # raised UserError before: "discord id 812345678901234567 belongs to ..."


def test_erasure_and_export_cover_them(core: MentorBot, db: Database, clock: FixedClock) -> None:
    """Their data exports, and erasure removes it and keeps the alert de-identified."""
    write(core, NIA, CRISIS)
    alert = the_alert(db)
    with db.session() as session:
        nia = session.get(Person, alert.student_id)
        assert nia is not None and nia.email == "unrostered:discord:812345678901234567"
        exported = export_person(session, nia, tables=REGISTRY.personal_data)
        assert exported["alerts"] and exported["identities"]
        privacy.erase_person(
            session, nia, clock.now(), actor_id=None, via="cli", tables=REGISTRY.personal_data
        )
    kept = the_alert(db)
    assert kept.student_id is None and kept.excerpt is None and kept.status == "erased"
    with db.session() as session:
        assert session.exec(select(Identity).where(Identity.user_id == NIA.user_id)).all() == []


def test_retention_erases_them_once_nothing_is_open(
    core: MentorBot, db: Database, clock: FixedClock, avery: Chat
) -> None:
    """Never rostered: after the retention period with the alert resolved, they are erased."""
    write(core, NIA, CRISIS)
    alert = the_alert(db)
    settings = core.settings
    later = clock.now() + timedelta(days=settings.retention_days + 1)
    with db.session() as session:
        privacy.purge_expired_text(session, settings, later, tables=REGISTRY.personal_data)
    assert person(db, alert.student_id).deleted_at is None  # still open: kept
    avery.send(f"/alerts resolve {alert.id} spoke Called her")
    with db.session() as session:
        privacy.purge_expired_text(session, settings, later, tables=REGISTRY.personal_data)
    assert person(db, alert.student_id).deleted_at is not None


def test_an_inactive_roster_student_in_crisis_reaches_their_mentor(
    core: MentorBot, db: Database
) -> None:
    """Someone deactivated on the roster: the alert is theirs, so their mentor hears first."""
    with db.session() as session:
        sam = session.exec(select(Person).where(Person.email == "sam@example.edu")).one()
        sam.active = False
        session.add(sam)
    reply = write(
        core, Actor("console", "local", "sam@example.edu", email="sam@example.edu"), CRISIS
    )
    assert "You don't have to face this alone" in {m.title for m in reply.messages}
    alert = the_alert(db)
    with db.session() as session:
        people = session.exec(select(Person).where(Person.role == "unrostered")).all()
        assert people == []  # no provisional row: the roster's own
        primary = session.exec(
            select(MentorAssignment).where(
                MentorAssignment.student_id == alert.student_id, MentorAssignment.kind == "primary"
            )
        ).one()
    assert alert.mentor_id == primary.mentor_id


def test_a_promised_follow_up_is_reminded_with_who_they_are(
    core: MentorBot, db: Database, clock: FixedClock, avery: Chat
) -> None:
    """'I'll follow up' on their alert: the reminder reaches the admin and says who it is."""
    write(core, NIA, CRISIS)
    avery.press(find_choice(avery.send("/alerts"), "I'll follow up"))
    clock.advance(hours=core.settings.follow_up_reminder_hours + 1)
    run_due_work(db, core.settings, clock.now())
    [reminder] = outbox(db, kind=OutboxKind.ALERT_REMINDER)
    assert person(db, reminder.person_id).email == "admin@example.edu"
    assert f"Discord user {NIA.user_id}" in reminder.payload


def test_reports_and_mentees_leave_them_out_and_still_work(core: MentorBot, avery: Chat) -> None:
    """Not a student: the admin's /report and /mentees run, and count students only."""
    before = text_of(avery.send("/mentees"))
    write(core, NIA, CRISIS)
    assert avery.send("/report").error is None
    after = avery.send("/mentees")
    assert after.error is None and text_of(after) == before and "Nia" not in text_of(after)
