"""Data rights and retention: erase a person, purge expired free text, confirm deletions.

Erasure keeps exactly one thing: a de-identified record of each alert raised about the
person (kind, severity, timestamps, who acknowledged it), because the programme must be able
to show how fast it answered safety alerts. Everything the person wrote, everything written
about them, and everything that links them to a platform account is deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, update
from sqlalchemy.orm import Mapped
from sqlmodel import Session, SQLModel, col, select

from bot.audit import audit
from bot.config import CoreSettings
from bot.errors import NotAllowed, UserError
from storage.crypto import sign, verify
from storage.db import scrub_after_commit
from storage.tables import (
    FREE_TEXT_COLUMNS,
    FREE_TEXT_DATED_BY,
    Alert,
    AlertEvent,
    Checkin,
    Goal,
    GoalUpdate,
    GroupMember,
    Identity,
    MentorAssignment,
    MentorNote,
    Milestone,
    MoodEntry,
    Outbox,
    PairingMember,
    Person,
    Rsvp,
    StudentMessage,
    WorkshopFeedback,
)

# A delete-confirmation button works this long; an old one cannot be replayed later.
CONFIRM_MINUTES = 10
ERASED_NAME = "Erased person"
ERASED_STATUS = "erased"
# Outbox rows in these states are history; after the retention period they go with the text.
FINISHED_OUTBOX = ("sent", "failed", "rerouted")  # rerouted: its copy went to someone else
# Shorter strings would match unrelated messages when looking for copies of a person's text.
MIN_NEEDLE = 8

# Every column that references a person, and what erasure does with it. A new one must be
# added here (tests/bot/test_privacy.py fails until it is), so erasure never misses a table.
ERASED_REFERENCES: frozenset[tuple[str, str]] = frozenset(
    {
        ("identity", "person_id"),
        ("mentor_assignment", "student_id"),
        ("mentor_assignment", "mentor_id"),
        ("group_member", "person_id"),
        ("checkin", "person_id"),
        ("mood_entry", "person_id"),
        ("goal", "person_id"),
        ("student_message", "person_id"),
        ("mentor_note", "student_id"),
        ("rsvp", "person_id"),
        ("workshop_feedback", "person_id"),
        ("pairing_member", "person_id"),
        ("outbox", "person_id"),
        ("alert", "student_id"),
    }
)
# Kept: they record what staff did (and point at the anonymised row, not at a name).
KEPT_REFERENCES: frozenset[tuple[str, str]] = frozenset(
    {
        ("alert", "mentor_id"),
        ("alert", "acknowledged_by"),
        ("alert", "follow_up_by"),
        ("mentor_note", "author_id"),
        ("workshop_session", "created_by"),
        ("workshop_series", "created_by"),
        ("group_prompt", "created_by"),
        ("pairing_round", "started_by"),
        ("audit_log", "actor_id"),
        ("audit_log", "subject_id"),
    }
)


@dataclass
class ErasureReport:
    """What an erasure removed, by kind (for the CLI and the audit log)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int) -> None:
        """Count removed rows of one kind."""
        if count:
            self.counts[kind] = self.counts.get(kind, 0) + count

    def summary(self) -> str:
        """A one-line summary such as 'moods 3, messages 1'."""
        return ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())) or "nothing"


