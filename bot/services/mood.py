"""Mood: log a score any time, see history and the 14-day trend."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, func, select

from bot.args import small_number
from bot.errors import UserError
from bot.i18n import N_, _
from bot.localtime import to_local
from bot.model import Field
from bot.sparkline import describe_trend, sparkline
from storage.tables import MoodEntry, Person

MOOD_FACES = {1: "😞", 2: "🙁", 3: "😐", 4: "🙂", 5: "😄"}
# Marked only: shown with `_(MOOD_WORDS[score])`, `_(SCORE_HELP)` in the reader's language.
MOOD_WORDS = {1: N_("awful"), 2: N_("low"), 3: N_("okay"), 4: N_("good"), 5: N_("great")}
SCORE_HELP = N_(
    "Mood is a whole number from 1 (awful) to 5 (great), for example: /mood 3 tired but ok"
)


def parse_score(raw: str) -> int:
    """A mood score 1-5 from text, or a friendly UserError."""
    value = raw.strip()
    score = small_number(value, 5)
    if score is None or score < 1:
        raise UserError(
            _("'{value}' isn't a mood score. {help}").format(value=value, help=_(SCORE_HELP))
        )
    return score


def log_mood(
    session: Session,
    person: Person,
    score: int,
    note: str | None,
    now: datetime,
    source: str = "command",
) -> MoodEntry:
    """Store a mood entry."""
    if not 1 <= score <= 5:
        raise UserError(_(SCORE_HELP))
    assert person.id is not None
    entry = MoodEntry(
        person_id=person.id, score=score, note=note or None, source=source, recorded_at=now
    )
    session.add(entry)
    session.flush()
    return entry


def entries_since(session: Session, person_id: int, since: datetime) -> Sequence[MoodEntry]:
    """Mood entries of a person since a time, oldest first."""
    return session.exec(
        select(MoodEntry)
        .where(MoodEntry.person_id == person_id, col(MoodEntry.recorded_at) >= since)
        .order_by(col(MoodEntry.recorded_at))
    ).all()


def daily_scores(
    entries: Sequence[MoodEntry], today: date, tz: str, days: int = 14
) -> list[float | None]:
    """The average score per local day for the last `days` days (None where none)."""
    per_day: dict[date, list[int]] = defaultdict(list)
    for entry in entries:
        per_day[to_local(entry.recorded_at, tz).date()].append(entry.score)
    out: list[float | None] = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        scores = per_day.get(day)
        out.append(sum(scores) / len(scores) if scores else None)
    return out


def trend(session: Session, person: Person, now: datetime, tz: str, days: int = 14) -> str:
    """The person's mood sparkline over the last `days` local days."""
    return trend_with_words(session, person, now, tz, days).spark


@dataclass(frozen=True)
class Trend:
    """A mood sparkline and its text twin ("mostly 3, lowest 2 on Tuesday").

    The twin carries the same meaning in words for screen readers, notifications and anyone
    the bar characters say nothing to; it is written in the language being spoken.
    """

    spark: str
    words: str

    def as_fields(self) -> tuple[Field, ...]:
        """The 14-day sparkline and, beside it, the same trend in words."""
        return (Field(_("Last 14 days"), self.spark), Field(_("In words"), self.words))


def trend_with_words(
    session: Session, person: Person, now: datetime, tz: str, days: int = 14
) -> Trend:
    """The person's mood sparkline over the last `days` local days, with its text twin."""
    assert person.id is not None
    entries = entries_since(session, person.id, now - timedelta(days=days + 1))
    today = to_local(now, tz).date()
    scores = daily_scores(entries, today, tz, days)
    return Trend(sparkline(scores), describe_trend(scores, today))


def average_before(
    session: Session, person_id: int, before: datetime, days: int, exclude_id: int | None
) -> float | None:
    """Average score over `days` before a time, excluding one entry; None with no history."""
    # Summed in SQL: answering a check-in must not load two weeks of rows to average them.
    query = select(func.sum(MoodEntry.score), func.count()).where(
        MoodEntry.person_id == person_id,
        col(MoodEntry.recorded_at) >= before - timedelta(days=days),
        col(MoodEntry.recorded_at) <= before,
    )
    if exclude_id is not None:
        query = query.where(MoodEntry.id != exclude_id)
    total, count = session.exec(query).one()
    if not count:
        return None
    return int(total) / int(count)
