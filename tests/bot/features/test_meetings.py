"""Meetings through the core: hours, booking, proposals, moves, invites, records, cadence.

The demo programme: Maya mentors Sam (Europe/London) and Alex (America/New_York); Avery
(admin) is their backup. Ola mentors Kit, nobody else. The clock starts on Monday
2026-11-23 10:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.clock import FixedClock
from bot.core import MentorBot
from bot.model import Message
from bot.services.caseload import caseload
from bot.services.meetings.views import meetings_for_student
from bot.services.roster import import_roster, parse_roster
from storage.db import Database
from storage.tables import (
    Alert,
    AuditLog,
    Goal,
    Meeting,
    MeetingHours,
    MeetingProfile,
    Outbox,
    Person,
    SessionRecord,
)
from tests.conftest import Chat, find_choice, text_of
from tests.tick import run_due_work

OTHERS = (
    "email,name,role,timezone,mentor_email,backup_mentor_email,groups\n"
    "ola@example.edu,Ola Other,mentor,Europe/London,,,\n"
    "kit@example.edu,Kit Student,student,America/New_York,ola@example.edu,,\n"
)
HOURS = "/meet hours mon,wed 14:00-16:00 30"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def ola(core: MentorBot, clock: FixedClock) -> Chat:
    """A second mentor, Ola, with her own student Kit."""
    with core.db.session() as session:
        import_roster(session, parse_roster(OTHERS), clock.now())
    return Chat(core, "ola@example.edu")


@pytest.fixture
def kit(ola: Chat) -> Chat:
    """Ola's student Kit (America/New_York)."""
    return Chat(ola.core, "kit@example.edu")


def pushed(db: Database, email: str, kind_prefix: str = "meeting") -> list[Message]:
    """The messages queued for one person by the meetings feature, oldest first."""
    with db.session() as session:
        person = session.exec(select(Person).where(Person.email == email)).one()
        rows = session.exec(
            select(Outbox)
            .where(Outbox.person_id == person.id, col(Outbox.dedupe_key).startswith(kind_prefix))
            .order_by(col(Outbox.id))
        ).all()
        return [Message.from_json(row.payload) for row in rows]


def ics_event(message: Message) -> tuple[Calendar, dict[str, str]]:
    """The calendar of an invite and its event's main properties as text."""
    assert message.attachment is not None
    assert message.attachment.filename == "meeting.ics"
    assert message.attachment.mime_type == "text/calendar"
    calendar = Calendar.from_ical(message.attachment.data)
    [event] = [c for c in calendar.walk("VEVENT")]
    fields = {k: str(event.get(k)) for k in ("UID", "SEQUENCE", "STATUS", "LOCATION")}
    fields["DTSTART"] = event.decoded("DTSTART").astimezone(UTC).isoformat()
    return calendar, fields


def meetings(db: Database) -> list[Meeting]:
    with db.session() as session:
        found = list(session.exec(select(Meeting).order_by(col(Meeting.id))).all())
        for meeting in found:
            session.expunge(meeting)
        return found


def test_publish_hours_and_book_a_slot_sends_both_an_invite(maya: Chat, sam: Chat) -> None:
    """Hours in the mentor's zone become slots in the student's; a press books and invites."""
    assert "Mon 14:00-16:00, Wed 14:00-16:00 (Europe/London), 30-minute" in text_of(
        maya.send(HOURS)
    )
    assert "https" in text_of(maya.send("/meet link https://meet.example.edu/maya"))
    offer = sam.send("/meet")
    assert "Free meeting times (your time, Europe/London)" in text_of(offer)
    first = find_choice(offer, "Mon 23 Nov 2026, 14:00")
    assert "Maya Mentor" in first.label
    booked = sam.press(first)
    assert "Booked: meeting #1, Mon 23 Nov 2026, 14:00-14:30 (Europe/London)" in text_of(booked)
    [meeting] = meetings(sam.core.db)
    assert meeting.status == "booked" and meeting.starts_at == utc(2026, 11, 23, 14, 0)
    for email in ("sam@example.edu", "maya@example.edu"):
        [invite] = pushed(sam.core.db, email)
        calendar, event = ics_event(invite)
        assert str(calendar.get("METHOD")) == "REQUEST"
        assert event["UID"] == meeting.uid and event["SEQUENCE"] == "0"
        assert event["DTSTART"] == "2026-11-23T14:00:00+00:00"
        assert event["LOCATION"] == "https://meet.example.edu/maya"
        assert "Join: https://meet.example.edu/maya" in invite.text
    # The booked slot is no longer offered.
    assert "Mon 23 Nov 2026, 14:00" not in text_of(sam.send("/meet"))


def test_bad_hours_and_links_are_refused_and_change_nothing(maya: Chat) -> None:
    """A wrong day, span, length or an http link: a clear message and nothing stored."""
    for line, expected in (
        ("/meet hours mon,funday 14:00-16:00 30", "'funday' isn't a day"),
        ("/meet hours mon 16:00-14:00 30", "end before they start"),
        ("/meet hours mon 14:00-16:00 5", "10 to 240 minutes"),
        ("/meet hours mon 14:00-14:20 30", "doesn't fit"),
        ("/meet hours mon 25:00-26:00 30", "isn't a time of day"),
        ("/meet link http://meet.example.edu/maya", "secure https://"),
        ("/meet link javascript:alert(1)", "secure https://"),
        ("/meet link https://", "secure https://"),
    ):
        reply = maya.send(line)
        assert expected in text_of(reply), line
    with maya.core.db.session() as session:
        assert session.exec(select(MeetingHours)).all() == []
        assert session.exec(select(MeetingProfile)).all() == []


