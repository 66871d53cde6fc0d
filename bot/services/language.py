"""Which language to speak to a person or a group, and speaking it while a message is built.

A person's language is the one they (or the roster) chose, else the one their Slack or
Discord client is set to, else the programme's `DEFAULT_LANGUAGE`. A group channel speaks the
group's language, else the default. Anything that writes to someone other than the person who
acted (a job's check-in, an alert for a mentor, a post in a group channel) builds that message
inside `speaking_to(...)` / `speaking_in_group(...)`; the core already speaks the actor's
language while it handles their event.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager

from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.i18n import DEFAULT_LANGUAGE, normalise_language, speaking
from storage.tables import Group, Person


def language_of(person: Person | None, settings: CoreSettings) -> str:
    """The language to write to `person` in (see the module doc)."""
    if person is not None:
        for tag in (person.language, person.platform_language):
            chosen = normalise_language(tag)
            if chosen is not None:
                return chosen
    return normalise_language(settings.default_language) or DEFAULT_LANGUAGE


def group_language(group: Group | None, settings: CoreSettings) -> str:
    """The language of posts in a group's channel (see the module doc)."""
    chosen = normalise_language(group.language) if group is not None else None
    return chosen or normalise_language(settings.default_language) or DEFAULT_LANGUAGE


def speaking_to(person: Person | None, settings: CoreSettings) -> AbstractContextManager[str]:
    """Speak `person`'s language inside the `with` block."""
    return speaking(language_of(person, settings))


def speaking_in_group(group: Group | None, settings: CoreSettings) -> AbstractContextManager[str]:
    """Speak a group channel's language inside the `with` block."""
    return speaking(group_language(group, settings))


def languages_of(
    session: Session, person_ids: Iterable[int], settings: CoreSettings
) -> dict[int, str]:
    """Many people's languages in one query, for a fan-out that renders one copy per language."""
    ids = list(set(person_ids))
    out: dict[int, str] = {}
    default = normalise_language(settings.default_language) or DEFAULT_LANGUAGE
    for start in range(0, len(ids), 500):
        rows = session.exec(
            select(Person.id, Person.language, Person.platform_language).where(
                col(Person.id).in_(ids[start : start + 500])
            )
        ).all()
        for person_id, chosen, platform in rows:
            assert person_id is not None  # a stored row has its id
            out[person_id] = normalise_language(chosen) or normalise_language(platform) or default
    return out
