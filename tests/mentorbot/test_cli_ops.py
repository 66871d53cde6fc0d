"""`mentorbot db backup` on a live WAL database, restoring from it, and `mentorbot demo seed`."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.demo import seed_demo
from mentorbot.cli import main
from storage.db import Database
from storage.migrate import upgrade
from storage.tables import CheckinSchedule, MoodEntry, Person


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A migrated SQLite database in WAL mode with the demo, as a running bot leaves it."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "data" / "mentorbot.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    for name in ("SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    db = Database(f"sqlite:///{path}")
    upgrade(db.engine)
    with db.session() as session:
        seed_demo(session, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    db.dispose()
    yield path


def mood_count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM mood_entry").fetchone()[0])


def test_backup_of_a_live_wal_database_while_it_is_written(
    live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A consistent 0600 copy with no -wal beside it, holding rows only in the log at start."""
    writer = sqlite3.connect(live, check_same_thread=False)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # the new rows stay in the -wal file
    sam = writer.execute("SELECT id FROM person WHERE email = 'sam@example.edu'").fetchone()[0]

    def add_moods(n: int) -> None:
        for i in range(n):
            writer.execute(
                "INSERT INTO mood_entry (person_id, score, source, recorded_at) "
                "VALUES (?, 3, 'command', ?)",
                (sam, f"2026-11-23 10:{i // 60:02d}:{i % 60:02d}"),
            )
            writer.commit()

    add_moods(50)
    assert Path(str(live) + "-wal").stat().st_size > 0
    # A naive copy of the main file alone does not have the rows still in the log.
    naive = tmp_path / "naive.db"
    naive.write_bytes(live.read_bytes())
    assert mood_count(naive) == 0
    # The bot keeps writing while the backup runs.
    busy = threading.Thread(target=add_moods, args=(200,))
    busy.start()
    target = tmp_path / "backup.db"
    try:
        assert main(["db", "backup", str(target)]) == 0
    finally:
        busy.join()
        writer.close()
    assert "Backed up" in capsys.readouterr().out
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert not Path(str(target) + "-wal").exists()
    assert not (tmp_path / "backup.db.partial").exists()
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert 50 <= mood_count(target) <= 250


def test_restore_is_copying_the_backup_into_place(
    live: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """docs/deploy.md's restore: the backup, put where DATABASE_URL points, is the programme."""
    target = tmp_path / "nightly.db"
    assert main(["db", "backup", str(target)]) == 0
    restored = tmp_path / "restored" / "mentorbot.db"
    restored.parent.mkdir()
    restored.write_bytes(target.read_bytes())
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{restored}")
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["export", "--email", "sam@example.edu"]) == 0
    assert "Sam Student" in capsys.readouterr().out


def test_backup_refuses_to_overwrite_and_explains_postgres(
    live: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """An existing file is kept unless --force; PostgreSQL is pointed at pg_dump."""
    target = tmp_path / "exists.db"
    target.write_text("precious")
    assert main(["db", "backup", str(target)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert target.read_text() == "precious"
    assert main(["db", "backup", "--force", str(target)]) == 0
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:p@127.0.0.1:5432/x")
    assert main(["db", "backup", str(tmp_path / "pg.db")]) == 1
    assert "pg_dump" in capsys.readouterr().err


@pytest.mark.skipif(not os.environ.get("MENTORBOT_TEST_DATABASE_URL"), reason="no PostgreSQL")
def test_pg_dump_and_restore_as_documented(database_url: str, tmp_path: Path) -> None:
    """docs/deploy.md's PostgreSQL backup (pg_dump -Fc) restores into an empty database."""
    import shutil
    import subprocess

    from sqlalchemy import create_engine, text

    if not database_url.startswith("postgresql"):
        pytest.skip("pg_dump is for PostgreSQL")
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("PostgreSQL client tools (pg_dump, pg_restore) are not installed")
    db = Database(database_url)
    with db.session() as session:
        seed_demo(session, datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    db.dispose()
    url = make_url(database_url)
    plain = url.set(drivername="postgresql")
    dump = tmp_path / "mentorbot.dump"
    subprocess.run(
        ["pg_dump", "-Fc", "-f", str(dump), plain.render_as_string(hide_password=False)],
        check=True,
    )
    copy = f"{url.database}_restore"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{copy}"'))
    try:
        target = plain.set(database=copy).render_as_string(hide_password=False)
        subprocess.run(["pg_restore", "--no-owner", "-d", target, str(dump)], check=True)
        restored = Database(url.set(database=copy).render_as_string(hide_password=False))
        with restored.session() as session:
            emails = set(session.exec(select(Person.email)).all())
        restored.dispose()
        assert "sam@example.edu" in emails
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
        admin.dispose()


def test_demo_seed_fills_an_empty_database_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, database_url: str
) -> None:
    """`mentorbot demo seed` enrols the demo into an empty database and refuses a second time."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["demo", "seed"]) == 0
    assert "sam@example.edu" in capsys.readouterr().out
    db = Database(database_url)
    try:
        with db.session() as session:
            assert len(session.exec(select(Person)).all()) == 4
            assert len(session.exec(select(CheckinSchedule)).all()) == 1
            assert session.exec(select(MoodEntry)).all() == []
    finally:
        db.dispose()
    assert main(["demo", "seed"]) == 1
    assert "only seeded into an empty" in capsys.readouterr().err


def test_console_with_platform_tokens_does_not_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, database_url: str
) -> None:
    """Beside a real programme (a token set), the console chats as its people: no demo added."""
    import io
    import sys

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-used")
    monkeypatch.setattr(sys, "stdin", io.StringIO("/mood 3\n"))
    main(["console", "--as", "sam@example.edu"])
    db = Database(database_url)
    try:
        with db.session() as session:
            assert session.exec(select(Person)).all() == []
    finally:
        db.dispose()