def test_refusals_other_mentor_past_and_taken_slots(maya: Chat, sam: Chat, alex: Chat,
                                                   kit: Chat, ola: Chat) -> None:
    """Booking another mentor, a past time or a taken slot is refused; the next slots shown."""
    maya.send(HOURS)
    ola.send(HOURS)
    first = find_choice(sam.send("/meet"), "Mon 23 Nov 2026, 14:00")
    # Kit presses a copy of Sam's button (Maya isn't Kit's mentor).
    refused = kit.press(first)
    assert "only book meetings with your own mentor" in text_of(refused)
    # A slot in the past (a button kept from last week).
    past = type(first)(first.label, first.action, (("mentor", first.args_dict()["mentor"]),
                                                   ("at", "20261116T1400Z")))
    assert "already passed" in text_of(sam.press(past))
    # A time that isn't in the hours at all (a forged button).
    forged = type(first)(first.label, first.action, (("mentor", first.args_dict()["mentor"]),
                                                     ("at", "20261123T1410Z")))
    assert "isn't free any more" in text_of(sam.press(forged))
    assert meetings(sam.core.db) == []
    assert "Booked" in text_of(sam.press(first))
    taken = alex.press(first)
    assert "someone else just took that time" in text_of(taken)
    assert "Here are the next free times" in text_of(taken)
    # Alex sees his own zone: 14:30 London is 09:30 in New York.
    assert "Mon 23 Nov 2026, 09:30" in find_choice(taken, "09:30").label
    assert len(meetings(sam.core.db)) == 1
    # Mentor-side refusals: another mentor's student, and a past time.
    assert "students you mentor" in text_of(maya.send("/meet propose kit@example.edu 2026-12-01 10:00"))
    assert "already passed" in text_of(maya.send("/meet propose sam@example.edu 2026-11-20 10:00"))


def test_propose_accept_and_decline(maya: Chat, sam: Chat) -> None:
    """A mentor proposes; the student accepts (invites) or declines (the mentor is told)."""
    reply = maya.send("/meet propose sam@example.edu 2026-11-25 11:00")
    assert "Proposed meeting #1 to Sam Student" in text_of(reply)
    [proposal] = pushed(sam.core.db, "sam@example.edu")
    assert "Maya Mentor proposes a meeting on Wed 25 Nov 2026, 11:00-11:30" in proposal.text
    accepted = sam.press(find_choice_in(proposal, "Accept"))
    assert "Accepted: meeting #1" in text_of(accepted)
    assert meetings(sam.core.db)[0].status == "booked"
    invites = [m for m in pushed(sam.core.db, "maya@example.edu") if m.attachment]
    assert len(invites) == 1
    # Pressing again changes nothing.
    assert "already booked" in text_of(sam.press(find_choice_in(proposal, "Decline")))
    maya.send("/meet propose sam@example.edu 2026-11-26 11:00")
    second = pushed(sam.core.db, "sam@example.edu")[-1]
    assert "Declined meeting #2" in text_of(sam.press(find_choice_in(second, "Decline")))
    assert "Sam Student declined" in pushed(sam.core.db, "maya@example.edu")[-1].text


def find_choice_in(message: Message, label: str):  # type: ignore[no-untyped-def]
    """The button of a pushed message whose label contains `label`."""
    return next(c for c in message.choices if label in c.label)


def test_move_bumps_sequence_and_cancel_sends_cancel(maya: Chat, sam: Chat) -> None:
    """Moving keeps the UID and bumps SEQUENCE; cancelling sends METHOD:CANCEL, STATUS:CANCELLED."""
    maya.send(HOURS)
    sam.press(find_choice(sam.send("/meet"), "Mon 23 Nov 2026, 14:00"))
    assert "Use /meet move ID YYYY-MM-DD HH:MM REASON" in text_of(
        sam.send("/meet move 1 2026-11-25 14:00")
    )
    assert "isn't one of your mentor's free times" in text_of(
        sam.send("/meet move 1 2026-11-25 09:00 clash with a lecture")
    )
    moved = sam.send("/meet move 1 2026-11-25 14:30 clash with a lecture")
    assert "moved to Wed 25 Nov 2026, 14:30-15:00" in text_of(moved)
    first, update = pushed(sam.core.db, "maya@example.edu")
    _, before = ics_event(first)
    _, after = ics_event(update)
    assert before["UID"] == after["UID"] and after["SEQUENCE"] == "1"
    assert "Moved by Sam Student: clash with a lecture" in update.text
    # The mentor may move it to any free time in her own zone.
    assert "moved to" in text_of(maya.send("/meet move 1 2026-11-26 09:00 a room is free"))
    assert "can't find meeting #99" in text_of(sam.send("/meet move 99 2026-11-26 09:00 x"))
    cancelled = maya.send("/meet cancel 1 I'm unwell")
    assert "cancelled" in text_of(cancelled)
    last = pushed(sam.core.db, "sam@example.edu")[-1]
    calendar, event = ics_event(last)
    assert str(calendar.get("METHOD")) == "CANCEL" and event["STATUS"] == "CANCELLED"
    assert event["SEQUENCE"] == "3" and event["UID"] == before["UID"]
    assert "Cancelled by Maya Mentor: I'm unwell" in last.text
    # The slot is free again.
    assert "Mon 23 Nov 2026, 14:00" in text_of(sam.send("/meet"))


def test_someone_elses_meeting_reads_as_missing(maya: Chat, sam: Chat, kit: Chat) -> None:
    """Kit can neither move nor cancel Sam's meeting, and learns nothing about it."""
    maya.send(HOURS)
    sam.press(find_choice(sam.send("/meet"), "Mon 23 Nov 2026, 14:00"))
    assert "I can't find meeting #1" in text_of(kit.send("/meet cancel 1 because"))
    assert meetings(sam.core.db)[0].status == "booked"
