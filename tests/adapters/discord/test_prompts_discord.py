"""Group prompts that listen, end to end on Discord: Answer opens a modal, one summary in thread.

The real discord.py client against the loopback Discord; the prompt and the summary come from
`run_due_work` through the outbox and the real DiscordMessenger. No message-content intent:
answers come through the modal, never by reading the thread.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from adapters.discord.messenger import DiscordMessenger
from bot.delivery import OutboxDelivery
from bot.services.groups import group_named
from bot.services.roster import import_roster, parse_roster
from mentorbot_fakes import discord_payloads as p
from mentorbot_fakes.discord_api import FakeDiscord
from storage.tables import Alert, PromptAnswer
from tests.adapters.discord.conftest import DANA, MORGAN, StartBot, World
from tests.tick import run_due_work

GROUP = "Workshop group"
STUDENTS = {f"30300000000000000{i}": f"w{i}@example.edu" for i in range(1, 6)}
IDS = list(STUDENTS)
POSTED_AT = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
CRISIS_TEXT = "i want to end it all tonight"


@pytest.fixture
def channel(fake: FakeDiscord, world: World) -> str:
    """Five students on Discord in 'Workshop group' (Morgan mentors it), bound to #mentoring."""
    assert fake.default_guild is not None
    channel_id = fake.default_guild.channel_id("mentoring")
    rows = "".join(
        f"{email},Student {email[1]},student,Europe/London,morgan@example.edu,,{GROUP},,{uid}\n"
        for uid, email in STUDENTS.items()
    )
    rows += f"morgan@example.edu,Morgan Mentor,mentor,Europe/London,,,{GROUP},,{MORGAN}\n"
    with world.db.session() as session:
        import_roster(
            session,
            parse_roster(
                "email,name,role,timezone,mentor_email,backup_mentor_email,groups,"
                "slack_user_id,discord_user_id\n" + rows
            ),
            world.clock.now(),
        )
        group = group_named(session, GROUP)
        group.platform, group.channel_id = "discord", channel_id
    for uid, email in STUDENTS.items():
        fake.add_user(email.split("@")[0], uid)
    return channel_id


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """The buttons on a recorded message, as label -> custom_id."""
    return {
        b["label"]: b["custom_id"]
        for row in message.get("components") or []
        for b in row["components"]
    }


def text_of(data: dict[str, Any] | None) -> str:
    data = data or {}
    return str(data.get("content") or "") + " ".join(
        f"{e.get('title') or ''} {e.get('description') or ''} {e.get('fields') or ''}"
        for e in data.get("embeds") or []
    )


async def mentor_says(fake: FakeDiscord, text: str) -> str:
    """Morgan types TEXT in his DM with the bot; returns the bot's answer."""
    dm = fake.dm_channel_id_for(MORGAN)
    before = len(fake.calls_matching("POST", rf"^/channels/{dm}/messages$"))
    await fake.dispatch_message_create(None, MORGAN, text)
    call = await fake.wait_for_call("POST", rf"^/channels/{dm}/messages$", count=before + 1)
    return text_of(dict(call.json))


async def posted(
    fake: FakeDiscord, world: World, channel: str, delivery: OutboxDelivery, options: str = ""
) -> dict[str, Any]:
    """Morgan adds a daily prompt; at 10:30 the tick posts it with a thread on it."""
    said = await mentor_says(
        fake, f"/prompt add {GROUP} * 10:30 UTC {options} Share one win".replace("  ", " ")
    )
    assert "Added prompt" in said
    world.clock.set(POSTED_AT)
    run_due_work(world.db, world.settings, world.clock.now())
    assert (await delivery.deliver_once()).sent == 1
    [post] = [m for m in fake.messages_sent if m["channel_id"] == channel]
    assert post["id"] in fake.threads  # the thread the summary goes to
    return post


async def press(
    fake: FakeDiscord, post: dict[str, Any], label: str, user: str, channel: str
) -> Any:
    assert fake.default_guild is not None
    inter = await fake.dispatch_button(
        buttons(post)[label],
        user_id=user,
        channel_id=channel,
        guild_id=fake.default_guild.id,
        message_id=post["id"],
    )
    return await fake.wait_for_interaction_response(inter)


async def answer(
    fake: FakeDiscord, post: dict[str, Any], user: str, channel: str, text: str
) -> Any:
    """`user` presses Answer, gets the modal, and submits `text`; the bot's response."""
    modal = await press(fake, post, "Answer", user, channel)
    assert modal.type == p.CALLBACK_MODAL and modal.data is not None
    assert modal.data["custom_id"].startswith("mb:form:prompt.answer:")
    assert fake.default_guild is not None
    submitted = await fake.dispatch_modal_submit(
        modal.data["custom_id"],
        {"answer": text},
        user_id=user,
        channel_id=channel,
        guild_id=fake.default_guild.id,
    )
    return await fake.wait_for_interaction_response(submitted)


def close(world: World) -> None:
    world.clock.set(POSTED_AT + timedelta(hours=24, minutes=1))
    run_due_work(world.db, world.settings, world.clock.now())


