"""Roles and confidentiality: who sees what, and every cross-person read is audited."""

from __future__ import annotations

from sqlmodel import select

from storage.tables import AuditLog, MentorNote
from tests.conftest import Chat, text_of


def audit_rows(chat: Chat) -> list[AuditLog]:
    with chat.core.db.session() as session:
        return list(session.exec(select(AuditLog)).all())


def test_mentor_sees_only_assigned_students_and_reads_are_audited(maya: Chat, sam: Chat) -> None:
    """/mentees lists Maya's two students and writes one audit row per student viewed."""
    sam.send("/mood 2 rough week")
    reply = maya.send("/mentees")
    text = text_of(reply)
    assert "Sam Student" in text and "Alex Student" in text
    assert text.index("Sam Student") < text.index("Alex Student")  # struggling first
    assert {r.action for r in audit_rows(maya)} == {"view.caseload"}
    assert len(audit_rows(maya)) == 2


def test_students_cannot_use_mentor_commands(sam: Chat) -> None:
    """/mentees and /alerts are refused for students."""
    assert "for mentors" in text_of(sam.send("/mentees"))
    assert "for mentors" in text_of(sam.send("/alerts"))


def test_mentor_of_other_students_sees_nothing(core) -> None:
    """A mentor with no assignments sees an empty caseload and cannot note others' students."""
    from bot.services.roster import import_roster, parse_roster

    with core.db.session() as session:
        import_roster(
            session,
            parse_roster("email,name,role\nother@example.edu,Olly Other,mentor\n"),
            core.clock.now(),
        )
    other = Chat(core, "other@example.edu")
    assert "no students" in text_of(other.send("/mentees"))
    assert "only see the students you mentor" in text_of(other.send("/note sam@example.edu hi"))
    with core.db.session() as session:
        assert session.exec(select(MentorNote)).all() == []


def test_mentor_note_is_kept_and_audited(maya: Chat) -> None:
    """A mentor's note on their own student is stored and the access audited."""
    assert "Note saved" in text_of(maya.send("/note sam@example.edu discussed exam plan"))
    assert [r.action for r in audit_rows(maya)] == ["note.add"]


def test_admin_sees_everyone(avery: Chat) -> None:
    """An admin's /mentees covers all students."""
    text = text_of(avery.send("/mentees"))
    assert "Sam Student" in text and "Alex Student" in text


def test_student_export_contains_only_their_own_data(sam: Chat, alex: Chat) -> None:
    """/mydata export returns the student's own records, none of another student's."""
    sam.send("/mood 4 sam-note")
    alex.send("/mood 5 alex-note")
    reply = sam.send("/mydata export")
    content = reply.messages[0].attachment.content
    assert "sam-note" in content and "alex-note" not in content
