"""The life after a scheduled check-in opens: one reminder if unanswered, then closing it.

A check-in carries `remind_at` (the schedule's delay after the prompt really went out) and
`closes_at` (the cut-off). The reminder goes once, only while the check-in is still open; an
answer (or a skip) changes the status, so no reminder follows. At the cut-off, or when the
student's next check-in opens, an unanswered one closes as missed, unless the student is paused
or on a programme break then: that is recorded as excused and never counts as a miss. New
misses feed the core's escalation rule (`escalation.evaluate_missed`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.localtime import to_local
from bot.outbox import Push, push_rows
from bot.outcome_lines import nonzero_counts
from bot.services.breaks import away_reason, breaks_around
from bot.services.checkins import render_reminder
from bot.services.escalation import evaluate_missed
from bot.services.language import speaking_to
from storage.enums import CheckinStatus, CheckinStep, OutboxKind, OutboxStatus
from storage.tables import Checkin, Identity, Outbox, Person

CLOSED_STATUSES_FOR_RUNS = (CheckinStatus.ANSWERED, CheckinStatus.SKIPPED, CheckinStatus.MISSED)
_CHUNK = 1000
# Outbox status for a queued prompt or reminder withdrawn because its check-in closed first.

T = TypeVar("T")


def chunked(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items (bounded IN lists and INSERT batches)."""
    for index in range(0, len(items), size):
        yield items[index : index + size]


@dataclass
class ReminderOutcome:
    """What one reminder pass did."""

    sent: int = 0
    skipped_away: int = 0

    @property
    def queued(self) -> bool:
        """True when reminders went to the outbox."""
        return self.sent > 0

    def lines(self) -> list[str]:
        """Log lines for the counts that are not zero."""
        counts = {
            "reminders sent": self.sent,
            "reminders skipped (paused or on a break)": self.skipped_away,
        }
        return nonzero_counts(counts)


@dataclass
class CloseOutcome:
    """What one cut-off pass did."""

    missed: int = 0
    excused: int = 0

    @property
    def queued(self) -> bool:
        """True when check-ins were missed: a run of misses may have raised an alert."""
        return self.missed > 0

    def lines(self) -> list[str]:
        """Log lines for the counts that are not zero."""
        counts = {"check-ins closed as missed": self.missed, "check-ins excused": self.excused}
        return nonzero_counts(counts)


def send_due_reminders(session: Session, settings: CoreSettings, now: datetime) -> ReminderOutcome:
    """Queue the one reminder of every open check-in whose delay has passed.

    Students paused or on a break get none (their `remind_at` is cleared, so it is not retried).
    The outbox key `reminder:{checkin}` keeps a second scheduler from queueing it twice.
    """
    outcome = ReminderOutcome()
    rows = session.exec(
        select(Checkin, Person)
        .join(Person, col(Person.id) == Checkin.person_id)
        .where(
            col(Checkin.status) == CheckinStatus.OPEN,
            col(Checkin.remind_at).is_not(None),
            col(Checkin.remind_at) <= now,
            col(Checkin.reminder_sent_at).is_(None),
        )
        .order_by(col(Checkin.id))
    ).all()
    if not rows:
        return outcome
    breaks = breaks_around(
        session, (now - timedelta(days=1)).date(), (now + timedelta(days=1)).date()
    )
    to_send: list[tuple[Checkin, Person]] = []
    skipped: list[int] = []
    for checkin, person in rows:
        assert checkin.id is not None
        local_date = to_local(now, person.timezone or settings.default_timezone).date()
        gone = not person.active or person.deleted_at is not None
        if gone or away_reason(person, local_date, breaks) is not None:
            skipped.append(checkin.id)
        else:
            to_send.append((checkin, person))
    for chunk in chunked(skipped):
        session.execute(
            update(Checkin)
            .where(col(Checkin.id).in_(chunk))
            .values(remind_at=None)
            .execution_options(synchronize_session=False)
        )
    outcome.skipped_away = len(skipped)
    if to_send:
        sent_ids = [c.id for c, _person in to_send]
        for id_chunk in chunked(sent_ids):
            session.execute(
                update(Checkin)
                .where(col(Checkin.id).in_(id_chunk))
                .values(reminder_sent_at=now, remind_at=None)
                .execution_options(synchronize_session=False)
            )
        identities = _identities(session, [p.id for _c, p in to_send if p.id is not None])
        pushes: list[Push] = []
        for checkin, person in to_send:
            # A DM to the student: in their language, whoever runs the scheduler.
            with speaking_to(person, settings):
                message = render_reminder(checkin, person)
            pushes.append(
                Push(
                    dedupe_key=f"reminder:{checkin.id}",
                    message=message,
                    person=person,
                    kind=OutboxKind.REMINDER,
                    checkin_id=checkin.id,
                )
            )
        for push_chunk in chunked(pushes):
            outcome.sent += push_rows(
                session,
                push_chunk,
                now,
                settings.default_timezone,
                identities,  # type: ignore[arg-type]
            )
    return outcome


def _identities(session: Session, person_ids: Sequence[int]) -> dict[int, list[Identity]]:
    found: dict[int, list[Identity]] = defaultdict(list)
    for chunk in chunked(person_ids):
        for identity in session.exec(
            select(Identity).where(col(Identity.person_id).in_(chunk)).order_by(col(Identity.id))
        ).all():
            found[identity.person_id].append(identity)
    return dict(found)


