"""A person's own data, all of it, as JSON (data subject access).

Two audiences. The self-service export (`/mydata export`) holds everything the person gave
or that was recorded about them, except mentors' notes: under UK GDPR a subject access
request generally covers notes about the person, but safeguarding and health-data
exemptions (DPA 2018 Schedule 3) may require a person to review them before release, so the
student is told the notes exist and how to ask for them. The staff export (`mentorbot
export --email`, run by an admin handling the request) includes them.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from bot.safety.taxonomy import render_reason
from storage.tables import (
    Alert,
    AlertEvent,
    AuditLog,
    Checkin,
    Goal,
    GoalUpdate,
    GroupMember,
    Identity,
    MentorAssignment,
    MentorNote,
    Milestone,
    MoodEntry,
    PairingMember,
    Person,
    Rsvp,
    StudentMessage,
    WorkshopFeedback,
)


def _row(obj: SQLModel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.model_dump().items():
        out[key] = value.isoformat() if isinstance(value, date | datetime) else value
    return out


EXPORT_NOTICE = (
    "This is the data the mentoring programme's bot stores about you. Your mentors and "
    "programme staff can see your check-ins, moods, goals and messages; alerts are raised "
    "to them when you may need support, so what you write is never fully confidential. "
    "Notes your mentors wrote about you are not included in this automatic export: ask your "
    "programme lead for them (they may need a safeguarding review first). Free text is "
    "deleted after the programme's retention period; /mydata delete erases the rest."
)
STAFF_EXPORT_NOTICE = (
    "Staff export, including mentors' notes. Before releasing it to the person, review the "
    "notes for safeguarding and third-party information (DPA 2018 exemptions)."
)


def export_person(
    session: Session, person: Person, *, include_mentor_notes: bool = False
) -> dict[str, Any]:
    """Everything stored about a person, grouped by kind.

    `include_mentor_notes` is for the staff export only (see the module docstring).
    """
    pid = person.id
    goals = session.exec(select(Goal).where(Goal.person_id == pid)).all()
    goal_ids = [g.id for g in goals]
    alerts = session.exec(select(Alert).where(Alert.student_id == pid)).all()
    alert_ids = [a.id for a in alerts]
    data: dict[str, Any] = {
        "notice": EXPORT_NOTICE,
        "person": _row(person),
        "identities": [
            _row(r) for r in session.exec(select(Identity).where(Identity.person_id == pid))
        ],
        "mentors": [
            _row(r)
            for r in session.exec(
                select(MentorAssignment).where(MentorAssignment.student_id == pid)
            )
        ],
        "groups": [
            _row(r) for r in session.exec(select(GroupMember).where(GroupMember.person_id == pid))
        ],
        "checkins": [
            _row(r) for r in session.exec(select(Checkin).where(Checkin.person_id == pid))
        ],
        "moods": [
            _row(r) for r in session.exec(select(MoodEntry).where(MoodEntry.person_id == pid))
        ],
        "goals": [_row(g) for g in goals],
        "milestones": [
            _row(r)
            for r in session.exec(select(Milestone).where(col(Milestone.goal_id).in_(goal_ids)))
        ],
        "goal_updates": [
            _row(r)
            for r in session.exec(select(GoalUpdate).where(col(GoalUpdate.goal_id).in_(goal_ids)))
        ],
        # The stored reason is category codes; the export says them in words as well.
        "alerts": [{**_row(a), "reason_text": render_reason(a.reason)} for a in alerts],
        "alert_events": [
            _row(r)
            for r in session.exec(select(AlertEvent).where(col(AlertEvent.alert_id).in_(alert_ids)))
        ],
        "messages": [
            _row(r)
            for r in session.exec(select(StudentMessage).where(StudentMessage.person_id == pid))
        ],
        "rsvps": [_row(r) for r in session.exec(select(Rsvp).where(Rsvp.person_id == pid))],
        # Peer pairings they were in, with their "Did you meet?" answers.
        "pairings": [
            _row(r)
            for r in session.exec(select(PairingMember).where(PairingMember.person_id == pid))
        ],
        "workshop_feedback": [
            _row(r)
            for r in session.exec(select(WorkshopFeedback).where(WorkshopFeedback.person_id == pid))
        ],
        # Who looked at or acted on this person's data, and when (the audit log).
        "access_log": [
            {
                "at": row.at.isoformat(),
                "action": row.action,
                "by": actor.name if actor is not None else "the programme (automatic or CLI)",
            }
            for row, actor in session.exec(
                select(AuditLog, Person)
                .join(Person, col(Person.id) == AuditLog.actor_id, isouter=True)
                .where(AuditLog.subject_id == pid)
                .order_by(col(AuditLog.at))
            )
        ],
    }
    if include_mentor_notes:
        data["notice"] = STAFF_EXPORT_NOTICE
        data["mentor_notes"] = [
            {**_row(note), "author": author.name}
            for note, author in session.exec(
                select(MentorNote, Person)
                .join(Person, col(Person.id) == MentorNote.author_id)
                .where(MentorNote.student_id == pid)
                .order_by(col(MentorNote.created_at))
            )
        ]
    return data


def export_json(session: Session, person: Person, *, include_mentor_notes: bool = False) -> str:
    """The export as pretty JSON text."""
    return json.dumps(
        export_person(session, person, include_mentor_notes=include_mentor_notes),
        indent=2,
        ensure_ascii=False,
    )
