"""Leases on PostgreSQL (one owner, takeover after the holder dies) and on SQLite (granted).

The PostgreSQL tests use the test run's database (advisory locks touch no table) and are
skipped without MENTORBOT_TEST_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from storage.leases import (
    AdvisoryLease,
    GrantedLease,
    LeaseLost,
    SqliteInstanceLock,
    keep_lease,
    lease_for,
    lock_key,
    wait_for_lease,
)

PG_ENV = "MENTORBOT_TEST_DATABASE_URL"


@pytest.fixture
def pg_url() -> str:
    """The PostgreSQL test URL, or skip."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set")
    return url


@pytest.fixture
def lease_name(request: pytest.FixtureRequest) -> str:
    """A lease name of this test alone (runs side by side must not share a lock)."""
    return f"test-{os.getpid()}-{request.node.name}"


HOLDER = """
import asyncio, sys, time
from storage.leases import AdvisoryLease

async def main() -> None:
    lease = AdvisoryLease(sys.argv[1], sys.argv[2])
    assert await lease.try_acquire()
    print("held", flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


@pytest.fixture
def holder(pg_url: str, lease_name: str) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lease (killed at the end whatever happens)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, pg_url, lease_name],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def test_lock_keys_are_stable_and_distinct() -> None:
    """A lease name maps to the same 64-bit key in every process, and names do not collide."""
    assert lock_key("owner") == lock_key("owner")
    assert lock_key("owner") != lock_key("other")
    assert -(2**63) <= lock_key("owner") < 2**63


def test_sqlite_lease_is_always_granted(tmp_path: object) -> None:
    """SQLite is one instance by definition: the lease is granted at once, twice over."""

    async def scenario() -> None:
        first = lease_for("sqlite:///x.db", "owner")
        second = lease_for("sqlite:///x.db", "owner")
        assert isinstance(first, GrantedLease)
        assert await first.try_acquire()
        assert await second.try_acquire()
        assert await first.check()

    asyncio.run(scenario())


def test_only_one_connection_holds_the_lease(pg_url: str, lease_name: str) -> None:
    """Two instances ask for the same lease: exactly one gets it, until it releases it."""

    async def scenario() -> None:
        first, second = AdvisoryLease(pg_url, lease_name), AdvisoryLease(pg_url, lease_name)
        try:
            assert await first.try_acquire()
            assert not await second.try_acquire()
            assert await first.try_acquire()  # asking again while holding it: still held
            assert await first.check()
            assert not await second.check()
            await first.release()
            assert await second.try_acquire()
            assert not await first.try_acquire()
        finally:
            await first.release()
            await second.release()

    asyncio.run(scenario())


def test_standby_takes_over_within_seconds_of_the_holder_being_killed(
    pg_url: str, lease_name: str, holder: subprocess.Popen[str]
) -> None:
    """A holder SIGKILLed: the standby, asking every 0.2 s, owns the lease in well under 30 s."""

    async def scenario() -> float:
        standby = AdvisoryLease(pg_url, lease_name)
        try:
            assert not await standby.try_acquire()
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait()
            killed = time.monotonic()
            await asyncio.wait_for(wait_for_lease(standby, check_seconds=0.2), 30)
            return time.monotonic() - killed
        finally:
            await standby.release()

    assert asyncio.run(scenario()) < 10


def test_holder_whose_connection_dies_learns_it_lost_the_lease(
    pg_url: str, lease_name: str
) -> None:
    """The server drops the holder's session: `keep_lease` raises LeaseLost, another can take it."""
    admin = create_engine(pg_url)

    async def scenario() -> None:
        lease, other = AdvisoryLease(pg_url, lease_name), AdvisoryLease(pg_url, lease_name)
        try:
            assert await lease.try_acquire()
            with admin.begin() as conn:
                terminated = conn.execute(
                    text("SELECT pg_terminate_backend(:pid)"), {"pid": lease.backend_pid}
                ).scalar_one()
            assert terminated
            with pytest.raises(LeaseLost):
                await asyncio.wait_for(keep_lease(lease, check_seconds=0.05), 10)
            assert await other.try_acquire()
        finally:
            await lease.release()
            await other.release()

    try:
        asyncio.run(scenario())
    finally:
        admin.dispose()


def test_unreachable_database_is_not_a_lease() -> None:
    """A server that does not answer: the lease is simply not acquired (asked again later)."""

    async def scenario() -> bool:
        lease = AdvisoryLease("postgresql+psycopg://nobody@127.0.0.1:1/none", "owner")
        return await lease.try_acquire()

    assert asyncio.run(scenario()) is False


def test_one_run_per_sqlite_file(tmp_path: Path) -> None:
    """A second instance on the same SQLite file is refused until the first one releases it."""
    url = f"sqlite:///{tmp_path / 'data' / 'bot.db'}"
    first, second = SqliteInstanceLock(url), SqliteInstanceLock(url)
    assert first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()
    assert SqliteInstanceLock("sqlite://").acquire()  # in memory: nothing to share
