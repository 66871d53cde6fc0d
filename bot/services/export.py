"""A person's own data, all of it, as JSON (data subject access)."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from storage.tables import (
    Alert,
    AlertEvent,
    Checkin,
    Goal,
    GoalUpdate,
    GroupMember,
    Identity,
    MentorAssignment,
    Milestone,
    MoodEntry,
    Person,
    Rsvp,
    StudentMessage,
)


def _row(obj: SQLModel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.model_dump().items():
        out[key] = value.isoformat() if isinstance(value, date | datetime) else value
    return out


def export_person(session: Session, person: Person) -> dict[str, Any]:
    """Everything stored about a person, grouped by kind."""
    pid = person.id
    goals = session.exec(select(Goal).where(Goal.person_id == pid)).all()
    goal_ids = [g.id for g in goals]
    alerts = session.exec(select(Alert).where(Alert.student_id == pid)).all()
    alert_ids = [a.id for a in alerts]
    return {
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
        "alerts": [_row(a) for a in alerts],
        "alert_events": [
            _row(r)
            for r in session.exec(select(AlertEvent).where(col(AlertEvent.alert_id).in_(alert_ids)))
        ],
        "messages": [
            _row(r)
            for r in session.exec(select(StudentMessage).where(StudentMessage.person_id == pid))
        ],
        "rsvps": [_row(r) for r in session.exec(select(Rsvp).where(Rsvp.person_id == pid))],
    }


def export_json(session: Session, person: Person) -> str:
    """The export as pretty JSON text."""
    return json.dumps(export_person(session, person), indent=2, ensure_ascii=False)
