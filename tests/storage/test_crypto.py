"""Free text at rest: sealed in every backend, readable after key rotation, never plaintext."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, select

from storage import crypto
from storage.db import Database
from storage.tables import (
    Alert,
    Checkin,
    Goal,
    GoalUpdate,
    Group,
    GroupPrompt,
    MentorNote,
    Milestone,
    MoodEntry,
    Outbox,
    Person,
    StudentMessage,
)
from tests.dbdump import raw_text_values, sqlite_bytes
from tests.tick import PERSONAL_DATA

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
NOTE = "crypto-test-note: I haven't slept properly in a week"


def add_person(db: Database, email: str = "p@example.edu") -> int:
    with db.session() as session:
        person = Person(email=email, name="P", role="student", created_at=NOW)
        session.add(person)
        session.flush()
        assert person.id is not None
        return person.id


# The sealed columns write_every_sealed_column fills (other features' tables have their own).
WRITTEN = {
    ("checkin", "note"),
    ("mood_entry", "note"),
    ("goal_update", "note"),
    ("alert", "excerpt"),
    ("student_message", "text"),
    ("mentor_note", "text"),
    ("goal", "title"),
    ("milestone", "title"),
    ("outbox", "payload"),
}


def write_every_sealed_column(db: Database, secret: str) -> None:
    """One row in each core table with a sealed column, each holding `secret`."""
    pid = add_person(db)
    with db.session() as session:
        session.add(MoodEntry(person_id=pid, score=2, note=secret, recorded_at=NOW))
        session.add(StudentMessage(person_id=pid, text=secret, received_at=NOW))
        session.add(MentorNote(student_id=pid, author_id=pid, text=secret, created_at=NOW))
        session.add(Alert(student_id=pid, kind="help", reason="r", excerpt=secret, created_at=NOW))
        goal = Goal(person_id=pid, title=secret, created_at=NOW, updated_at=NOW)
        session.add(goal)
        session.flush()
        assert goal.id is not None
        session.add(Milestone(goal_id=goal.id, title=secret))
        session.add(GoalUpdate(goal_id=goal.id, progress=10, note=secret, created_at=NOW))
        session.add(
            Outbox(
                dedupe_key="k",
                platform="console",
                payload=secret,
                next_attempt_at=NOW,
                created_at=NOW,
            )
        )
        session.add(
            Checkin(
                person_id=pid, occurrence_key="o", note=secret, status="answered", opened_at=NOW
            )
        )
        group = Group(name="Sealed group", created_at=NOW)
        session.add(group)
        session.flush()
        assert group.id is not None
        session.add(
            GroupPrompt(
                group_id=group.id,
                text=secret,
                days="fri",
                local_time="15:00",
                timezone="UTC",
                created_at=NOW,
            )
        )


def test_every_free_text_column_is_sealed_and_dated() -> None:
    """Every declared free-text column uses SealedText and its table names the column dating it."""
    sealed = set(crypto.sealed_columns(SQLModel.metadata))
    for declared in PERSONAL_DATA:
        table = declared.table.__table__  # type: ignore[attr-defined]
        for column in declared.free_text:
            assert (table.name, column) in sealed, f"{table.name}.{column} is not sealed"
            assert declared.dated_by in table.c, table.name
    assert {("goal", "title"), ("milestone", "title"), ("outbox", "payload")} <= sealed


def test_sealed_values_are_never_stored_as_plaintext(db: Database) -> None:
    """Raw column values (plain SQL) are Fernet tokens; the SQLite file bytes hold no note."""
    write_every_sealed_column(db, NOTE)
    written: set[tuple[str, str]] = set()
    for table, column in crypto.sealed_columns(SQLModel.metadata):
        for value in raw_text_values(db, table, column):
            written.add((table, column))
            assert NOTE not in value and value.startswith("gAAAAA"), f"{table}.{column}"
    assert written >= WRITTEN
    with db.engine.connect() as conn:
        # The same check spelled as a plain query, as an operator with psql/sqlite3 would.
        raw = conn.execute(text("SELECT note FROM mood_entry")).scalar_one()
    assert NOTE not in raw
    assert NOTE.encode() not in sqlite_bytes(db)
    assert b"slept properly" not in sqlite_bytes(db)


def test_the_orm_reads_back_the_plaintext(db: Database) -> None:
    """Services see plain strings: sealing is invisible above storage."""
    write_every_sealed_column(db, NOTE)
    with db.session() as session:
        assert session.exec(select(MoodEntry.note)).one() == NOTE
        assert session.exec(select(Outbox)).one().payload == NOTE
        assert session.exec(select(Goal)).one().title == NOTE


def test_equal_texts_seal_differently() -> None:
    """The same note sealed twice gives different tokens (nothing to compare or count)."""
    assert crypto.seal(NOTE) != crypto.seal(NOTE)
    assert crypto.unseal(crypto.seal(NOTE)) == NOTE


def test_rotation_reseals_everything_so_the_old_key_can_go(db: Database) -> None:
    """Notes sealed with key A still read after rotating to B and removing A."""
    key_a, key_b = crypto.generate_key(), crypto.generate_key()
    crypto.configure([key_a])
    write_every_sealed_column(db, NOTE)
    tokens_before = raw_text_values(db, "mood_entry", "note")

    crypto.configure([key_b, key_a])  # B is primary; A still opens the old values
    with db.session() as session:
        assert session.exec(select(MoodEntry.note)).one() == NOTE
    stored = sum(
        len(raw_text_values(db, t, c)) for t, c in crypto.sealed_columns(SQLModel.metadata)
    )
    rewritten = crypto.rotate_sealed(db.engine, crypto.sealed_columns(SQLModel.metadata))
    assert rewritten == stored >= len(WRITTEN)
    assert raw_text_values(db, "mood_entry", "note") != tokens_before

    crypto.configure([key_b])  # A removed
    with db.session() as session:
        assert session.exec(select(MoodEntry.note)).one() == NOTE
        assert session.exec(select(StudentMessage.text)).one() == NOTE
        assert session.exec(select(Outbox)).one().payload == NOTE
    crypto.configure([key_a])  # and A alone opens nothing any more
    with pytest.raises(crypto.UnreadableSealedValue), db.session() as session:
        session.exec(select(MoodEntry.note)).one()


def test_removing_a_key_before_rotating_fails_loudly(db: Database) -> None:
    """A value no configured key opens raises a clear error, and rotation refuses to guess."""
    write_every_sealed_column(db, NOTE)
    crypto.configure([crypto.generate_key()])
    with pytest.raises(crypto.UnreadableSealedValue, match="keys rotate"), db.session() as s:
        s.exec(select(MoodEntry.note)).one()
    with pytest.raises(crypto.UnreadableSealedValue):
        crypto.rotate_sealed(db.engine, crypto.sealed_columns(SQLModel.metadata))


def test_nothing_is_written_without_a_key(db: Database, monkeypatch) -> None:
    """With no key configured, writing a note raises instead of storing plaintext."""
    pid = add_person(db)
    with monkeypatch.context() as patch:
        patch.setattr(crypto, "_ring", None)
        with pytest.raises(Exception, match="no key is configured"), db.session() as session:
            session.add(MoodEntry(person_id=pid, score=3, note=NOTE, recorded_at=NOW))
    assert raw_text_values(db, "mood_entry", "note") == []


def test_bad_keys_are_refused_without_echoing_them() -> None:
    """A malformed key is reported by position, never by value."""
    secret_looking = "this-is-not-a-fernet-key-but-a-password"
    with pytest.raises(crypto.BadKey) as info:
        crypto.configure([crypto.generate_key(), secret_looking])
    assert "#2" in str(info.value) and secret_looking not in str(info.value)
    with pytest.raises(crypto.BadKey):
        crypto.configure([])


def test_signatures_survive_rotation_and_detect_tampering() -> None:
    """A confirm-button MAC made with the old key verifies while that key is still listed."""
    old, new = crypto.generate_key(), crypto.generate_key()
    crypto.configure([old])
    signature = crypto.sign("mydata.delete:1:100")
    assert len(signature) == 22
    crypto.configure([new, old])
    assert crypto.verify("mydata.delete:1:100", signature)
    assert not crypto.verify("mydata.delete:2:100", signature)
    tampered = signature[:-1] + ("B" if signature[-1] != "B" else "C")
    assert not crypto.verify("mydata.delete:1:100", tampered)
    crypto.configure([new])
    assert not crypto.verify("mydata.delete:1:100", signature)


def test_key_file_is_created_once_with_owner_only_permissions(tmp_path: Path) -> None:
    """The demo key file is made with mode 0600 and reused after that."""
    path = tmp_path / "data" / "secret.key"
    key, created = crypto.load_or_create_key_file(path)
    assert created and stat.S_IMODE(path.stat().st_mode) == 0o600
    crypto.check_keys([key])
    again, created_again = crypto.load_or_create_key_file(path)
    assert again == key and not created_again


def test_a_key_file_readable_by_others_is_tightened(tmp_path: Path) -> None:
    """An existing key file with loose permissions is set back to 0600."""
    path = tmp_path / "secret.key"
    path.write_text(crypto.generate_key() + "\n")
    os.chmod(path, 0o644)
    crypto.load_or_create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_default_key_file_is_outside_the_data_folder(tmp_path: Path, monkeypatch) -> None:
    """$XDG_CONFIG_HOME/mentorbot/secret.key, else ~/.config; a relative XDG value is ignored."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    xdg = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    assert crypto.default_key_file(xdg) == tmp_path / "cfg" / "mentorbot" / "secret.key"
    home = tmp_path / "home" / ".config" / "mentorbot" / "secret.key"
    assert crypto.default_key_file({}) == home
    assert crypto.default_key_file({"XDG_CONFIG_HOME": "relative/cfg"}) == home
    assert "data" not in crypto.default_key_file(xdg).relative_to(tmp_path).parts


