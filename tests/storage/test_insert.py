"""One insert-or-ignore for SQLite and PostgreSQL: conflicts are skipped, RETURNING says which."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import create_mock_engine, func, select

from storage.db import Database
from storage.insert import insert_ignore, table_of
from storage.tables import Group, PairingRound, ProcessedEvent, SchedulerState

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _event(event_id: str) -> dict[str, object]:
    """A processed-event row."""
    return {"platform": "slack", "event_id": event_id, "at": NOW}


def _count(db: Database, model: type) -> int:
    """How many rows the table holds."""
    with db.session() as session:
        return int(session.execute(select(func.count()).select_from(table_of(model))).scalar_one())


def test_one_row_is_inserted_once_and_returning_says_so(db: Database) -> None:
    """The first insert returns the new id; the same row again returns nothing and adds none."""
    with db.session() as session:
        first = insert_ignore(session, ProcessedEvent, _event("e1"), returning=["id"])
    with db.session() as session:
        again = insert_ignore(session, ProcessedEvent, _event("e1"), returning=["id"])
    assert len(first) == 1 and isinstance(first[0][0], int)
    assert again == []
    assert _count(db, ProcessedEvent) == 1


def test_many_rows_return_only_those_inserted(db: Database) -> None:
    """Of a batch, RETURNING names exactly the rows that were new (the rest were retries)."""
    with db.session() as session:
        insert_ignore(session, ProcessedEvent, [_event("a"), _event("b")])
    with db.session() as session:
        inserted = insert_ignore(
            session,
            ProcessedEvent,
            [_event("a"), _event("c"), _event("b"), _event("d")],
            returning=["event_id"],
        )
    assert sorted(event_id for (event_id,) in inserted) == ["c", "d"]
    assert _count(db, ProcessedEvent) == 4


def test_no_returning_gives_an_empty_result(db: Database) -> None:
    """Without `returning` nothing is read back, inserted or not."""
    with db.session() as session:
        assert insert_ignore(session, ProcessedEvent, _event("x")) == []
        assert insert_ignore(session, ProcessedEvent, [_event("x")]) == []
    assert _count(db, ProcessedEvent) == 1


def test_an_empty_batch_does_nothing(db: Database) -> None:
    """No rows: no statement, an empty result."""
    with db.session() as session:
        assert insert_ignore(session, ProcessedEvent, [], returning=["id"]) == []
    assert _count(db, ProcessedEvent) == 0


def test_a_primary_key_conflict_is_ignored(db: Database) -> None:
    """A row whose primary key exists is skipped, its stored values untouched."""
    later = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    with db.session() as session:
        insert_ignore(session, SchedulerState, {"name": "w", "processed_until": NOW})
        insert_ignore(session, SchedulerState, {"name": "w", "processed_until": later})
    with db.session() as session:
        state = session.get(SchedulerState, "w")
        assert state is not None and state.processed_until == NOW


def test_index_elements_name_the_conflict(db: Database) -> None:
    """With `index_elements`, a row colliding on those columns is skipped; others go in."""
    with db.session() as session:
        group = Group(name="g", created_at=NOW)
        session.add(group)
        session.flush()
        row = {"group_id": group.id, "number": 1, "started_at": NOW, "checkin_at": NOW}
        keys = ["group_id", "number"]
        first = insert_ignore(session, PairingRound, row, index_elements=keys, returning=["id"])
        same = insert_ignore(session, PairingRound, row, index_elements=keys, returning=["id"])
        other = insert_ignore(
            session, PairingRound, {**row, "number": 2}, index_elements=keys, returning=["id"]
        )
    assert first and not same and other
    assert first[0][0] != other[0][0]
    assert _count(db, PairingRound) == 2


def test_a_core_table_works_like_its_model(db: Database) -> None:
    """The mapped class and its Core table are interchangeable."""
    table = table_of(ProcessedEvent)
    with db.session() as session:
        assert insert_ignore(session, table, _event("t"), returning=["id"])
        assert not insert_ignore(session, ProcessedEvent, _event("t"), returning=["id"])


def test_other_databases_are_refused() -> None:
    """A dialect other than SQLite or PostgreSQL is an error, never a silent plain insert."""
    engine = create_mock_engine("mysql://", executor=lambda *a, **k: None)
    session = SimpleNamespace(get_bind=lambda: engine)
    with pytest.raises(NotImplementedError):
        insert_ignore(session, ProcessedEvent, _event("m"))  # type: ignore[arg-type]


def test_table_of_refuses_what_is_no_table() -> None:
    """Anything but a table or a mapped class is a TypeError."""
    with pytest.raises(TypeError):
        table_of(str)
