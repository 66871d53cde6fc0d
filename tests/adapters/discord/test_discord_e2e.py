"""End to end: the real discord.py client against the loopback fake, the real core and outbox."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from sqlmodel import select

from adapters.discord.messenger import DiscordMessenger
from bot.core import NOT_ENROLLED, MentorBot
from bot.model import Inbound, Reply
from mentorbot_fakes import discord_payloads as p
from mentorbot_fakes.discord_api import DispatchedInteraction, FakeDiscord
from storage.tables import Alert, Checkin, Goal, Identity, MoodEntry, Outbox, ProcessedEvent
from tests.adapters.discord.conftest import DANA, ELI, MORGAN, STRANGER, StartBot, World
from tests.tick import REGISTRY


def guild_of(fake: FakeDiscord) -> str:
    assert fake.default_guild is not None
    return fake.default_guild.id


async def slash(
    fake: FakeDiscord, name: str, options: Any = None, *, user_id: str = DANA
) -> DispatchedInteraction:
    """A guild slash command, as Discord sends it for a guild-synced command."""
    guild = guild_of(fake)
    return await fake.dispatch_slash_command(
        name, options, user_id=user_id, guild_id=guild, command_guild_id=guild
    )


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """The buttons on a recorded message, as label -> custom_id."""
    return {b["label"]: b["custom_id"] for row in message["components"] for b in row["components"]}


def button_ending(message: dict[str, Any], suffix: str) -> str:
    return next(cid for label, cid in buttons(message).items() if label.endswith(suffix))


async def test_slash_mood_logs_mood_and_answers_ephemerally(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """/mood score:2 note:… reaches the core; the answer is an ephemeral embed with a sparkline."""
    await start_bot()
    inter = await slash(fake, "mood", {"score": 2, "note": "tired before exams"})
    response = await fake.wait_for_interaction_response(inter)

    assert response.type == p.CALLBACK_CHANNEL_MESSAGE_WITH_SOURCE and response.ephemeral
    assert response.data is not None
    [embed] = response.data["embeds"]
    assert "Logged your mood" in embed["description"] and "2/5" in embed["description"]
    spark = next(f for f in embed["fields"] if f["name"] == "Last 14 days")
    assert spark["value"].startswith("`") and "▂" in spark["value"]
    assert response.data["allowed_mentions"] == {"parse": [], "users": [int(DANA)]}
    with world.db.session() as session:
        entry = session.exec(select(MoodEntry)).one()
        assert (entry.score, entry.note) == (2, "tired before exams")
        alert = session.exec(select(Alert)).one()
        assert alert.kind == "low_mood"
    assert world.woken  # the delivery loop was woken for the mentor's alert


async def test_mood_note_with_everyone_reaches_the_mentor_without_a_mention(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """A student's '@everyone' note is shown to the mentor in the alert DM but pings nobody."""
    client = await start_bot()
    inter = await slash(fake, "mood", {"score": 1, "note": "@everyone <@&123> exams again"})
    await fake.wait_for_interaction_response(inter)

    stats = await world.delivery(DiscordMessenger(client)).deliver_once()

    assert stats.sent == 1
    morgan_dm = fake.dm_channels[MORGAN]
    [post] = fake.calls_matching("POST", rf"^/channels/{morgan_dm}/messages$")
    assert post.json["allowed_mentions"] == {"parse": [], "users": [int(MORGAN)]}
    assert "@everyone <@&123> exams again" in str(post.json["embeds"])
    assert "everyone" not in str(post.json.get("content"))
    # The outbox row's stable nonce is enforced, so a retried send can't post twice.
    assert len(post.json["nonce"]) <= 25 and post.json["enforce_nonce"] is True
    alert_message = fake.messages_sent[-1]
    assert set(buttons(alert_message)) == {"Acknowledge", "I'll follow up", "Resolve"}


