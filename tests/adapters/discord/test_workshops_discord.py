"""Workshops end to end on Discord: the real discord.py client and messenger against the fake.

Morgan binds his group to the server's #general and creates a session with `/workshop`; the
announcement is a channel message with persistent Going / Not going buttons; Dana and Noor
take the two places, Eli waits and is promoted by DM when Dana drops out and comes back
(behind Eli now); the reminders follow each reader's zone and quiet hours (Noor is in New
York, where a 09:00 London session is at 04:00); the start post goes to the channel, feedback
is collected by DM and Morgan reads the report. The tick (`run_due_work`) and the delivery
loop run twice at every step: nothing is sent twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import select

from adapters.discord.messenger import DiscordMessenger
from bot.delivery import OutboxDelivery
from bot.services.roster import import_roster, parse_roster
from mentorbot_fakes import discord_payloads as p
from mentorbot_fakes.discord_api import DispatchedInteraction, FakeDiscord, InteractionResponse
from storage.tables import CheckinSchedule, Outbox, Rsvp, WorkshopFeedback
from tests.adapters.discord.conftest import DANA, ELI, MORGAN, StartBot, World
from tests.tick import run_due_work

NOOR = "301000000000000004"  # a student in America/New_York
ROSTER = (
    "email,name,role,timezone,mentor_email,backup_mentor_email,groups,slack_user_id,"
    "discord_user_id\n"
    f"morgan@example.edu,Morgan Mentor,mentor,Europe/London,,,Circle,,{MORGAN}\n"
    f"dana@example.edu,Dana Student,student,Europe/London,morgan@example.edu,,Circle,,{DANA}\n"
    f"eli@example.edu,Eli Student,student,Europe/London,morgan@example.edu,,Circle,,{ELI}\n"
    f"noor@example.edu,Noor Student,student,America/New_York,morgan@example.edu,,Circle,,{NOOR}\n"
)
# Tuesday 1 December 2026, 09:00 in London (GMT) = 04:00 in New York, inside Noor's night.
ADD = 'add "Exam stress" 2026-12-01 09:00 Europe/London 60 cap 2 https://meet.example/abc'


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def circle(world: World, fake: FakeDiscord) -> World:
    """Morgan's group Circle (Dana, Eli, Noor) on Discord; the demo check-ins switched off."""
    fake.add_user("noor", NOOR)
    with world.db.session() as session:
        import_roster(session, parse_roster(ROSTER), world.clock.now())
        for schedule in session.exec(select(CheckinSchedule)).all():
            schedule.active = False  # the weekday check-ins would add unrelated DMs
            session.add(schedule)
    return world


def general(fake: FakeDiscord) -> str:
    assert fake.default_guild is not None
    return fake.default_guild.channel_id("general")


def text_of(data: dict[str, Any] | None) -> str:
    """Content, embed titles, descriptions and fields of a message or response."""
    data = data or {}
    parts = [str(data.get("content") or "")]
    for embed in data.get("embeds") or []:
        parts += [str(embed.get("title") or ""), str(embed.get("description") or "")]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields") or []]
    return "\n".join(p for p in parts if p)


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """The buttons of a message, label to custom_id."""
    return {b["label"]: b["custom_id"] for row in message["components"] for b in row["components"]}


async def command(fake: FakeDiscord, words: str, user: str = MORGAN) -> InteractionResponse:
    """`/workshop SUB details:WORDS` in the server; the (ephemeral) answer."""
    name, sub, rest = [*words.split(" ", 2), "", ""][:3]
    guild = fake.default_guild.id  # type: ignore[union-attr]
    details = [{"type": 3, "name": "details", "value": rest}] if rest else []
    inter = await fake.dispatch_slash_command(
        name,
        [{"type": 1, "name": sub, "options": details}],
        user_id=user,
        guild_id=guild,
        command_guild_id=guild,
    )
    return await fake.wait_for_interaction_response(inter)


async def press(
    fake: FakeDiscord, message: dict[str, Any], label: str, user: str
) -> InteractionResponse:
    """Press a button on a message the bot posted (in the channel or a DM)."""
    guild_channel = message["channel_id"] == general(fake)
    inter: DispatchedInteraction = await fake.dispatch_button(
        buttons(message)[label],
        user_id=user,
        channel_id=message["channel_id"],
        guild_id=fake.default_guild.id if guild_channel else None,  # type: ignore[union-attr]
        message_id=message["id"],
    )
    return await fake.wait_for_interaction_response(inter)


