"""Dates and times written the way the reader's language writes them (Babel, CLDR data).

English keeps the exact forms mentorbot has always written (a `strftime` pattern), so
nothing an English reader sees changes; every other language gets CLDR's own pattern for
the same fields, chosen by a skeleton: "MMMEd" is "Mon, Dec 7" in English, "lun, 7 dic" in
Spanish, "12月7日周一" in Chinese.
"""

from __future__ import annotations

from datetime import date, datetime, time

from babel.dates import format_date, format_skeleton, format_time

from bot.i18n import DEFAULT_LANGUAGE, PSEUDO_LANGUAGE, babel_locale, current_language
from bot.i18n.translations import pseudo_translate

# Skeletons for the shapes mentorbot writes, with the English each keeps.
DAY = ("MMMEd", "%a %d %b")  # Mon 07 Dec
DAY_TIME = ("MMMEd+time", "%a %d %b %H:%M")  # Mon 07 Dec 14:05
DATE = ("yMMMd", "%d %b %Y")  # 07 Dec 2026
DAY_MONTH = ("MMMd", "%d %b")  # 07 Dec (chart ticks, tables)
LONG_DATE = ("yMMMMd", "%d %B %Y")  # 07 December 2026
WEEKDAY = ("EEEE", "%A")  # Monday
TIME = ("Hm", "%H:%M")  # 14:05


def local_format(value: datetime | date, shape: tuple[str, str]) -> str:
    """`value` written in the language being spoken, in one of the shapes above.

    An aware datetime is written in its own zone (convert with `to_local` first).
    """
    skeleton, english = shape
    language = current_language()
    if language == DEFAULT_LANGUAGE:
        return value.strftime(english)
    if language == PSEUDO_LANGUAGE:
        return pseudo_translate(value.strftime(english))
    locale = babel_locale(language)
    if skeleton.endswith("+time") and isinstance(value, datetime):
        day = format_skeleton(skeleton.removesuffix("+time"), value, fuzzy=True, locale=locale)
        # CLDR's own way of joining a date and a time ("{1}, {0}", "{1} {0}", ...).
        joined = str(locale.datetime_formats["medium"])
        return joined.replace("{1}", day).replace("{0}", local_time(value))
    if skeleton == WEEKDAY[0]:
        return format_date(value, "EEEE", locale=locale)  # no skeleton is the bare weekday
    if isinstance(value, datetime):
        return format_skeleton(skeleton, value, tzinfo=value.tzinfo, fuzzy=True, locale=locale)
    return format_skeleton(skeleton, value, fuzzy=True, locale=locale)


def local_time(value: datetime | time) -> str:
    """A time of day (14:05) as the reader's language writes it (24-hour where it is usual)."""
    language = current_language()
    if language in (DEFAULT_LANGUAGE, PSEUDO_LANGUAGE):
        return value.strftime("%H:%M")
    tz = value.tzinfo if isinstance(value, datetime) else None
    return format_time(value, "short", tzinfo=tz, locale=babel_locale(language))
