"""Several instances: CLUSTER=true needs PostgreSQL, and a standby wakes the owner by NOTIFY."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.pacing import Pacer, SharedPacer
from mentorbot.app import build_app
from mentorbot.cli import main
from mentorbot.settings import ClusterSettings, Settings, cluster_problem
from storage.leases import SqliteInstanceLock
from storage.wakeups import listen


def test_cluster_on_sqlite_refuses_to_start_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """CLUSTER=true with a SQLite DATABASE_URL: exit 1, a clear message, no database made."""
    database = tmp_path / "bot.db"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("CLUSTER", "true")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-used")
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "CLUSTER=true" in err
    assert "PostgreSQL" in err
    assert "Traceback" not in err
    assert not database.exists()


def test_cluster_problem_only_for_sqlite() -> None:
    """PostgreSQL with CLUSTER=true, or SQLite alone, are fine; SQLite with CLUSTER is not."""
    on = ClusterSettings(CLUSTER=True)
    off = ClusterSettings(CLUSTER=False)
    assert cluster_problem(on, "postgresql+psycopg://u@h/db") is None
    assert cluster_problem(off, "sqlite:///data/mentorbot.db") is None
    assert cluster_problem(on, "sqlite:///data/mentorbot.db") is not None


def test_shared_budget_on_sqlite_refuses_to_start_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """PACING_BUDGET=postgres with a SQLite DATABASE_URL: exit 1 and a clear message."""
    database = tmp_path / "bot.db"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("PACING_BUDGET", "postgres")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-used")
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "PACING_BUDGET=postgres" in err
    assert "Traceback" not in err
    assert not database.exists()
    assert cluster_problem(ClusterSettings(PACING_BUDGET="postgres"), "postgresql://h/db") is None


def test_the_app_paces_through_the_shared_budget_when_asked(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL with PACING_BUDGET=postgres delivery gets the shared pacer (else local)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the shared budget is PostgreSQL's")
    monkeypatch.setenv("DATABASE_URL", database_url)
    owner = build_app(Settings(env_file=None))
    monkeypatch.setenv("PACING_BUDGET", "postgres")
    shared = build_app(Settings(env_file=None))
    try:
        assert type(owner.delivery.pacer) is Pacer
        assert isinstance(shared.delivery.pacer, SharedPacer)
        assert shared.shares_budget and not owner.shares_budget
    finally:
        owner.db.dispose()
        shared.db.dispose()


def test_a_standby_wakes_the_owner_by_notify(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL an app that does not deliver wakes whoever listens (the owner)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite wakes its own loop")
    url = database_url
    monkeypatch.setenv("DATABASE_URL", url)
    app = build_app(Settings(env_file=None))

    async def scenario() -> bool:
        woken = asyncio.Event()
        ready = asyncio.Event()
        task = asyncio.create_task(listen(url, woken.set, ready=ready))
        try:
            await asyncio.wait_for(ready.wait(), 10)
            await asyncio.sleep(0.1)
            woken.clear()
            assert not app.delivering
            await asyncio.to_thread(app.wake_delivery)
            await asyncio.wait_for(woken.wait(), 10)
            return True
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    try:
        assert asyncio.run(scenario())
    finally:
        app.db.dispose()


def test_second_run_on_one_sqlite_file_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another `mentorbot run` holds the SQLite file: exit 1 and say why, no traceback."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    other = SqliteInstanceLock(url)
    assert other.acquire()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-used")
    try:
        assert main(["run"]) == 1
    finally:
        other.release()
    err = capsys.readouterr().err
    assert "already uses this SQLite database" in err
    assert "Traceback" not in err
