"""Storage: migrations match the models, SQLite runs in WAL mode with a busy timeout."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
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


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common default umask (022), which makes new files world-readable (0644)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_wal_files_are_private(tmp_path: Path, loose_umask) -> None:
    """The database file, -wal and -shm are 0600 and a new folder 0700, whatever the umask."""
    path = tmp_path / "data" / "mentorbot.db"
    db = Database(f"sqlite:///{path}")
    try:
        with db.session() as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
            session.execute(text("INSERT INTO t VALUES (1)"))
        files = [path, path.with_name("mentorbot.db-wal"), path.with_name("mentorbot.db-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert _mode(path.parent) == 0o700
    finally:
        db.dispose()


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path, loose_umask) -> None:
    """A database file left readable by others (an older version made it 0644) becomes 0600."""
    path = tmp_path / "mentorbot.db"
    Database(f"sqlite:///{path}").dispose()
    wal = path.with_name("mentorbot.db-wal")
    wal.write_bytes(b"")
    os.chmod(path, 0o644)
    os.chmod(wal, 0o664)
    Database(f"sqlite:///{path}").dispose()
    assert (_mode(path), _mode(wal)) == (0o600, 0o600)
