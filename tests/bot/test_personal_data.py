"""The features' declared tables of personal data: nothing that names a person is missed.

Export, erasure and retention read `Registry.personal_data`; these tests hold the list
complete against the schema, so a new feature's table can't be forgotten by any of them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, Text
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (every table in the metadata)
from bot.features import all_features
from bot.personal_data import Erase, PersonalData
from bot.services.export import export_person
from bot.services.privacy import (
    NOT_PERSONAL,
    erase_person,
    erased_references,
    undeclared_references,
)
from storage.db import Database
from storage.tables import Goal, Milestone, Person, Rsvp
from tests.tick import PERSONAL_DATA

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# The export's keys before the declarations drove it: the shape people and tools rely on.
SELF_EXPORT_KEYS = {
    "notice",
    "person",
    "identities",
    "mentors",
    "groups",
    "checkins",
    "moods",
    "goals",
    "milestones",
    "goal_updates",
    "alerts",
    "alert_events",
    "settings",  # the /settings feature (added after the shape was pinned)
    # The meetings feature: a student's meetings; a mentor's hours, days off, link, cadences.
    "meetings",
    "meeting_hours",
    "meeting_days_off",
    "meeting_link",
    "meeting_cadences",
    "messages",
    "rsvps",
    "pairings",
    "pairing_skips",  # pairing preferences (issue 20)
    "pairing_pause",
    "pairing_avoid",
    "workshop_feedback",
    "access_log",
    "prompt_answers",  # group prompt answers (issue 20)
}


def test_every_column_naming_a_person_is_declared_or_listed_as_not_personal() -> None:
    """Each foreign key to person.id is a feature's declared owner or listed with a reason."""
    missing = undeclared_references(SQLModel.metadata, PERSONAL_DATA)
    assert missing == set(), (
        f"declare these in their feature's personal_data (bot/features/) or list them in "
        f"NOT_PERSONAL (bot/services/privacy.py) with a reason: {sorted(missing)}"
    )


def test_the_not_personal_list_is_current_and_gives_reasons() -> None:
    """Every NOT_PERSONAL entry is a real reference, declared nowhere, with a reason."""
    references = {
        (table.name, column.name)
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        for fk in column.foreign_keys
        if fk.target_fullname == "person.id"
    }
    assert set(NOT_PERSONAL) <= references
    assert not set(NOT_PERSONAL) & erased_references(PERSONAL_DATA)
    assert all(reason.strip() for reason in NOT_PERSONAL.values())


def test_a_new_table_naming_a_person_is_caught() -> None:
    """A table with a person column that no feature declares is reported by name."""
    metadata = MetaData()
    Table("person", metadata, Column("id", Integer, primary_key=True))
    Table(
        "diary",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("person_id", Integer, ForeignKey("person.id")),
        Column("text", Text),
    )
    assert undeclared_references(metadata, PERSONAL_DATA) == {("diary", "person_id")}


def test_each_table_is_declared_once_by_one_feature() -> None:
    """No two features (or declarations) claim the same table."""
    owners: dict[str, str] = {}
    for feature in all_features():
        for declared in feature.personal_data:
            assert declared.table_name not in owners, (
                f"{declared.table_name}: {owners.get(declared.table_name)} and {feature.name}"
            )
            owners[declared.table_name] = feature.name
    assert len({d.label for d in PERSONAL_DATA}) == len(PERSONAL_DATA)


def test_rows_pointing_at_erased_rows_are_erased_too() -> None:
    """A row referencing a row erasure deletes (a milestone's goal) is itself erased first."""
    deleted = {d.table_name for d in PERSONAL_DATA if d.erase is Erase.DELETE}
    pointing = {
        table.name
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        for fk in column.foreign_keys
        if fk.column.table.name in deleted
    }
    # The outbox is erase_person's own first step (copies on platforms go with it).
    assert pointing - {"outbox"} <= deleted


def test_a_declaration_naming_a_missing_column_is_refused() -> None:
    """A typo in a declaration fails at import, not silently at erasure."""
    with pytest.raises(ValueError, match="no column"):
        PersonalData("goals", Goal, "student_id")
    with pytest.raises(ValueError, match="no column"):
        PersonalData("milestones", Milestone, "goal_id", through=(Goal, "owner_id"))
    with pytest.raises(ValueError, match="dated_by"):
        PersonalData("goals", Goal, "person_id", free_text=("title",))


def _person(db: Database) -> Person:
    with db.session() as session:
        person = Person(email="p@example.edu", name="Pat Person", role="student", created_at=NOW)
        session.add(person)
        session.flush()
        session.expunge(person)
    return person


def test_export_keeps_its_shape(db: Database) -> None:
    """The self-service export has the same keys as before; the staff one adds mentor notes."""
    person = _person(db)
    with db.session() as session:
        mine = export_person(session, person, tables=PERSONAL_DATA)
        staff = export_person(session, person, tables=PERSONAL_DATA, include_mentor_notes=True)
    assert set(mine) == SELF_EXPORT_KEYS
    assert set(staff) == SELF_EXPORT_KEYS | {"mentor_notes", "session_records"}


def test_erasure_refuses_a_kept_table_it_cannot_deidentify(db: Database) -> None:
    """A table declared KEEP with no de-identification step stops erasure before anything goes."""
    person = _person(db)
    kept = (*PERSONAL_DATA, PersonalData("rsvps kept", Rsvp, "person_id", erase=Erase.KEEP))
    with db.session() as session, pytest.raises(ValueError, match="rsvp"):
        erase_person(session, person, NOW, actor_id=None, via="test", tables=kept)
