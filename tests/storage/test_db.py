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


def test_file_turn_admits_one_process_at_a_time_and_gives_up_in_time(tmp_path) -> None:
    """A second holder of the SQLite lock file waits, bounded, and gets in once it is free."""
    from storage.db import FileTurn

    first, second = FileTurn(tmp_path / "db.lock"), FileTurn(tmp_path / "db.lock")
    assert first.acquire()
    assert second.acquire(timeout=0.02) is False  # held elsewhere: gives up, SQLite decides
    first.release()
    assert second.acquire(timeout=0.02) is True
    second.release()


def test_units_of_work_of_two_databases_on_one_file_take_turns(tmp_path) -> None:
    """Two Database objects (as two processes would) never interleave their transactions."""
    import threading

    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'turns.db'}"
    one, two = Database(url), Database(url)
    with one.session() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    order: list[str] = []
    inside = threading.Event()

    def hold() -> None:
        with one.session() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            inside.set()
            threading.Event().wait(0.1)
            order.append("first committed")

    worker = threading.Thread(target=hold)
    worker.start()
    inside.wait(5)
    with two.session() as session:
        order.append("second began")
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 1
    worker.join()
    assert order == ["first committed", "second began"]
    one.dispose()
    two.dispose()