def close_expired_checkins(session: Session, settings: CoreSettings, now: datetime) -> CloseOutcome:
    """Close open scheduled check-ins past their cut-off: missed, or excused when away."""
    outcome = CloseOutcome()
    rows = session.exec(
        select(Checkin.id, Person)
        .join(Person, col(Person.id) == Checkin.person_id)
        .where(
            col(Checkin.status) == CheckinStatus.OPEN,
            col(Checkin.closes_at).is_not(None),
            col(Checkin.closes_at) <= now,
        )
        .order_by(col(Checkin.id))
    ).all()
    if not rows:
        return outcome
    breaks = breaks_around(
        session, (now - timedelta(days=1)).date(), (now + timedelta(days=1)).date()
    )
    missed: list[int] = []
    excused: dict[str, list[int]] = defaultdict(list)
    for checkin_id, person in rows:
        assert checkin_id is not None
        local_date = to_local(now, person.timezone or settings.default_timezone).date()
        reason = away_reason(person, local_date, breaks)
        if reason is None and (not person.active or person.deleted_at is not None):
            reason = "no longer enrolled"
        if reason is None:
            missed.append(checkin_id)
        else:
            excused[reason].append(checkin_id)
    for reason, ids in excused.items():
        outcome.excused += len(_close(session, ids, CheckinStatus.EXCUSED, reason))
    hours = settings.scheduling.checkin_cutoff_hours
    outcome.missed = close_as_missed(
        session, settings, now, missed, f"not answered within {hours} hours"
    )
    return outcome


def _close(session: Session, checkin_ids: Sequence[int], status: str, reason: str) -> list[int]:
    """Close the check-ins still open; returns the ids this transaction closed.

    Only rows still open are touched, so a racing scheduler never closes (or counts) one twice.
    Their prompts or reminders still waiting in the outbox are withdrawn: a button for a closed
    check-in would only confuse.
    """
    closed: list[int] = []
    for chunk in chunked(checkin_ids):
        result = session.execute(
            update(Checkin)
            .where(col(Checkin.id).in_(chunk), col(Checkin.status) == CheckinStatus.OPEN)
            .values(
                status=status,
                step=CheckinStep.DONE,
                remind_at=None,
                closes_at=None,
                closed_reason=reason[:200],
            )
            .returning(col(Checkin.id))
            .execution_options(synchronize_session=False)
        )
        closed.extend(int(r[0]) for r in result.all())
    for chunk in chunked(closed):
        session.execute(
            update(Outbox)
            .where(
                col(Outbox.checkin_id).in_(chunk),
                col(Outbox.status) == OutboxStatus.PENDING,
                col(Outbox.kind).in_((OutboxKind.CHECKIN, OutboxKind.REMINDER)),
            )
            .values(status=OutboxStatus.SKIPPED, last_error=f"check-in closed: {reason}"[:500])
            .execution_options(synchronize_session=False)
        )
    return closed


def close_as_missed(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    checkin_ids: Sequence[int],
    reason: str,
) -> int:
    """Mark open check-ins missed and run the missed-check-ins rule for their students."""
    if not checkin_ids:
        return 0
    closed = _close(session, checkin_ids, CheckinStatus.MISSED, reason)
    person_ids: set[int] = set()
    for chunk in chunked(closed):
        person_ids.update(
            int(p)
            for p in session.exec(select(Checkin.person_id).where(col(Checkin.id).in_(chunk))).all()
        )
    escalate_missed_runs(session, settings, now, sorted(person_ids))
    return len(closed)


def escalate_missed_runs(
    session: Session, settings: CoreSettings, now: datetime, person_ids: Sequence[int]
) -> int:
    """Run `evaluate_missed` for the students whose latest closed check-ins are all misses.

    One windowed query finds the candidates, so closing 10,000 check-ins costs no 10,000
    queries; the core rule itself then decides (and folds repeats) for the few candidates.
    """
    threshold = settings.escalation.missed_checkins
    candidates: list[int] = []
    for chunk in chunked(person_ids):
        ranked = (
            select(
                col(Checkin.person_id).label("person_id"),
                col(Checkin.status).label("status"),
                func.row_number()
                .over(
                    partition_by=col(Checkin.person_id),
                    order_by=col(Checkin.opened_at).desc(),
                )
                .label("rank"),
            )
            .where(
                col(Checkin.person_id).in_(chunk),
                col(Checkin.status).in_(CLOSED_STATUSES_FOR_RUNS),
            )
            .subquery()
        )
        runs: dict[int, list[str]] = defaultdict(list)
        for person_id, status in session.execute(
            select(ranked.c.person_id, ranked.c.status).where(ranked.c.rank <= threshold)
        ).all():
            runs[int(person_id)].append(str(status))
        candidates.extend(
            pid
            for pid, statuses in runs.items()
            if len(statuses) >= threshold and all(s == CheckinStatus.MISSED for s in statuses)
        )
    raised = 0
    for person_id in candidates:
        student = session.get(Person, person_id)
        if student is not None and evaluate_missed(session, settings, now, student) is not None:
            raised += 1
    return raised
