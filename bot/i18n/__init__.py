"""Every word a person reads, in their language: gettext catalogs managed with Babel.

How code uses it:

- `_("Logged your mood: {face} {score}/5.").format(face=..., score=...)` translates a
  sentence into the language being spoken now. Placeholders are *named* (`{score}`, never
  `{}` or f-strings), so a translation may move them, and the catalog test can check that a
  translation keeps every one.
- `ngettext("{n} student", "{n} students", n).format(n=n)` picks the plural form the
  language's own rule asks for (Arabic has six, Chinese one).
- `N_("Log a mood")` only marks a constant defined at import time (a command's help, a
  label in a table) for extraction; the code that shows it calls `_(HELP)` then.
- `speaking(language)` is the language being spoken inside a `with` block. The core speaks
  the actor's language while it handles an event; a job that writes to someone else (an
  alert for a mentor, a check-in for a student, a post in a group channel) speaks the
  recipient's language while it renders that message. A `Message` remembers the language it
  was rendered in (`Message.language`), so an adapter adds its own words (a modal's title,
  a button) in the same one.

Catalogs live in `bot/i18n/locale/<language>/<area>.po`: one file per area of the code so
that work on different areas does not collide. All areas of a language load as one catalog.
`bot/i18n/catalogs.py` extracts the messages, updates and checks the catalogs; a test fails
when a catalog is stale.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from bot.i18n.languages import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    PSEUDO_LANGUAGE,
    babel_locale,
    is_right_to_left,
    normalise_language,
)
from bot.i18n.translations import translations_for

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "PSEUDO_LANGUAGE",
    "_",
    "babel_locale",
    "current_language",
    "is_right_to_left",
    "ngettext",
    "normalise_language",
    "speaking",
]

_speaking: ContextVar[str] = ContextVar("mentorbot_language", default=DEFAULT_LANGUAGE)


def current_language() -> str:
    """The language being spoken now (see `speaking`); English outside any `with` block."""
    return _speaking.get()


@contextmanager
def speaking(language: str | None) -> Iterator[str]:
    """Speak `language` inside the block; an unknown or empty one speaks the default.

    Nests and restores on exit, also across `await`s (a `ContextVar`), so two events
    handled at once each keep their own language.
    """
    chosen = normalise_language(language) or DEFAULT_LANGUAGE
    token = _speaking.set(chosen)
    try:
        yield chosen
    finally:
        _speaking.reset(token)


def _(message: str) -> str:
    """`message` in the language being spoken; the English itself when none is known."""
    if not message:
        return message
    return translations_for(_speaking.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The plural form of a message the spoken language's rule picks for `n`."""
    return translations_for(_speaking.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a constant for extraction without translating it (it is translated where shown)."""
    return message
