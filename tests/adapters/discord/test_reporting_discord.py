"""End to end on Discord: the weekly digest with chart files, and `/report`.

The real discord.py client against the loopback Discord; the digest comes from the tick
through the outbox and the real DiscordMessenger, which attaches each chart as a
discord.File whose description is the chart's alt text. MIN_GROUP_SIZE is 2 here.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.discord.messenger import DiscordMessenger
from bot.config import CoreSettings
from mentorbot_fakes.discord_api import FakeDiscord
from tests.adapters.discord.conftest import DANA, MORGAN, StartBot, World
from tests.bot.services.reporting.world import SECRET_NOTE, demo_students_log
from tests.tick import run_due_work


@pytest.fixture
def core_settings(fake: FakeDiscord) -> CoreSettings:
    """The server's general channel is the staff channel; groups of two may be reported."""
    return CoreSettings(
        staff_channel=f"discord:{general(fake)}", min_group_size=2, digest_day="mon"
    )


def general(fake: FakeDiscord) -> str:
    """The fake server's general channel."""
    assert fake.default_guild is not None
    return fake.default_guild.channel_id("general")


def text_of(message: dict[str, Any]) -> str:
    """Content and embed text of a recorded message."""
    parts = [str(message.get("content") or "")]
    for embed in message.get("embeds") or []:
        parts += [str(embed.get("title") or ""), str(embed.get("description") or "")]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields") or []]
    return "\n".join(parts)


async def test_weekly_digest_reaches_the_staff_channel_and_mentors_with_described_charts(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """Staff get the figures and 4 PNG charts with descriptions; Morgan gets his students'."""
    client = await start_bot()
    demo_students_log(world.db, world.clock.now())
    run_due_work(world.db, world.settings, world.clock.now())
    delivery = world.delivery(DiscordMessenger(client))
    await delivery.deliver_once()
    await delivery.deliver_once()

    staff = [m for m in fake.messages_sent if m["channel_id"] == general(fake)]
    assert "Weekly digest: All students" in text_of(staff[0])
    files = [a for m in staff for a in m.get("attachments") or []]
    assert len(files) == 4
    assert all(a["filename"].endswith(".png") for a in files), files
    assert all(a["description"] for a in files)  # alt text for screen readers
    morgan = fake.dm_channels.get(MORGAN)
    mine = [m for m in fake.messages_sent if m["channel_id"] == morgan]
    assert mine and "Weekly digest: Your students" in text_of(mine[0])
    assert not any(SECRET_NOTE in text_of(m) for m in fake.messages_sent)


async def test_report_command_answers_a_mentor_and_refuses_a_student(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """Morgan's /report shows his students with charts; Dana is told it is for staff."""
    await start_bot()
    demo_students_log(world.db, world.clock.now())
    guild = fake.default_guild.id  # type: ignore[union-attr]
    inter = await fake.dispatch_slash_command(
        "report", [], user_id=MORGAN, guild_id=guild, command_guild_id=guild
    )
    answer = await fake.wait_for_interaction_response(inter)
    assert answer.ephemeral
    for _ in range(100):
        followups = [m for m in fake.messages_sent if m.get("webhook_id")]
        if len([a for m in followups for a in m.get("attachments") or []]) >= 4:
            break
        await asyncio.sleep(0.05)
    everything = text_of(answer.data or {}) + " ".join(text_of(m) for m in followups)
    # Morgan's two students: too few for the default minimum, enough for this test's 2.
    assert "Programme report: Your students" in everything
    assert all(a["description"] for m in followups for a in m.get("attachments") or [])

    inter = await fake.dispatch_slash_command(
        "report", [], user_id=DANA, guild_id=guild, command_guild_id=guild
    )
    refusal = await fake.wait_for_interaction_response(inter)
    assert refusal.ephemeral and "only for mentors" in text_of(refusal.data or {})
