"""Mentor session notes: written and read only by the student's mentors (and admins, audited)."""

from __future__ import annotations

from sqlmodel import select

from bot.core import MentorBot
from bot.services.roster import import_roster, parse_roster
from storage.tables import AuditLog
from tests.conftest import Chat, text_of

HEADER = "email,name,role,timezone,mentor_email,backup_mentor_email,groups\n"
NOTE_1 = "notes-test: talked about exam anxiety"
NOTE_2 = "notes-test: agreed a revision plan"


def audits(core: MentorBot, action: str) -> list[AuditLog]:
    with core.db.session() as session:
        return list(session.exec(select(AuditLog).where(AuditLog.action == action)).all())


def add_people(core: MentorBot, csv_rows: str) -> None:
    with core.db.session() as session:
        import_roster(
            session,
            parse_roster(
                "email,name,role,timezone,mentor_email,backup_mentor_email,groups\n" + csv_rows
            ),
            core.clock.now(),
        )


def test_the_students_mentor_reads_notes_newest_first(core: MentorBot, maya: Chat, clock) -> None:
    """/notes EMAIL lists the notes about the student, newest first, with their author."""
    maya.send(f"/note sam@example.edu {NOTE_1}")
    clock.advance(hours=1)
    maya.send(f"/note sam@example.edu {NOTE_2}")
    reply = maya.send("/notes sam@example.edu")
    text = text_of(reply)
    assert text.index(NOTE_2) < text.index(NOTE_1)
    assert "Maya Mentor" in text and "Confidential" in text
    [row] = audits(core, "notes.read")
    assert row.subject_id is not None


def test_a_backup_mentor_reads_them_too(core: MentorBot, maya: Chat) -> None:
    """Every mentor assigned to the student (primary or backup) can read the notes."""
    add_people(
        core,
        "bea@example.edu,Bea Backup,mentor,UTC,,,\n"
        "sam@example.edu,Sam Student,student,Europe/London,maya@example.edu,bea@example.edu,\n",
    )
    maya.send(f"/note sam@example.edu {NOTE_1}")
    assert NOTE_1 in text_of(Chat(core, "bea@example.edu").send("/notes sam@example.edu"))


def test_admins_read_notes_and_are_audited(core: MentorBot, maya: Chat, avery: Chat) -> None:
    """An admin can read any student's notes; the read is in the audit log."""
    maya.send(f"/note alex@example.edu {NOTE_1}")
    assert NOTE_1 in text_of(avery.send("/notes alex@example.edu"))
    assert [r.actor_id for r in audits(core, "notes.read")] != []


def test_other_mentors_cannot_read_or_write_notes(core: MentorBot, maya: Chat) -> None:
    """A mentor not assigned to the student is refused, and their attempt stores nothing."""
    add_people(core, "olly@example.edu,Olly Other,mentor,UTC,,,\n")
    maya.send(f"/note sam@example.edu {NOTE_1}")
    olly = Chat(core, "olly@example.edu")
    reply = olly.send("/notes sam@example.edu")
    assert NOTE_1 not in text_of(reply) and "only see the students you mentor" in text_of(reply)
    assert audits(core, "notes.read") == []


def test_students_never_read_notes_not_even_about_themselves(
    maya: Chat, sam: Chat, alex: Chat
) -> None:
    """/notes is refused to students for themselves and others; no command shows a note."""
    maya.send(f"/note sam@example.edu {NOTE_1}")
    for chat in (sam, alex):
        reply = chat.send("/notes sam@example.edu")
        assert reply.error is not None and NOTE_1 not in text_of(reply)
    export = sam.send("/mydata export").messages[0].attachment
    assert export is not None and NOTE_1 not in export.content


def test_notes_need_an_enrolled_student(maya: Chat) -> None:
    """Notes about a mentor or an unknown address are refused with a plain message."""
    assert "can't find a student" in text_of(maya.send("/notes admin@example.edu"))
    assert "can't find a student" in text_of(maya.send("/notes nobody@example.edu"))
    assert "Use /notes EMAIL" in text_of(maya.send("/notes"))


def test_no_notes_yet(maya: Chat) -> None:
    """With no notes, the mentor is told how to add one."""
    assert "No notes about Sam Student yet" in text_of(maya.send("/notes sam@example.edu"))
