"""Fixtures for the Discord adapter: the loopback fake, a programme with Discord users, a bot.

The real discord.py client runs against ``mentorbot_fakes.discord_api.FakeDiscord``; the adapter's
own ``discord_pointed_at`` sends it there (DISCORD_API_URL / DISCORD_GATEWAY_URL in production).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.discord.client import MentorDiscordClient
from adapters.discord.messenger import PLATFORM, DiscordMessenger
from adapters.discord.urls import discord_pointed_at
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.model import Message
from bot.outbox import Push, push_rows
from bot.people import person_by_email
from bot.services.checkins import render_checkin, start_adhoc
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.roster import import_roster, parse_roster
from mentorbot_fakes.discord_api import FakeDiscord
from storage.db import Database
from tests.tick import REGISTRY

MORGAN = "301000000000000001"  # a mentor on Discord
DANA = "301000000000000002"  # Morgan's student
ELI = "301000000000000003"  # another of Morgan's students
STRANGER = "309999999999999999"  # on the server, not on the roster

DISCORD_ROSTER = (
    "email,name,role,timezone,mentor_email,backup_mentor_email,groups,slack_user_id,"
    "discord_user_id\n"
    f"morgan@example.edu,Morgan Mentor,mentor,Europe/London,,,,,{MORGAN}\n"
    f"dana@example.edu,Dana Student,student,Europe/London,morgan@example.edu,,,,{DANA}\n"
    f"eli@example.edu,Eli Student,student,Europe/London,morgan@example.edu,,,,{ELI}\n"
)


class TestClient(MentorDiscordClient):
    """The production client, minus the 5 s identify pause discord.py takes on re-IDENTIFY."""

    __test__ = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ready = asyncio.Event()

    async def on_ready(self) -> None:
        self.ready.set()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


@dataclass
class World:
    """A demo programme plus Morgan, Dana and Eli on Discord, and the core over it."""

    db: Database
    clock: FixedClock
    settings: CoreSettings
    core: MentorBot
    woken: list[int] = field(default_factory=list)

    def delivery(self, messenger: DiscordMessenger) -> OutboxDelivery:
        """An outbox delivery loop with only the Discord Messenger."""
        return OutboxDelivery(
            self.db,
            {PLATFORM: messenger},
            self.clock,
            self.settings,
            ServiceDeliveryEvents(self.settings),
        )

    def queue_message(self, email: str, key: str, text: str) -> None:
        """Queue a plain push (a nudge, say) for a person."""
        with self.db.session() as session:
            person = person_by_email(session, email)
            assert person is not None
            push = Push(dedupe_key=f"{key}:{person.id}", message=Message(text=text), person=person)
            push_rows(session, [push], self.clock.now(), self.settings.default_timezone)

    def queue_checkin(self, email: str) -> int:
        """Open a check-in for a student and queue its prompt, as the scheduler does."""
        with self.db.session() as session:
            person = person_by_email(session, email)
            assert person is not None and person.id is not None
            checkin = start_adhoc(session, person, self.clock.now())
            assert checkin.id is not None
            push = Push(
                dedupe_key=f"checkin:test:{person.id}:{checkin.id}",
                message=render_checkin(checkin, person),
                person=person,
                kind="checkin",
                checkin_id=checkin.id,
            )
            push_rows(session, [push], self.clock.now(), self.settings.default_timezone)
            return checkin.id


@pytest.fixture
def world(demo: Database, clock: FixedClock, core_settings: CoreSettings) -> World:
    """The demo programme with Discord users added through the roster."""
    with demo.session() as session:
        import_roster(session, parse_roster(DISCORD_ROSTER), clock.now())
    world = World(
        demo, clock, core_settings, MentorBot(demo, core_settings, clock, registry=REGISTRY)
    )
    # The core wakes the delivery loop (here: counted) when an event queued pushes.
    world.core.on_queued = lambda: world.woken.append(1)
    return world


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A started loopback Discord with the roster's users, discord.py pointed at it."""
    async with FakeDiscord(heartbeat_interval_ms=1000) as fake:
        for name, user_id in (("morgan", MORGAN), ("dana", DANA), ("eli", ELI)):
            fake.add_user(name, user_id)
        fake.add_user("stranger", STRANGER)
        with discord_pointed_at(fake.api_base, fake.gateway_url):
            yield fake


StartBot = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def start_bot(fake: FakeDiscord, world: World) -> AsyncIterator[StartBot]:
    """Start a bot (a new client instance each call) and wait for on_ready; closed after."""
    started: list[tuple[TestClient, asyncio.Task[None]]] = []

    async def _start(**kwargs: Any) -> TestClient:
        kwargs.setdefault("guild_ids", [int(g.id) for g in fake.guilds])
        kwargs.setdefault("guild_ready_timeout", 0.05)
        client = TestClient(kwargs.pop("core", world.core), **kwargs)
        task = asyncio.create_task(client.start(fake.token))
        started.append((client, task))
        ready = asyncio.create_task(client.ready.wait())
        done, _ = await asyncio.wait({task, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            ready.cancel()
            task.result()
        if ready not in done:
            ready.cancel()
            raise TimeoutError("the bot never reached on_ready")
        return client

    yield _start
    # Close every client before the fake stops, or discord.py keeps reconnecting.
    for client, task in started:
        await client.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
