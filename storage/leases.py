"""Leases: which one of several instances on one PostgreSQL database owns a singleton job.

A few things must run in exactly one process of a cluster: the Discord gateway (two sessions
on one token both receive every interaction, and the loser can take its single response),
the scheduler's minute tick, and the outbox delivery loop that paces sends under the
platform's budget (all sending is done by the owner: see docs/deploy.md).

On PostgreSQL a lease is a session-level advisory lock (`pg_try_advisory_lock`) held on a
connection of its own. It lives exactly as long as that connection: a process that dies, even
by SIGKILL, closes its socket and the server drops the lock at once; a machine that vanishes
is noticed by the server's TCP keepalives, set short on the lease's session, within about
`KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT` seconds. A standby polls
`pg_try_advisory_lock` every `check_seconds`, so it takes over within that plus the
keepalive time (well under 30 s with the defaults). The holder checks its own connection as
often: a lease it can no longer prove it holds is lost, and the process must stop what the
lease guarded (`LeaseLost`).

On SQLite there is one instance by definition (a file on one machine): the lease is always
granted.

Advisory locks are local to a database, so instances of other programmes on the same server
never contend with these.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

import psycopg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# The lease a cluster elects its owner with: Discord gateway, scheduler tick, delivery.
OWNER_LEASE = "owner"
# How often a standby asks for the lease, and the holder checks it still has it.
DEFAULT_CHECK_SECONDS = 3.0
# The server notices a vanished peer after IDLE + INTERVAL * COUNT seconds of silence.
KEEPALIVE_IDLE = 5
KEEPALIVE_INTERVAL = 2
KEEPALIVE_COUNT = 3
# A lease check that takes longer than this counts as failed (a hung connection).
CHECK_TIMEOUT_SECONDS = 5.0


class LeaseLost(RuntimeError):
    """The lease's connection is gone: another instance may own the work by now."""


