"""Every student in their own language and country, end to end (issue 19, "done when").

In Spanish, Arabic and Simplified Chinese, on the console core, on Slack and on Discord: a
check-in, a mood with a low-mood resource suggestion, a goal, a crisis message showing the
lines of the student's country (Spain, Saudi Arabia, China), and the mentor's alert in the
MENTOR's own, different language. Expected words come from the catalogs (`speaking(lang)`
and `_()`), and each is checked to differ from the English; messages other areas write (the
check-in prompt, the goal reply, the mentor's alert) are checked to be in the reader's
language and not the English. The Slack and Discord halves are in slack/ and discord/, next
to their harnesses' fixtures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import col, select

from bot.core import MentorBot
from bot.i18n import LANGUAGES, _, speaking
from bot.model import Actor, Inbound, Message
from bot.people import person_by_email
from bot.services.alerts import who_is_told
from bot.services.crisis import CARD_TEXT, CARD_TITLE
from bot.services.mood import MOOD_FACES
from bot.services.resources import ResourceRow, import_resources
from bot.services.roster import import_roster, parse_roster
from storage.db import Database
from storage.tables import Outbox, Person
from tests.conftest import Chat, text_of

CRISIS = "honestly i just want it all to end, i want to die"


@dataclass(frozen=True)
class Case:
    """A student's language and country, the line their crisis card starts with, the mentor's."""

    language: str
    country: str
    first_line: str
    mentor_language: str


CASES = [
    Case("es", "ES", "Línea 024", "fr"),
    Case("ar", "SA", "Ministry of Health 937", "de"),
    Case("zh_Hans", "CN", "12356 Psychological Assistance Hotline (心理援助热线)", "ko"),
]
IDS = [case.language for case in CASES]
# A low-mood resource in each language, and an English one that must come after it.
RESOURCES = [
    ResourceRow("Feeling low", "https://example.org/en/low", "low-mood", "When days are hard"),
    ResourceRow("Ánimo bajo", "https://example.org/es/low", "low-mood", "Días difíciles", "es"),
    ResourceRow("المزاج المنخفض", "https://example.org/ar/low", "low-mood", "أيام صعبة", "ar"),
    ResourceRow("情绪低落", "https://example.org/zh/low", "low-mood", "难熬的日子", "zh_Hans"),
]
RESOURCE_OF = {"es": "Ánimo bajo", "ar": "المزاج المنخفض", "zh_Hans": "情绪低落"}


def in_language(lang: str, msgid: str, /, **values: Any) -> str:
    """A message as the catalog writes it in `lang`, checked to differ from the English."""
    with speaking(lang):
        translated = _(msgid).format(**values)
    with speaking("en"):
        english = _(msgid).format(**values)
    assert translated != english, f"{msgid!r} is not translated into {lang}"
    return translated


def mood_line(language: str, score: int) -> str:
    """The first sentence of the answer to `/mood SCORE` (bot/features/mood.py)."""
    return in_language(
        language, "Logged your mood: {face} {score}/5.", face=MOOD_FACES[score], score=score
    )


def card_texts(db: Database, email: str, language: str) -> tuple[str, str]:
    """The crisis card's title and text for a student, from the catalog."""
    with db.session() as session:
        student = person_by_email(session, email)
        assert student is not None
        with speaking(language):
            told = who_is_told(session, student)
    title = in_language(language, CARD_TITLE)
    return title, in_language(language, CARD_TEXT, told=told)


def set_people(db: Database, student: str, mentor: str, case: Case) -> None:
    """The student's and mentor's languages (and the student's country), and the library."""
    with db.session() as session:
        import_resources(session, RESOURCES)
    with db.session() as session:
        for email, language, country in (
            (student, case.language, case.country),
            (mentor, case.mentor_language, None),
        ):
            person = person_by_email(session, email)
            assert person is not None
            person.language = language
            person.country = country or person.country
            session.add(person)


def pushes_to(db: Database, email: str) -> list[Message]:
    """The messages queued for a person (their alerts), oldest first."""
    with db.session() as session:
        person = person_by_email(session, email)
        assert person is not None
        rows = session.exec(
            select(Outbox).where(Outbox.person_id == person.id).order_by(col(Outbox.id))
        ).all()
        return [Message.from_json(row.payload) for row in rows]


