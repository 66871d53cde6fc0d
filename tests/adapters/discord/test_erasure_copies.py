"""Erasure reaches Discord: the bot deletes or edits its delivered copies, and only its own.

The real discord.py client against the loopback Discord, which refuses, as Discord does, to
let a bot delete what a person wrote in a DM.
"""

from __future__ import annotations

import json

import pytest

from adapters.discord.messenger import DiscordMessenger
from bot.model import PermanentDeliveryError
from bot.people import person_by_email
from bot.services.privacy import REMOVED, erase_person
from mentorbot_fakes.discord_api import FakeDiscord
from tests.adapters.discord.conftest import DANA, StartBot, World
from tests.tick import PERSONAL_DATA


def _erase_dana(world: World) -> dict[str, int]:
    with world.db.session() as session:
        dana = person_by_email(session, "dana@example.edu")
        assert dana is not None
        return erase_person(
            session, dana, world.clock.now(), actor_id=None, via="test", tables=PERSONAL_DATA
        ).copies


async def test_delivered_copies_are_deleted_or_edited_on_discord(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """Dana's check-in is deleted from her DM; Morgan's message naming her is edited."""
    delivery = world.delivery(DiscordMessenger(await start_bot()))
    world.queue_checkin("dana@example.edu")
    world.queue_message("morgan@example.edu", "note", "Dana Student asked to talk on Friday.")
    assert (await delivery.deliver_once()).sent == 2
    by_text = {json.dumps(m): m["id"] for m in fake.messages.values()}
    [checkin_id] = [i for text, i in by_text.items() if "how are you feeling" in text]
    [note_id] = [i for text, i in by_text.items() if "Dana Student" in text]

    assert _erase_dana(world) == {"discord": 2}
    stats = await delivery.deliver_once()

    assert (stats.sent, stats.failed) == (2, 0)
    assert checkin_id not in fake.messages
    edited = json.dumps(fake.messages[note_id])
    assert "Dana Student" not in edited and REMOVED in edited and "Friday" in edited


async def test_the_bot_cannot_delete_what_a_person_wrote(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    """Deleting a person's own DM message is refused (permanent); a vanished one is done."""
    messenger = DiscordMessenger(await start_bot())
    dm = fake.dm_channel_id_for(DANA)
    theirs = fake.add_user_message(dm, DANA, "my own words")
    with pytest.raises(PermanentDeliveryError):
        await messenger.delete_copy(dm, theirs)
    assert theirs in fake.messages
    await messenger.delete_copy(dm, fake.snowflakes.next())  # already gone: no error
