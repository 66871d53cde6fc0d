"""LISTEN/NOTIFY wake-ups on PostgreSQL: a NOTIFY from any process wakes the listener.

Skipped without MENTORBOT_TEST_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import create_engine

from storage.wakeups import listen, notify

PG_ENV = "MENTORBOT_TEST_DATABASE_URL"


@pytest.fixture
def pg_url() -> str:
    """The PostgreSQL test URL, or skip."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set")
    return url


def test_a_notify_from_another_connection_wakes_the_listener(pg_url: str) -> None:
    """Another engine (another instance) NOTIFYs from a thread: the listener's callback runs."""
    channel = f"mentorbot_test_{os.getpid()}"
    engine = create_engine(pg_url)

    async def scenario() -> int:
        wakes: list[int] = []
        woken = asyncio.Event()
        ready = asyncio.Event()

        def on_wake() -> None:
            wakes.append(1)
            woken.set()

        task = asyncio.create_task(listen(pg_url, on_wake, channel=channel, ready=ready))
        try:
            await asyncio.wait_for(ready.wait(), 10)
            # The LISTEN's own first wake (rows queued while it was not in place).
            await asyncio.wait_for(woken.wait(), 10)
            woken.clear()
            before = len(wakes)
            await asyncio.to_thread(notify, engine, channel)
            await asyncio.wait_for(woken.wait(), 10)
            return len(wakes) - before
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    try:
        assert asyncio.run(scenario()) == 1
    finally:
        engine.dispose()


def test_a_notify_on_another_channel_does_not_wake(pg_url: str) -> None:
    """Only the listener's own channel wakes it (other programmes on the server stay apart)."""
    channel = f"mentorbot_test_{os.getpid()}_a"
    engine = create_engine(pg_url)

    async def scenario() -> int:
        wakes: list[int] = []
        ready = asyncio.Event()
        task = asyncio.create_task(
            listen(pg_url, lambda: wakes.append(1), channel=channel, ready=ready)
        )
        try:
            await asyncio.wait_for(ready.wait(), 10)
            await asyncio.sleep(0.2)
            before = len(wakes)
            await asyncio.to_thread(notify, engine, f"{channel}_other")
            await asyncio.sleep(0.5)
            return len(wakes) - before
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    try:
        assert asyncio.run(scenario()) == 0
    finally:
        engine.dispose()
