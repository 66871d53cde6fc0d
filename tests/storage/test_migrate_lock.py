"""Concurrent starts on one fresh PostgreSQL database: the migration lock lets every one pass.

Runs on a database of its own on the test run's server (created and dropped here), since it
must start from an empty schema. Skipped without MENTORBOT_TEST_DATABASE_URL.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from storage.db import Database
from storage.migrate import current_revision, upgrade

PG_ENV = "MENTORBOT_TEST_DATABASE_URL"
INSTANCES = 3


@pytest.fixture
def fresh_url() -> Iterator[str]:
    """A new, empty database on the test server (dropped afterwards)."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set")
    base = make_url(url)
    name = f"{base.database}_migrate_{os.getpid()}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_three_concurrent_upgrades_of_a_fresh_schema_all_succeed(fresh_url: str) -> None:
    """Three instances migrate one empty database at the same moment: none fails."""
    barrier = threading.Barrier(INSTANCES)
    errors: list[BaseException] = []

    def start() -> None:
        db = Database(fresh_url)
        try:
            barrier.wait(timeout=30)
            upgrade(db.engine)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=start, daemon=True) for _ in range(INSTANCES)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 90
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    # Without the lock the three collide on the same CREATE TABLEs (errors, or waits on
    # each other's uncommitted catalog rows).
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    db = Database(fresh_url)
    try:
        assert current_revision(db.engine) is not None
        assert "outbox" in inspect(db.engine).get_table_names()
    finally:
        db.dispose()
