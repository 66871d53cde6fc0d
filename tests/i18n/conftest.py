"""Fixtures for the i18n shape tests: the pseudo-language everywhere, Slack and Discord harnesses.

The adapters' own conftests define fixtures of the same names (`fake`), so this package
builds its harnesses from their classes instead of importing their fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlmodel import select

from adapters.discord.urls import discord_pointed_at
from adapters.slack import SlackConfig, SlackService
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.roster import import_roster, parse_roster
from mentorbot_fakes.discord_api import FakeDiscord
from mentorbot_fakes.slack_api import FakeSlack
from storage.db import Database
from storage.tables import Group, Person
from tests.adapters.discord.conftest import TestClient
from tests.adapters.slack.conftest import SECRET, Harness
from tests.i18n.platform_drive import DISCORD_IDS, SLACK_IDS
from tests.i18n.shapes import ALEX, AVERY, MAYA, SAM

_DEMO = {
    AVERY: "Avery Admin,admin,Europe/London,,,",
    MAYA: "Maya Mentor,mentor,Europe/London,,,Study skills",
    SAM: "Sam Student,student,Europe/London,maya@example.edu,admin@example.edu,Study skills",
    ALEX: "Alex Student,student,America/New_York,maya@example.edu,admin@example.edu,Study skills",
}
_HEAD = "email,name,role,timezone,mentor_email,backup_mentor_email,groups"
# The demo programme, everyone also on Slack (or on Discord).
SLACK_ROSTER = (
    _HEAD
    + ",slack_user_id\n"
    + "".join(f"{email},{rest},{SLACK_IDS[email]}\n" for email, rest in _DEMO.items())
)
DISCORD_ROSTER = (
    _HEAD
    + ",slack_user_id,discord_user_id\n"
    + "".join(f"{email},{rest},,{DISCORD_IDS[email]}\n" for email, rest in _DEMO.items())
)


def everyone_speaks(db: Database, language: str | None) -> None:
    """Every person and group of the programme reads `language` (None: no choice made)."""
    with db.session() as session:
        for person in session.exec(select(Person)).all():
            person.language = language
            session.add(person)
        for group in session.exec(select(Group)).all():
            group.language = language
            session.add(group)


@pytest.fixture
def platform_locale() -> str:
    """The language every demo person's Slack and Discord client is set to."""
    return "en-GB"


@pytest.fixture
async def slack_harness(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings, platform_locale: str
) -> AsyncIterator[Harness]:
    """The Slack adapter over HTTP against the fake, everyone of the demo on Slack.

    Unpaced and with the fake's rate limits off: a scenario's hundred pushes to one DM must
    not take a hundred seconds.
    """
    with core.db.session() as session:
        import_roster(session, parse_roster(SLACK_ROSTER), clock.now())
    async with FakeSlack(rate_limits=False) as fake:
        for email, user_id in SLACK_IDS.items():
            zone = "America/New_York" if email == ALEX else "Europe/London"
            fake.add_user(
                user_id, email=email, tz=zone, name=email.split("@")[0], locale=platform_locale
            )
        config = SlackConfig(
            bot_token=fake.token,
            signing_secret=SECRET,
            mode="http",
            http_host="127.0.0.1",
            http_port=0,
            api_url=fake.base_url,
        )
        delivery = OutboxDelivery(
            core.db, {}, clock, core_settings, ServiceDeliveryEvents(core_settings)
        )
        core.on_queued = delivery.wake
        service = SlackService(config, core)
        delivery.messengers["slack"] = service.messenger
        await service.start()
        try:
            async with aiohttp.ClientSession() as http:
                yield Harness(fake, service, delivery, http, core.db)
        finally:
            await service.stop()


@pytest.fixture
async def discord_bot(
    core: MentorBot, clock: FixedClock, platform_locale: str
) -> AsyncIterator[tuple[FakeDiscord, TestClient]]:
    """The real discord.py client against the fake, everyone of the demo on Discord."""
    with core.db.session() as session:
        import_roster(session, parse_roster(DISCORD_ROSTER), clock.now())
    async with FakeDiscord(heartbeat_interval_ms=1000) as fake:
        # A scenario's hundred pushes must not wait out Discord's per-route limits.
        fake.limits_enabled(False)
        for email, user_id in DISCORD_IDS.items():
            fake.add_user(email.split("@")[0], user_id, locale=platform_locale)
        with discord_pointed_at(fake.api_base, fake.gateway_url):
            client = TestClient(
                core, guild_ids=[int(g.id) for g in fake.guilds], guild_ready_timeout=0.05
            )
            task = asyncio.create_task(client.start(fake.token))
            ready = asyncio.create_task(client.ready.wait())
            done: Any
            done, _pending = await asyncio.wait(
                {task, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED
            )
            if task in done:
                ready.cancel()
                task.result()
            if ready not in done:
                ready.cancel()
                raise TimeoutError("the bot never reached on_ready")
            try:
                yield fake, client
            finally:
                await client.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, 5)