async def test_answers_a_crisis_answer_and_one_summary_in_the_thread(
    fake: FakeDiscord, world: World, start_bot: StartBot, channel: str
) -> None:
    """Three answer by modal (privately); the crisis one gets the card; one summary in thread."""
    delivery = world.delivery(DiscordMessenger(await start_bot()))
    post = await posted(fake, world, channel, delivery)
    assert list(buttons(post)) == ["Answer"]
    thanks = await answer(fake, post, IDS[0], channel, "Finished my essay plan")
    assert "Thanks, your answer is saved" in text_of(thanks.data)
    assert thanks.data["flags"] & p.MESSAGE_FLAG_EPHEMERAL  # only the student sees it
    # Edit on the private thanks opens the modal holding the answer so far.
    [ephemeral] = [m for m in fake.messages_sent if "Thanks, your answer" in text_of(m)]
    edit = await press(fake, ephemeral, "Edit", IDS[0], channel)
    assert edit.type == p.CALLBACK_MODAL and edit.data is not None
    assert edit.data["components"][0]["components"][0]["value"] == "Finished my essay plan"
    await answer(fake, post, IDS[1], channel, "Went running @everyone")
    crisis = await answer(fake, post, IDS[2], channel, CRISIS_TEXT)
    assert "You don't have to face this alone" in text_of(crisis.data)
    assert crisis.data["flags"] & p.MESSAGE_FLAG_EPHEMERAL
    assert "saved" not in text_of(crisis.data)
    with world.db.session() as session:
        assert session.exec(select(Alert)).one().kind == "crisis"

    close(world)
    run_due_work(world.db, world.settings, world.clock.now())  # a repeated tick adds nothing
    await delivery.deliver_once()
    in_thread = [m for m in fake.messages_sent if m["channel_id"] == post["id"]]
    assert len(in_thread) == 1
    summary = fake.calls_matching("POST", rf"^/channels/{post['id']}/messages$")[0].json
    assert summary["allowed_mentions"]["parse"] == []  # "@everyone" pings nobody
    text = text_of(in_thread[0])
    assert "Student 1: Finished my essay plan" in text and "Student 2: Went running" in text
    assert CRISIS_TEXT not in text and "Student 3" not in text
    # In the channel, for all to see: prompts only (today's and tomorrow's). The rest was
    # ephemeral, for the student who answered.
    for message in fake.messages_sent:
        ephemeral = (message.get("flags") or 0) & p.MESSAGE_FLAG_EPHEMERAL
        if message["channel_id"] == channel and not ephemeral:
            assert "essay" not in text_of(message) and "Share one win" in text_of(message)


async def test_anonymous_with_four_answers_is_withheld_and_morgan_gets_the_count(
    fake: FakeDiscord, world: World, start_bot: StartBot, channel: str
) -> None:
    """Four anonymous answers: nothing in the thread, the count in Morgan's DM."""
    delivery = world.delivery(DiscordMessenger(await start_bot()))
    post = await posted(fake, world, channel, delivery, "anonymous")
    for index, uid in enumerate(IDS[:4]):
        await answer(fake, post, uid, channel, f"quiet win {index}")
    close(world)
    await delivery.deliver_once()
    assert [m for m in fake.messages_sent if m["channel_id"] == post["id"]] == []
    dm = fake.dm_channel_id_for(MORGAN)
    told = text_of([m for m in fake.messages_sent if m["channel_id"] == dm][-1])
    assert "closed with 4 answers" in told and "quiet win" not in told


async def test_a_pulse_question_posts_a_distribution(
    fake: FakeDiscord, world: World, start_bot: StartBot, channel: str
) -> None:
    """Five presses of 1-5 (no modal), answered privately; the thread gets the distribution."""
    delivery = world.delivery(DiscordMessenger(await start_bot()))
    post = await posted(fake, world, channel, delivery, "pulse")
    assert list(buttons(post)) == ["1", "2", "3", "4", "5"]
    for uid, score in zip(IDS, ("2", "3", "3", "4", "5"), strict=True):
        said = await press(fake, post, score, uid, channel)
        assert said.type == p.CALLBACK_CHANNEL_MESSAGE_WITH_SOURCE
        assert f"you chose {score}" in text_of(said.data)
        assert said.data["flags"] & p.MESSAGE_FLAG_EPHEMERAL
    close(world)
    await delivery.deliver_once()
    [summary] = [m for m in fake.messages_sent if m["channel_id"] == post["id"]]
    assert "3  ██  2" in text_of(summary) and "Average 3.4 of 5." in text_of(summary)


async def test_refusals_open_no_form_and_store_nothing(
    fake: FakeDiscord, world: World, start_bot: StartBot, channel: str
) -> None:
    """Someone not in the group, an empty answer, a closed prompt: refused clearly."""
    delivery = world.delivery(DiscordMessenger(await start_bot()))
    post = await posted(fake, world, channel, delivery)
    stranger = await press(fake, post, "Answer", DANA, channel)
    assert stranger.type == p.CALLBACK_CHANNEL_MESSAGE_WITH_SOURCE
    assert "Only the students of Workshop group" in text_of(stranger.data)

    modal = await press(fake, post, "Answer", IDS[0], channel)
    assert modal.data is not None
    [row] = modal.data["components"]
    assert row["components"][0]["max_length"] == 3000
    # Discord's client won't submit 10,000 characters into this modal (the fake holds it so).
    with pytest.raises(ValueError, match="max_length"):
        await fake.dispatch_modal_submit(
            modal.data["custom_id"], {"answer": "x" * 10_000}, user_id=IDS[0]
        )
    empty = await answer(fake, post, IDS[0], channel, "   ")
    assert "empty" in text_of(empty.data)
    world.clock.set(POSTED_AT + timedelta(hours=24))
    late = await press(fake, post, "Answer", IDS[0], channel)
    assert late.type == p.CALLBACK_CHANNEL_MESSAGE_WITH_SOURCE
    assert "closed" in text_of(late.data)
    with world.db.session() as session:
        assert session.exec(select(PromptAnswer)).all() == []