def test_choosing_the_key_file_keeps_an_old_one_in_use(tmp_path: Path, monkeypatch) -> None:
    """ENCRYPTION_KEY_FILE wins; a key left in data/ is kept, warned; both: new seals, old opens."""
    monkeypatch.chdir(tmp_path)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    new = tmp_path / "cfg" / "mentorbot" / "secret.key"
    legacy = Path("data") / "secret.key"
    assert crypto.choose_key_file("/etc/mb.key", environ=env) == crypto.KeyFileChoice(
        Path("/etc/mb.key")
    )
    assert crypto.choose_key_file(None, environ=env) == crypto.KeyFileChoice(new)
    crypto.load_or_create_key_file(legacy)
    kept = crypto.choose_key_file(None, environ=env)
    assert kept.path == legacy and kept.warning and str(new) in kept.warning
    crypto.load_or_create_key_file(new)
    both = crypto.choose_key_file(None, environ=env)
    assert (both.path, both.also_open) == (new, (legacy,))
    assert both.warning and "keys rotate" in both.warning


def test_a_new_key_file_gets_a_private_folder(tmp_path: Path) -> None:
    """The key's folder is created 0700, the file 0600."""
    path = tmp_path / "cfg" / "mentorbot" / "secret.key"
    crypto.load_or_create_key_file(path)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
