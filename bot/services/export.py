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
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import Session, SQLModel, col, select

from bot.i18n import N_, _
from bot.personal_data import PersonalData
from bot.services.alerts import reason_text
from storage.tables import Alert, AuditLog, MentorNote, Person


def _row(obj: SQLModel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.model_dump().items():
        out[key] = value.isoformat() if isinstance(value, date | datetime) else value
    return out


# Marked for translation; the export carries them in the reader's language (`_(...)`).
EXPORT_NOTICE = N_(
    "This is the data the mentoring programme's bot stores about you. Your mentors and "
    "programme staff can see your check-ins, moods, goals and messages; alerts are raised "
    "to them when you may need support, so what you write is never fully confidential. "
    "Notes your mentors wrote about you are not included in this automatic export: ask your "
    "programme lead for them (they may need a safeguarding review first). Free text is "
    "deleted after the programme's retention period; /mydata delete erases the rest."
)
STAFF_EXPORT_NOTICE = N_(
    "Staff export, including mentors' notes. Before releasing it to the person, review the "
    "notes for safeguarding and third-party information (DPA 2018 exemptions)."
)


# Every parent named by `through` has an integer `id` key.
PRIMARY_KEY = "id"


def column_of(model: type[SQLModel], name: str) -> Any:
    """A declared column of a table, by the name a `PersonalData` gives it."""
    return col(getattr(model, name))


def owned_by(session: Session, table: PersonalData, person_id: int) -> ColumnElement[bool]:
    """The condition picking `table`'s rows about the person (through a parent if declared)."""
    owner: ColumnElement[Any] = column_of(table.table, table.owner)
    if table.through is None:
        return owner == person_id
    parent, column = table.through
    parent_ids = session.exec(
        select(column_of(parent, PRIMARY_KEY)).where(column_of(parent, column) == person_id)
    ).all()
    ids: list[int] = [i for i in parent_ids if i is not None]
    return owner.in_(ids)


def _rows(session: Session, table: PersonalData, person_id: int) -> list[dict[str, Any]]:
    model = table.table
    # In key order: `id` for most tables; a one-row-per-person table is keyed by its owner.
    keys = [col(c) for c in model.__table__.primary_key.columns]  # type: ignore[attr-defined]
    rows = session.exec(
        select(model).where(owned_by(session, table, person_id)).order_by(*keys)
    ).all()
    return [_row(r) for r in rows]


def _alerts(session: Session, table: PersonalData, person_id: int) -> list[dict[str, Any]]:
    # The stored reason is category codes; the export says them in words as well.
    alerts = session.exec(
        select(Alert).where(owned_by(session, table, person_id)).order_by(col(Alert.id))
    ).all()
    return [{**_row(a), "reason_text": reason_text(a.reason)} for a in alerts]


def _access_log(session: Session, table: PersonalData, person_id: int) -> list[dict[str, Any]]:
    # Who looked at or acted on this person's data, and when: names, not ids.
    return [
        {
            "at": row.at.isoformat(),
            "action": row.action,
            "by": actor.name if actor is not None else "the programme (automatic or CLI)",
        }
        for row, actor in session.exec(
            select(AuditLog, Person)
            .join(Person, col(Person.id) == AuditLog.actor_id, isouter=True)
            .where(owned_by(session, table, person_id))
            .order_by(col(AuditLog.at))
        )
    ]


def _mentor_notes(session: Session, table: PersonalData, person_id: int) -> list[dict[str, Any]]:
    # Each note with its author's name (the staff export; see the module docstring).
    return [
        {**_row(note), "author": author.name}
        for note, author in session.exec(
            select(MentorNote, Person)
            .join(Person, col(Person.id) == MentorNote.author_id)
            .where(owned_by(session, table, person_id))
            .order_by(col(MentorNote.created_at))
        )
    ]


Shape = Callable[[Session, PersonalData, int], list[dict[str, Any]]]
# Tables whose export says more than their rows: reasons in words, authors' names.
SHAPES: dict[type[SQLModel], Shape] = {
    Alert: _alerts,
    AuditLog: _access_log,
    MentorNote: _mentor_notes,
}


def export_person(
    session: Session,
    person: Person,
    *,
    tables: Sequence[PersonalData],
    include_mentor_notes: bool = False,
) -> dict[str, Any]:
    """Everything stored about a person, grouped by kind, from the features' declared tables.

    `include_mentor_notes` is for the staff export only (see the module docstring): it adds
    the tables declared `self_export=False`.
    """
    assert person.id is not None
    data: dict[str, Any] = {
        "notice": _(STAFF_EXPORT_NOTICE if include_mentor_notes else EXPORT_NOTICE),
        "person": _row(person),
    }
    for table in tables:
        if not table.export_as or not (table.self_export or include_mentor_notes):
            continue
        shape = SHAPES.get(table.table, _rows)
        data[table.export_as] = shape(session, table, person.id)
    return data


def export_json(
    session: Session,
    person: Person,
    *,
    tables: Sequence[PersonalData],
    include_mentor_notes: bool = False,
) -> str:
    """The export as pretty JSON text."""
    return json.dumps(
        export_person(session, person, tables=tables, include_mentor_notes=include_mentor_notes),
        indent=2,
        ensure_ascii=False,
    )
