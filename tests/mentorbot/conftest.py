"""Fixtures for the command-line tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine
from sqlmodel import select

from bot.demo import seed_demo
from storage.db import Database
from tests.scheduling.world import utc


@pytest.fixture
def demo_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[str]:
    """The CLI on the test database with the demo programme, on Monday 2026-11-23."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    db = Database(database_url)
    with db.session() as session:
        seed_demo(session, utc(2026, 11, 23, 9, 0))
    db.dispose()
    with time_machine.travel("2026-11-23 12:00:00+00:00", tick=True):
        yield database_url


def stored(url: str, table: type) -> list:
    """Every row of a table, read in a fresh connection (as the CLI left it)."""
    db = Database(url)
    try:
        with db.session() as session:
            return list(session.exec(select(table)).all())
    finally:
        db.dispose()
