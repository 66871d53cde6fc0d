"""The reply around a crisis on Discord (issue 12): the card with helplines and nothing after it.

Every surface a student can type on: `/mood`, `/help`, the add-goal modal, a check-in note typed
in the DM, and a plain DM, through the real discord.py client and the loopback fake.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlmodel import select

from adapters.discord.messenger import DiscordMessenger
from mentorbot_fakes.discord_api import DispatchedInteraction, FakeDiscord
from storage.tables import Alert, Checkin
from tests.adapters.discord.conftest import DANA, StartBot, World

CRISIS = "honestly i just want it all to end, i want to die"
CARD = "You don't have to face this alone"
CHEERFUL = ("👋", "See you next time", "Got it", "Logged your mood", "/resources", "New goal")


def _guild(fake: FakeDiscord) -> str:
    assert fake.default_guild is not None
    return fake.default_guild.id


def _assert_card_only(bodies: list[Any]) -> None:
    """One message, the crisis card with a helpline, and nothing cheerful anywhere."""
    assert len(bodies) == 1, bodies
    text = json.dumps(bodies[0], ensure_ascii=False)
    assert CARD in text and "Samaritans" in text
    for marker in CHEERFUL:
        assert marker not in text, marker


async def _answers(fake: FakeDiscord, interaction: DispatchedInteraction) -> list[Any]:
    """The initial response and every follow-up the bot sent for an interaction."""
    first = await fake.wait_for_interaction_response(interaction)
    followup = rf"^/webhooks/\d+/{interaction.token}$"
    if first.type in (5, 6):
        # Deferred: the answer is a follow-up, which a loaded machine may take a while to send.
        await fake.wait_for_call("POST", followup, timeout=15)
    await asyncio.sleep(0.2)  # room for a wrongly sent follow-up to show up
    followups = fake.calls_matching("POST", followup)
    return [first.data, *(call.json for call in followups)]


async def _slash(fake: FakeDiscord, name: str, options: Any) -> DispatchedInteraction:
    guild = _guild(fake)
    return await fake.dispatch_slash_command(
        name, options, user_id=DANA, guild_id=guild, command_guild_id=guild
    )


async def test_mood_in_crisis_answers_with_the_card_only(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """/mood score:1 note:TEXT in crisis: the card, no "Logged your mood"; an urgent alert."""
    await start_bot()
    _assert_card_only(
        await _answers(fake, await _slash(fake, "mood", {"score": 1, "note": CRISIS}))
    )
    with world.db.session() as session:
        alert = session.exec(select(Alert).where(Alert.kind == "crisis")).one()
        assert alert.excerpt == CRISIS  # the note, without the score


async def test_help_in_crisis_answers_with_the_card_only(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """/help message:TEXT in crisis: the card, never a pointer to `/resources crisis`; one alert."""
    await start_bot()
    _assert_card_only(await _answers(fake, await _slash(fake, "help", {"message": CRISIS})))
    with world.db.session() as session:
        [alert] = session.exec(select(Alert)).all()  # the help request joined the crisis alert
        assert alert.kind == "crisis" and "help_request" in alert.reason


async def test_goal_modal_in_crisis_answers_with_the_card_only(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """The add-goal modal with a crisis title: the card, not "New goal"."""
    await start_bot()
    submit = await fake.dispatch_modal_submit(
        "mb:form:goal.add", {"title": CRISIS, "due": ""}, user_id=DANA, guild_id=_guild(fake)
    )
    _assert_card_only(await _answers(fake, submit))


async def test_checkin_note_in_crisis_answers_with_the_card_only(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """A check-in note typed in the DM in crisis: the card, no "See you next time 👋"."""
    client = await start_bot()
    checkin_id = world.queue_checkin("dana@example.edu")
    await world.delivery(DiscordMessenger(client)).deliver_once()
    prompt = fake.messages_sent[-1]
    two = next(
        b["custom_id"]
        for row in prompt["components"]
        for b in row["components"]
        if b["label"].endswith(" 2")
    )
    await fake.wait_for_interaction_response(
        await fake.dispatch_button(two, user_id=DANA, message_id=prompt["id"])
    )
    dm = fake.dm_channels[DANA]
    await fake.dispatch_message_create(None, DANA, CRISIS)
    await fake.wait_for_call("POST", rf"^/channels/{dm}/messages$", count=2)
    await asyncio.sleep(0.2)
    answers = fake.calls_matching("POST", rf"^/channels/{dm}/messages$")[1:]
    _assert_card_only([call.json for call in answers])
    with world.db.session() as session:
        checkin = session.get(Checkin, checkin_id)
        assert checkin is not None and checkin.note == CRISIS


async def test_plain_dm_in_crisis_answers_with_the_card_only(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """A plain DM in crisis: the card and nothing else."""
    await start_bot()
    await fake.dispatch_message_create(None, DANA, CRISIS)
    await fake.wait_for(lambda: DANA in fake.dm_channels)
    dm = fake.dm_channels[DANA]
    await fake.wait_for_call("POST", rf"^/channels/{dm}/messages$")
    await asyncio.sleep(0.2)
    _assert_card_only([c.json for c in fake.calls_matching("POST", rf"^/channels/{dm}/messages$")])
