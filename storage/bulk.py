"""Bulk INSERT .. ON CONFLICT DO NOTHING .. RETURNING, with the bind values processed up front.

An occurrence for 10,000 students writes 20,000 rows (check-ins and their outbox prompts)
with ~70,000 datetime values. Executed on the mapped table, SQLAlchemy runs every value
through its column type's bind processor (SQLModel's UTC conversion, then SQLite's datetime
formatting), a Python call per value, although the datetimes of one occurrence are a handful
of objects, and builds a parameter dict per row for its multi-row INSERTs. On SQLite
`insert_ignoring_conflicts` applies the same processors itself, once per datetime object
(processors that are a pure function of the value: datetimes, dates, booleans), and executes
the same multi-row INSERT statement as SQLAlchemy would (`ON CONFLICT (...) DO NOTHING
RETURNING ...`, 200 rows a statement) on the session's connection with the values as
positional parameters, so the stored values are exactly what SQLAlchemy would have stored.
Sealed text is never memoised: every value is sealed on its own, with its own random IV.

PostgreSQL keeps the plain statement on the mapped table (its driver takes datetimes natively).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from enum import Enum, StrEnum
from typing import Any

from sqlalchemy import Boolean as SABoolean
from sqlalchemy import Date, DateTime, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from storage.insert import insert_ignore

# Rows per multi-row INSERT on SQLite (SQLAlchemy's own batches are 1,000). Python's sqlite3
# keeps every prepared statement in a per-connection cache, and a 1,000-row x 15-column
# INSERT compiles to a large program: after a 10,000-student occurrence the connection held
# 7.7 MB. At 200 rows it holds 4.3 MB, at the same CPU (bench/memory.py, bench/open_checkins).
SQLITE_ROWS_PER_STATEMENT = 200

# Types whose bind processing depends on the value alone: safe to do once per distinct value.
_DETERMINISTIC = (DateTime, Date, SABoolean)


def _scalar_defaults(table: Table, names: Sequence[str]) -> dict[str, Any]:
    """The Python-side defaults SQLAlchemy would fill in for columns the rows leave out."""
    defaults: dict[str, Any] = {}
    for column in table.columns:
        if column.name in names or column.default is None:
            continue
        if not column.default.is_scalar:
            raise ValueError(f"{table.name}.{column.name}: only scalar defaults are supported")
        # sqlite3 binds an exact `str` directly but looks for adapters on a str subclass,
        # raising and clearing two AttributeErrors: a StrEnum bound as itself cost ~6 µs a
        # value, as much as the rest of its row (100,000 executemany rows, measured).
        defaults[column.name] = _plain(column.default.arg)  # type: ignore[attr-defined]
    return defaults


def _plain(value: Any) -> Any:
    """An enum member (a status, a kind) as the plain value it stands for."""
    return value._value_ if isinstance(value, Enum) else value


def _is_deterministic(type_: TypeEngine[Any]) -> bool:
    return isinstance(type_, _DETERMINISTIC) or isinstance(
        getattr(type_, "impl_instance", None), _DETERMINISTIC
    )


def _processors(
    table: Table, names: Sequence[str], dialect: Dialect
) -> list[Callable[[Any], Any] | None]:
    """Per column, the function SQLAlchemy would apply to a bound value (None: none at all)."""
    found: list[Callable[[Any], Any] | None] = []
    for name in names:
        type_ = table.c[name].type
        process: Callable[[Any], Any] | None = type_.dialect_impl(dialect).bind_processor(dialect)
        if process is not None and _is_deterministic(type_):
            process = _memoised(process)
        found.append(process)
    return found


def _memoised(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`process`, computed once per value object.

    Keyed by identity, not equality: equal datetimes can differ in zone or fold (09:00 UTC
    == 10:00+01:00), and a processor may tell them apart. The rows of one occurrence share a
    few datetime objects; each is kept here so its id cannot be reused while cached.
    """
    seen: dict[int, tuple[Any, Any]] = {}

    def cached(value: Any) -> Any:
        hit = seen.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        result = process(value)
        seen[id(value)] = (value, result)
        return result

    return cached


def insert_ignoring_conflicts(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    returning: Sequence[str],
) -> list[Sequence[Any]]:
    """Insert `rows` (all with the same keys); rows hitting the unique `conflict` are skipped.

    Returns the `returning` columns of the rows actually inserted. On SQLite the bind values
    are processed here (see the module docstring); the result is the same as executing the
    statement on `table`, which is what PostgreSQL does.
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return list(
            insert_ignore(session, table, rows, index_elements=conflict, returning=returning)
        )
    if dialect.name != "sqlite":
        raise NotImplementedError(f"bulk inserts support SQLite and PostgreSQL, not {dialect.name}")
    given = list(rows[0])
    defaults = _scalar_defaults(table, given)
    names = given + list(defaults)
    processors = _processors(table, names, dialect)
    for index, name in enumerate(given):
        # Columns the callers fill with StrEnum members get plain strings (see
        # `_scalar_defaults`); `str` is a C call, and returns a plain str as it is.
        if processors[index] is None and isinstance(rows[0][name], StrEnum):
            processors[index] = str
    active = [(index, process) for index, process in enumerate(processors) if process is not None]
    fill = list(defaults.values())
    prepared: list[list[Any]] = []
    for row in rows:
        values = [row[name] for name in given]
        values += fill
        for index, process in active:
            value = values[index]
            if value is not None:  # SQLAlchemy's processors all pass None through
                values[index] = process(value)
        prepared.append(values)
    quote = dialect.identifier_preparer.quote
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) VALUES "
    tail = (
        f" ON CONFLICT ({', '.join(quote(n) for n in conflict)}) DO NOTHING"
        f" RETURNING {', '.join(quote(n) for n in returning)}"
    )
    one_row = f"({', '.join('?' * len(names))})"
    # Read back through the column types, as SQLAlchemy would (the ids need nothing).
    readers = [
        table.c[name].type.dialect_impl(dialect).result_processor(dialect, None)
        for name in returning
    ]
    connection = session.connection()
    found: list[Sequence[Any]] = []
    for start in range(0, len(prepared), SQLITE_ROWS_PER_STATEMENT):
        page = prepared[start : start + SQLITE_ROWS_PER_STATEMENT]
        sql = head + ", ".join([one_row] * len(page)) + tail
        params = tuple(value for values in page for value in values)
        stored = connection.exec_driver_sql(sql, params).all()
        if any(readers):
            found.extend(
                tuple(
                    value if read is None else read(value)
                    for read, value in zip(readers, inserted, strict=True)
                )
                for inserted in stored
            )
        else:
            found.extend(stored)
    return found
