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
from bot.features.casefile import meetings_source
from bot.model import Message
from bot.people import person_by_email
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


def test_refusals_other_mentor_past_and_taken_slots(
    maya: Chat, sam: Chat, alex: Chat, kit: Chat, ola: Chat
) -> None:
    """Booking another mentor, a past time or a taken slot is refused; the next slots shown."""
    maya.send(HOURS)
    ola.send(HOURS)
    first = find_choice(sam.send("/meet"), "Mon 23 Nov 2026, 14:00")
    # Kit presses a copy of Sam's button (Maya isn't Kit's mentor).
    refused = kit.press(first)
    assert "only book meetings with your own mentor" in text_of(refused)
    # A slot in the past (a button kept from last week).
    past = type(first)(
        first.label,
        first.action,
        (("mentor", first.args_dict()["mentor"]), ("at", "20261116T1400Z")),
    )
    assert "already passed" in text_of(sam.press(past))
    # A time that isn't in the hours at all (a forged button).
    forged = type(first)(
        first.label,
        first.action,
        (("mentor", first.args_dict()["mentor"]), ("at", "20261123T1410Z")),
    )
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
    assert "students you mentor" in text_of(
        maya.send("/meet propose kit@example.edu 2026-12-01 10:00")
    )
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


@pytest.mark.parametrize(
    ("booked_on", "meeting_day", "mentor_zone", "student", "student_sees", "at_utc"),
    [
        # Maya in London (GMT until 28 March), Alex in New York (EDT from 14 March): booked
        # on 10 March, held on 15 March. 14:00 GMT is 14:00 UTC, 10:00 EDT (09:00 before).
        (
            utc(2027, 3, 10, 10),
            "Mon 15 Mar 2027",
            "Europe/London",
            "alex",
            "10:00",
            utc(2027, 3, 15, 14),
        ),
        # Booked on 24 March in GMT, held on 29 March in BST: still 14:00 for Maya and Sam,
        # 13:00 UTC.
        (
            utc(2027, 3, 24, 10),
            "Mon 29 Mar 2027",
            "Europe/London",
            "sam",
            "14:00",
            utc(2027, 3, 29, 13),
        ),
        # A mentor in New York booked in EST (8 March) for after the change (15 March):
        # 14:00 EDT is 18:00 UTC, which Sam in London (still GMT) sees as 18:00.
        (
            utc(2027, 3, 8, 10),
            "Mon 15 Mar 2027",
            "America/New_York",
            "sam",
            "18:00",
            utc(2027, 3, 15, 18),
        ),
    ],
)
def test_dst_between_booking_and_meeting_keeps_the_mentors_local_time(
    core: MentorBot,
    clock: FixedClock,
    maya: Chat,
    sam: Chat,
    alex: Chat,
    booked_on: datetime,
    meeting_day: str,
    mentor_zone: str,
    student: str,
    student_sees: str,
    at_utc: datetime,
) -> None:
    """Slots are the mentor's wall clock on the meeting's own date, shown in the student's zone."""
    clock.set(booked_on)
    with core.db.session() as session:
        mentor = session.exec(select(Person).where(Person.email == "maya@example.edu")).one()
        mentor.timezone = mentor_zone
        session.add(mentor)
    maya.send("/meet hours mon 14:00-16:00 30")
    chat = alex if student == "alex" else sam
    offer = chat.send("/meet")
    booked = chat.press(find_choice(offer, f"{meeting_day}, {student_sees}"))
    assert f"{meeting_day}, {student_sees}" in text_of(booked)
    [meeting] = meetings(core.db)
    assert meeting.starts_at == at_utc
    assert meeting.mentor_timezone == mentor_zone
    [mentor_invite] = pushed(core.db, "maya@example.edu")
    assert f"{meeting_day}, 14:00-14:30 ({mentor_zone})" in mentor_invite.text


def test_a_time_the_clocks_skip_is_never_offered(
    core: MentorBot, clock: FixedClock, maya: Chat
) -> None:
    """01:00-02:00 on the last Sunday of March doesn't exist in London: no slot, no proposal."""
    clock.set(utc(2027, 3, 22, 10))
    maya.send("/meet hours sun 00:30-02:30 30")
    with core.db.session() as session:
        from bot.services.meetings.availability import published_slots

        mentor = session.exec(select(Person).where(Person.email == "maya@example.edu")).one()
        assert mentor.id is not None
        starts = [s.starts_at for s in published_slots(session, mentor.id, clock.now(), days=7)]
    # 00:30 GMT, then 02:00 BST (01:00 UTC); 01:00 and 01:30 local never happen.
    assert starts == [utc(2027, 3, 28, 0, 30), utc(2027, 3, 28, 1, 0)]
    assert "doesn't exist" in text_of(maya.send("/meet propose sam@example.edu 2027-03-28 01:30"))


