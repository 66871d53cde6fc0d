"""Shared argument parsing: ids, numbers, dates, times, zones, quoted names and emails.

Every command, button and CLI verb reads what people type through these functions, so the
same input gets the same friendly answer everywhere and nothing typed can crash a handler:
an id too large for the database is simply "no such goal", `%` and `_` in a search are
letters, and a quoted name may contain spaces.

Nothing here touches the database; services call these before they look anything up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

from bot.errors import UserError
from bot.i18n import _
from bot.localtime import is_valid_zone, parse_date, parse_hhmm

# Ids are 32-bit integers on PostgreSQL (SERIAL) and 64-bit on SQLite: nothing above the
# smaller bound can name a row, so it is "no such record", never an overflow in the driver.
MAX_ID = 2**31 - 1
# ASCII digits only: "²".isdigit() is True, but int("²") raises.
_DIGITS = re.compile(r"[0-9]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Straight and typographic quotes, as phones and chat clients type them.
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "„": "“"}


def record_id(raw: str | int | None) -> int | None:
    """The database id in `raw` ("12", "#12", 12), or None when it can't name a row."""
    if raw is None:
        return None
    text = str(raw).strip().lstrip("#")
    # The length first: int() refuses more than 4,300 digits with a ValueError of its own.
    if len(text) > len(str(MAX_ID)) + 8 or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def parse_record_id(raw: str | int | None, missing: str) -> int:
    """The id in `raw`, or `UserError(missing)`: an id that can't exist reads as not found."""
    value = record_id(raw)
    if value is None:
        raise UserError(missing)
    return value


def small_number(raw: str | int | None, high: int = MAX_ID) -> int | None:
    """The whole number 0..`high` in `raw` (ASCII digits only), or None.

    `"²".isdigit()` is True and `int("²")` raises; `int("9" * 20)` overflows the database.
    """
    if raw is None:
        return None
    text = str(raw).strip()
    if not _DIGITS.fullmatch(text) or len(text) > len(str(high)):
        return None
    value = int(text)
    return value if value <= high else None


def parse_int(raw: str, low: int, high: int, usage: str) -> int:
    """A whole number in `[low, high]`, or `UserError(usage)`."""
    text = raw.strip()
    if not re.fullmatch(r"-?[0-9]{1,12}", text):
        raise UserError(usage)
    value = int(text)
    if not low <= value <= high:
        raise UserError(usage)
    return value


def parse_day(raw: str) -> date:
    """A date typed as YYYY-MM-DD, with a friendly error."""
    return parse_date(raw.strip())


def parse_time(raw: str) -> time:
    """A time of day typed as HH:MM, with a friendly error."""
    return parse_hhmm(raw.strip())


def parse_zone(raw: str) -> str:
    """An IANA time zone name ("Europe/London"), with a friendly error."""
    name = raw.strip()
    if not name or not is_valid_zone(name):
        raise UserError(
            _(
                "I don't know the time zone '{zone}'. Use a name like Europe/London or "
                "America/New_York."
            ).format(zone=name)
        )
    return name


def parse_email(raw: str) -> str:
    """An email address, lower-cased, with a friendly error."""
    text = raw.strip().strip("<>").lower()
    if not _EMAIL.fullmatch(text):
        raise UserError(
            _("'{email}' doesn't look like an email address.").format(email=raw.strip())
        )
    return text


def like_pattern(words: str) -> str:
    """A SQL LIKE pattern matching `words` literally anywhere (use with `LIKE_ESCAPE`)."""
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


LIKE_ESCAPE = "\\"


@dataclass(frozen=True)
class Words:
    """Typed words split quote-aware: `"Study skills" fri 15:00` is three words."""

    items: tuple[str, ...]
    # Where each word ends in the original text, so "the rest" keeps its own spacing.
    ends: tuple[int, ...]
    text: str
    # Whether each word was typed in quotes (a quoted word is a whole name).
    quoted: tuple[bool, ...] = ()
    # A quote was opened and never closed (taken literally; a title parser may refuse it).
    unbalanced: bool = False

    def rest_after(self, count: int) -> str:
        """The original text after the first `count` words, spacing kept."""
        if count <= 0:
            return self.text.strip()
        if count > len(self.items):
            return ""
        return self.text[self.ends[count - 1] :].strip()


def split_words(text: str) -> Words:
    """Split typed text into words; a quoted run is one word (its quotes removed).

    An unbalanced quote is taken literally rather than refused: people type apostrophes.
    """
    items: list[str] = []
    ends: list[int] = []
    quoted: list[bool] = []
    unbalanced = False
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        closing = _QUOTES.get(text[i])
        if closing is not None:
            end = text.find(closing, i + 1)
            if end == -1:
                unbalanced = True
            # Only a quote that closes before a space or the end makes a quoted name ("" is
            # an empty one).
            if end > i and (end + 1 == n or text[end + 1].isspace()):
                items.append(text[i + 1 : end].strip())
                ends.append(end + 1)
                quoted.append(True)
                i = end + 1
                continue
        start = i
        while i < n and not text[i].isspace():
            i += 1
        items.append(text[start:i])
        ends.append(i)
        quoted.append(False)
    return Words(tuple(items), tuple(ends), text, tuple(quoted), unbalanced)


def take_name(
    words: Words, start: int, stop_words: frozenset[str] = frozenset()
) -> tuple[str, int]:
    """A name from word `start`: one quoted word, or every word up to a stop word.

    Returns the name and the index of the first word after it. Names are matched
    case-insensitively by the caller.
    """
    items = words.items
    if start >= len(items):
        return "", start
    if words.quoted[start]:
        return items[start], start + 1
    end = start
    while end < len(items) and items[end].lower() not in stop_words:
        end += 1
    return " ".join(items[start:end]), end