def in_channel(fake: FakeDiscord, channel_id: str) -> list[dict[str, Any]]:
    """The bot's own posts in one channel, oldest first (not its answers to interactions)."""
    return [
        m for m in fake.messages_sent if m["channel_id"] == channel_id and not m.get("webhook_id")
    ]


def dms(fake: FakeDiscord, user: str) -> list[dict[str, Any]]:
    """The bot's messages in its DM with a user (pushes and answers), oldest first."""
    channel = fake.dm_channels.get(user)
    return in_channel(fake, channel) if channel else []


async def tick_and_deliver(world: World, delivery: OutboxDelivery, at: datetime) -> None:
    """The minute tick, then the delivery loop, at `at`; both twice."""
    world.clock.set(at)
    for _ in range(2):
        run_due_work(world.db, world.settings, at)
        await delivery.deliver_once()


async def test_workshop_from_creation_to_report(
    fake: FakeDiscord, circle: World, start_bot: StartBot
) -> None:
    """Create, RSVP to capacity, promotion, reminders in two zones, start post, feedback, report."""
    client = await start_bot()
    delivery = circle.delivery(DiscordMessenger(client))
    channel = general(fake)
    bound = await command(fake, f"group bind discord {channel} Circle")
    assert bound.ephemeral and "bound to the discord channel" in text_of(bound.data)
    created = await command(fake, f"workshop {ADD}")
    assert created.ephemeral and "Created workshop:" in text_of(created.data)

    await delivery.deliver_once()
    [announcement] = in_channel(fake, channel)
    text = text_of(announcement)
    assert "Tue 1 Dec, 09:00–10:00 (Europe/London)" in text
    assert "Tue 1 Dec, 04:00–05:00 (America/New_York)" in text
    assert set(buttons(announcement)) == {"Going", "Not going"}
    [post] = fake.calls_matching("POST", rf"^/channels/{channel}/messages$")
    assert post.json["allowed_mentions"] == {"parse": []}  # a channel post pings nobody

    # Two places: Dana and Noor; Eli waits. Dana drops out: Eli is promoted and told by DM.
    for user in (DANA, NOOR):
        answer = await press(fake, announcement, "Going", user)
        assert answer.type == p.CALLBACK_CHANNEL_MESSAGE_WITH_SOURCE and answer.ephemeral
        assert "You're going" in text_of(answer.data)
    assert "waitlist" in text_of((await press(fake, announcement, "Going", ELI)).data)
    await press(fake, announcement, "Not going", DANA)
    await delivery.deliver_once()
    [promotion] = dms(fake, ELI)
    assert "A place opened up" in text_of(promotion)
    # Dana changes her mind: the session is full again, so she waits behind nobody.
    assert "waitlist" in text_of((await press(fake, announcement, "Going", DANA)).data)

    # The day before at 09:00 UTC: Eli at once; Noor's waits until 08:00 in New York.
    await tick_and_deliver(circle, delivery, utc(2026, 11, 30, 9, 0))
    assert "is coming up: Tue 1 Dec, 09:00–10:00 (Europe/London)" in text_of(dms(fake, ELI)[-1])
    assert dms(fake, NOOR) == []
    await tick_and_deliver(circle, delivery, utc(2026, 11, 30, 13, 0))
    [noor_day] = dms(fake, NOOR)
    assert "is coming up: Tue 1 Dec, 04:00–05:00 (America/New_York)" in text_of(noor_day)
    # The hour before: Eli gets it; Noor's would only arrive after the start, so none.
    await tick_and_deliver(circle, delivery, utc(2026, 12, 1, 8, 0))
    assert "starts soon" in text_of(dms(fake, ELI)[-1])
    assert len(dms(fake, NOOR)) == 1

    # The start post in #general with the link; Eli checks in with its button.
    await tick_and_deliver(circle, delivery, utc(2026, 12, 1, 9, 0))
    start = in_channel(fake, channel)[-1]
    assert "is starting now" in text_of(start) and "meet.example/abc" in text_of(start)
    circle.clock.set(utc(2026, 12, 1, 9, 10))
    assert "checked in" in text_of((await press(fake, start, "I'm here", ELI)).data)

    # After the end Eli is asked for feedback by DM, rates it and adds a comment.
    await tick_and_deliver(circle, delivery, utc(2026, 12, 1, 10, 0))
    prompt = dms(fake, ELI)[-1]
    assert "How useful was it" in text_of(prompt)
    rated = await press(fake, prompt, "4 🙂", ELI)
    assert rated.type == p.CALLBACK_UPDATE_MESSAGE
    assert "you rated “Exam stress” 4/5" in text_of(fake.messages[prompt["id"]])
    await fake.dispatch_message_create(None, ELI, "Loved the breathing part")
    await fake.wait_for(lambda: "added that to your feedback" in text_of(dms(fake, ELI)[-1]))
    with circle.db.session() as session:
        feedback = session.exec(select(WorkshopFeedback)).one()
        assert (feedback.rating, feedback.comment) == (4, "Loved the breathing part")

    # Morgan's report.
    report = await command(fake, "workshop report 1")
    assert report.ephemeral
    text = text_of(report.data)
    assert "Going (2 of 2 places taken (1 waiting)): Eli Student, Noor Student" in text
    assert "Waitlist (in order): Dana Student" in text
    assert "Attended (1): Eli Student" in text
    assert "1 response(s). Fewer than 5 people rated it" in text

    # Nothing twice: two channel posts; one of each keyed push.
    assert len(in_channel(fake, channel)) == 2
    with circle.db.session() as session:
        keys = [r.dedupe_key for r in session.exec(select(Outbox)).all()]
    assert len(keys) == len(set(keys))
    expected = ["announce", "promoted", "remind-day", "remind-day", "remind-hour", "start"]
    assert sorted(k.split(":")[2] for k in keys) == sorted([*expected, "feedback", "feedback"])


