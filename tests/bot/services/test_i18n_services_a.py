"""Services part A in each reader's language (issue 19).

A student's check-in prompt is in the student's language, one serialised template per language
for a whole fan-out; a mentor's alert is in the mentor's language, with what the student wrote
quoted as they wrote it and labelled as not translated.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.core import MentorBot
from bot.i18n import speaking
from bot.model import Message
from bot.people import person_by_email
from bot.services.checkins import CheckinPromptJson, checkin_prompt
from bot.services.language import languages_of, speaking_to
from storage.db import Database
from storage.enums import OutboxKind
from storage.tables import Outbox, Person
from tests.conftest import Chat


def _set_language(db: Database, email: str, language: str) -> None:
    with db.session() as session:
        person = person_by_email(session, email)
        assert person is not None
        person.language = language
        session.add(person)


def _person(session: Session, email: str) -> Person:
    person = person_by_email(session, email)
    assert person is not None and person.id is not None
    return person


def test_a_spanish_students_check_in_prompt_is_spanish(
    demo: Database, core_settings: CoreSettings
) -> None:
    """Built for her (a job speaks her language) or filled from the fan-out's template."""
    _set_language(demo, "sam@example.edu", "es")
    with demo.session() as session:
        sam = _person(session, "sam@example.edu")
        assert sam.id is not None
        with speaking_to(sam, core_settings):
            prompt = checkin_prompt(7, sam.name)
        name = sam.name
        language = languages_of(session, [sam.id], core_settings)[sam.id]
    assert language == "es"
    assert prompt.language == "es"
    assert prompt.text.startswith("Hola, Sam, ¿cómo te sientes hoy?")
    assert prompt.title == "Check-in"
    assert [c.label for c in prompt.choices][-1] == "Saltar hoy"
    # Mood faces keep their numbers in every language.
    assert [c.label[-1] for c in prompt.choices[:5]] == ["1", "2", "3", "4", "5"]
    filled = Message.from_json(CheckinPromptJson().render(7, name, language))
    assert filled == prompt


def test_the_fan_out_renders_one_template_per_language() -> None:
    """Thousands of students, three languages: three templates, each equal to the real prompt."""
    template = CheckinPromptJson()
    students = [(i, f"Student{i} Family", ("es", "ar", "en")[i % 3]) for i in range(1, 3001)]
    rendered = [template.render(i, name, language) for i, name, language in students]
    assert sorted(template.languages) == ["ar", "en", "es"]
    for (checkin_id, name, language), payload in zip(students[:6], rendered[:6], strict=True):
        with speaking(language):
            assert payload == checkin_prompt(checkin_id, name).to_json()
    assert Message.from_json(rendered[0]).text.startswith("مرحبًا Student1")
    assert Message.from_json(rendered[1]).text.startswith("Hi Student2")
    assert Message.from_json(rendered[2]).text.startswith("Hola, Student3")


def test_an_arabic_mentors_alert_about_a_spanish_student_keeps_her_words(
    core: MentorBot, sam: Chat, demo: Database
) -> None:
    """Maya reads Arabic; Sam's note stays exactly as Sam wrote it, labelled untranslated."""
    _set_language(demo, "sam@example.edu", "es")
    _set_language(demo, "maya@example.edu", "ar")
    words = "estoy muy estresada por los exámenes"
    sam.send(f"/mood 2 {words}")
    with demo.session() as session:
        maya = _person(session, "maya@example.edu")
        [row] = session.exec(
            select(Outbox).where(Outbox.kind == OutboxKind.ALERT, col(Outbox.person_id) == maya.id)
        ).all()
        alert = Message.from_json(row.payload)
    assert alert.language == "ar"
    assert alert.title == "مزاج منخفض"
    fields = {f.label: f.value for f in alert.fields}
    assert fields["كتب (دون ترجمة)"] == words
    assert fields["السبب"] == "المزاج 2/5 (حدّ التنبيه 2)"
    assert [c.label for c in alert.choices] == ["استلام", "سأتابع", "معالجة"]


def test_an_english_mentor_and_student_see_the_alert_unchanged(sam: Chat, demo: Database) -> None:
    """Same language on both sides: the English alert reads exactly as it always has."""
    sam.send("/mood 2 stressed about exams")
    with demo.session() as session:
        [row] = session.exec(select(Outbox).where(Outbox.kind == OutboxKind.ALERT)).all()
        alert = Message.from_json(row.payload)
    assert alert.text == "⚠️ Low mood: Sam Student"
    fields = {f.label: f.value for f in alert.fields}
    assert fields["They wrote"] == "stressed about exams"
    assert fields["Why"] == "Mood 2/5 (alert threshold 2)"
