"""`mentorbot db backup FILE`: an online, consistent copy of a live SQLite database.

Copying the database file while the bot runs is unsafe: in WAL mode the newest transactions
live in the `-wal` file, and a copy taken mid-write can be torn. SQLite's backup API copies
a consistent snapshot page by page while the bot keeps writing. PostgreSQL has pg_dump for
this (docs/deploy.md).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup can't be made as asked; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    """What was written."""

    path: Path
    bytes: int
    tables: int


def sqlite_path(database_url: str) -> Path:
    """The file of a SQLite DATABASE_URL; BackupError for anything else."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            "DATABASE_URL is not SQLite: back PostgreSQL up with pg_dump "
            "(see docs/deploy.md, 'Back up and restore')."
        )
    if not url.database or url.database == ":memory:":
        raise BackupError("DATABASE_URL names no database file to back up.")
    return Path(url.database)


def backup_sqlite(database_url: str, target: Path, *, overwrite: bool = False) -> BackupResult:
    """Copy the live database to `target` (mode 0600, one self-contained file), checked.

    Written beside the target first and renamed into place, so a failed backup never leaves
    a half-written file under the name an operator would restore from.
    """
    source_path = sqlite_path(database_url)
    if not source_path.exists():
        raise BackupError(f"No database at {source_path}: nothing to back up.")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} already exists; choose another name or pass --force.")
    if not target.parent.is_dir():
        raise BackupError(f"No such folder: {target.parent}")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    # The copy holds everyone's data: readable by its owner only, from the first byte.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        tables = _copy(source_path, partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(path=target, bytes=target.stat().st_size, tables=tables)


def _copy(source_path: Path, target: Path) -> int:
    """The backup itself; returns the number of tables in the checked copy."""
    source = sqlite3.connect(source_path, timeout=30)
    try:
        destination = sqlite3.connect(target)
        try:
            # One step, inside one read transaction: in WAL mode the bot keeps writing
            # meanwhile, and the copy is the snapshot the step began with. (A copy in small
            # steps starts over whenever another connection writes: on a busy bot, forever.)
            source.backup(destination)
            # The copy inherits WAL mode; a backup should be one file with nothing beside it.
            destination.execute("PRAGMA journal_mode=DELETE")
            (check,) = destination.execute("PRAGMA quick_check").fetchone()
            if check != "ok":
                raise BackupError(f"The copy failed SQLite's check ({check}); try again.")
            (tables,) = destination.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()
        finally:
            destination.close()
    finally:
        source.close()
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(target) + suffix).unlink()
    return int(tables)
