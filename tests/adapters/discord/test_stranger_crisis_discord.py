"""A crisis DM from a Discord user the roster missed, end to end with the real discord.py client.

Discord gives no email, so only the user id tells staff who it is: the card says the programme
staff were told, the on-call channel and the admin's DM get an urgent alert naming the Discord
account, the admin's one-click Acknowledge updates it and tells them a person has seen it, a
second crisis folds into the open alert, and a roster row with their Discord id adopts them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlmodel import select

from adapters.discord.messenger import PLATFORM, DiscordMessenger
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.roster import import_roster, parse_roster
from mentorbot_fakes import discord_payloads as p
from mentorbot_fakes.discord_api import FakeDiscord
from storage.tables import Alert, Outbox, Person
from tests.adapters.discord.conftest import STRANGER, StartBot, World
from tests.tick import REGISTRY

AVERY = "301000000000000042"  # the demo admin, on Discord here
ADMIN_ROSTER = (
    "email,name,role,timezone,discord_user_id\n"
    f"admin@example.edu,Avery Admin,admin,Europe/London,{AVERY}\n"
)
CRISIS_TEXT = "i want to end it all tonight"


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """The buttons on a recorded message, as label -> custom_id."""
    return {b["label"]: b["custom_id"] for row in message["components"] for b in row["components"]}


def dm_to(fake: FakeDiscord, user_id: str) -> list[dict[str, Any]]:
    """Messages the bot sent into its DM with a user, oldest first."""
    channel = fake.dm_channels.get(user_id)
    return [m for m in fake.messages_sent if m["channel_id"] == channel]


async def test_a_crisis_dm_from_someone_not_on_the_roster_reaches_on_call_staff(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """Card says staff were told; admin and on-call paged with the Discord id; ack; fold; link."""
    fake.add_user("avery", AVERY)
    with world.db.session() as session:
        import_roster(session, parse_roster(ADMIN_ROSTER), world.clock.now())
    staff = fake.default_guild.channel_id("mentoring")  # type: ignore[union-attr]
    settings = replace(world.settings, staff_channel=f"discord:{staff}")
    core = MentorBot(world.db, settings, world.clock, registry=REGISTRY)
    client = await start_bot(core=core)
    delivery = OutboxDelivery(
        world.db,
        {PLATFORM: DiscordMessenger(client)},
        world.clock,
        settings,
        ServiceDeliveryEvents(settings),
    )

    await fake.dispatch_message_create(None, STRANGER, CRISIS_TEXT)
    reply = await fake.wait_for_call("POST", rf"^/channels/{fake.dm_channels[STRANGER]}/messages$")
    card = str(reply.json["embeds"])
    assert "let the programme staff know" in card and "not enrolled" in card

    assert (await delivery.deliver_once()).sent == 2  # Avery's DM and the staff channel
    [to_avery] = dm_to(fake, AVERY)
    [staff_post] = fake.calls_matching("POST", rf"^/channels/{staff}/messages$")
    for message in (to_avery, staff_post.response_json):
        shown = str(message["embeds"])
        assert message["content"] == "🚨 **Urgent**"
        assert "CRISIS: needs contact now" in shown and "Not on the roster" in shown
        assert f"Discord user {STRANGER}" in shown and CRISIS_TEXT in shown
        assert "Acknowledge" in buttons(message)

    inter = await fake.dispatch_button(
        buttons(to_avery)["Acknowledge"], user_id=AVERY, message_id=to_avery["id"]
    )
    assert (await fake.wait_for_interaction_response(inter)).type == p.CALLBACK_UPDATE_MESSAGE
    assert "Avery Admin acknowledged this" in str(fake.messages[to_avery["id"]]["embeds"])
    await delivery.deliver_once()
    assert "has seen your message" in str(dm_to(fake, STRANGER)[-1])

    await fake.dispatch_message_create(None, STRANGER, "i really want to kill myself")
    await fake.wait_for_call("POST", rf"^/channels/{fake.dm_channels[STRANGER]}/messages$", count=3)
    with world.db.session() as session:
        [alert] = session.exec(select(Alert)).all()
        assert alert.folded_count == 1
        assert len(session.exec(select(Outbox).where(Outbox.kind == "alert")).all()) == 4

    roster = (
        "email,name,role,timezone,discord_user_id\n"
        f"nia@example.edu,Nia New,student,Europe/London,{STRANGER}\n"
    )
    with world.db.session() as session:
        import_roster(session, parse_roster(roster), world.clock.now())
    with world.db.session() as session:
        nia = session.get(Person, alert.student_id)
        assert nia is not None and (nia.role, nia.email) == ("student", "nia@example.edu")
