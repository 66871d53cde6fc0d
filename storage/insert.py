"""INSERT .. ON CONFLICT DO NOTHING on both supported databases, written once.

SQLite and PostgreSQL both know `ON CONFLICT DO NOTHING` (and RETURNING), but SQLAlchemy
builds it from each dialect's own `insert()`: the switch between them lives here and nowhere
else. `storage.bulk` builds its fast SQLite path for large batches on top of this one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Row, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

SUPPORTED_DIALECTS = ("sqlite", "postgresql")


def table_of(model: Table | type[Any]) -> Table:
    """The Core table of a SQLModel class (or the table itself)."""
    if isinstance(model, Table):
        return model
    table = getattr(model, "__table__", None)
    if not isinstance(table, Table):
        raise TypeError(f"{model!r} is not a table or a mapped class")
    return table


def insert_ignore(
    session: Session,
    model: Table | type[Any],
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    index_elements: Sequence[str] | None = None,
    returning: Sequence[str] | None = None,
) -> list[Row[Any]]:
    """Insert `values` (one row, or many with the same keys); rows that conflict are skipped.

    `index_elements` names the unique columns the conflict is about (None: any unique
    constraint). `returning` names columns to read back from the rows actually inserted
    (RETURNING, never rowcount: psycopg reports -1 for an INSERT .. RETURNING); without it the
    result is empty. Many rows are executed as one statement compiled once, whatever their
    number (SQLAlchemy batches them into multi-row INSERTs).
    """
    table = table_of(model)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = pg_insert(table)
    elif dialect == "sqlite":
        stmt = sqlite_insert(table)
    else:
        raise NotImplementedError(
            f"insert_ignore supports {' and '.join(SUPPORTED_DIALECTS)}, not {dialect}"
        )
    stmt = stmt.on_conflict_do_nothing(
        index_elements=list(index_elements) if index_elements is not None else None
    )
    if returning:
        stmt = stmt.returning(*(table.c[name] for name in returning))
    if isinstance(values, Mapping):
        result = session.execute(stmt.values(dict(values)))
    else:
        rows = list(values)
        if not rows:
            return []
        result = session.execute(stmt, rows)
    return list(result.all()) if returning else []
