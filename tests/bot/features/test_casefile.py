"""The case file (`/student EMAIL`) and its progress report button, through the core.

Issue 17, parts 5-6: who may read it, what it shows, that every read is audited, and that
every refusal reads the same whether or not the student exists, and changes nothing.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlmodel import select

from bot.core import MentorBot
from bot.features import casefile as casefile_feature
from bot.model import Actor, Inbound, Reply
from bot.services.casefile import REPORT_ACTION, MeetingStatus, MeetingView
from storage.tables import AuditLog
from tests.bot.features.casefile_world import (
    GOAL_TITLE,
    MILESTONE,
    NOTE_TEXT,
    RESOLUTION,
    TermWorld,
    seed_term,
)
from tests.conftest import Chat, find_choice, text_of
from tests.dbdump import snapshot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def term(core: MentorBot) -> TermWorld:
    """Sam's term of records (see casefile_world)."""
    return seed_term(core.db, core.settings, core.clock.now())


def audits(core: MentorBot, action: str) -> list[AuditLog]:
    """Audit rows of one action."""
    with core.db.session() as session:
        return list(session.exec(select(AuditLog).where(AuditLog.action == action)).all())


def as_actor(core: MentorBot, email: str, kind: str, name: str, **args: str) -> Reply:
    """One inbound event from a console user."""
    actor = Actor("console", "local", email, email=email)
    text = args.pop("text", "")
    return core.handle(Inbound(actor, kind, name, args, text))  # type: ignore[arg-type]


def test_mentor_reads_the_whole_case_file_with_chart_and_words(
    core: MentorBot, maya: Chat, term: TermWorld
) -> None:
    """Maya's /student shows profile, chart (PNG + alt text), check-ins, goals, notes, alerts."""
    reply = maya.send("/student sam@example.edu")
    assert reply.error is None, text_of(reply)
    overview, goals, records = reply.messages
    assert overview.title == "Case file: Sam Student"
    assert overview.attachment is not None
    assert overview.attachment.data.startswith(PNG_MAGIC)
    assert overview.attachment.mime_type == "image/png"
    # The chart's words are the text: what screen readers and the console read.
    words = overview.attachment.alt_text
    assert overview.text == words
    assert "weekly average mood" in words and "lowest 2" in words and "Overall rising" in words
    assert "Responded to 10 of 12 check-ins (83%): 8 answered, 2 skipped, 2 missed." in words
    shown = text_of(reply)
    assert "Time zone: Europe/London" in shown
    assert "Maya Mentor (primary)" in shown and "Study skills" in shown
    assert f"Goal: {GOAL_TITLE}" in shown and f"☑ {MILESTONE}" in shown
    assert "☐ Draft the first half" in shown and "50%" in shown
    assert "No meetings recorded in this period." in text_of(Reply(messages=(goals,)))
    assert NOTE_TEXT in text_of(Reply(messages=(records,)))  # decrypted for its reader
    assert "Low mood" in shown and "resolved: Spoke to the student" in shown
    assert RESOLUTION in shown
    [read] = audits(core, "casefile.read")
    assert read.subject_id == term.sam_id


def test_admin_reads_any_students_case_file_and_is_audited(
    core: MentorBot, avery: Chat, term: TermWorld
) -> None:
    """Programme staff (an admin) may read the case file; the read is audited."""
    reply = avery.send("/student sam@example.edu")
    assert reply.error is None and "Case file: Sam Student" in text_of(reply)
    assert len(audits(core, "casefile.read")) == 1


@pytest.mark.parametrize(
    ("email", "target"),
    [
        ("olly@example.edu", "sam@example.edu"),  # a mentor, not Sam's
        ("maya@example.edu", "nobody@example.edu"),  # no such person
        ("olly@example.edu", "alex@example.edu"),  # another of Maya's students
        ("maya@example.edu", "admin@example.edu"),  # staff, not a student
    ],
)
def test_refusals_read_alike_and_change_nothing(
    core: MentorBot, term: TermWorld, email: str, target: str
) -> None:
    """Someone else's student and an unknown email get the same words; nothing is stored."""
    as_actor(core, email, "command", "help")  # first contact links the account: not our change
    before = snapshot(core.db)
    reply = as_actor(core, email, "command", "student", text=target)
    assert reply.error == (
        f"I can't find a student '{target}' among the students you can see. "
        "Check the email, or ask programme staff."
    )
    assert "Sam" not in text_of(reply)
    assert snapshot(core.db) == before


def test_the_student_themself_is_refused(core: MentorBot, sam: Chat, term: TermWorld) -> None:
    """Sam can't open their own case file (it is staff's view; /mydata is theirs)."""
    sam.send("/help")
    before = snapshot(core.db)
    reply = sam.send("/student sam@example.edu")
    assert reply.error is not None and NOTE_TEXT not in text_of(reply)
    assert snapshot(core.db) == before


