"""`MentorBot.language_for`: the language an adapter speaks before the core handles an event."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from bot.core import MentorBot
from bot.model import Actor
from storage.tables import Identity, Person


def _link(core: MentorBot, email: str, platform: str, user_id: str, language: str | None) -> None:
    with core.db.session() as session:
        person = session.exec(select(Person).where(Person.email == email)).one()
        assert person.id is not None
        person.language = language
        session.add(person)
        session.add(Identity(person_id=person.id, platform=platform, user_id=user_id))


def _count(core: MentorBot) -> int:
    with core.db.session() as session:
        return len(session.exec(select(Identity)).all())


def test_a_known_person_is_answered_in_their_own_language_not_their_apps(core: MentorBot) -> None:
    """Their choice outranks the locale the platform sends."""
    _link(core, "sam@example.edu", "slack", "U1", "ar")
    assert core.language_for(Actor("slack", "T1", "U1", locale="es-ES")) == "ar"


def test_someone_unknown_gets_their_apps_language_and_nothing_is_written(core: MentorBot) -> None:
    """No identity on this platform: the locale, else the default; no link is made."""
    before = _count(core)
    assert core.language_for(Actor("discord", "", "999", locale="ko")) == "ko"
    assert core.language_for(Actor("discord", "", "999", email="sam@example.edu")) == "en"
    assert _count(core) == before


def test_an_identity_on_another_platform_does_not_count(core: MentorBot) -> None:
    """Linked on Slack only: the same user id on Discord is someone the bot doesn't know."""
    _link(core, "sam@example.edu", "slack", "U2", "es")
    assert core.language_for(Actor("discord", "", "U2", locale="fr")) == "fr"


def test_a_deleted_person_is_not_looked_up(core: MentorBot) -> None:
    """An erased person's old identity gives no language of theirs."""
    _link(core, "alex@example.edu", "slack", "U3", "es")
    with core.db.session() as session:
        alex = session.exec(select(Person).where(Person.email == "alex@example.edu")).one()
        alex.deleted_at = datetime(2026, 1, 1, tzinfo=UTC)
        session.add(alex)
    assert core.language_for(Actor("slack", "T1", "U3")) == "en"
