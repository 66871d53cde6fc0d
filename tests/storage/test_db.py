"""Storage: migrations match the models, SQLite runs in WAL mode with a busy timeout."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

import storage.tables  # noqa: F401
from storage.db import Database
from storage.migrate import current_revision, upgrade


def test_migrations_produce_exactly_the_models(db: Database) -> None:
    """After `upgrade`, Alembic finds no difference between the database and the models."""
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    assert current_revision(db.engine) is not None


def test_upgrade_is_idempotent(db: Database) -> None:
    """Upgrading an up-to-date database changes nothing (the bot upgrades at every start)."""
    before = current_revision(db.engine)
    upgrade(db.engine)
    assert current_revision(db.engine) == before


def test_sqlite_uses_wal_and_busy_timeout(tmp_path) -> None:
    """SQLite connections are in WAL mode with a busy timeout so readers never block writers."""
    database = Database(f"sqlite:///{tmp_path}/x/y.db")
    with database.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
    database.dispose()


def test_session_rolls_back_on_error(db: Database) -> None:
    """A failing unit of work leaves nothing behind."""
    from datetime import UTC, datetime

    from storage.tables import Person

    try:
        with db.session() as session:
            session.add(
                Person(
                    email="x@example.edu", name="X", role="student", created_at=datetime.now(UTC)
                )
            )
            session.flush()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with db.session() as session:
        assert session.get(Person, 1) is None
