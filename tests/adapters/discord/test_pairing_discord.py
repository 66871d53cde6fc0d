"""End to end on Discord: peer pairing in private threads, the check-back, and group prompts.

The real discord.py client against the loopback Discord; the mentor types commands in a DM
(the core reads `/pairing ...` typed as text), rounds and prompts come from `run_due_work`
and go out through the outbox and the real DiscordMessenger.
"""

from __future__ import annotations

import itertools
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
from storage.tables import Identity, Outbox, PairingMember
from tests.adapters.discord.conftest import MORGAN, StartBot, World
from tests.tick import run_due_work

GROUP = "Peer group"
PEERS = {f"30200000000000000{i}": f"peer{i}@example.edu" for i in range(1, 8)}


@pytest.fixture
def channel(fake: FakeDiscord, world: World) -> str:
    """Seven students on Discord in 'Peer group' (Morgan mentors it), bound to #mentoring."""
    assert fake.default_guild is not None
    channel_id = fake.default_guild.channel_id("mentoring")
    rows = "".join(
        f"{email},Peer {uid[-1]},student,Europe/London,morgan@example.edu,,{GROUP},,{uid}\n"
        for uid, email in PEERS.items()
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
        # The workshop engineer's `/group bind discord ID GROUP` does this.
        group = group_named(session, GROUP)
        group.platform, group.channel_id = "discord", channel_id
    for uid in PEERS:
        fake.add_user(f"peer{uid[-1]}", uid)
    return channel_id


async def mentor_says(fake: FakeDiscord, text: str) -> dict[str, Any]:
    """Morgan types TEXT in his DM with the bot; returns the bot's answer."""
    dm = fake.dm_channel_id_for(MORGAN)
    before = len(fake.calls_matching("POST", rf"^/channels/{dm}/messages$"))
    await fake.dispatch_message_create(None, MORGAN, text)
    call = await fake.wait_for_call("POST", rf"^/channels/{dm}/messages$", count=before + 1)
    return dict(call.json)


def answer_text(body: dict[str, Any]) -> str:
    return str(body.get("content") or "") + " ".join(
        str(e.get("description") or "") for e in body.get("embeds") or []
    )


def threads(fake: FakeDiscord, parent: str) -> list[dict[str, Any]]:
    """The private threads the bot opened under `parent`, in order."""
    return [
        t
        for t in fake.threads.values()
        if t["parent_id"] == parent and t["type"] == p.CHANNEL_PRIVATE_THREAD
    ]


def pairs(groups: list[frozenset[str]]) -> set[frozenset[str]]:
    return {frozenset(x) for g in groups for x in itertools.combinations(sorted(g), 2)}


def delivery(world: World, client: Any) -> OutboxDelivery:
    return world.delivery(DiscordMessenger(client))


async def test_pairing_rounds_open_private_threads_and_never_repeat_a_pair(
    fake: FakeDiscord, world: World, start_bot: StartBot, channel: str
) -> None:
    """Seven students: two pairs and a trio, each added to its own private thread; no repeats."""
    client = await start_bot()
    assert "every 2 weeks" in answer_text(
        await mentor_says(fake, f"/pairing on {GROUP} every 2 weeks")
    )

    run_due_work(world.db, world.settings, world.clock.now())
    run_due_work(world.db, world.settings, world.clock.now())  # a repeated tick opens nothing
    stats = await delivery(world, client).deliver_once()
    assert (stats.sent, stats.failed) == (3, 0)
    first = threads(fake, channel)
    assert len(first) == 3 and all(not t["thread_metadata"]["invitable"] for t in first)
    groups = [frozenset(t["member_ids"]) - {fake.bot_user_id} for t in first]
    assert sorted(len(g) for g in groups) == [2, 2, 3]
    assert frozenset().union(*groups) == set(PEERS)  # everyone once; Morgan isn't paired
    for thread in first:
        [intro] = [m for m in fake.messages_sent if m["channel_id"] == thread["id"]]
        assert "conversation starter" in str(intro["embeds"])
        assert thread["name"].startswith(f"{GROUP}: ")
    assert (await delivery(world, client).deliver_once()).sent == 0  # nothing twice

    world.clock.advance(days=14)
    run_due_work(world.db, world.settings, world.clock.now())
    await delivery(world, client).deliver_once()
    second = [frozenset(t["member_ids"]) - {fake.bot_user_id} for t in threads(fake, channel)[3:]]
    assert sorted(len(g) for g in second) == [2, 2, 3]
    assert not pairs(second) & pairs(groups)


async def test_halfway_check_back_and_a_yes_press_are_recorded(
    fake: FakeDiscord, world: World, start_bot: StartBot, channel: str
) -> None:
    """A week in, each member gets "Did you meet?" by DM; pressing Yes edits it and records it."""
    client = await start_bot()
    answer = await mentor_says(fake, f"/pairing run {GROUP}")
    assert "Round 1" in str(answer["embeds"])
    await delivery(world, client).deliver_once()
    world.clock.advance(days=7)
    run_due_work(world.db, world.settings, world.clock.now())
    run_due_work(world.db, world.settings, world.clock.now())
    await delivery(world, client).deliver_once()
    with world.db.session() as session:
        sent = session.exec(select(Outbox.status).where(Outbox.kind == "pairing_checkin")).all()
    assert sent == ["sent"] * 7

    student = "302000000000000004"
    dm = fake.dm_channels[student]
    [question] = [
        m for m in fake.messages_sent if m["channel_id"] == dm and "Did you meet?" in str(m)
    ]
    buttons = {b["label"]: b["custom_id"] for r in question["components"] for b in r["components"]}
    assert set(buttons) == {"Yes, we met", "Not yet"}
    inter = await fake.dispatch_button(
        buttons["Yes, we met"], user_id=student, message_id=question["id"]
    )
    response = await fake.wait_for_interaction_response(inter)
    assert response.type == p.CALLBACK_UPDATE_MESSAGE
    assert "You met!" in str(fake.messages[question["id"]]["embeds"])
    with world.db.session() as session:
        person_id = session.exec(
            select(Identity.person_id).where(Identity.user_id == student)
        ).one()
        member = session.exec(
            select(PairingMember).where(PairingMember.person_id == person_id)
        ).one()
        assert member.met is True
    assert "1 met" in answer_text(await mentor_says(fake, f"/pairing report {GROUP}"))


async def test_a_group_prompt_is_posted_once_with_a_reply_thread(
    fake: FakeDiscord, world: World, start_bot: StartBot, channel: str
) -> None:
    """A prompt fires once per occurrence, in the group's channel, with a thread opened on it."""
    client = await start_bot()
    answer = await mentor_says(fake, f"/prompt add {GROUP} mon 10:30 Share one win from this week")
    assert "Added prompt" in answer_text(answer)
    world.clock.set(datetime(2026, 11, 23, 10, 30, tzinfo=UTC))
    for _ in range(2):
        run_due_work(world.db, world.settings, world.clock.now())
        await delivery(world, client).deliver_once()
    [post] = fake.calls_matching("POST", rf"^/channels/{channel}/messages$")
    assert "Share one win from this week" in str(post.json["embeds"])
    assert post.json["allowed_mentions"]["parse"] == []  # the channel is never pinged
    [opened] = fake.calls_matching("POST", rf"^/channels/{channel}/messages/\d+/threads$")
    message_id = post.response_json["id"]
    assert opened.path.endswith(f"/messages/{message_id}/threads")
    assert fake.threads[message_id]["name"] == "Share one win from this week"
    with world.db.session() as session:
        [row] = session.exec(select(Outbox).where(Outbox.kind == "prompt")).all()
    assert (row.platform_channel_id, row.platform_message_id) == (channel, message_id)

    world.clock.advance(timedelta(days=7))
    run_due_work(world.db, world.settings, world.clock.now())
    await delivery(world, client).deliver_once()
    assert len(fake.calls_matching("POST", rf"^/channels/{channel}/messages$")) == 2


async def test_a_thread_the_bot_may_not_open_leaves_the_post_standing(
    fake: FakeDiscord, world: World, start_bot: StartBot, channel: str
) -> None:
    """Without thread permission the prompt is still posted once and counts as sent."""
    client = await start_bot()
    await mentor_says(fake, f"/prompt add {GROUP} mon 10:30 Share one win")
    fake.fail_next(
        "POST", r"/messages/\d+/threads$", 403, {"message": "Missing Permissions", "code": 50013}
    )
    world.clock.set(datetime(2026, 11, 23, 10, 30, tzinfo=UTC))
    run_due_work(world.db, world.settings, world.clock.now())
    stats = await delivery(world, client).deliver_once()
    assert stats.failed == 0
    with world.db.session() as session:
        [row] = session.exec(select(Outbox).where(Outbox.kind == "prompt")).all()
    assert row.status == "sent"
    assert len(fake.calls_matching("POST", rf"^/channels/{channel}/messages$")) == 1


async def test_the_pairing_slash_command_reaches_the_core(
    fake: FakeDiscord, world: World, start_bot: StartBot, channel: str
) -> None:
    """`/pairing run details:Peer group` in the server runs a round; the answer is ephemeral."""
    await start_bot()
    assert fake.default_guild is not None
    guild = fake.default_guild.id
    inter = await fake.dispatch_slash_command(
        "pairing",
        [{"type": 1, "name": "run", "options": [{"type": 3, "name": "details", "value": GROUP}]}],
        user_id=MORGAN,
        guild_id=guild,
        command_guild_id=guild,
    )
    response = await fake.wait_for_interaction_response(inter)
    assert response.ephemeral and "Round 1" in str(response.data)
    with world.db.session() as session:
        assert len(session.exec(select(PairingMember)).all()) == 7
