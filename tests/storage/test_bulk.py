"""Bulk inserts with bind values processed up front store exactly what SQLAlchemy would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from storage import crypto
from storage.bulk import insert_ignoring_conflicts
from storage.db import Database
from storage.migrate import upgrade
from storage.tables import Checkin, Outbox, Person

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PLUS_ONE = timezone(timedelta(hours=1))


def _person(db: Database) -> int:
    """One student to hang check-ins on; returns the id."""
    with db.session() as session:
        return int(
            session.execute(
                insert(Person).returning(Person.id),  # type: ignore[arg-type]
                [dict(email="a@example.edu", name="A", role="student", created_at=NOW)],
            ).scalar_one()
        )


def _checkin_rows(person_id: int) -> list[dict[str, Any]]:
    """Check-in rows sharing datetime objects, with equal instants in different zones."""
    at_plus_one = NOW.astimezone(PLUS_ONE)  # == NOW, but another zone
    return [
        {
            "person_id": person_id,
            "occurrence_key": f"1:2026-11-{day:02d}",
            "opened_at": NOW if day % 2 else at_plus_one,
            "due_at": at_plus_one if day % 2 else NOW,
            "remind_at": None if day % 3 == 0 else NOW + timedelta(hours=day),
            "closes_at": NOW + timedelta(hours=12),
            "note": f"note {day}",
        }
        for day in range(1, 21)
    ]


def _raw_rows(db: Database, table: str) -> list[tuple[Any, ...]]:
    """Every row as the database stores it (sealed text still sealed), by id."""
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]


def _fresh(path: Path) -> Database:
    """A migrated SQLite database at `path`."""
    database = Database(f"sqlite:///{path}")
    upgrade(database.engine)
    return database


def test_sqlite_stores_the_same_values_as_the_plain_statement(tmp_path: Path) -> None:
    """Datetimes, defaults and NULLs stored by the bulk path equal the mapped table's insert."""
    plain, bulk = _fresh(tmp_path / "plain.db"), _fresh(tmp_path / "bulk.db")
    try:
        rows = _checkin_rows(_person(plain))
        assert _person(bulk) == rows[0]["person_id"]
        with plain.session() as session:
            session.execute(insert(Checkin), rows)
        with bulk.session() as session:
            insert_ignoring_conflicts(
                session,
                Checkin.__table__,  # type: ignore[attr-defined]
                rows,
                conflict=["person_id", "occurrence_key"],
                returning=["id"],
            )
        note = [c.name for c in Checkin.__table__.columns].index("note")  # type: ignore[attr-defined]
        expected, got = _raw_rows(plain, "checkin"), _raw_rows(bulk, "checkin")
        assert len(got) == len(rows)
        for want, have in zip(expected, got, strict=True):
            # Sealed text differs per sealing (random IV): compare what it opens to.
            assert have[:note] + have[note + 1 :] == want[:note] + want[note + 1 :]
            assert crypto.unseal(have[note]) == crypto.unseal(want[note])
    finally:
        plain.dispose()
        bulk.dispose()


def test_every_sealed_value_is_sealed_on_its_own(tmp_path: Path) -> None:
    """Equal payloads still get distinct tokens: nothing is memoised for sealed text."""
    db = _fresh(tmp_path / "b.db")
    try:
        rows = [
            {
                "dedupe_key": f"k{i}",
                "platform": "slack",
                "payload": "same text",
                "next_attempt_at": NOW,
                "created_at": NOW,
            }
            for i in range(5)
        ]
        with db.session() as session:
            insert_ignoring_conflicts(
                session,
                Outbox.__table__,  # type: ignore[attr-defined]
                rows,
                conflict=["dedupe_key"],
                returning=["id"],
            )
        with db.engine.connect() as conn:
            tokens = [r[0] for r in conn.execute(text("SELECT payload FROM outbox"))]
        assert len(set(tokens)) == 5
        assert {crypto.unseal(t) for t in tokens} == {"same text"}
        with db.session() as session:
            stored = session.execute(select(Outbox)).scalars().all()
        assert [(o.status, o.attempts, o.urgent, o.kind) for o in stored] == [
            ("pending", 0, False, "message")
        ] * 5
        assert all(o.next_attempt_at == NOW for o in stored)
    finally:
        db.dispose()


def test_conflicting_rows_are_skipped_and_only_new_ones_returned(db: Database) -> None:
    """A repeat inserts nothing; RETURNING names exactly the rows inserted (both backends)."""
    person_id = _person(db)
    rows = _checkin_rows(person_id)
    table = Checkin.__table__  # type: ignore[attr-defined]
    with db.session() as session:
        first = insert_ignoring_conflicts(
            session,
            table,
            rows[:10],
            conflict=["person_id", "occurrence_key"],
            returning=["id", "person_id"],
        )
    with db.session() as session:
        second = insert_ignoring_conflicts(
            session,
            table,
            rows,
            conflict=["person_id", "occurrence_key"],
            returning=["id", "person_id"],
        )
    assert len(first) == 10 and len(second) == 10
    assert {r[1] for r in first + second} == {person_id}
    assert not {r[0] for r in first} & {r[0] for r in second}
    with db.session() as session:
        stored = session.execute(select(Checkin).order_by(Checkin.id)).scalars().all()  # type: ignore[arg-type]
    assert [c.occurrence_key for c in stored] == [r["occurrence_key"] for r in rows]
    assert [c.due_at for c in stored] == [r["due_at"] for r in rows]
    assert [c.note for c in stored] == [r["note"] for r in rows]


def test_no_rows_is_a_no_op(db: Database) -> None:
    """An empty batch inserts nothing and returns nothing."""
    with db.session() as session:
        assert (
            insert_ignoring_conflicts(
                session,
                Outbox.__table__,  # type: ignore[attr-defined]
                [],
                conflict=["dedupe_key"],
                returning=["id"],
            )
            == []
        )


@pytest.mark.parametrize("value", [NOW, NOW.astimezone(PLUS_ONE)])
def test_equal_instants_in_other_zones_read_back_as_the_same_instant(
    db: Database, value: datetime
) -> None:
    """An aware datetime in any zone is stored as its UTC instant, as through the ORM."""
    person_id = _person(db)
    with db.session() as session:
        insert_ignoring_conflicts(
            session,
            Checkin.__table__,  # type: ignore[attr-defined]
            [{"person_id": person_id, "occurrence_key": "x", "opened_at": value}],
            conflict=["person_id", "occurrence_key"],
            returning=["id"],
        )
    with db.session() as session:
        stored = session.execute(select(Checkin)).scalars().one()
    assert stored.opened_at == NOW and stored.opened_at.utcoffset() == timedelta(0)