def test_bad_email_gets_the_usage(core: MentorBot, maya: Chat, term: TermWorld) -> None:
    """Words that aren't an email get a clear message and change nothing."""
    maya.send("/help")
    before = snapshot(core.db)
    reply = maya.send("/student sam")
    assert reply.error is not None and "email" in (reply.error or "").lower()
    assert snapshot(core.db) == before


def test_report_button_sends_the_pdf_and_audits_it(
    core: MentorBot, maya: Chat, term: TermWorld
) -> None:
    """The case file's button answers with the progress report as a PDF, audited."""
    maya.send("/student sam@example.edu")
    reply = maya.press("Progress report (PDF)")
    assert reply.error is None, text_of(reply)
    [message] = reply.messages
    assert message.attachment is not None
    assert message.attachment.data.startswith(b"%PDF")
    assert message.attachment.mime_type == "application/pdf"
    assert message.attachment.filename == f"progress-report-{term.sam_id}.pdf"
    assert "Progress report for Sam Student" in message.text and "1 page(s)" in message.text
    [read] = audits(core, "report.student")
    assert read.subject_id == term.sam_id and read.detail == "2026-09-07..2026-11-23"


def test_report_button_pressed_by_another_mentor_is_refused(
    core: MentorBot, maya: Chat, term: TermWorld
) -> None:
    """A forwarded or forged button for Sam is refused for Olly, and changes nothing."""
    reply = maya.send("/student sam@example.edu")
    choice = find_choice(reply, "Progress report")
    as_actor(core, "olly@example.edu", "command", "help")
    before = snapshot(core.db)
    refused = as_actor(core, "olly@example.edu", "action", REPORT_ACTION, **choice.args_dict())
    assert refused.error == casefile_feature.BUTTON_REFUSAL
    assert all(m.attachment is None for m in refused.messages)
    assert snapshot(core.db) == before


@pytest.mark.parametrize(
    ("student", "first", "last", "error"),
    [
        ("999999", "2026-09-01", "2026-11-01", "can't find that student"),
        ("{sam}", "2026-11-01", "2026-09-01", "before it starts"),
        ("{sam}", "2026-13-01", "2026-11-01", "isn't a date"),
    ],
)
def test_report_button_with_bad_arguments_is_refused(
    core: MentorBot, term: TermWorld, student: str, first: str, last: str, error: str
) -> None:
    """An unknown student, reversed or impossible dates: a clear message, nothing stored."""
    as_actor(core, "maya@example.edu", "command", "help")
    before = snapshot(core.db)
    reply = as_actor(
        core,
        "maya@example.edu",
        "action",
        REPORT_ACTION,
        student=student.format(sam=term.sam_id),
        **{"from": first, "to": last},
    )
    assert reply.error is not None and error in reply.error
    assert snapshot(core.db) == before


def test_meetings_from_the_meetings_feature_show_in_the_case_file(
    core: MentorBot, maya: Chat, term: TermWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Meetings handed over through MeetingSource appear with their session records."""

    def source(session: object, student_id: int, start: datetime, end: datetime):
        assert student_id == term.sam_id and start < end
        return (
            MeetingView(
                datetime(2026, 11, 16, 15, 0, tzinfo=start.tzinfo),
                MeetingStatus.HELD,
                "Maya Mentor",
                topics="Exam plan",
                agreed_actions=("Book a library slot",),
            ),
        )

    monkeypatch.setattr(casefile_feature, "meetings_source", lambda reader, now: source)
    reply = maya.send("/student sam@example.edu")
    shown = text_of(reply)
    assert "Meeting 16 Nov 2026 15:00 · held" in shown
    assert "Topics: Exam plan" in shown and "Agreed: Book a library slot" in shown


def test_an_empty_term_reads_plainly(core: MentorBot, avery: Chat) -> None:
    """With no records, the case file says so in words (no chart points, no rate)."""
    reply = avery.send("/student alex@example.edu")
    assert reply.error is None, text_of(reply)
    words = reply.messages[0].text
    assert "No mood was recorded" in words and "No check-ins were due" in words
    assert "No goals yet." in text_of(reply) and "No notes yet." in text_of(reply)


def test_period_of_the_case_file_starts_on_a_monday(core: MentorBot, maya: Chat, term) -> None:
    """The term is twelve whole weeks from a Monday to today (in the student's zone)."""
    reply = maya.send("/student sam@example.edu")
    args = find_choice(reply, "Progress report").args_dict()
    first = date.fromisoformat(args["from"])
    assert first.weekday() == 0 and args["to"] == "2026-11-23"
    assert (date(2026, 11, 23) - first).days == 11 * 7
