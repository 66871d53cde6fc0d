"""Small records a platform keeps across starts and instances (the `platform_state` table).

`CommandSyncGate`: Discord's slash commands are synced only when the command tree changed
since the last sync, and once when several instances start together. The compare-and-set
runs in one transaction; on PostgreSQL it first takes `pg_advisory_xact_lock` on the key,
so a second instance waits for the first one's decision and then sees its hash. (SQLite,
single-instance, serialises writers with BEGIN IMMEDIATE and a process-wide turn.)
"""

from __future__ import annotations

import asyncio
import zlib
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session

from bot.clock import Clock, SystemClock
from storage.db import Database
from storage.tables import PlatformState

DISCORD_COMMANDS = "discord.commands"


def _lock(session: Session, key: str, postgres: bool) -> None:
    if postgres:
        # A stable 32-bit number per key (hashtext differs across PostgreSQL versions).
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(key.encode())})


def claim_change(db: Database, key: str, value: str, now: datetime) -> bool:
    """Store `value` under `key` unless it is already there; True when it changed (claimed)."""
    with db.session() as session:
        _lock(session, key, db.is_postgres)
        state = session.get(PlatformState, key, with_for_update=True)
        if state is not None and state.value == value:
            return False
        if state is None:
            state = PlatformState(key=key, value=value, updated_at=now)
        else:
            state.value, state.updated_at = value, now
        session.add(state)
        return True


def forget_value(db: Database, key: str, value: str) -> None:
    """Drop `key` if it still holds `value` (the work it stood for failed: do it next time)."""
    with db.session() as session:
        _lock(session, key, db.is_postgres)
        state = session.get(PlatformState, key, with_for_update=True)
        if state is not None and state.value == value:
            session.delete(state)


def stored_value(db: Database, key: str) -> str | None:
    """The value kept under `key`, if any."""
    with db.session() as session:
        state = session.get(PlatformState, key)
        return state.value if state is not None else None


class CommandSyncGate:
    """Says whether this start should sync the command tree whose hash it is given."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    async def claim(self, digest: str) -> bool:
        """True (and the hash recorded) when the tree changed since the last sync."""
        return await asyncio.to_thread(
            claim_change, self.db, DISCORD_COMMANDS, digest, self.clock.now()
        )

    async def forget(self, digest: str) -> None:
        """The sync failed: the next start syncs again."""
        await asyncio.to_thread(forget_value, self.db, DISCORD_COMMANDS, digest)
