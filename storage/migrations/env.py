"""Alembic environment: uses the connection handed in by storage.migrate, or the URL."""

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, create_engine
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers every table on the metadata)
from storage.crypto import SealedText

config = context.config
target_metadata = SQLModel.metadata


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Sealed columns are plain TEXT in the database (encryption happens in the app), so a
    # generated migration says sa.Text() and never imports application code.
    if type_ == "type" and isinstance(obj, SealedText):
        return "sa.Text()"
    return False


def _migrate(connection: Connection) -> None:
    # Batch mode lets SQLite alter tables by copying them, as it has no ALTER COLUMN.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _migrate(conn)


run_migrations()
