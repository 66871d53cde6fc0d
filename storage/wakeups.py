"""Wake-ups across processes and machines: PostgreSQL LISTEN/NOTIFY on one channel.

An instance that queued outbox rows (a Slack answer that raised an alert for a mentor) but
does not run the delivery loop itself NOTIFYs; the owner, which LISTENs, wakes its loop at
once instead of on its next idle poll. A lost notification costs only that poll (a second):
the rows are in the table either way. SQLite has one process, whose core wakes its own loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine, text

from storage.leases import libpq_url

log = logging.getLogger(__name__)

WAKE_CHANNEL = "mentorbot_outbox"
# After the listening connection fails, try again this often (the idle poll covers the gap).
RECONNECT_SECONDS = 2.0


def notify(engine: Engine, channel: str = WAKE_CHANNEL) -> None:
    """Send a wake-up to every listener of `channel` (safe from any thread)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})
        connection.commit()


async def listen(
    database_url: str,
    on_wake: Callable[[], None],
    *,
    channel: str = WAKE_CHANNEL,
    ready: asyncio.Event | None = None,
) -> None:
    """Call `on_wake` for each notification on `channel`, until cancelled.

    Reconnects after a failure; `ready` is set each time the LISTEN is in place.
    """
    conninfo = libpq_url(database_url)
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(
                conninfo, autocommit=True, application_name="mentorbot-wakeups"
            ) as conn:
                await conn.execute(f'LISTEN "{channel}"')
                if ready is not None:
                    ready.set()
                # Anything queued while the LISTEN was not in place is found by this pass.
                on_wake()
                async for _ in conn.notifies():
                    on_wake()
        except (psycopg.Error, OSError) as exc:
            log.warning("wake-ups: the listening connection failed (%s)", type(exc).__name__)
        if ready is not None:
            ready.clear()
        await asyncio.sleep(RECONNECT_SECONDS)
