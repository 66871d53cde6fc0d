"""End to end on Discord: a pairing round honouring skip, pause, avoid, zones, never met.

The real discord.py client against the loopback Discord. Students type `/pairing ...` in
their DM with the bot (and one uses the slash command); rounds come from `run_due_work` and
go out as private threads in the group's channel; "Not yet" is pressed on the real check-back.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.discord.messenger import DiscordMessenger
from bot.delivery import OutboxDelivery
from bot.services.groups import group_named
from bot.services.roster import import_roster, parse_roster
from mentorbot_fakes import discord_payloads as p
from mentorbot_fakes.discord_api import FakeDiscord
from tests.adapters.discord.conftest import MORGAN, StartBot, World
from tests.dbdump import snapshot
from tests.tick import run_due_work

GROUP = "Peer group"
STUDENTS = {
    "l1": ("302100000000000001", "Europe/London"),
    "l2": ("302100000000000002", "Europe/London"),
    "l3": ("302100000000000003", "Europe/London"),
    "l4": ("302100000000000004", "Europe/London"),
    "skip": ("302100000000000005", "Europe/London"),
    "pause": ("302100000000000006", "Europe/London"),
    "a1": ("302100000000000007", "Pacific/Auckland"),
    "a2": ("302100000000000008", "Pacific/Auckland"),
}
UID = {name: uid for name, (uid, _) in STUDENTS.items()}


@pytest.fixture
def channel(fake: FakeDiscord, world: World) -> str:
    """Eight students in 'Peer group' (six in London, two in Auckland), bound to #mentoring."""
    assert fake.default_guild is not None
    channel_id = fake.default_guild.channel_id("mentoring")
    rows = "".join(
        f"{n}@example.edu,Student {n.upper()},student,{tz},morgan@example.edu,,{GROUP},,{uid}\n"
        for n, (uid, tz) in STUDENTS.items()
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
    for name, uid in UID.items():
        fake.add_user(name, uid)
    return channel_id


async def says(fake: FakeDiscord, user: str, text: str) -> str:
    """`user` types TEXT in their DM with the bot; returns the bot's answer as text."""
    dm = fake.dm_channel_id_for(user)
    before = len(fake.calls_matching("POST", rf"^/channels/{dm}/messages$"))
    await fake.dispatch_message_create(None, user, text)
    call = await fake.wait_for_call("POST", rf"^/channels/{dm}/messages$", count=before + 1)
    body: dict[str, Any] = dict(call.json)
    return str(body.get("content") or "") + " ".join(
        f"{e.get('title') or ''} {e.get('description') or ''} {e.get('fields') or ''}"
        for e in body.get("embeds") or []
    )


def rounds(fake: FakeDiscord, parent: str) -> list[tuple[frozenset[str], str]]:
    """(members, intro text) of every private thread the bot opened under `parent`."""
    found = []
    for thread in fake.threads.values():
        if thread["parent_id"] == parent and thread["type"] == p.CHANNEL_PRIVATE_THREAD:
            text = " ".join(
                str(m.get("embeds")) for m in fake.messages_sent if m["channel_id"] == thread["id"]
            )
            found.append((frozenset(thread["member_ids"]) - {fake.bot_user_id}, text))
    return found


def together(groups: list[frozenset[str]], a: str, b: str) -> bool:
    return any(UID[a] in g and UID[b] in g for g in groups)


def pairing_tables(world: World) -> dict[str, object]:
    """Every row of the pairing tables (a message also records its event and first contact)."""
    return {k: v for k, v in snapshot(world.db).items() if k.startswith("pairing")}


async def test_a_round_honours_skip_pause_avoid_time_zones_and_never_met(
    fake: FakeDiscord, world: World, start_bot: StartBot, channel: str
) -> None:
    """Skip, pause, avoid and zones shape round one; a pair that didn't meet is split next."""
    client = await start_bot()
    delivery: OutboxDelivery = world.delivery(DiscordMessenger(client))
    await says(fake, MORGAN, f"/pairing on {GROUP} every 2 weeks")
    assert "next round" in await says(fake, UID["skip"], "/pairing skip")
    assert "until 2026-12-05" in await says(fake, UID["pause"], "/pairing pause until 2026-12-05")
    # The slash command reaches the same place (its options are the typed words).
    assert fake.default_guild is not None
    guild = fake.default_guild.id
    inter = await fake.dispatch_slash_command(
        "pairing",
        [
            {
                "type": 1,
                "name": "avoid",
                "options": [{"type": 3, "name": "details", "value": "l2@example.edu"}],
            }
        ],
        user_id=UID["l1"],
        guild_id=guild,
        command_guild_id=guild,
    )
    response = await fake.wait_for_interaction_response(inter)
    assert response.ephemeral and "won't be paired with Student L2" in str(response.data)
    before = pairing_tables(world)
    assert "can't find anyone" in await says(fake, UID["l1"], "/pairing avoid x@example.edu")
    assert "your own email" in await says(fake, UID["l1"], "/pairing avoid l1@example.edu")
    assert "up to a year" in await says(fake, UID["l3"], "/pairing pause until 2030-01-01")
    assert pairing_tables(world) == before

    run_due_work(world.db, world.settings, world.clock.now())
    await delivery.deliver_once()
    first = rounds(fake, channel)
    groups = [g for g, _ in first]
    assert len(groups) == 3
    assert frozenset().union(*groups) == {UID[n] for n in ("l1", "l2", "l3", "l4", "a1", "a2")}
    assert together(groups, "a1", "a2") and not together(groups, "l1", "l2")
    assert all("hours apart" not in t for _, t in first)

    world.clock.advance(days=7)
    run_due_work(world.db, world.settings, world.clock.now())
    world.clock.advance(hours=12)  # 23:00 in Auckland when it was queued: it waits
    await delivery.deliver_once()
    dm = fake.dm_channels[UID["a1"]]
    [question] = [
        m for m in fake.messages_sent if m["channel_id"] == dm and "Did you meet?" in str(m)
    ]
    buttons = {b["label"]: b["custom_id"] for r in question["components"] for b in r["components"]}
    inter = await fake.dispatch_button(
        buttons["Not yet"], user_id=UID["a1"], message_id=question["id"]
    )
    await fake.wait_for_interaction_response(inter)
    assert "1 didn't meet" in await says(fake, MORGAN, f"/pairing report {GROUP}")

    world.clock.advance(days=7, hours=-12)
    run_due_work(world.db, world.settings, world.clock.now())
    await delivery.deliver_once()
    second = rounds(fake, channel)[3:]
    groups = [g for g, _ in second]
    assert len(groups) == 4 and frozenset().union(*groups) == set(UID.values())
    assert not together(groups, "a1", "a2") and not together(groups, "l1", "l2")
    for members, text in second:
        far = UID["a1"] in members or UID["a2"] in members
        assert ("13 hours apart" in text) == far

    # L2 is never told: nothing in L2's threads or DM mentions the list.
    l2_dm = fake.dm_channels.get(UID["l2"])
    seen = [t for g, t in rounds(fake, channel) if UID["l2"] in g]
    seen += [str(m) for m in fake.messages_sent if m["channel_id"] == l2_dm]
    assert seen and not any("list" in t or "Student L1 (" in t for t in seen)
