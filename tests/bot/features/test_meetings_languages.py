"""Meetings in each person's language: a Spanish student and an English mentor."""

from __future__ import annotations

from icalendar import Calendar
from sqlmodel import select

from bot.core import MentorBot
from storage.tables import Person
from tests.bot.features.test_meetings import HOURS, pushed
from tests.conftest import Chat, text_of


def set_language(core: MentorBot, email: str, language: str) -> None:
    with core.db.session() as session:
        person = session.exec(select(Person).where(Person.email == email)).one()
        person.language = language
        session.add(person)


def summary_of(message_attachment_data: bytes | str) -> str:
    calendar = Calendar.from_ical(message_attachment_data)
    [event] = list(calendar.walk("VEVENT"))
    return str(event.get("SUMMARY"))


def test_each_person_gets_the_invite_in_their_own_language(maya: Chat, sam: Chat) -> None:
    """Sam (Spanish) books: his invite's text and ICS summary are Spanish; Maya's English."""
    set_language(sam.core, "sam@example.edu", "es")
    maya.send(HOURS)
    # Sam's own replies speak his language once the core speaks the actor's (bot/core.py):
    # pressing the first slot works either way.
    offer = sam.send("/meet")
    sam.press(offer.messages[0].choices[0])
    [for_sam] = pushed(sam.core.db, "sam@example.edu")
    [for_maya] = pushed(sam.core.db, "maya@example.edu")
    assert for_sam.title == "Reunión reservada" and for_sam.language == "es"
    assert "la reservó." in for_sam.text and "La invitación del calendario va adjunta." in (
        for_sam.text
    )
    assert for_maya.title == "Meeting booked" and for_maya.language == "en"
    assert "booked it." in for_maya.text
    assert for_sam.attachment is not None and for_maya.attachment is not None
    assert summary_of(for_sam.attachment.data).startswith("Reunión de mentoría: ")
    assert summary_of(for_maya.attachment.data).startswith("Mentoring meeting: ")
    assert for_sam.attachment.alt_text.startswith("Invitación de calendario")


def test_a_proposal_reaches_the_student_in_the_students_language(maya: Chat, sam: Chat) -> None:
    """Maya (English) proposes; Sam's proposal and its buttons are Spanish."""
    set_language(sam.core, "sam@example.edu", "es")
    reply = maya.send("/meet propose sam@example.edu 2026-11-25 15:00")
    assert "Proposed meeting #1 to" in text_of(reply)
    [proposal] = pushed(sam.core.db, "sam@example.edu")
    assert proposal.title == "Reunión propuesta"
    assert "¿Te viene bien?" in proposal.text
    assert [c.label for c in proposal.choices] == ["Aceptar", "Rechazar"]