async def test_missing_access_to_the_channel_is_a_recorded_failure_with_a_notice(
    fake: FakeDiscord, circle: World, start_bot: StartBot
) -> None:
    """A 403 on the channel post fails the row for good and DMs Morgan what to fix."""
    client = await start_bot()
    delivery = circle.delivery(DiscordMessenger(client))
    channel = general(fake)
    await command(fake, f"group bind discord {channel} Circle")
    await command(fake, f"workshop {ADD}")
    fake.fail_next(
        "POST",
        rf"^/channels/{channel}/messages$",
        403,
        {"code": 50001, "message": "Missing Access"},
    )
    await delivery.deliver_once()
    await delivery.deliver_once()
    with circle.db.session() as session:
        rows = {r.kind: r for r in session.exec(select(Outbox)).all()}
    assert rows["workshop"].status == "failed" and "50001" in (rows["workshop"].last_error or "")
    [notice] = dms(fake, MORGAN)
    assert f"the discord channel {channel}" in text_of(notice)
    assert in_channel(fake, channel) == []


async def test_unknown_channel_is_a_failure_too(
    fake: FakeDiscord, circle: World, start_bot: StartBot
) -> None:
    """A channel that no longer exists (404) fails the post the same way."""
    client = await start_bot()
    delivery = circle.delivery(DiscordMessenger(client))
    gone = "399999999999999999"
    fake.unknown_channel(gone)
    await command(fake, f"group bind discord {gone} Circle")
    await command(fake, f"workshop {ADD}")
    await delivery.deliver_once()
    await delivery.deliver_once()
    with circle.db.session() as session:
        row = session.exec(select(Outbox).where(Outbox.kind == "workshop")).one()
    assert row.status == "failed" and "10003" in (row.last_error or "")
    assert "Delivery failed" in text_of(dms(fake, MORGAN)[-1])


async def test_strangers_to_the_group_are_refused_privately(
    fake: FakeDiscord, circle: World, start_bot: StartBot
) -> None:
    """Morgan, the group's mentor, pressing Going in the channel is told why; nothing stored."""
    client = await start_bot()
    delivery = circle.delivery(DiscordMessenger(client))
    channel = general(fake)
    await command(fake, f"group bind discord {channel} Circle")
    await command(fake, f"workshop {ADD}")
    await delivery.deliver_once()
    [announcement] = in_channel(fake, channel)
    refused = await press(fake, announcement, "Going", MORGAN)
    assert refused.ephemeral and "don't need to RSVP" in text_of(refused.data)
    student = await command(fake, f"workshop {ADD}", user=DANA)
    assert "Only this group's mentors" in text_of(student.data)
    with circle.db.session() as session:
        assert session.exec(select(Rsvp)).all() == []
