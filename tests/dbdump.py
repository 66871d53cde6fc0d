"""Whole-database views for privacy tests: snapshots, every text value, the raw file bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import String, Text, select
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers every table)
from storage.crypto import raw_view
from storage.db import Database


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (sealed values opened), for 'nothing changed' checks."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def row_counts(db: Database) -> dict[str, int]:
    """How many rows each table has."""
    return {name: len(rows) for name, rows in snapshot(db).items()}


def text_values(db: Database) -> list[tuple[str, str, str]]:
    """(table, column, value) of every string value in the database, sealed ones opened."""
    found: list[tuple[str, str, str]] = []
    with db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    if isinstance(value, str):
                        found.append((table.name, column, value))
    return found


def raw_text_values(db: Database, table: str, column: str) -> list[str]:
    """A column's values exactly as stored (tokens for sealed columns), by plain SQL."""
    view = raw_view(table, column)
    with db.engine.connect() as conn:
        return [v for (v,) in conn.execute(select(view.c[column])) if v is not None]


def text_columns() -> list[tuple[str, str]]:
    """(table, column) of every text-typed column."""
    return [
        (table.name, column.name)
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String | Text) or "Sealed" in type(column.type).__name__
    ]


def sqlite_bytes(db: Database) -> bytes:
    """The SQLite database file plus its WAL and journal files, as bytes ('' for PostgreSQL)."""
    url = make_url(db.url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return b""
    base = Path(url.database)
    parts = [base, base.with_name(base.name + "-wal"), base.with_name(base.name + "-journal")]
    return b"".join(p.read_bytes() for p in parts if p.exists())
