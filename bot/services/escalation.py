"""Escalation rules: low mood, a sharp drop, missed check-ins, an explicit request for help."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.config import CoreSettings, EscalationRules
from bot.safety.taxonomy import Category
from bot.services.alerts import (
    DROP_REASON,
    HELP_REASON,
    LOW_MOOD_REASON,
    MISSED_REASON,
    fold_signal,
    raise_alert,
    unresolved_message_alert,
)
from bot.services.mood import average_before
from storage.enums import AlertKind, CheckinStatus
from storage.tables import Alert, Checkin, MoodEntry, Person


def is_low_mood(score: int, rules: EscalationRules) -> bool:
    """A score at or below the alert threshold."""
    return score <= rules.low_mood_threshold


def is_sharp_drop(score: int, average: float | None, rules: EscalationRules) -> bool:
    """A score this far below the student's recent average."""
    return average is not None and average - score >= rules.drop_points


def evaluate_mood(
    session: Session, settings: CoreSettings, now: datetime, student: Person, entry: MoodEntry
) -> list[Alert]:
    """Raise alerts that a new mood entry calls for (low score, sharp drop)."""
    assert student.id is not None
    average = average_before(
        session, student.id, entry.recorded_at, settings.escalation.drop_window_days, entry.id
    )
    return evaluate_mood_against(session, settings, now, student, entry, average)


def evaluate_mood_against(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    student: Person,
    entry: MoodEntry,
    average: float | None,
) -> list[Alert]:
    """Raise the alerts for a mood entry, given the student's average before it (if any).

    Returns the alerts raised, and the crisis or concern alert a low score folded into.
    """
    rules = settings.escalation
    raised: list[Alert] = []
    assert student.id is not None
    # A low score while a crisis or concern alert is unresolved (typically the same
    # "/mood 2 <crisis words>") is part of that alert: the mentor gets one alert, not two.
    message_alert = unresolved_message_alert(session, student.id)
    if is_low_mood(entry.score, rules) and message_alert is not None:
        fold_signal(session, settings, now, message_alert, student, "low_mood", Category.LOW_MOOD)
        raised.append(message_alert)
    elif is_low_mood(entry.score, rules):
        alert = raise_alert(
            session,
            settings,
            now,
            student,
            AlertKind.LOW_MOOD,
            # Stored in English (the alert's record); `reason_text` translates it for a reader.
            LOW_MOOD_REASON.format(score=entry.score, threshold=rules.low_mood_threshold),
            excerpt=entry.note,
        )
        if alert:
            raised.append(alert)
    if average is not None and is_sharp_drop(entry.score, average, rules):
        alert = raise_alert(
            session,
            settings,
            now,
            student,
            AlertKind.DROP,
            DROP_REASON.format(
                score=entry.score,
                drop=f"{average - entry.score:.1f}",
                days=rules.drop_window_days,
                average=f"{average:.1f}",
            ),
            excerpt=entry.note,
        )
        if alert:
            raised.append(alert)
    return raised


def consecutive_missed(session: Session, student_id: int) -> int:
    """How many of the student's most recent closed check-ins in a row were missed."""
    statuses = session.exec(
        select(Checkin.status)
        .where(
            Checkin.person_id == student_id,
            col(Checkin.status).in_(
                (CheckinStatus.ANSWERED, CheckinStatus.SKIPPED, CheckinStatus.MISSED)
            ),
        )
        .order_by(col(Checkin.opened_at).desc())
        .limit(50)
    ).all()
    count = 0
    for status in statuses:
        if status != CheckinStatus.MISSED:
            break
        count += 1
    return count


def evaluate_missed(
    session: Session, settings: CoreSettings, now: datetime, student: Person
) -> Alert | None:
    """Raise a missed-check-ins alert when the run of misses reaches the configured number."""
    assert student.id is not None
    misses = consecutive_missed(session, student.id)
    if misses >= settings.escalation.missed_checkins:
        return raise_alert(
            session, settings, now, student, AlertKind.MISSED, MISSED_REASON.format(n=misses)
        )
    return None


def request_help(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    student: Person,
    text: str,
    *,
    screened_as_risk: bool = False,
) -> Alert | None:
    """The student asked for their mentor's help: always reaches a person.

    When the screen already rated this same message crisis or concern (`screened_as_risk`),
    its alert is unresolved and quotes these words: the request joins it, so the mentor
    reads one alert with both reasons ("Wish to be dead; Asked to talk to their mentor")
    instead of two about one message.
    """
    assert student.id is not None
    message_alert = unresolved_message_alert(session, student.id) if screened_as_risk else None
    if message_alert is not None:
        fold_signal(session, settings, now, message_alert, student, "help", Category.HELP_REQUEST)
        return message_alert
    reason = HELP_REASON
    return raise_alert(
        session, settings, now, student, AlertKind.HELP, reason, excerpt=text or None
    )