async def test_dm_channel_is_kept_so_a_fan_out_costs_one_request_per_student(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """The first push opens the DM and its id is kept; later pushes post straight to it."""
    client = await start_bot()
    delivery = world.delivery(DiscordMessenger(client))
    for email in ("dana@example.edu", "eli@example.edu"):
        world.queue_checkin(email)
    assert (await delivery.deliver_once()).sent == 2
    assert len(fake.calls_matching("POST", r"^/users/@me/channels$")) == 2
    with world.db.session() as session:
        kept = {i.user_id: i.dm_channel_id for i in session.exec(select(Identity)).all()}
    assert kept[DANA] == fake.dm_channels[DANA] and kept[ELI] == fake.dm_channels[ELI]

    before = len(fake.calls)
    for email in ("dana@example.edu", "eli@example.edu"):
        world.queue_message(email, "nudge:1", "Don't forget your goal!")
    assert (await delivery.deliver_once()).sent == 2
    new_calls = [(c.method, c.route) for c in fake.calls[before:]]
    assert new_calls == [("POST", "/channels/{channel_id}/messages")] * 2


async def test_checkin_mood_button_edits_the_dm_in_place(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """A check-in pushed by the outbox; pressing a mood button edits that DM in place."""
    client = await start_bot()
    checkin_id = world.queue_checkin("dana@example.edu")
    assert (await world.delivery(DiscordMessenger(client)).deliver_once()).sent == 1
    prompt = fake.messages_sent[-1]
    assert prompt["embeds"][0]["title"] == "Check-in" and len(buttons(prompt)) == 6

    inter = await fake.dispatch_button(
        button_ending(prompt, " 4"), user_id=DANA, message_id=prompt["id"]
    )
    response = await fake.wait_for_interaction_response(inter)

    assert response.type == p.CALLBACK_UPDATE_MESSAGE
    edited = fake.messages[prompt["id"]]
    # The same message moves on to the note question: the moods are gone, Skip is offered.
    description = edited["embeds"][0]["description"]
    assert "You answered" in description and "Anything on your mind?" in description
    assert list(buttons(edited)) == ["Skip"]
    assert fake.calls_matching("POST", r"^/webhooks/") == []  # one request for the answer
    with world.db.session() as session:
        checkin = session.get(Checkin, checkin_id)
        assert checkin is not None and checkin.mood == 4


async def test_checkin_button_works_after_a_restart(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """A check-in sent by one client instance is answered through a brand-new one."""
    first = await start_bot()
    checkin_id = world.queue_checkin("dana@example.edu")
    await world.delivery(DiscordMessenger(first)).deliver_once()
    prompt = fake.messages_sent[-1]
    await first.close()

    await start_bot()
    inter = await fake.dispatch_button(
        button_ending(prompt, " 5"), user_id=DANA, message_id=prompt["id"]
    )
    response = await fake.wait_for_interaction_response(inter)

    assert fake.identify_count == 2
    assert response.type == p.CALLBACK_UPDATE_MESSAGE
    assert "5/5" in fake.messages[prompt["id"]]["embeds"][0]["description"]
    with world.db.session() as session:
        checkin = session.get(Checkin, checkin_id)
        assert checkin is not None and checkin.mood == 5


async def test_goal_add_opens_a_modal_whose_submit_adds_the_goal(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """/goal add answers with the goal form; submitting it adds the goal."""
    await start_bot()
    command = await slash(fake, "goal", [{"type": 1, "name": "add", "options": []}])
    modal = await fake.wait_for_interaction_response(command)
    assert modal.type == p.CALLBACK_MODAL and modal.data is not None
    assert modal.data["custom_id"] == "mb:form:goal.add"
    inputs = [c["custom_id"] for row in modal.data["components"] for c in row["components"]]
    assert inputs == ["title", "due"]

    submit = await fake.dispatch_modal_submit(
        "mb:form:goal.add",
        {"title": "Finish the essay draft", "due": "2026-12-18"},
        user_id=DANA,
        guild_id=guild_of(fake),
    )
    reply = await fake.wait_for_interaction_response(submit)

    assert reply.type == p.CALLBACK_CHANNEL_MESSAGE_WITH_SOURCE and reply.ephemeral
    assert reply.data is not None and "Finish the essay draft" in reply.data["content"]
    with world.db.session() as session:
        goal = session.exec(select(Goal)).one()
        assert goal.title == "Finish the essay draft" and str(goal.due_date) == "2026-12-18"


async def test_alert_acknowledged_edits_the_alert_message(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """The mentor presses Acknowledge on the alert DM; the message changes in place."""
    client = await start_bot()
    await fake.wait_for_interaction_response(await slash(fake, "mood", {"score": 1}))
    await world.delivery(DiscordMessenger(client)).deliver_once()
    alert_message = fake.messages_sent[-1]

    inter = await fake.dispatch_button(
        buttons(alert_message)["Acknowledge"], user_id=MORGAN, message_id=alert_message["id"]
    )
    response = await fake.wait_for_interaction_response(inter)

    assert response.type == p.CALLBACK_UPDATE_MESSAGE
    edited = fake.messages[alert_message["id"]]
    assert "Morgan Mentor acknowledged this" in edited["embeds"][0]["description"]
    # Acknowledged, not resolved: what is left to do stays (issue 13).
    assert set(buttons(edited)) == {"I'll follow up", "Resolve"}
    with world.db.session() as session:
        assert session.exec(select(Alert)).one().status == "acknowledged"


async def test_someone_elses_or_unknown_press_is_refused_ephemerally(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """In a server channel, a student or a stranger pressing an alert button gets a private no."""
    await start_bot()
    await fake.wait_for_interaction_response(await slash(fake, "mood", {"score": 1}))
    general = fake.default_guild.channel_id("general")  # type: ignore[union-attr]

    eli = await fake.dispatch_button("mb:alert.ack:alert=1", user_id=ELI, channel_id=general)
    stranger = await fake.dispatch_button(
        "mb:alert.ack:alert=1", user_id=STRANGER, channel_id=general
    )
    refused = await fake.wait_for_interaction_response(eli)
    not_enrolled = await fake.wait_for_interaction_response(stranger)

    assert refused.type == p.CALLBACK_CHANNEL_MESSAGE_WITH_SOURCE and refused.ephemeral
    assert not_enrolled.ephemeral and not_enrolled.data is not None
    assert not_enrolled.data["content"] == NOT_ENROLLED
    with world.db.session() as session:
        assert session.exec(select(Alert)).one().status == "open"


async def test_unknown_user_is_told_they_are_not_enrolled_and_nothing_is_stored(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """A slash command or DM from someone not on the roster: a polite no, no trace kept."""
    await start_bot()
    response = await fake.wait_for_interaction_response(
        await slash(fake, "mood", {"score": 3, "note": "hi"}, user_id=STRANGER)
    )
    await fake.dispatch_message_create(None, STRANGER, "hello?")
    await fake.wait_for(lambda: len(fake.calls_matching("POST", r"^/channels/")) == 1)

    assert response.ephemeral and response.data is not None
    assert response.data["content"] == NOT_ENROLLED
    dm_reply = fake.calls_matching("POST", r"^/channels/")[0]
    assert dm_reply.json["content"] == NOT_ENROLLED
    with world.db.session() as session:
        assert session.exec(select(Identity).where(Identity.user_id == STRANGER)).first() is None
        assert session.exec(select(ProcessedEvent)).all() == []
        assert session.exec(select(MoodEntry)).all() == []


async def test_forbidden_dm_is_recorded_as_failed_with_a_notice(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """A 403 (DMs closed) fails the outbox row for good and queues a notice to the mentor."""
    client = await start_bot()
    fake.forbid_dm(DANA)
    world.queue_checkin("dana@example.edu")

    stats = await world.delivery(DiscordMessenger(client)).deliver_once()

    assert (stats.sent, stats.failed) == (1, 1)  # the notice to Morgan went out
    with world.db.session() as session:
        rows = {r.kind: r for r in session.exec(select(Outbox)).all()}
    assert rows["checkin"].status == "failed" and "50007" in (rows["checkin"].last_error or "")
    assert rows["delivery_notice"].user_id == MORGAN and rows["delivery_notice"].status == "sent"
    assert "Dana Student" in str(fake.messages_sent[-1]["embeds"])


async def test_dm_text_is_the_checkin_note_and_own_messages_are_ignored(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """After a mood button, a typed DM becomes the check-in note; the bot's echoes are ignored."""
    client = await start_bot()
    checkin_id = world.queue_checkin("dana@example.edu")
    await world.delivery(DiscordMessenger(client)).deliver_once()
    prompt = fake.messages_sent[-1]
    inter = await fake.dispatch_button(
        button_ending(prompt, " 3"), user_id=DANA, message_id=prompt["id"]
    )
    await fake.wait_for_interaction_response(inter)

    await fake.dispatch_message_create(None, DANA, "the essay is going fine")
    reply = await fake.wait_for_call(
        "POST", rf"^/channels/{fake.dm_channels[DANA]}/messages$", count=2
    )
    await asyncio.sleep(0.05)  # room for a wrongly answered echo to show up

    assert reply.json["embeds"][0]["description"].startswith("Got it, I've added that")
    assert reply.json["nonce"] and reply.json["allowed_mentions"]["parse"] == []
    # One check-in push, one note answer: the bot's own echoed messages got no reply.
    assert len(fake.calls_matching("POST", r"^/channels/")) == 2
    with world.db.session() as session:
        checkin = session.get(Checkin, checkin_id)
        assert checkin is not None and checkin.note == "the essay is going fine"


class SlowCore:
    """The real core, answering slower than the adapter's acknowledgement deadline."""

    def __init__(self, core: Any, delay: float) -> None:
        self.core = core
        self.delay = delay
        self.registry = core.registry

    async def ahandle(self, inbound: Inbound) -> Reply:
        await asyncio.sleep(self.delay)
        return await self.core.ahandle(inbound)


async def test_slow_answers_are_deferred_then_delivered(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """When the core is slow, the command is deferred in time and the reply follows."""
    fake.interaction_deadline = 0.2  # anything not acknowledged this fast fails with 10062
    client = await start_bot(core=SlowCore(world.core, 0.3), ack_after=0.05)
    inter = await slash(fake, "checkin")
    deferred = await fake.wait_for_interaction_response(inter)
    follow_up = await fake.wait_for_call("POST", r"^/webhooks/")

    assert deferred.type == p.CALLBACK_DEFERRED_CHANNEL_MESSAGE and deferred.ephemeral
    assert follow_up.json["embeds"][0]["title"] == "Check-in"
    original = fake.messages[inter.original_message_id or ""]
    assert original["embeds"][0]["title"] == "Check-in"  # the "thinking" placeholder replaced

    # A slow button press: a deferred update (6), then the pressed message is edited.
    world.queue_checkin("eli@example.edu")
    await world.delivery(DiscordMessenger(client)).deliver_once()
    prompt = fake.messages_sent[-1]
    press = await fake.dispatch_button(
        button_ending(prompt, " 4"), user_id=ELI, message_id=prompt["id"]
    )
    assert (await fake.wait_for_interaction_response(press)).type == (
        p.CALLBACK_DEFERRED_UPDATE_MESSAGE
    )
    await fake.wait_for_call("PATCH", r"/messages/@original$")
    assert "You answered" in fake.messages[prompt["id"]]["embeds"][0]["description"]


async def test_bot_starts_with_minimal_intents_small_caches_and_guild_commands(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    """No privileged intents, no caches to speak of, and the commands synced to the guild."""
    client = await start_bot()
    assert fake.intents is not None and not fake.intents & p.PRIVILEGED_INTENTS
    assert client.intents.dm_messages and not client.intents.members
    assert client._connection.max_messages is None
    assert client._connection.member_cache_flags.value == 0
    assert client.allowed_mentions is not None and client.allowed_mentions.to_dict() == {
        "parse": []
    }
    names = {c["name"] for c in fake.commands[guild_of(fake)]}
    assert names >= {"checkin", "mood", "goal", "resources", "help", "pause", "mentees"}
    assert names >= {"alerts", "mydata"}
    mood = next(c for c in fake.commands[guild_of(fake)] if c["name"] == "mood")
    score = next(o for o in mood["options"] if o["name"] == "score")
    assert (score["min_value"], score["max_value"]) == (1, 5)
    assert fake.commands.get(None, []) == []  # nothing global when guilds are configured


async def test_mydata_export_is_sent_as_a_file(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """/mydata export answers with the JSON export as an attached file."""
    await start_bot()
    response = await fake.wait_for_interaction_response(
        await slash(fake, "mydata", [{"type": 1, "name": "export", "options": []}])
    )
    assert response.ephemeral
    [upload] = response.files
    assert upload.filename == "mentorbot-my-data.json"
    assert b"dana@example.edu" in upload.data


async def test_out_of_range_score_gets_the_cores_message(
    fake: FakeDiscord, start_bot: StartBot
) -> None:
    """A score Discord should have refused (9) still gets a clear answer, not a crash."""
    await start_bot()
    response = await fake.wait_for_interaction_response(await slash(fake, "mood", {"score": 9}))
    assert response.ephemeral and response.data is not None
    assert "isn't a mood score" in response.data["content"]


async def test_crisis_dm_reaches_mentor_and_staff_channel_and_one_ack_updates_both(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """Crisis DM: help at once; urgent alert to mentor and staff channel; one ack edits both."""
    staff = fake.default_guild.channel_id("mentoring")  # type: ignore[union-attr]
    settings = replace(world.settings, staff_channel=f"discord:{staff}")
    client = await start_bot(core=MentorBot(world.db, settings, world.clock, registry=REGISTRY))

    await fake.dispatch_message_create(None, DANA, "I want to end my life")
    help_reply = await fake.wait_for_call("POST", rf"^/channels/{fake.dm_channels[DANA]}/messages$")
    assert help_reply.status == 200 and "mentor" in str(help_reply.json).lower()
    assert (await world.delivery(DiscordMessenger(client)).deliver_once()).sent == 2

    [staff_post] = fake.calls_matching("POST", rf"^/channels/{staff}/messages$")
    assert staff_post.json["content"] == "🚨 **Urgent**"
    assert staff_post.json["allowed_mentions"] == {"parse": []}
    staff_copy = staff_post.response_json
    dm_copy = next(m for m in fake.messages_sent if m["channel_id"] == fake.dm_channels[MORGAN])

    inter = await fake.dispatch_button(
        buttons(dm_copy)["Acknowledge"], user_id=MORGAN, message_id=dm_copy["id"]
    )
    assert (await fake.wait_for_interaction_response(inter)).type == p.CALLBACK_UPDATE_MESSAGE
    await fake.wait_for_call("PATCH", rf"^/channels/{staff}/messages/{staff_copy['id']}$")
    for copy in (dm_copy, staff_copy):
        edited = fake.messages[copy["id"]]
        assert "acknowledged" in edited["embeds"][0]["description"]
        assert set(buttons(edited)) == {"I'll follow up", "Resolve"}


async def test_expired_button_press_in_a_dm_still_reaches_the_student(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """If Discord drops the interaction (10062), the DM is still edited to the next step."""
    fake.interaction_deadline = 0.05  # even the deferral comes too late
    client = await start_bot(core=SlowCore(world.core, 0.2), ack_after=0.1)
    world.queue_checkin("dana@example.edu")
    await world.delivery(DiscordMessenger(client)).deliver_once()
    prompt = fake.messages_sent[-1]

    press = await fake.dispatch_button(
        button_ending(prompt, " 2"), user_id=DANA, message_id=prompt["id"]
    )
    await fake.wait_for_call("PATCH", rf"^/channels/{fake.dm_channels[DANA]}/messages/")

    assert fake.responses_for(press) == []
    [late] = fake.calls_matching("POST", r"^/interactions/")
    assert late.status == 404 and late.response_json["code"] == 10062
    description = fake.messages[prompt["id"]]["embeds"][0]["description"]
    assert "2/5" in description and "Anything on your mind?" in description


async def test_generated_commands_reach_the_core_through_discord(
    fake: FakeDiscord, world: World, start_bot: StartBot
) -> None:
    """/goal add with a title, milestone and drop (new on Discord) are synced and reach the core."""
    await start_bot()
    assert fake.registration_errors == []
    guild = guild_of(fake)
    synced = {c["name"] for c in fake.commands.get(guild, [])}
    assert {"note", "notes", "cohort", "schedule", "goal"} <= synced
    title = [{"type": 3, "name": "title", "value": "Essay draft"}]
    await fake.wait_for_interaction_response(
        await slash(fake, "goal", [{"type": 1, "name": "add", "options": title}])
    )
    with world.db.session() as session:
        goal_id = session.exec(select(Goal)).one().id
    step = [
        {"type": 4, "name": "goal", "value": goal_id},
        {"type": 3, "name": "title", "value": "Outline"},
    ]
    await fake.wait_for_interaction_response(
        await slash(fake, "goal", [{"type": 1, "name": "milestone", "options": step}])
    )
    drop = [{"type": 1, "name": "drop", "options": [{"type": 4, "name": "goal", "value": goal_id}]}]
    response = await fake.wait_for_interaction_response(await slash(fake, "goal", drop))
    assert response.ephemeral and response.data is not None
    with world.db.session() as session:
        stored = session.get(Goal, goal_id)
        assert stored is not None and stored.status != "open"