# ---------------------------------------------------------------- the console core


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_console_student_chooses_language_and_country(sam: Chat, case: Case) -> None:
    """/settings language and country: confirmed in the NEW language; nothing else changes."""
    reply = sam.send(f"/settings language {case.language}")
    assert reply.error is None
    assert text_of(reply) == in_language(
        case.language,
        "From now on I'll write to you in {language}.",
        language=LANGUAGES[case.language],
    )
    assert reply.messages[0].language == case.language
    reply = sam.send(f"/settings country {case.country}")
    assert reply.error is None and reply.messages[0].language == case.language
    assert f"({case.country})" in text_of(reply)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_console_mood_crisis_and_replies_in_the_students_language(
    core: MentorBot, sam: Chat, case: Case
) -> None:
    """A low mood with the resource in their language first; the card with their lines."""
    set_people(core.db, "sam@example.edu", "maya@example.edu", case)
    sam.send("/checkin")
    assert sam.last is not None and sam.last.messages[0].language == case.language
    reply = sam.send("/mood 2")
    [message] = reply.messages
    assert message.language == case.language
    assert message.text.startswith(mood_line(case.language, 2))
    assert message.links[0].title == RESOURCE_OF[case.language]
    assert [link.title for link in message.links].index("Feeling low") > 0
    reply = sam.send("/goal add Finish the essay")
    assert reply.error is None and reply.messages[0].language == case.language
    reply = sam.send(CRISIS)
    card = reply.messages[-1]
    title, text = card_texts(core.db, "sam@example.edu", case.language)
    assert card.language == case.language and card.urgent
    assert (card.title, card.text) == (title, text)
    assert card.fields[0].label == case.first_line  # the line's own name, untranslated


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_console_checkin_goal_and_mentor_alert_are_translated(
    core: MentorBot, sam: Chat, case: Case
) -> None:
    """The check-in prompt, the goal reply and the mentor's alert (in the MENTOR's language)."""
    english_checkin = text_of(Chat(core, "alex@example.edu").send("/checkin"))
    set_people(core.db, "sam@example.edu", "maya@example.edu", case)
    checkin = text_of(sam.send("/checkin"))
    assert checkin != english_checkin.replace("Alex", "Sam")
    goal = text_of(sam.send("/goal add Finish the essay"))
    with speaking("en"):
        english_goal = text_of(Chat(core, "alex@example.edu").send("/goal add Finish the essay"))
    assert goal != english_goal
    sam.send(CRISIS)
    alerts = [m for m in pushes_to(core.db, "maya@example.edu") if m.urgent]
    assert alerts and all(m.language == case.mentor_language for m in alerts)
    assert CRISIS in json.dumps([m.to_json() for m in alerts], ensure_ascii=False)


def test_platform_locale_is_remembered_and_spoken_until_a_choice(core: MentorBot) -> None:
    """A Discord/Slack locale is stored when it changes; the person's own choice outranks it."""
    actor = Actor("console", "local", "sam@example.edu", email="sam@example.edu", locale="es-ES")
    reply = core.handle(Inbound(actor, "command", "mood", {}, "4"))
    assert reply.messages[0].language == "es"
    with core.db.session() as session:
        person = session.exec(select(Person).where(Person.email == "sam@example.edu")).one()
        assert person.platform_language == "es"
    core.handle(Inbound(actor, "command", "settings", {}, "language ar"))
    reply = core.handle(Inbound(actor, "command", "mood", {}, "4"))
    assert reply.messages[0].language == "ar"


def test_someone_not_enrolled_is_answered_in_their_locale(core: MentorBot) -> None:
    """A stranger's Slack or Discord locale picks the language of 'you're not enrolled'."""
    actor = Actor("discord", "g", "999", locale="zh-CN")
    reply = core.handle(Inbound(actor, "command", "mood", {}, "4"))
    assert reply.messages[0].language == "zh_Hans"
    with speaking("zh_Hans"):
        from bot.core import NOT_ENROLLED

        assert text_of(reply) == _(NOT_ENROLLED) != NOT_ENROLLED


def test_roster_reimport_keeps_a_language_and_country_the_person_chose(
    core: MentorBot, sam: Chat
) -> None:
    """The roster's language and country apply, but never over a /settings choice."""
    roster = (
        "email,name,role,timezone,mentor_email,language,country\n"
        "sam@example.edu,Sam Student,student,Europe/London,maya@example.edu,{lang},{cc}\n"
    )
    with core.db.session() as session:
        import_roster(session, parse_roster(roster.format(lang="vi", cc="VN")), core.clock.now())
    with core.db.session() as session:
        sam_row = person_by_email(session, "sam@example.edu")
        assert sam_row is not None
        assert (sam_row.language, sam_row.country) == ("vi", "VN")
    sam.send("/settings language es")
    sam.send("/settings country ES")
    with core.db.session() as session:
        import_roster(session, parse_roster(roster.format(lang="ko", cc="KR")), core.clock.now())
    with core.db.session() as session:
        sam_row = person_by_email(session, "sam@example.edu")
        assert sam_row is not None
        assert (sam_row.language, sam_row.country) == ("es", "ES")


def test_roster_refuses_a_language_or_country_it_cannot_use(core: MentorBot) -> None:
    """A language we don't speak or a made-up country is a problem on its line; nothing kept."""
    from bot.errors import UserError

    roster = (
        "email,name,role,language,country\n"
        "kim@example.edu,Kim,student,klingon,ES\n"
        "lee@example.edu,Lee,student,es,XQ\n"
    )
    with pytest.raises(UserError) as refused, core.db.session() as session:
        import_roster(session, parse_roster(roster), core.clock.now())
    assert "line 2: language 'klingon'" in refused.value.message
    assert "line 3: country 'XQ'" in refused.value.message
