"""Meetings end to end on Discord: the real discord.py client against the loopback fake.

Morgan publishes hours with the generated `/meet hours` command, Dana books a slot from the
ephemeral buttons, both get the ICS invite attached to a DM (with its description), the
hour-before reminder arrives, and after the meeting Morgan answers "Did it happen?" and
writes the session record in a modal. SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from icalendar import Calendar
from sqlmodel import select

from adapters.discord.messenger import DiscordMessenger
from mentorbot_fakes import discord_payloads as p
from mentorbot_fakes.discord_api import DispatchedInteraction, FakeDiscord
from storage.tables import Meeting, SessionRecord
from tests.adapters.discord.conftest import DANA, MORGAN, StartBot, World
from tests.tick import run_due_work


async def meet(
    fake: FakeDiscord, sub: str, options: list[dict[str, Any]], user_id: str
) -> DispatchedInteraction:
    """`/meet SUB` with typed options, as Discord sends a guild-synced subcommand."""
    assert fake.default_guild is not None
    guild = fake.default_guild.id
    return await fake.dispatch_slash_command(
        "meet",
        [{"type": 1, "name": sub, "options": options}],
        user_id=user_id,
        guild_id=guild,
        command_guild_id=guild,
    )


def buttons(data: dict[str, Any]) -> dict[str, str]:
    """The buttons of a message or response, as label -> custom_id."""
    return {
        b["label"]: b["custom_id"]
        for row in data.get("components") or []
        for b in row["components"]
    }


def dm_to(fake: FakeDiscord, user_id: str) -> list[dict[str, Any]]:
    channel = fake.dm_channels.get(user_id)
    return [m for m in fake.messages_sent if m["channel_id"] == channel]


async def test_hours_booking_invite_reminder_and_record_on_discord(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """Publish hours, book from buttons, ICS attachments, reminder, "Did it happen?", modal."""
    client = await start_bot()
    assert fake.registration_errors == []
    delivery = world.delivery(DiscordMessenger(client))
    hours = [
        {"type": 3, "name": "days", "value": "mon,wed"},
        {"type": 3, "name": "span", "value": "14:00-16:00"},
        {"type": 4, "name": "minutes", "value": 30},
    ]
    published = await fake.wait_for_interaction_response(await meet(fake, "hours", hours, MORGAN))
    assert "Mon 14:00-16:00, Wed 14:00-16:00 (Europe/London)" in str(published.data)
    http = [{"type": 3, "name": "url", "value": "http://meet.example.edu/morgan"}]
    refused = await fake.wait_for_interaction_response(await meet(fake, "link", http, MORGAN))
    assert "secure https://" in str(refused.data)

    offer = await fake.wait_for_interaction_response(await meet(fake, "book", [], DANA))
    assert offer.ephemeral and offer.data is not None
    slot = next(
        cid for label, cid in buttons(offer.data).items() if "Mon 23 Nov 2026, 14:00" in label
    )
    booked = await fake.wait_for_interaction_response(
        await fake.dispatch_button(slot, user_id=DANA)
    )
    assert "Booked: meeting #1" in str(booked.data)

    # Both invites are attached to DMs, with the alt text as the file's description.
    assert (await delivery.deliver_once()).sent == 2
    with world.db.session() as session:
        uid = session.exec(select(Meeting)).one().uid
    for user in (DANA, MORGAN):
        [attachment] = [a for m in dm_to(fake, user) for a in m.get("attachments") or []]
        assert attachment["filename"] == "meeting.ics" and attachment["description"]
    uploads = [f for call in fake.calls for f in call.files if f.filename == "meeting.ics"]
    assert len(uploads) == 2
    for upload in uploads:
        event = Calendar.from_ical(upload.data).walk("VEVENT")[0]
        assert str(event.get("UID")) == uid

    # The hour-before reminder, once each, then "Did it happen?" to Morgan.
    for at in (datetime(2026, 11, 23, 13, tzinfo=UTC), datetime(2026, 11, 23, 14, 30, tzinfo=UTC)):
        world.clock.set(at)
        for _ in range(2):
            run_due_work(world.db, world.settings, at)
            await delivery.deliver_once()
    assert sum("in an hour" in str(m) for m in dm_to(fake, DANA)) == 1
    [question] = [m for m in dm_to(fake, MORGAN) if "did it happen?" in str(m)]
    held = await fake.dispatch_button(
        buttons(question)["It happened"], user_id=MORGAN, message_id=question["id"]
    )
    response = await fake.wait_for_interaction_response(held)
    assert response.type == p.CALLBACK_UPDATE_MESSAGE
    updated = fake.messages[question["id"]]
    assert "recorded as held" in str(updated)
    opened = await fake.dispatch_button(
        buttons(updated)["Write the session record"], user_id=MORGAN, message_id=question["id"]
    )
    modal = await fake.wait_for_interaction_response(opened)
    assert modal.type == p.CALLBACK_MODAL and modal.data is not None
    assert modal.data["custom_id"] == "mb:form:meeting.record:1"

    # Dana can't open Morgan's record form.
    stray = await fake.dispatch_button(buttons(updated)["Write the session record"], user_id=DANA)
    assert (await fake.wait_for_interaction_response(stray)).type != p.CALLBACK_MODAL

    empty = await fake.dispatch_modal_submit(
        modal.data["custom_id"], {"topics": "", "actions": "", "next": ""}, user_id=MORGAN
    )
    assert "write the topics" in str((await fake.wait_for_interaction_response(empty)).data)
    with world.db.session() as session:
        assert session.exec(select(SessionRecord)).all() == []
    saved = await fake.dispatch_modal_submit(
        modal.data["custom_id"],
        {"topics": "Exam stress", "actions": "Revise chapter 3", "next": "Meet in 2 weeks"},
        user_id=MORGAN,
    )
    assert "Session record saved" in str((await fake.wait_for_interaction_response(saved)).data)
    with world.db.session() as session:
        record = session.exec(select(SessionRecord)).one()
        assert (record.topics, record.actions) == ("Exam stress", "Revise chapter 3")
