"""Mood trends as a one-line sparkline, and the same trend in words (its text twin).

The bars carry their meaning by shape alone, which a screen reader reads as "lower one eighth
block" or nothing at all, so wherever a sparkline is shown its twin goes beside it:
`describe_trend` says the same in one line, in the language being spoken ("mostly 3, lowest 2
on Tuesday (9 of 14 days logged)").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta

from bot.i18n import _, ngettext
from bot.i18n.dates import DAY, WEEKDAY, local_format

BARS = "▁▂▃▄▅"
GAP = "·"


def _bar_score(score: float) -> int:
    """The 1-5 score a bar shows for a day's average (the same rounding as the bar)."""
    return min(max(round(score), 1), 5)


def sparkline(scores: Sequence[float | None]) -> str:
    """One character per value: a bar for mood 1-5, a dot where there is no entry."""
    out = []
    for score in scores:
        if score is None:
            out.append(GAP)
        else:
            out.append(BARS[_bar_score(score) - 1])
    return "".join(out)


def _when(day: date, today: date) -> str:
    """A day of the last fortnight as a reader says it: today, yesterday, on Tuesday."""
    if day == today:
        return _("today")
    if day == today - timedelta(days=1):
        return _("yesterday")
    if day > today - timedelta(days=7):
        return _("on {weekday}").format(weekday=local_format(day, WEEKDAY))
    # Further back a weekday is ambiguous (two Tuesdays in a fortnight): name the date.
    return _("on {date}").format(date=local_format(day, DAY))


def describe_trend(scores: Sequence[float | None], today: date) -> str:
    """The sparkline of `scores` in words: its text twin, for screen readers and notifications.

    `scores` are one per day, oldest first, the last one `today` (as `sparkline` takes them;
    `None` where nothing was logged). Each day counts as the whole score its bar shows.
    The most common score is "mostly"; a tie of two says both, more says the range. The
    lowest score below it is named with its day (the latest such day, and how many days had
    it). How many days were logged says what the gaps mean.
    """
    days = len(scores)
    logged = [
        (today - timedelta(days=days - 1 - i), _bar_score(s))
        for i, s in enumerate(scores)
        if s is not None
    ]
    if not logged:
        return ngettext(
            "no mood logged in the last {days} day", "no mood logged in the last {days} days", days
        ).format(days=days)
    counts = Counter(score for _day, score in logged)
    top = max(counts.values())
    modes = sorted(score for score, n in counts.items() if n == top)
    if len(modes) == 1:
        summary = _("mostly {score}").format(score=modes[0])
    elif len(modes) == 2:
        summary = _("mostly {low} and {high}").format(low=modes[0], high=modes[1])
    else:
        summary = _("mixed, from {low} to {high}").format(low=modes[0], high=modes[-1])
    lowest = min(counts)
    if lowest < modes[0]:
        low_days = [day for day, score in logged if score == lowest]
        when = _when(low_days[-1], today)
        if len(low_days) == 1:
            summary = _("{summary}, lowest {score} {when}").format(
                summary=summary, score=lowest, when=when
            )
        else:
            summary = ngettext(
                "{summary}, lowest {score} on {n} day, last {when}",
                "{summary}, lowest {score} on {n} days, last {when}",
                len(low_days),
            ).format(summary=summary, score=lowest, n=len(low_days), when=when)
    return ngettext(
        "{summary} ({logged} of {days} day logged)",
        "{summary} ({logged} of {days} days logged)",
        days,
    ).format(summary=summary, logged=len(logged), days=days)