def test_one_live_meeting_per_mentor_and_start_is_a_database_constraint(demo: Database) -> None:
    """Two live meetings at one start for one mentor can't both be stored; a cancelled one can."""
    now = utc(2026, 11, 23, 10)
    with demo.session() as session:
        maya = session.exec(select(Person).where(Person.email == "maya@example.edu")).one()
        sam = session.exec(select(Person).where(Person.email == "sam@example.edu")).one()
        assert maya.id is not None and sam.id is not None
        ids = (maya.id, sam.id)

    def row(uid: str, status: str) -> Meeting:
        return Meeting(
            uid=uid,
            mentor_id=ids[0],
            student_id=ids[1],
            starts_at=utc(2026, 12, 1, 14),
            duration_minutes=30,
            mentor_timezone="Europe/London",
            status=status,
            created_at=now,
            updated_at=now,
        )

    with demo.session() as session:
        session.add(row("a", "cancelled"))
        session.add(row("b", "booked"))
    with pytest.raises(IntegrityError), demo.session() as session:
        session.add(row("c", "proposed"))


def test_two_students_pressing_the_same_slot_at_once(
    core: MentorBot, maya: Chat, sam: Chat, alex: Chat
) -> None:
    """Pressed at the same moment from two threads: exactly one booking; the other is re-offered."""
    import threading

    maya.send(HOURS)
    slot = find_choice(sam.send("/meet"), "Mon 23 Nov 2026, 14:00")
    barrier = threading.Barrier(2)
    replies: dict[str, str] = {}

    def press(chat: Chat) -> None:
        barrier.wait()
        replies[chat.email] = text_of(chat.press(slot))

    threads = [threading.Thread(target=press, args=(c,)) for c in (sam, alex)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    booked = [e for e, t in replies.items() if "Booked" in t]
    refused = [e for e, t in replies.items() if "someone else just took that time" in t]
    assert len(booked) == 1 and len(refused) == 1, replies
    assert "Here are the next free times" in replies[refused[0]]
    [meeting] = meetings(core.db)
    assert meeting.starts_at == utc(2026, 11, 23, 14)


def test_reminders_day_and_hour_before_quiet_hours_and_the_question(
    core: MentorBot, clock: FixedClock, maya: Chat, sam: Chat
) -> None:
    """24 h before respects quiet hours; 1 h before goes anyway; then "Did it happen?"."""
    maya.send("/meet hours tue 07:30-09:00 30")
    # Tuesday 24 Nov 07:30 London: the day-before reminder is due Monday 07:30 (in quiet
    # hours until 08:00), the hour-before one at 06:30 Tuesday (quiet, but urgent).
    sam.press(find_choice(sam.send("/meet"), "Tue 1 Dec 2026, 07:30"))
    db = core.db
    run_due_work(db, core.settings, utc(2026, 11, 30, 7, 30))
    run_due_work(db, core.settings, utc(2026, 11, 30, 7, 31))
    with db.session() as session:
        day = session.exec(
            select(Outbox).where(col(Outbox.dedupe_key).contains(":remind-day:"))
        ).all()
        assert len(day) == 2
        assert {row.next_attempt_at for row in day} == {utc(2026, 11, 30, 8, 0)}
        assert not any(row.urgent for row in day)
    run_due_work(db, core.settings, utc(2026, 12, 1, 6, 30))
    with db.session() as session:
        hour = session.exec(
            select(Outbox).where(col(Outbox.dedupe_key).contains(":remind-hour:"))
        ).all()
        assert len(hour) == 2 and all(r.urgent for r in hour)
        assert {row.next_attempt_at for row in hour} == {utc(2026, 12, 1, 6, 30)}
    assert "is in an hour, Tue 1 Dec 2026, 07:30-08:00" in pushed(db, "sam@example.edu")[-1].text
    run_due_work(db, core.settings, utc(2026, 12, 1, 8, 0))
    run_due_work(db, core.settings, utc(2026, 12, 1, 8, 1))
    question = pushed(db, "maya@example.edu")[-1]
    assert question.title == "Did it happen?"
    assert [c.label for c in question.choices] == [
        "It happened",
        "Student didn't come",
        "We rescheduled",
    ]


def book_and_hold(core: MentorBot, clock: FixedClock, maya: Chat, sam: Chat, label: str) -> Message:
    """Sam books the slot `label`; the tick after it asks Maya; returns the question."""
    sam.press(find_choice(sam.send("/meet"), label))
    [meeting] = [m for m in meetings(core.db) if m.status == "booked"]
    end = meeting.starts_at + timedelta(minutes=meeting.duration_minutes)
    clock.set(end)
    run_due_work(core.db, core.settings, end)
    return pushed(core.db, "maya@example.edu")[-1]


def test_held_record_is_sealed_for_mentors_only_and_makes_goals(
    core: MentorBot, clock: FixedClock, maya: Chat, sam: Chat, avery: Chat, ola: Chat
) -> None:
    """Held, then the record form; only the student's mentors read it (audited); goals."""
    maya.send(HOURS)
    question = book_and_hold(core, clock, maya, sam, "Mon 23 Nov 2026, 14:00")
    early = maya.form("meeting.record", meeting="1", topics="Too soon")
    assert "A session record is for a meeting that happened; #1 is booked" in text_of(early)
    held = maya.press(find_choice_in(question, "It happened"))
    assert "recorded as held" in text_of(held)
    write = find_choice(held, "Write the session record")
    # Empty topics: refused, nothing stored.
    assert "write the topics" in text_of(maya.form("meeting.record", meeting="1", topics=" "))
    saved = maya.form(
        "meeting.record",
        meeting=write.args_dict()["meeting"],
        topics="Exam plan",
        actions="Revise chapter 3; Book a library room",
        next="Meet in two weeks",
    )
    assert "Session record saved for meeting #1" in text_of(saved)
    with core.db.session() as session:
        raw = session.connection().exec_driver_sql("SELECT topics FROM session_record").scalar()
        assert raw is not None and "Exam plan" not in raw  # sealed at rest
    # Another mentor, an admin, and the student themselves cannot read it.
    assert "Only this student's mentors" in text_of(ola.send("/meet record 1"))
    assert "only for mentors and programme staff" in text_of(sam.send("/meet record 1"))
    read = maya.send("/meet record 1")
    assert "Topics: Exam plan" in text_of(read)
    assert "Agreed actions: Revise chapter 3; Book a library room" in text_of(read)
    # Avery is Sam's backup mentor, so she may read it too.
    assert "Exam plan" in text_of(avery.send("/meet record 1"))
    with core.db.session() as session:
        reads = session.exec(select(AuditLog).where(AuditLog.action == "meeting_record.read")).all()
        assert len(reads) >= 3
    made = maya.press(find_choice(read, "Make these goals"))
    assert "Added 2 goal(s)" in text_of(made)
    assert "already the student's goals" in text_of(
        maya.press(find_choice(read, "Make these goals"))
    )
    with core.db.session() as session:
        titles = sorted(g.title for g in session.exec(select(Goal)).all())
        assert titles == ["Book a library room", "Revise chapter 3"]
    assert "New goals from your meeting" in pushed(core.db, "sam@example.edu")[-1].title


def test_missed_meetings_in_a_row_raise_an_alert(
    core: MentorBot, clock: FixedClock, maya: Chat, sam: Chat
) -> None:
    """Two no-shows in a row (ESCALATE_MISSED_MEETINGS=2) raise a missed alert for the mentor."""
    maya.send(HOURS)
    first = book_and_hold(core, clock, maya, sam, "Mon 23 Nov 2026, 14:00")
    assert "recorded as missed." in text_of(maya.press(find_choice_in(first, "didn't come")))
    second = book_and_hold(core, clock, maya, sam, "Wed 25 Nov 2026, 14:00")
    reply = maya.press(find_choice_in(second, "didn't come"))
    assert "an alert was raised" in text_of(reply)
    with core.db.session() as session:
        [alert] = session.exec(select(Alert)).all()
        assert alert.kind == "missed" and alert.reason == "2 meetings missed in a row"
    # Pressing again changes nothing.
    assert "already recorded" in text_of(maya.press(find_choice_in(second, "didn't come")))


def test_cadence_nudges_once_and_the_caseload_marks_it(
    core: MentorBot, clock: FixedClock, maya: Chat, sam: Chat
) -> None:
    """Every 2 weeks: overdue after 2 weeks without a meeting; one nudge; caseload marks it."""
    assert "every 2 weeks" in text_of(maya.send("/meet every sam@example.edu 2"))
    assert "I can't find a group of yours" in text_of(maya.send('/meet every "Nope" 2'))
    assert "Weeks is a number from 1 to 52" in text_of(maya.send("/meet every sam@example.edu 99"))
    assert "every week" in text_of(maya.send('/meet every "Study skills" 1'))
    # Sam's own cadence (2 weeks) wins over the group's; Alex follows the group (1 week).
    later = utc(2026, 12, 1, 10)
    clock.set(later)
    for _ in range(2):
        run_due_work(core.db, core.settings, later)
    nudges = [m for m in pushed(core.db, "maya@example.edu", "meeting:nudge")]
    assert [m.text.split(".")[0] for m in nudges] == ["It's time to meet Alex Student again"]
    with core.db.session() as session:
        maya_person = session.exec(select(Person).where(Person.email == "maya@example.edu")).one()
        lines = {
            ln.student.email: ln.meeting_overdue
            for ln in caseload(session, maya_person, later, "UTC")
        }
    assert lines == {"sam@example.edu": False, "alex@example.edu": True}
    assert "meeting overdue" in text_of(maya.send("/mentees"))
    clock.set(utc(2026, 12, 8, 10))
    run_due_work(core.db, core.settings, clock.now())
    nudges = pushed(core.db, "maya@example.edu", "meeting:nudge")
    assert len(nudges) == 2 and "Sam Student" in nudges[-1].text


def test_meetings_for_student_lists_outcomes_and_record_presence(
    core: MentorBot, clock: FixedClock, maya: Chat, sam: Chat
) -> None:
    """The case file's view: held with a record, missed, cancelled, in the period asked."""
    maya.send(HOURS)
    first = book_and_hold(core, clock, maya, sam, "Mon 23 Nov 2026, 14:00")
    maya.press(find_choice_in(first, "It happened"))
    maya.send("/meet write 1 Exam plan | Revise | Next week")
    second = book_and_hold(core, clock, maya, sam, "Wed 25 Nov 2026, 14:00")
    maya.press(find_choice_in(second, "didn't come"))
    sam.press(find_choice(sam.send("/meet"), "Mon 30 Nov 2026, 14:00"))
    sam.send("/meet cancel 3 exam moved")
    with core.db.session() as session:
        sam_person = session.exec(select(Person).where(Person.email == "sam@example.edu")).one()
        assert sam_person.id is not None
        views = meetings_for_student(session, sam_person.id, utc(2026, 11, 1), utc(2026, 12, 31))
        assert session.exec(select(SessionRecord)).one().meeting_id == 1
    assert [(v.id, v.casefile_status, v.has_record, v.mentor_name) for v in views] == [
        (1, "held", True, "Maya Mentor"),
        (2, "missed", False, "Maya Mentor"),
        (3, "cancelled", False, "Maya Mentor"),
    ]
    # Without a reader, no record's words; for Maya (Sam's mentor) they come, audited once.
    assert all(v.topics == "" and v.agreed_actions == () for v in views)
    with core.db.session() as session:
        maya_p = session.exec(select(Person).where(Person.email == "maya@example.edu")).one()
        ola = Person(email="x@example.edu", name="X", role="admin", created_at=clock.now())
        session.add(ola)
        session.flush()
        shown = meetings_for_student(
            session, sam_person.id, utc(2026, 11, 1), utc(2026, 12, 31), reader=maya_p
        )
        hidden = meetings_for_student(
            session, sam_person.id, utc(2026, 11, 1), utc(2026, 12, 31), reader=ola
        )
        reads = session.exec(select(AuditLog).where(AuditLog.detail == "case file")).all()
    assert (shown[0].topics, shown[0].agreed_actions, shown[0].next_step) == (
        "Exam plan",
        ("Revise",),
        "Next week",
    )
    assert hidden[0].topics == "" and len(reads) == 1


def test_erasure_and_export_cover_meetings_and_records(
    core: MentorBot, clock: FixedClock, maya: Chat, sam: Chat
) -> None:
    """Sam's export lists his meetings (not the record); erasing Maya takes both, cleanly."""
    from bot.services.export import export_person
    from bot.services.privacy import erase_person
    from tests.tick import PERSONAL_DATA

    maya.send(HOURS)
    maya.send("/meet every sam@example.edu 2")
    question = book_and_hold(core, clock, maya, sam, "Mon 23 Nov 2026, 14:00")
    maya.press(find_choice_in(question, "It happened"))
    maya.send("/meet write 1 Exam plan | Revise | Next week")
    with core.db.session() as session:
        sam_p = session.exec(select(Person).where(Person.email == "sam@example.edu")).one()
        mine = export_person(session, sam_p, tables=PERSONAL_DATA)
        assert [m["status"] for m in mine["meetings"]] == ["held"]
        assert "session_records" not in mine
        maya_p = session.exec(select(Person).where(Person.email == "maya@example.edu")).one()
        report = erase_person(
            session, maya_p, clock.now(), actor_id=None, via="test", tables=PERSONAL_DATA
        )
        assert "session records" in report.summary() and "meetings" in report.summary()
    with core.db.session() as session:
        assert session.exec(select(Meeting)).all() == []
        assert session.exec(select(SessionRecord)).all() == []
        assert session.exec(select(MeetingHours)).all() == []


def test_an_unanswered_proposal_expires_at_its_time(
    core: MentorBot, clock: FixedClock, maya: Chat, sam: Chat
) -> None:
    """A proposal nobody answered closes when its time comes; its Accept button then refuses."""
    maya.send("/meet propose sam@example.edu 2026-11-25 11:00")
    [proposal] = pushed(core.db, "sam@example.edu")
    run_due_work(core.db, core.settings, utc(2026, 11, 25, 11, 0))
    assert meetings(core.db)[0].status == "expired"
    assert "already expired" in text_of(sam.press(find_choice_in(proposal, "Accept")))


def test_days_off_and_cleared_hours_offer_nothing_then(maya: Chat, sam: Chat) -> None:
    """A day off removes that day's slots; `DAYS off` clears the hours; a past day is refused."""
    maya.send(HOURS)
    assert "is now a day off" in text_of(maya.send("/meet off 2026-11-23"))
    assert "is already a day off" in text_of(maya.send("/meet off 2026-11-23"))
    assert "already passed" in text_of(maya.send("/meet off 2026-11-20"))
    assert "isn't a date" in text_of(maya.send("/meet off 2026-13-40"))
    offer = text_of(sam.send("/meet"))
    assert "Mon 23 Nov" not in offer and "Wed 25 Nov 2026, 14:00" in offer
    assert "No more meetings on Wed" in text_of(maya.send("/meet hours wed off"))
    offer = text_of(sam.send("/meet"))
    assert "Wed" not in offer and "Mon 30 Nov 2026, 14:00" in offer
    maya.send("/meet hours mon off")
    assert "No free meeting times" in text_of(sam.send("/meet"))


def test_a_held_meeting_and_its_record_show_in_the_case_file(
    core: MentorBot, clock: FixedClock, maya: Chat, sam: Chat
) -> None:
    """The case file lists the held meeting with its record for the mentor; no reader, no words."""
    maya.send(HOURS)
    question = book_and_hold(core, clock, maya, sam, "Mon 23 Nov 2026, 14:00")
    held = maya.press(find_choice_in(question, "It happened"))
    write = find_choice(held, "Write the session record")
    maya.form(
        "meeting.record",
        meeting=write.args_dict()["meeting"],
        topics="Exam plan",
        actions="Revise chapter 3",
        next="Meet in two weeks",
    )
    shown = text_of(maya.send("/student sam@example.edu"))
    assert "Meeting 23 Nov 2026 14:00 · held" in shown
    assert "Topics: Exam plan" in shown and "Agreed: Revise chapter 3" in shown
    # The command line's report has no reader: the meeting and outcome, not the words.
    with core.db.session() as session:
        sam_id = person_by_email(session, "sam@example.edu").id  # type: ignore[union-attr]
        assert sam_id is not None
        views = meetings_source(None, clock.now())(
            session, sam_id, utc(2026, 11, 1, 0, 0), utc(2026, 12, 31, 0, 0)
        )
    assert [(v.status.value, v.topics) for v in views] == [("held", "")]