def lock_key(name: str) -> int:
    """The advisory lock key of a lease name: a stable signed 64-bit integer."""
    digest = hashlib.sha256(f"mentorbot:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def libpq_url(database_url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as the plain URI libpq accepts."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class Lease(Protocol):
    """Something one instance at a time may hold."""

    name: str

    async def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True when this process holds it now."""
        ...

    async def check(self) -> bool:
        """True while this process still holds the lease (False: lost, or never held)."""
        ...

    async def release(self) -> None:
        """Give the lease up (idempotent)."""
        ...


class GrantedLease:
    """SQLite's lease: one instance per database, so always granted."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.held = False

    async def try_acquire(self) -> bool:
        """Always granted."""
        self.held = True
        return True

    async def check(self) -> bool:
        """Held once acquired."""
        return self.held

    async def release(self) -> None:
        """Nothing to give back."""
        self.held = False


class AdvisoryLease:
    """A PostgreSQL session-level advisory lock on a connection of its own."""

    def __init__(self, database_url: str, name: str) -> None:
        self.name = name
        self.key = lock_key(name)
        self._conninfo = libpq_url(database_url)
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def _connect(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        conn = await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=5,
            application_name=f"mentorbot-lease-{self.name}",
            # The client notices a dead server, and the server a dead client, in seconds.
            keepalives=1,
            keepalives_idle=KEEPALIVE_IDLE,
            keepalives_interval=KEEPALIVE_INTERVAL,
            keepalives_count=KEEPALIVE_COUNT,
        )
        await conn.execute(f"SET tcp_keepalives_idle = {KEEPALIVE_IDLE}")
        await conn.execute(f"SET tcp_keepalives_interval = {KEEPALIVE_INTERVAL}")
        await conn.execute(f"SET tcp_keepalives_count = {KEEPALIVE_COUNT}")
        return conn

    async def try_acquire(self) -> bool:
        """Take the lock if free; a connection failure is "not acquired" (tried again later)."""
        if self._conn is not None and await self.check():
            return True
        try:
            conn = await asyncio.wait_for(self._connect(), CHECK_TIMEOUT_SECONDS)
        except (psycopg.Error, OSError, TimeoutError) as exc:
            log.warning("lease %s: cannot reach the database (%s)", self.name, type(exc).__name__)
            return False
        try:
            cursor = await asyncio.wait_for(
                conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)),
                CHECK_TIMEOUT_SECONDS,
            )
            row = await cursor.fetchone()
        except (psycopg.Error, OSError, TimeoutError) as exc:
            log.warning("lease %s: the lock query failed (%s)", self.name, type(exc).__name__)
            await _close(conn)
            return False
        if row is None or row[0] is not True:
            # Someone else holds it: keep no idle connection open while standing by.
            await _close(conn)
            return False
        self._conn = conn
        return True

    async def check(self) -> bool:
        """True while the lease's connection answers (the lock lives as long as it does)."""
        conn = self._conn
        if conn is None:
            return False
        try:
            await asyncio.wait_for(conn.execute("SELECT 1"), CHECK_TIMEOUT_SECONDS)
        except (psycopg.Error, OSError, TimeoutError):
            self._conn = None
            await _close(conn)
            return False
        return True

    @property
    def backend_pid(self) -> int | None:
        """The server process of the lease's connection while held (for operators, tests)."""
        return self._conn.info.backend_pid if self._conn is not None else None

    async def release(self) -> None:
        """Close the connection, which drops the lock."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await _close(conn)


async def _close(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
    with contextlib.suppress(Exception):
        await conn.close()


class SqliteInstanceLock:
    """One `mentorbot run` per SQLite file: an exclusive flock on a file beside the database.

    SQLite serves one instance on one machine; a second `mentorbot run` on the same file would
    own a second Discord gateway and send every check-in again. The lock goes with the process
    (also on SIGKILL). CLI verbs and Slack HTTP workers do not take it.
    """

    def __init__(self, database_url: str) -> None:
        database = make_url(database_url).database
        self.path = (
            Path(database + ".instance")
            if database and database != ":memory:" and not database.startswith("file:")
            else None
        )
        self._fd: int | None = None

    def acquire(self) -> bool:
        """True when this process is the file's one instance (or there is no file to lock)."""
        if self.path is None or fcntl is None:
            return True
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return True  # not ours to create: SQLite's own errors will say more
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except OSError:
            os.close(fd)
            return True  # a file system without locks: nothing to check with
        self._fd = fd
        return True

    def release(self) -> None:
        """Let another instance start (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def lease_for(database_url: str, name: str = OWNER_LEASE) -> Lease:
    """An advisory lease on PostgreSQL; on SQLite one that is always granted."""
    if make_url(database_url).get_backend_name() == "postgresql":
        return AdvisoryLease(database_url, name)
    return GrantedLease(name)


async def wait_for_lease(
    lease: Lease,
    *,
    check_seconds: float = DEFAULT_CHECK_SECONDS,
    standing_by: Callable[[], None] | None = None,
) -> None:
    """Return once this process holds `lease`, asking every `check_seconds`.

    `standing_by` is called at every attempt (the health check's sign of life).
    """
    announced = False
    while not await lease.try_acquire():
        if not announced:
            log.info("lease %s is held by another instance: standing by", lease.name)
            announced = True
        if standing_by is not None:
            standing_by()
        await asyncio.sleep(check_seconds)
    log.info("lease %s acquired: this instance owns it now", lease.name)


async def keep_lease(lease: Lease, *, check_seconds: float = DEFAULT_CHECK_SECONDS) -> None:
    """Check the held lease every `check_seconds`; raises `LeaseLost` when it is gone.

    Runs until cancelled. A lost lease means another instance may already be doing the work:
    the caller stops doing it at once.
    """
    while True:
        await asyncio.sleep(check_seconds)
        if not await lease.check():
            raise LeaseLost(
                f"lost the {lease.name} lease (its database connection is gone); "
                "stopping so another instance can take over"
            )
