"""The privacy command line: erase, export with notes, purge, key generation and rotation."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.model import Actor, Inbound
from mentorbot.app import App, build_app
from mentorbot.cli import main
from storage import crypto
from storage.tables import AuditLog, MoodEntry, Person
from tests.dbdump import snapshot

SAM = "sam@example.edu"
NOTE = "cli-privacy-note: struggling with the commute"
MENTOR_NOTE = "cli-privacy-mentor-note: lives with grandparents"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[Path]:
    """Run the CLI in an empty folder against the test database, with no platform tokens."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    # A default key file goes here, never into the real home folder.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("ENCRYPTION_KEY_FILE", raising=False)
    for name in ("SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path


def demo_with_notes() -> App:
    """The demo programme, Sam with a mood note and a note by Maya about Sam."""
    app = build_app(seed=True)
    for email, text in (
        (SAM, f"/mood 3 {NOTE}"),
        ("maya@example.edu", f"/note {SAM} {MENTOR_NOTE}"),
    ):
        name, _, rest = text[1:].partition(" ")
        app.core.handle(Inbound(Actor("console", "local", email), "command", name, {}, rest))
    return app


def test_erase_without_yes_explains_and_changes_nothing(env, capsys) -> None:
    """`mentorbot erase --email` without --yes says what would happen and exits 1."""
    app = demo_with_notes()
    before = snapshot(app.db)
    assert main(["erase", "--email", SAM]) == 1
    assert "--yes" in capsys.readouterr().err
    assert snapshot(app.db) == before


def test_erase_with_yes_erases_and_audits(env, capsys) -> None:
    """`mentorbot erase --email --yes` erases the person; the audit log records the CLI."""
    app = demo_with_notes()
    assert main(["erase", "--email", SAM, "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"Erased {SAM}" in out and "moods 1" in out and "mentor notes 1" in out
    with app.db.session() as session:
        assert session.exec(select(Person).where(Person.email == SAM)).first() is None
        assert session.exec(select(MoodEntry)).all() == []
        row = session.exec(select(AuditLog).where(AuditLog.action == "erase")).one()
        assert row.actor_id is None and "via cli" in row.detail
    assert main(["erase", "--email", SAM, "--yes"]) == 1  # already gone
    assert "Nobody with the email" in capsys.readouterr().err


def test_staff_export_includes_mentor_notes(env, capsys) -> None:
    """`mentorbot export --email` is the staff export: it includes notes about the person."""
    demo_with_notes()
    assert main(["export", "--email", SAM]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [n["text"] for n in data["mentor_notes"]] == [MENTOR_NOTE]
    assert NOTE in json.dumps(data["moods"])


def test_privacy_purge_reports_what_it_removed(env, capsys, monkeypatch) -> None:
    """`mentorbot privacy purge` removes text older than RETENTION_DAYS and says how much."""
    app = demo_with_notes()
    assert main(["privacy", "purge"]) == 0
    assert "from 0 row(s) older than 365 days" in capsys.readouterr().out
    with app.db.session() as session:
        for entry in session.exec(select(MoodEntry)).all():
            entry.recorded_at = entry.recorded_at.replace(year=entry.recorded_at.year - 2)
            session.add(entry)
    assert main(["privacy", "purge"]) == 0
    assert "from 1 row(s)" in capsys.readouterr().out
    with app.db.session() as session:
        assert [m.note for m in session.exec(select(MoodEntry)).all()] == [None]


def test_keys_generate_prints_a_new_usable_key(env, capsys) -> None:
    """`mentorbot keys generate` prints a Fernet key, different each time."""
    assert main(["keys", "generate"]) == 0
    first = capsys.readouterr().out.strip()
    assert main(["keys", "generate"]) == 0
    second = capsys.readouterr().out.strip()
    crypto.check_keys([first, second])
    assert first != second


def test_keys_rotate_lets_the_old_key_be_removed(env, capsys, monkeypatch) -> None:
    """After `keys rotate` with the new key first, the old key can go and notes still read."""
    old, new = crypto.generate_key(), crypto.generate_key()
    monkeypatch.setenv("ENCRYPTION_KEYS", old)
    demo_with_notes()
    monkeypatch.setenv("ENCRYPTION_KEYS", f"{new},{old}")
    assert main(["keys", "rotate"]) == 0
    assert "Re-encrypted" in capsys.readouterr().out
    monkeypatch.setenv("ENCRYPTION_KEYS", new)
    assert main(["export", "--email", SAM]) == 0
    assert NOTE in capsys.readouterr().out
    monkeypatch.setenv("ENCRYPTION_KEYS", old)
    assert main(["export", "--email", SAM]) == 1
    captured = capsys.readouterr()
    assert NOTE not in captured.out and "cannot open data already stored" in captured.err


KEY_FILE = Path("config") / "mentorbot" / "secret.key"


def test_a_lost_key_file_stops_the_app_at_start(env: Path, monkeypatch) -> None:
    """If the key file is lost, the app refuses to start instead of failing per message."""
    monkeypatch.delenv("ENCRYPTION_KEYS")
    demo_with_notes()
    (env / KEY_FILE).unlink()
    with pytest.raises(crypto.UnreadableSealedValue, match="cannot open data already stored"):
        build_app(seed=False)


def test_without_keys_the_app_creates_a_private_key_file_once(
    env: Path, monkeypatch, caplog
) -> None:
    """No ENCRYPTION_KEYS: a key file outside the data folder is created (0600), then reused."""
    monkeypatch.delenv("ENCRYPTION_KEYS")
    caplog.set_level(logging.WARNING, logger="mentorbot.app")
    demo_with_notes()
    key_file = env / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not (env / "data" / "secret.key").exists()
    assert any("created a new encryption key" in r.getMessage() for r in caplog.records)
    key = key_file.read_text().strip()
    app = build_app(seed=False)
    assert key_file.read_text().strip() == key
    with app.db.session() as session:
        assert session.exec(select(MoodEntry.note)).one() == NOTE


def test_a_malformed_key_is_a_configuration_problem(env, capsys, monkeypatch) -> None:
    """A bad ENCRYPTION_KEYS stops the CLI with exit code 2 and never prints the value."""
    monkeypatch.setenv("ENCRYPTION_KEYS", "hunter2-is-not-a-key")
    assert main(["privacy", "purge"]) == 2
    err = capsys.readouterr().err
    assert "Configuration problem: ENCRYPTION_KEYS" in err and "not a Fernet key" in err
    assert "hunter2" not in err


def test_a_key_file_left_in_the_data_folder_keeps_working_with_a_warning(
    env: Path, monkeypatch, caplog
) -> None:
    """An older install's data/secret.key is still used (stored notes open) and warned about."""
    monkeypatch.delenv("ENCRYPTION_KEYS")
    old_key, _ = crypto.load_or_create_key_file(env / "data" / "secret.key")
    monkeypatch.setenv("ENCRYPTION_KEYS", old_key)  # what the older version sealed with
    demo_with_notes()
    monkeypatch.delenv("ENCRYPTION_KEYS")
    caplog.set_level(logging.WARNING, logger="mentorbot.app")
    app = build_app(seed=False)
    with app.db.session() as session:
        assert session.exec(select(MoodEntry.note)).one() == NOTE
    assert not (env / KEY_FILE).exists()  # nothing new was made beside the old key
    assert any("inside the data folder" in r.getMessage() for r in caplog.records)


def test_keys_says_where_the_keys_are_and_never_prints_one(env: Path, monkeypatch, capsys) -> None:
    """`mentorbot keys` names the key file and its mode, or counts ENCRYPTION_KEYS."""
    monkeypatch.delenv("ENCRYPTION_KEYS")
    assert main(["keys"]) == 0
    out = capsys.readouterr().out
    assert str(env / KEY_FILE) in out and "created at the next start" in out
    key, _ = crypto.load_or_create_key_file(env / KEY_FILE)
    assert main(["keys", "where"]) == 0
    out = capsys.readouterr().out
    assert "mode 0600" in out and key not in out
    monkeypatch.setenv("ENCRYPTION_KEYS", f"{crypto.generate_key()},{key}")
    assert main(["keys"]) == 0
    out = capsys.readouterr().out
    assert "2 key(s) from ENCRYPTION_KEYS" in out and key not in out
