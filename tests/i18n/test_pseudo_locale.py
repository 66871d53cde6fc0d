"""No English left behind (issue 19 item 5): every message shape in the pseudo-language.

Everyone reads `en_XA` (bot.i18n.PSEUDO_LANGUAGE), where every translated message is
accented and bracketed (`⟦Ŀöĝĝéð⟧`): any word of plain Latin letters left in what a
person reads, once data (names, groups, resources, crisis lines, what the test typed),
URLs, e-mail addresses, /commands, numbers, emoji and punctuation are taken out, is text
that skipped the catalog. A failure lists every such line under the message it came from.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.discord.messenger import DiscordMessenger
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.i18n import PSEUDO_LANGUAGE
from bot.services.delivery_events import ServiceDeliveryEvents
from mentorbot_fakes.discord_api import FakeDiscord
from storage.db import Database
from tests.adapters.discord.conftest import TestClient
from tests.adapters.slack.conftest import Harness
from tests.i18n.conftest import everyone_speaks
from tests.i18n.console_drive import ConsoleRun
from tests.i18n.platform_drive import DiscordRun, SlackRun
from tests.i18n.shapes import data_strings, find_leftovers, report


@pytest.fixture
def core_settings() -> CoreSettings:
    """The programme's DEFAULT_LANGUAGE is the pseudo-language too."""
    return replace(CoreSettings(), default_language=PSEUDO_LANGUAGE)


@pytest.fixture
def platform_locale() -> str:
    """Their chat apps too: what an adapter says before the core knows who it is."""
    return "en-XA"


@pytest.fixture
def demo(demo: Database) -> Database:
    """The demo programme, everyone (and every group) reading the pseudo-language."""
    everyone_speaks(demo, PSEUDO_LANGUAGE)
    return demo


async def test_console_leaves_no_english(
    core: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """The whole scenario on the console: every reply, push, button and form prompt."""
    run = ConsoleRun(core, clock, core_settings)
    seen = await run.everything()
    found = find_leftovers(seen, data_strings(core.db, core_settings))
    if found:
        pytest.fail(report(found), pytrace=False)


async def test_slack_leaves_no_english(
    core: MentorBot,
    clock: FixedClock,
    core_settings: CoreSettings,
    slack_harness: Harness,
) -> None:
    """The scenario on Slack: answers, pushes, buttons, modals, App Home, uploads."""
    everyone_speaks(core.db, PSEUDO_LANGUAGE)
    seen = await SlackRun(slack_harness, core.db, clock, core_settings).everything()
    found = find_leftovers(seen, data_strings(core.db, core_settings))
    if found:
        pytest.fail(report(found), pytrace=False)


async def test_discord_leaves_no_english(
    core: MentorBot,
    clock: FixedClock,
    core_settings: CoreSettings,
    discord_bot: tuple[FakeDiscord, TestClient],
) -> None:
    """The scenario on Discord: slash commands, DMs, embeds, buttons, modals, command help."""
    everyone_speaks(core.db, PSEUDO_LANGUAGE)
    fake, client = discord_bot
    run = DiscordRun(fake, core.db, clock, core_settings)
    run.delivery = OutboxDelivery(
        core.db,
        {"discord": DiscordMessenger(client)},
        clock,
        core_settings,
        ServiceDeliveryEvents(core_settings),
    )
    run.registered()
    seen = await run.everything()
    found = find_leftovers(seen, data_strings(core.db, core_settings))
    if found:
        pytest.fail(report(found), pytrace=False)
