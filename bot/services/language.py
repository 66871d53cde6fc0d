"""Which language to speak to a person or a group, and speaking it while a message is built.

A person's language is the one they (or the roster) chose, else the one their Slack or
Discord client is set to, else the programme's `DEFAULT_LANGUAGE`. A group channel speaks the
group's language, else the default. Anything that writes to someone other than the person who
acted (a job's check-in, an alert for a mentor, a post in a group channel) builds that message
inside `speaking_to(...)` / `speaking_in_group(...)`; the core already speaks the actor's
language while it handles their event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.errors import UserError
from bot.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    N_,
    PSEUDO_LANGUAGE,
    _,
    normalise_language,
    speaking,
)
from storage.tables import Group, Person

# The summary of `/group language` (shown in help, translated there).
GROUP_LANGUAGE_SUMMARY = N_("the language of a group's channel posts")


def language_of(person: Person | None, settings: CoreSettings) -> str:
    """The language to write to `person` in (see the module doc)."""
    if person is not None:
        for tag in (person.language, person.platform_language):
            chosen = normalise_language(tag)
            if chosen is not None:
                return chosen
    return normalise_language(settings.default_language) or DEFAULT_LANGUAGE


def language_named(raw: str) -> str | None:
    """One of `LANGUAGES` for what a person typed, or None when we don't speak it.

    A code ("es", "pt-BR"), an English name ("Spanish") or the language's own name
    ("Español", "简体中文") all work.
    """
    text = raw.strip()
    if not text:
        return None
    for code, own_name in LANGUAGES.items():
        if text.casefold() in (own_name.casefold(), own_name.split(" (")[0].casefold()):
            return code
    chosen = normalise_language(text)
    return None if chosen == PSEUDO_LANGUAGE else chosen


def language_choices() -> str:
    """Every language in its own name with its code, for a person choosing one."""
    return "\n".join(f"• {own_name} ({code})" for code, own_name in LANGUAGES.items())


def need_language(raw: str) -> str:
    """The language a person typed, or a friendly refusal listing the ones we speak."""
    chosen = language_named(raw)
    if chosen is None:
        raise UserError(
            _("I don't speak '{value}' yet. I can write in:\n{languages}").format(
                value=raw.strip(), languages=language_choices()
            )
        )
    return chosen


def set_group_language(
    session: Session, actor: Person, words: Sequence[str], now: datetime
) -> tuple[Group, str | None]:
    """`/group language GROUP CODE`: the language of the group's channel posts (staff).

    The last word is the language; `default` (or `off`) goes back to the programme's.
    Returns the group and its new language (None: the programme's).
    """
    # Imported here: the groups service may read languages (speaking_in_group) itself.
    from bot.services import groups as group_service

    if len(words) < 2:
        raise UserError(
            _(
                "Use /group language GROUP LANGUAGE, e.g. /group language Study skills es. "
                "I can write in:\n{languages}"
            ).format(languages=language_choices())
        )
    group = group_service.group_named(session, " ".join(words[:-1]))
    raw = words[-1]
    reset = raw.strip().lower() in ("default", "off", "none", "reset")
    chosen = None if reset else need_language(raw)
    group_service.require_group_mentor(session, actor, group, now, "group.language")
    group.language = chosen
    session.add(group)
    return group, chosen


def group_language_set(group: Group, chosen: str | None) -> str:
    """The confirmation of `/group language` (say it in the group's new language)."""
    if chosen is None:
        return _("Posts in {group}'s channel now use the programme's language.").format(
            group=group.name
        )
    return _("Posts in {group}'s channel are now written in {language}.").format(
        group=group.name, language=LANGUAGES[chosen]
    )


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
