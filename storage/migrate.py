"""Alembic migrations, run programmatically: the bot upgrades its database at start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations and the given database URL."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser treats % as interpolation; URLs may carry percent-encoded passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# The advisory lock instances take around their upgrade (any constant; see storage/leases.py).
MIGRATION_LOCK_KEY = 0x6D656E746F720010


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to `revision` (default: the newest).

    On PostgreSQL the upgrade runs under a transaction-level advisory lock, so instances
    started together upgrade one after the other: the first migrates, the others wait, then
    find the schema current and do nothing. (Without it, two concurrent upgrades of a fresh
    schema both try to create the same tables and one start fails.) The lock goes with the
    transaction, also when the process dies. SQLite's BEGIN IMMEDIATE serialises on its own.
    """
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