def _delete(session: Session, model: type[SQLModel], *criteria: ColumnElement[bool]) -> int:
    result = session.execute(
        delete(model).where(*criteria).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _ids(session: Session, column: Mapped[int | None], *criteria: ColumnElement[bool]) -> list[int]:
    return [i for i in session.exec(select(column).where(*criteria)).all() if i is not None]


def open_crisis_alert(session: Session, person: Person) -> Alert | None:
    """An urgent alert about the person that no mentor has acknowledged yet."""
    return session.exec(
        select(Alert).where(
            Alert.student_id == person.id,
            Alert.severity == "urgent",
            col(Alert.acknowledged_at).is_(None),
        )
    ).first()


def erase_person(
    session: Session, person: Person, now: datetime, *, actor_id: int | None, via: str
) -> ErasureReport:
    """Erase a person's personal data and free text in the caller's transaction.

    The person row stays (alerts and the audit log point at it) but is anonymised and made
    inactive, so the platform accounts can never resolve to it again. `via` names the path
    for the audit log ("self-service", "cli").
    """
    assert person.id is not None
    pid = person.id
    report = ErasureReport()
    # Gather the person's own text first: copies of it elsewhere (outbox) are found by it.
    needles = _their_text(session, person)

    checkin_ids = _ids(session, col(Checkin.id), col(Checkin.person_id) == pid)
    goal_ids = _ids(session, col(Goal.id), col(Goal.person_id) == pid)
    alert_ids = _ids(session, col(Alert.id), col(Alert.student_id) == pid)

    # Outbox first: its rows reference check-ins and carry copies of the person's text.
    report.add(
        "outbox messages",
        _delete(
            session,
            Outbox,
            or_(
                col(Outbox.person_id) == pid,
                col(Outbox.alert_id).in_(alert_ids),
                col(Outbox.checkin_id).in_(checkin_ids),
            ),
        ),
    )
    report.add("outbox messages", _delete_outbox_quoting(session, needles))
    report.add("moods", _delete(session, MoodEntry, col(MoodEntry.person_id) == pid))
    report.add("check-ins", _delete(session, Checkin, col(Checkin.person_id) == pid))
    report.add("goal updates", _delete(session, GoalUpdate, col(GoalUpdate.goal_id).in_(goal_ids)))
    report.add("milestones", _delete(session, Milestone, col(Milestone.goal_id).in_(goal_ids)))
    report.add("goals", _delete(session, Goal, col(Goal.person_id) == pid))
    report.add("messages", _delete(session, StudentMessage, col(StudentMessage.person_id) == pid))
    report.add("mentor notes", _delete(session, MentorNote, col(MentorNote.student_id) == pid))
    report.add("rsvps", _delete(session, Rsvp, col(Rsvp.person_id) == pid))
    report.add(
        "workshop feedback",
        _delete(session, WorkshopFeedback, col(WorkshopFeedback.person_id) == pid),
    )
    report.add(
        "peer pairings", _delete(session, PairingMember, col(PairingMember.person_id) == pid)
    )
    report.add(
        "group memberships", _delete(session, GroupMember, col(GroupMember.person_id) == pid)
    )
    report.add(
        "mentor assignments",
        _delete(
            session,
            MentorAssignment,
            or_(col(MentorAssignment.student_id) == pid, col(MentorAssignment.mentor_id) == pid),
        ),
    )
    report.add("platform accounts", _delete(session, Identity, col(Identity.person_id) == pid))
    report.add("alerts de-identified", _deidentify_alerts(session, pid, alert_ids))

    person.email = f"erased-{pid}@invalid"
    person.name = ERASED_NAME
    person.timezone = None
    person.country = None
    person.preferred_platform = None
    person.paused_until = None
    person.active = False
    person.deleted_at = now
    session.add(person)
    audit(session, now, actor_id, "erase", pid, detail=f"via {via}: {report.summary()}")
    session.flush()
    scrub_after_commit(session)
    return report


def _their_text(session: Session, person: Person) -> list[str]:
    """Strings that identify the person or that they wrote, to find copies of them."""
    pid = person.id
    texts: list[str | None] = [person.email, person.name]
    texts += session.exec(select(MoodEntry.note).where(MoodEntry.person_id == pid)).all()
    texts += session.exec(select(Checkin.note).where(Checkin.person_id == pid)).all()
    texts += session.exec(select(StudentMessage.text).where(StudentMessage.person_id == pid)).all()
    texts += session.exec(select(Alert.excerpt).where(Alert.student_id == pid)).all()
    texts += session.exec(select(Goal.title).where(Goal.person_id == pid)).all()
    texts += session.exec(select(MentorNote.text).where(MentorNote.student_id == pid)).all()
    return sorted({t.strip() for t in texts if t and len(t.strip()) >= MIN_NEEDLE})


def _delete_outbox_quoting(session: Session, needles: Iterable[str]) -> int:
    """Delete outbox rows whose (sealed) payload quotes any needle; scanned in Python."""
    wanted = [n for n in needles if n]
    if not wanted:
        return 0
    doomed: list[int] = []
    # Payloads are sealed, so SQL cannot search them: open each one, in batches.
    last_id = 0
    while True:
        batch = session.exec(
            select(Outbox.id, Outbox.payload)
            .where(col(Outbox.id) > last_id)
            .order_by(col(Outbox.id))
            .limit(500)
        ).all()
        if not batch:
            break
        for row_id, payload in batch:
            assert row_id is not None
            if any(needle in payload for needle in wanted):
                doomed.append(row_id)
        last_id = int(batch[-1][0] or 0)
    if not doomed:
        return 0
    return _delete(session, Outbox, col(Outbox.id).in_(doomed))


def _deidentify_alerts(session: Session, pid: int, alert_ids: list[int]) -> int:
    """Keep each alert for safety statistics, with nothing that identifies the person."""
    if not alert_ids:
        return 0
    alerts = session.exec(select(Alert).where(col(Alert.id).in_(alert_ids))).all()
    for alert in alerts:
        alert.student_id = None
        alert.excerpt = None
        alert.reason = alert.kind  # e.g. "Mood 2/5 ..." or the safety screen's reasons
        if alert.status == "open":
            alert.status = ERASED_STATUS
        alert.next_escalation_at = None  # nobody left to escalate about
        session.add(alert)
    session.execute(
        update(AlertEvent)
        .where(col(AlertEvent.alert_id).in_(alert_ids))
        .values(detail="")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(AlertEvent)
        .where(col(AlertEvent.alert_id).in_(alert_ids), col(AlertEvent.person_id) == pid)
        .values(person_id=None)
        .execution_options(synchronize_session=False)
    )
    return len(alerts)


# ---------------------------------------------------------------- delete confirmation


def _token_message(person_id: int, expires: int) -> str:
    return f"mydata.delete:{person_id}:{expires}"


def deletion_token(person_id: int, now: datetime) -> str:
    """A token for the delete button: bound to the person, valid for CONFIRM_MINUTES."""
    expires = int((now + timedelta(minutes=CONFIRM_MINUTES)).timestamp())
    return f"{expires}.{sign(_token_message(person_id, expires))}"


def check_deletion_token(token: str, person_id: int, now: datetime) -> None:
    """Raise unless `token` was made for this person and has not expired."""
    raw_expires, _, signature = token.partition(".")
    try:
        expires = int(raw_expires)
    except ValueError:
        expires = 0
    # The signature first: an expiry message for a forged token would say too much.
    if not signature or not verify(_token_message(person_id, expires), signature):
        raise NotAllowed("That button isn't yours. Type /mydata delete to start again.")
    if now.timestamp() > expires:
        raise UserError(
            f"That confirmation has expired (it works for {CONFIRM_MINUTES} minutes). "
            "Nothing was deleted. Type /mydata delete to start again."
        )


# ---------------------------------------------------------------- retention


def purge_expired_text(session: Session, settings: CoreSettings, now: datetime) -> int:
    """Remove free text older than `settings.retention_days`; returns how many rows changed.

    Nullable text (notes, excerpts) is set to NULL, keeping the row and its scores; rows
    that are only text (student messages, mentor notes) are deleted; finished outbox rows
    (which may quote text) are deleted too.
    """
    cutoff = now - timedelta(days=settings.retention_days)
    changed = 0
    for model, column_name in FREE_TEXT_COLUMNS:
        table = model.__table__  # type: ignore[attr-defined]
        column = table.c[column_name]
        dated_by = table.c[FREE_TEXT_DATED_BY[table.name]]
        if column.nullable:
            result = session.execute(
                update(table)
                .where(dated_by < cutoff, column.is_not(None))
                .values({column_name: None})
            )
        else:
            result = session.execute(delete(table).where(dated_by < cutoff))
        changed += int(getattr(result, "rowcount", 0) or 0)
    changed += _delete(
        session,
        Outbox,
        col(Outbox.created_at) < cutoff,
        col(Outbox.status).in_(FINISHED_OUTBOX),
    )
    audit(
        session,
        now,
        None,
        "privacy.purge",
        None,
        detail=f"{changed} row(s) older than {settings.retention_days} days",
    )
    session.expire_all()  # the bulk statements bypassed the identity map
    return changed
