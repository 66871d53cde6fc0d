"""Engine and session setup: SQLite by default (WAL, busy timeout), PostgreSQL by URL.

A SQLite database is private to the account running the bot: its folder is created 0700 and
the file 0600 before SQLite opens it (SQLite gives the -wal and -shm files the database file's
mode), and an existing file readable by others is tightened.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: SQLite's busy handler decides
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 10_000
PRIVATE_FILE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
FILE_LOCK_POLL_SECONDS = 0.0002


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL mode, a busy timeout and its folder created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            make_private_file(Path(database))
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        event.listen(engine, "connect", _configure_sqlite)
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so a
        # read-then-write transaction takes the write lock up front (no upgrade deadlocks).
        event.listen(engine, "begin", _begin_immediate)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def make_private_file(path: Path) -> None:
    """Create `path` (and its folder) for this user only, or tighten it if others can read it.

    Health data lives in the file; a world-readable default (umask 022 gives 0644) would let
    any account on the machine copy it. Sealed columns are encrypted, but names, emails,
    scores and times are not.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        for candidate in (path, *(path.with_name(path.name + s) for s in SQLITE_SIDE_FILES)):
            try:
                if candidate.stat().st_mode & 0o077:
                    candidate.chmod(PRIVATE_FILE)
            except OSError:
                pass  # not there, or not ours to change: SQLite's own errors will say more
        return
    os.close(fd)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy's "begin" hook below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted or updated content is overwritten with zeros instead of lingering in free
    # pages: erased personal data must not be recoverable from the database file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _begin_immediate(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def scrub_after_commit(session: Session) -> None:
    """Once this unit of work commits, flush SQLite's write-ahead log into the database file.

    The WAL keeps old page images (with what was just erased) until a checkpoint; TRUNCATE
    copies the new pages into the file and empties the log. Best effort: a busy database
    checkpoints on its own later. PostgreSQL needs nothing here (dead rows are vacuumed).
    """
    done = False

    def _checkpoint(committed: Session) -> None:
        nonlocal done
        # SQLAlchemy fires after_commit for a savepoint too (the core runs each handler in
        # one), when nothing is committed yet: wait for the outermost commit.
        if done or committed.in_nested_transaction():
            return
        done = True
        engine = committed.get_bind()
        if not isinstance(engine, Engine) or engine.dialect.name != "sqlite":
            return
        connection = engine.raw_connection()
        try:
            # Outside any transaction (the driver is in autocommit, see _configure_sqlite).
            connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
        finally:
            connection.close()

    event.listen(session, "after_commit", _checkpoint)


def is_postgres(engine: Engine) -> bool:
    """True when the engine talks to PostgreSQL (row locking with SKIP LOCKED is available)."""
    return engine.dialect.name == "postgresql"


class FileTurn:
    """An exclusive flock on a file: one unit of work at a time across processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = os.getpid()

    def acquire(self, timeout: float = SQLITE_BUSY_TIMEOUT_MS / 1000) -> bool:
        """Wait until this process holds the lock; False where it can't be had in time.

        Polled every 0.2 ms, not blocked on: bounded like SQLite's busy timeout (past it,
        SQLite's own locking decides, as without this lock), and a second `Database` on the
        same file in the same thread waits instead of hanging.
        """
        if self._fd is None or self._pid != os.getpid():
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                return False
            self._pid = os.getpid()
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(FILE_LOCK_POLL_SECONDS)
            except OSError:
                return False  # a file system without locks: SQLite's locking decides

    def release(self) -> None:
        """Let the next process in."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def _lock_file_for(url: str) -> FileTurn | None:
    database = make_url(url).database
    if not database or database == ":memory:" or fcntl is None:
        return None
    return FileTurn(Path(database).with_name(Path(database).name + ".lock"))


class Database:
    """The engine plus a session factory; the one object the layers above receive."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self._sessions = sessionmaker(self.engine, class_=Session, expire_on_commit=False)
        # Every SQLite transaction takes the write lock (BEGIN IMMEDIATE), so this process's
        # units of work run one at a time anyway. Queueing them on a lock here, instead of in
        # SQLite's busy handler (which sleeps 1, 2, 5 ... 100 ms between retries), keeps the
        # wait fair and short when many threads write at once (measured: bench/answers.py).
        self._sqlite_turn = threading.RLock() if not is_postgres(self.engine) else None
        # Other processes on the same file (SLACK_HTTP_WORKERS, the CLI while the bot runs)
        # queue on a lock file beside it: a blocked flock wakes the moment it is released,
        # where SQLite's busy handler would sleep 1, 2, 5 ... 100 ms between retries.
        self._file_turn = _lock_file_for(url) if self._sqlite_turn is not None else None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        turn = self._sqlite_turn
        # Bounded by the busy timeout: past it, SQLite's own locking decides, as before.
        held = turn is not None and turn.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        locked = held and self._file_turn is not None and self._file_turn.acquire()
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            if locked:
                assert self._file_turn is not None
                self._file_turn.release()
            if held:
                assert turn is not None
                turn.release()

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL."""
        return is_postgres(self.engine)

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
