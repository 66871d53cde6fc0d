"""The alert lifecycle on Discord: buttons, the resolve modal, folded copies edited.

Issue 13, part 5: the real discord.py client against the loopback fake; SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from adapters.discord.messenger import PLATFORM, DiscordMessenger
from bot.delivery import OutboxDelivery
from bot.services.delivery_events import ServiceDeliveryEvents
from mentorbot_fakes import discord_payloads as p
from mentorbot_fakes.discord_api import FakeDiscord
from storage.tables import Alert, Outbox
from tests.adapters.discord.conftest import DANA, ELI, MORGAN, StartBot, World

CRISIS_TEXT = "i want to end it all tonight"


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """The buttons on a recorded message, as label -> custom_id."""
    return {
        b["label"]: b["custom_id"]
        for row in message.get("components") or []
        for b in row["components"]
    }


def dm_to(fake: FakeDiscord, user_id: str) -> list[dict[str, Any]]:
    channel = fake.dm_channels.get(user_id)
    return [m for m in fake.messages_sent if m["channel_id"] == channel]


def alert_of(world: World) -> Alert:
    with world.db.session() as session:
        alert = session.exec(select(Alert)).one()
        session.expunge(alert)
        return alert


async def crisis_delivered(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> tuple[OutboxDelivery, dict[str, Any]]:
    """The bot running, Dana's crisis DM, one delivery: Morgan's alert message (live)."""
    client = await start_bot()
    delivery = OutboxDelivery(
        world.db,
        {PLATFORM: DiscordMessenger(client)},
        world.clock,
        world.settings,
        ServiceDeliveryEvents(world.settings),
    )
    await fake.dispatch_message_create(None, DANA, CRISIS_TEXT)
    await fake.wait_for_call("POST", rf"^/channels/{fake.dm_channels[DANA]}/messages$")
    assert (await delivery.deliver_once()).sent == 1
    [to_morgan] = dm_to(fake, MORGAN)
    return delivery, fake.messages[to_morgan["id"]]


async def test_buttons_and_the_resolve_modal(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """Acknowledge edits the DM; Resolve opens a modal; its submit resolves and edits the DM."""
    delivery, to_morgan = await crisis_delivered(fake, world, start_bot)
    assert {"Acknowledge", "I'll follow up", "Resolve"} <= set(buttons(to_morgan))

    inter = await fake.dispatch_button(
        buttons(to_morgan)["Acknowledge"], user_id=MORGAN, message_id=to_morgan["id"]
    )
    assert (await fake.wait_for_interaction_response(inter)).type == p.CALLBACK_UPDATE_MESSAGE
    assert "Morgan Mentor acknowledged this" in str(fake.messages[to_morgan["id"]]["embeds"])
    assert set(buttons(fake.messages[to_morgan["id"]])) == {"I'll follow up", "Resolve"}
    await delivery.deliver_once()
    assert any("has seen your message" in str(m) for m in dm_to(fake, DANA))

    # Someone else's alert: Eli (a student) pressing Resolve gets no form and no change.
    stray = await fake.dispatch_button(
        buttons(fake.messages[to_morgan["id"]])["Resolve"], user_id=ELI
    )
    refusal = await fake.wait_for_interaction_response(stray)
    assert refusal.type == p.CALLBACK_CHANNEL_MESSAGE_WITH_SOURCE
    assert alert_of(world).status == "acknowledged"

    inter = await fake.dispatch_button(
        buttons(fake.messages[to_morgan["id"]])["Resolve"],
        user_id=MORGAN,
        message_id=to_morgan["id"],
    )
    modal = await fake.wait_for_interaction_response(inter)
    assert modal.type == p.CALLBACK_MODAL and modal.data is not None
    alert = alert_of(world)
    assert modal.data["custom_id"] == f"mb:form:alert.resolve:{alert.id}"

    # An outcome without a note is refused clearly; nothing changes.
    bad = await fake.dispatch_modal_submit(
        modal.data["custom_id"], {"outcome": "spoke", "note": ""}, user_id=MORGAN
    )
    answer = await fake.wait_for_interaction_response(bad)
    assert "add a short note" in str(answer.data)
    assert alert_of(world).status == "acknowledged"

    good = await fake.dispatch_modal_submit(
        modal.data["custom_id"],
        {"outcome": "emergency", "note": "Called 999 with Dana's consent"},
        user_id=MORGAN,
    )
    await fake.wait_for_interaction_response(good)
    await fake.wait_for(lambda: "resolved this" in str(fake.messages[to_morgan["id"]]["embeds"]))
    alert = alert_of(world)
    assert (alert.status, alert.outcome) == ("resolved", "emergency")
    assert alert.resolution_note == "Called 999 with Dana's consent"
    assert buttons(fake.messages[to_morgan["id"]]) == {}


async def test_folded_crisis_messages_edit_the_delivered_alert(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """Two more crisis DMs: still one alert; Morgan's message is edited to say "2 more"."""
    delivery, to_morgan = await crisis_delivered(fake, world, start_bot)
    for index in (2, 3):
        await fake.dispatch_message_create(None, DANA, f"{CRISIS_TEXT} {index}")
        await fake.wait_for(lambda i=index: len(dm_to(fake, DANA)) >= i)
    stats = await delivery.deliver_once()
    assert stats.sent == 2 and stats.failed == 0
    assert len(dm_to(fake, MORGAN)) == 1  # edited, not posted again
    assert "2 more messages since" in str(fake.messages[to_morgan["id"]]["embeds"])
    with world.db.session() as session:
        assert len(session.exec(select(Alert)).all()) == 1
        edits = session.exec(select(Outbox).where(Outbox.kind == "alert_update")).all()
        assert {e.status for e in edits} == {"sent"}
