"""Tests proving the loopback Discord fake is faithful enough to drive a real discord.py 2.7."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
from discord import app_commands

from mentorbot_fakes import discord_payloads as p
from mentorbot_fakes.discord_api import (
    DEFAULT_TOKEN,
    FakeDiscord,
    RouteLimit,
    discord_pointed_at,
    point_discord_at,
    running_fake,
)

DEFAULT_INTENTS = discord.Intents.none() | discord.Intents(guilds=True, dm_messages=True)


class AckView(discord.ui.View):
    """A persistent view: no timeout and every item has a fixed custom_id."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Got it", custom_id="mentorbot:ack", style=discord.ButtonStyle.primary)
    async def ack(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(
            content=f"Acknowledged by {interaction.user.name}", view=None
        )


class FeedbackModal(discord.ui.Modal, title="Session feedback"):
    """A modal with one text input, answered with an ephemeral thank-you."""

    answer: discord.ui.TextInput = discord.ui.TextInput(label="How was it?", custom_id="answer")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.answer.value}", ephemeral=True)


class BotClient(discord.Client):
    """A discord.Client exposing readiness, received messages and a command tree."""

    def __init__(self, intents: discord.Intents = DEFAULT_INTENTS) -> None:
        # guild_ready_timeout: discord.py waits this long after the last GUILD_CREATE before
        # on_ready (default 2 s); a short value keeps the suite fast.
        super().__init__(intents=intents, guild_ready_timeout=0.05)
        self.ready = asyncio.Event()
        self.ready_count = 0
        self.tree = app_commands.CommandTree(self)
        self.seen: list[discord.Message] = []
        self.views_to_register: list[discord.ui.View] = []

    async def setup_hook(self) -> None:
        # Persistent views must be registered before the gateway connects (here), so button
        # presses on messages sent before a restart are routed.
        for view in self.views_to_register:
            self.add_view(view)

    async def on_ready(self) -> None:
        self.ready_count += 1
        self.ready.set()

    async def on_message(self, message: discord.Message) -> None:
        self.seen.append(message)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # The default sleeps 5 s before every non-initial IDENTIFY (identify rate limit).
        return None


StartClient = Callable[[BotClient], Awaitable[BotClient]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with running_fake(heartbeat_interval_ms=1000) as fake:
        yield fake


@pytest.fixture
async def start_client(fake: FakeDiscord) -> AsyncIterator[StartClient]:
    started: list[tuple[BotClient, asyncio.Task[None]]] = []

    async def _start(client: BotClient) -> BotClient:
        task = asyncio.create_task(client.start(fake.token))
        started.append((client, task))
        ready = asyncio.create_task(client.ready.wait())
        done, _ = await asyncio.wait({task, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            ready.cancel()
            task.result()  # re-raise the startup error
        if ready not in done:
            ready.cancel()
            raise TimeoutError("client never reached on_ready")
        return client

    yield _start
    for client, task in started:
        await client.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)


# =========================================================================== wiring


def test_point_discord_at_sets_and_restores_class_attributes() -> None:
    """discord_pointed_at sets Route.BASE and DEFAULT_GATEWAY and restores them afterwards."""
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    with discord_pointed_at("http://127.0.0.1:1/api/v10/", "ws://127.0.0.1:1/gateway"):
        url = discord.http.Route("GET", "/users/@me").url
        assert url == "http://127.0.0.1:1/api/v10/users/@me"
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:1/gateway"
    assert old_base == discord.http.Route.BASE
    assert old_gateway == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    try:
        point_discord_at("http://x/api/v10", "ws://x/gateway")
        assert discord.http.Route.BASE == "http://x/api/v10"
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


async def test_client_reaches_on_ready(fake: FakeDiscord, start_client: StartClient) -> None:
    """A real discord.Client logs in over REST, IDENTIFYs, gets READY/GUILD_CREATE, on_ready."""
    client = await start_client(BotClient())
    assert client.user is not None and str(client.user.id) == fake.bot_user_id
    assert client.application_id == int(fake.application_id)
    assert fake.default_guild is not None
    guild = client.get_guild(int(fake.default_guild.id))
    assert guild is not None and {c.name for c in guild.text_channels} == {"general", "mentoring"}
    assert fake.identify_count == 1 and fake.intents == DEFAULT_INTENTS.value
    login = [(c.method, c.path) for c in fake.calls]
    assert login == [("GET", "/users/@me"), ("GET", "/oauth2/applications/@me")]
    assert fake.calls[0].headers["Authorization"] == f"Bot {fake.token}"
    assert fake.heartbeat_count >= 1  # discord.py heartbeats right after HELLO


async def test_wrong_token_is_login_failure(fake: FakeDiscord) -> None:
    """A token mismatch answers 401, which discord.py turns into LoginFailure."""
    client = BotClient()
    try:
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
    finally:
        await client.close()
    assert fake.calls[-1].status == 401
    assert fake.calls[-1].response_json == {"message": "401: Unauthorized", "code": 0}


async def test_unknown_route_has_discord_error_shape(fake: FakeDiscord) -> None:
    """Unknown routes answer 404 with {"message": "404: Not Found", "code": 0}."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(fake.api_base + "/no/such/route") as response,
    ):
        assert response.status == 404
        assert response.headers["Content-Type"] == "application/json"
        assert await response.json() == {"message": "404: Not Found", "code": 0}


# =========================================================================== interactions


async def test_slash_command_reaches_tree_and_ephemeral_reply_is_recorded(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """INTERACTION_CREATE (type 2) reaches a tree command; its ephemeral reply has flags 64."""
    client = BotClient()

    @client.tree.command(name="ping", description="Check the bot")
    async def ping(interaction: discord.Interaction, topic: str, times: int) -> None:
        await interaction.response.send_message(f"pong {topic} x{times}", ephemeral=True)

    await start_client(client)
    alice = fake.add_user("alice")
    inter = await fake.dispatch_slash_command("ping", {"topic": "math", "times": 2}, user_id=alice)

    response = await fake.wait_for_interaction_response(inter)
    assert response.type == p.CALLBACK_CHANNEL_MESSAGE_WITH_SOURCE
    assert response.data is not None and response.data["content"] == "pong math x2"
    assert response.flags == 64 and response.ephemeral
    message = fake.messages_sent[-1]
    assert message["flags"] & 64 and message["type"] == p.MESSAGE_CHAT_INPUT_COMMAND
    assert message["interaction_metadata"]["user"]["id"] == alice
    assert inter.payload["channel"]["type"] == p.CHANNEL_DM and "user" in inter.payload


async def test_guild_command_defer_followup_and_edit_original(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """A guild command sees a Member; defer (5) + follow-up + edit @original are all served."""
    assert fake.default_guild is not None
    guild = discord.Object(id=int(fake.default_guild.id))
    client = BotClient()
    seen: dict[str, object] = {}

    @client.tree.command(name="report", description="Weekly report", guild=guild)
    async def report(interaction: discord.Interaction) -> None:
        seen["member"] = isinstance(interaction.user, discord.Member)
        seen["guild_id"] = interaction.guild_id
        await interaction.response.defer(thinking=True)
        first = await interaction.followup.send("report ready", wait=True)
        extra = await interaction.followup.send("details", wait=True)
        edited = await interaction.edit_original_response(content="report (final)")
        seen["ids"] = (first.id, extra.id, edited.id)

    await start_client(client)
    bob = fake.add_user("bob")
    inter = await fake.dispatch_slash_command(
        "report", user_id=bob, guild_id=fake.default_guild.id, command_guild_id=str(guild.id)
    )
    await fake.wait_for(lambda: "ids" in seen)

    assert seen["member"] is True and seen["guild_id"] == guild.id
    assert [r.type for r in fake.responses_for(inter)] == [p.CALLBACK_DEFERRED_CHANNEL_MESSAGE]
    first_id, extra_id, edited_id = seen["ids"]  # type: ignore[misc]
    # The first follow-up replaced the "thinking" placeholder, the second is a new message.
    assert first_id == edited_id == int(inter.original_message_id or 0)
    assert extra_id != first_id
    original = fake.messages[str(edited_id)]
    assert original["content"] == "report (final)" and not original["flags"] & 128
    assert "member" in inter.payload and inter.payload["guild_id"] == fake.default_guild.id


async def test_button_press_reaches_persistent_view_and_edit_is_type_7(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """A type-3 press reaches a persistent View; edit_message is recorded as callback type 7."""
    client = BotClient()
    client.views_to_register.append(AckView())
    await start_client(client)
    carol = fake.add_user("carol")
    user = await client.fetch_user(int(carol))
    sent = await user.send("Your mentor replied", view=AckView())
    assert fake.messages_sent[-1]["components"][0]["components"][0]["custom_id"] == "mentorbot:ack"

    inter = await fake.dispatch_button("mentorbot:ack", user_id=carol, message_id=str(sent.id))
    response = await fake.wait_for_interaction_response(inter)

    assert response.type == p.CALLBACK_UPDATE_MESSAGE
    assert response.data is not None
    assert response.data["content"] == "Acknowledged by carol" and response.data["components"] == []
    assert fake.messages[str(sent.id)]["content"] == "Acknowledged by carol"
    assert inter.payload["message"]["id"] == str(sent.id)


async def test_button_on_unknown_message_reaches_view_registered_in_setup_hook(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """A press on a message from before a restart is routed by custom_id to the add_view view."""
    client = BotClient()
    client.views_to_register.append(AckView())
    await start_client(client)
    dave = fake.add_user("dave")
    inter = await fake.dispatch_button("mentorbot:ack", user_id=dave)
    response = await fake.wait_for_interaction_response(inter)
    assert response.type == p.CALLBACK_UPDATE_MESSAGE


async def test_modal_round_trip(fake: FakeDiscord, start_client: StartClient) -> None:
    """send_modal is recorded as type 9 and a MODAL_SUBMIT (type 5) reaches Modal.on_submit."""
    client = BotClient()

    @client.tree.command(name="feedback", description="Give feedback")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal(custom_id="mentorbot:feedback"))

    await start_client(client)
    erin = fake.add_user("erin")
    command = await fake.dispatch_slash_command("feedback", user_id=erin)
    modal = await fake.wait_for_interaction_response(command)
    assert modal.type == p.CALLBACK_MODAL and modal.data is not None
    assert modal.data["custom_id"] == "mentorbot:feedback"

    submit = await fake.dispatch_modal_submit(
        "mentorbot:feedback", {"answer": "very helpful"}, user_id=erin
    )
    reply = await fake.wait_for_interaction_response(submit)
    assert reply.type == p.CALLBACK_CHANNEL_MESSAGE_WITH_SOURCE
    assert reply.data is not None and reply.data["content"] == "thanks: very helpful"
    assert reply.ephemeral


async def test_interaction_double_ack_and_deadline(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """A second callback is 400/40060 and one after the 3 s window is 404/10062, as on Discord."""
    client = BotClient()

    @client.tree.command(name="silent", description="Never answers")
    async def silent(interaction: discord.Interaction) -> None:
        return None  # a handler that forgets to respond

    await start_client(client)
    frank = fake.add_user("frank")
    first = await fake.dispatch_slash_command("silent", user_id=frank)
    fake.interaction_deadline = 0.05
    late = await fake.dispatch_slash_command("silent", user_id=frank)
    body = {"type": 4, "data": {"content": "hi"}}
    async with aiohttp.ClientSession() as session:
        # The first one is answered "instantly": move its dispatch time forward.
        first.dispatched_at = time.monotonic()
        url = f"{fake.api_base}/interactions/{first.id}/{first.token}/callback"
        async with session.post(url, json=body) as r1:
            assert r1.status == 204
        async with session.post(url, json=body) as r2:
            assert r2.status == 400 and (await r2.json())["code"] == 40060
        await asyncio.sleep(0.1)
        late_url = f"{fake.api_base}/interactions/{late.id}/{late.token}/callback"
        async with session.post(late_url, json=body) as r3:
            assert r3.status == 404 and (await r3.json())["code"] == 10062


# =========================================================================== messages & DMs


async def test_user_send_creates_dm_channel_and_message(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """user.send() opens a DM (same channel id per recipient) and creates a realistic message."""
    client = await start_client(BotClient())
    gina = fake.add_user("gina")
    user = await client.fetch_user(int(gina))
    message = await user.send("Welcome to mentoring!")

    dm_calls = fake.calls_matching("POST", r"^/users/@me/channels$")
    assert len(dm_calls) == 1 and dm_calls[0].json == {"recipient_id": int(gina)}
    assert str(message.channel.id) == fake.dm_channel_id_for(gina)
    again = await client.http.start_private_message(int(gina))
    assert again["id"] == fake.dm_channel_id_for(gina)
    sent = fake.messages_sent[-1]
    assert sent["content"] == "Welcome to mentoring!" and sent["author"]["id"] == fake.bot_user_id
    assert sent["channel_id"] == str(message.channel.id) and sent["id"] == str(message.id)
    assert sent["timestamp"].endswith("+00:00")


async def test_repeated_nonce_returns_the_original_message(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """Re-sending with the same enforced nonce returns the first message instead of a duplicate."""
    client = await start_client(BotClient())
    hank = fake.add_user("hank")
    channel = await (await client.fetch_user(int(hank))).create_dm()
    first = await channel.send("Reminder: session at 3pm", nonce=424242)
    second = await channel.send("Reminder: session at 3pm", nonce=424242)
    third = await channel.send("Reminder: session at 3pm")  # discord.py picks a fresh nonce

    assert first.id == second.id != third.id
    assert len(fake.messages_sent) == 2 and fake.nonce_hits == 1
    posts = fake.calls_matching("POST", r"/messages$")
    assert posts[0].json["nonce"] == "424242" and posts[0].json["enforce_nonce"] is True


async def test_file_upload_is_recorded_from_multipart(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """Multipart: payload_json lands in .json, file bytes in .files; the reply has attachments."""
    client = await start_client(BotClient())
    assert fake.default_guild is not None
    channel = client.get_channel(int(fake.default_guild.channel_id("general")))
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("notes", file=discord.File(io.BytesIO(b"a,b\n1,2\n"), "notes.csv"))

    call = fake.calls_matching("POST", r"/messages$")[-1]
    assert call.json["content"] == "notes" and call.files[0].data == b"a,b\n1,2\n"
    assert message.attachments[0].filename == "notes.csv" and message.attachments[0].size == 8


async def test_forbidden_dm_raises_forbidden(fake: FakeDiscord, start_client: StartClient) -> None:
    """forbid_dm makes the DM send fail with 403/50007, raised as discord.Forbidden."""
    client = await start_client(BotClient())
    ivy = fake.add_user("ivy")
    fake.forbid_dm(ivy)
    user = await client.fetch_user(int(ivy))
    with pytest.raises(discord.Forbidden) as excinfo:
        await user.send("hello?")
    assert excinfo.value.code == 50007 and excinfo.value.status == 403
    assert fake.messages_sent == []


async def test_unknown_channel_raises_not_found(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """unknown_channel answers 404/10003 for fetches and sends on that channel."""
    client = await start_client(BotClient())
    gone = fake.snowflakes.next()
    fake.unknown_channel(gone)
    with pytest.raises(discord.NotFound) as excinfo:
        await client.fetch_channel(int(gone))
    assert excinfo.value.code == 10003
    with pytest.raises(discord.NotFound):
        await client.get_partial_messageable(int(gone)).send("anyone?")


async def test_message_create_honours_intents(fake: FakeDiscord, start_client: StartClient) -> None:
    """MESSAGE_CREATE reaches on_message; guild content is blanked without MESSAGE_CONTENT."""
    intents = discord.Intents.none() | discord.Intents(
        guilds=True, dm_messages=True, guild_messages=True
    )
    client = await start_client(BotClient(intents))
    assert fake.default_guild is not None
    jane = fake.add_user("jane")
    general = fake.default_guild.channel_id("general")
    await fake.dispatch_message_create(None, jane, "hi in DM")
    await fake.dispatch_message_create(general, jane, "hi in guild")
    await fake.dispatch_message_create(general, jane, "hi bot", mentions_bot=True)
    await fake.wait_for(lambda: len(client.seen) == 3)

    dm, guild_msg, mention = client.seen
    assert isinstance(dm.channel, discord.DMChannel) and dm.content == "hi in DM"
    assert guild_msg.guild is not None and guild_msg.content == ""
    assert mention.content.endswith("hi bot")
    assert isinstance(guild_msg.author, discord.Member)


async def test_bot_receives_its_own_messages(fake: FakeDiscord, start_client: StartClient) -> None:
    """As on Discord, a message the bot posts comes back as MESSAGE_CREATE (filter author)."""
    client = await start_client(BotClient())
    kim = fake.add_user("kim")
    await (await client.fetch_user(int(kim))).send("echo me")
    await fake.wait_for(lambda: len(client.seen) == 1)
    assert client.seen[0].author == client.user


# =========================================================================== rate limits & latency


async def test_429_retry_after_is_honoured(fake: FakeDiscord, start_client: StartClient) -> None:
    """A 429 with retry_after makes discord.py sleep and retry; the retry succeeds."""
    client = await start_client(BotClient())
    leo = fake.add_user("leo")
    channel = await (await client.fetch_user(int(leo))).create_dm()
    fake.fail_next(
        "POST",
        r"^/channels/\d+/messages$",
        429,
        {"message": "You are being rate limited.", "retry_after": 0.15, "global": False},
    )
    started = time.monotonic()
    await channel.send("after a 429")

    assert time.monotonic() - started >= 0.15
    assert fake.http_429 == 1
    posts = fake.calls_matching("POST", r"/messages$")
    assert [c.status for c in posts] == [429, 200]
    assert len(fake.messages_sent) == 1


async def test_route_bucket_headers_let_discord_py_wait(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """With route limits on, X-RateLimit-* headers make discord.py wait instead of hitting 429."""
    client = await start_client(BotClient())
    fake.enforce_route_limits = True
    fake.route_limits[("POST", "/channels/{channel_id}/messages")] = RouteLimit(2, 0.3)
    mia = fake.add_user("mia")
    channel = await (await client.fetch_user(int(mia))).create_dm()
    started = time.monotonic()
    for n in range(3):
        await channel.send(f"message {n}")

    assert time.monotonic() - started >= 0.2
    assert fake.http_429 == 0 and len(fake.messages_sent) == 3
    headers = fake.calls_matching("POST", r"/messages$")[0].response_headers
    assert headers["X-RateLimit-Limit"] == "2"
    assert headers["X-RateLimit-Remaining"] == "1" and "X-RateLimit-Bucket" in headers


async def test_route_bucket_429_has_real_headers(fake: FakeDiscord) -> None:
    """Exceeding a bucket answers 429 with retry_after, scope and bucket headers."""
    fake.enforce_route_limits = True
    fake.route_limits[("POST", "/channels/{channel_id}/messages")] = RouteLimit(1, 5.0)
    url = f"{fake.api_base}/channels/{fake.snowflakes.next()}/messages"
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        async with session.post(url, json={"content": "one"}) as ok:
            assert ok.status == 200
        async with session.post(url, json={"content": "two"}) as limited:
            body = await limited.json()
            assert limited.status == 429 and body["global"] is False
            assert 0 < body["retry_after"] <= 5.0
            assert limited.headers["X-RateLimit-Scope"] == "user"
            assert limited.headers["X-RateLimit-Remaining"] == "0"
            assert limited.headers["Via"]
    assert fake.http_429 == 1


async def test_global_limit_is_retried_by_discord_py(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """A global 429 (X-RateLimit-Global) pauses discord.py, which then retries successfully."""
    client = await start_client(BotClient())
    fake.enforce_global_limit = True
    fake.global_limit = 2
    fake.global_window = 0.2
    fake.reset_rate_limits()  # the login's requests opened a 1 s window
    users = [fake.add_user(f"u{n}") for n in range(3)]
    fetched = [await client.fetch_user(int(u)) for u in users]

    assert [u.name for u in fetched] == ["u0", "u1", "u2"]
    assert fake.http_429 == 1
    limited = next(c for c in fake.calls if c.status == 429)
    assert limited.response_headers["X-RateLimit-Global"] == "true"
    assert limited.response_json["global"] is True


async def test_latency_is_added_to_every_request(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """fake.latency delays each REST answer by that many seconds."""
    client = await start_client(BotClient())
    fake.latency = 0.1
    started = time.monotonic()
    await client.fetch_user(int(fake.add_user("nora")))
    assert time.monotonic() - started >= 0.1


# =========================================================================== commands


async def test_tree_sync_reaches_bulk_overwrite(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """tree.sync(guild=...) PUTs the guild commands; ids come back and survive a re-sync."""
    assert fake.default_guild is not None
    guild = discord.Object(id=int(fake.default_guild.id))
    client = BotClient()

    @client.tree.command(name="book", description="Book a mentoring slot", guild=guild)
    @app_commands.describe(when="When to meet")
    async def book(interaction: discord.Interaction, when: str) -> None:
        await interaction.response.send_message(f"booked {when}")

    await start_client(client)
    synced = await client.tree.sync(guild=guild)
    resynced = await client.tree.sync(guild=guild)
    global_synced = await client.tree.sync()

    route = f"^/applications/{fake.application_id}/guilds/{guild.id}/commands$"
    put = fake.calls_matching("PUT", route)
    assert len(put) == 2 and put[0].json[0]["name"] == "book"
    assert [c.name for c in synced] == ["book"]
    assert synced[0].id == resynced[0].id == int(fake.commands[str(guild.id)][0]["id"])
    assert global_synced == [] and fake.commands[None] == []

    inter = await fake.dispatch_slash_command(
        "book",
        {"when": "friday"},
        user_id=fake.add_user("olga"),
        guild_id=str(guild.id),
        command_guild_id=str(guild.id),
    )
    assert inter.payload["data"]["id"] == str(synced[0].id)
    response = await fake.wait_for_interaction_response(inter)
    assert response.data is not None and response.data["content"] == "booked friday"


# =========================================================================== gateway


async def test_resume_after_disconnect_replays_missed_events(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """After a 4000 close discord.py RESUMEs; events dispatched meanwhile are replayed."""
    client = await start_client(BotClient())
    pat = fake.add_user("pat")
    await fake.disconnect_all(4000)
    await fake.dispatch_message_create(None, pat, "sent while you were away")
    await fake.wait_until_resumed()
    await fake.wait_for(lambda: any(m.content == "sent while you were away" for m in client.seen))
    assert fake.identify_count == 1 and client.ready_count == 1


async def test_invalid_session_forces_new_identify(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """With the session forgotten, RESUME gets op 9 and the client IDENTIFYs again (on_ready x2)."""
    client = BotClient()
    client.views_to_register.append(AckView())
    await start_client(client)
    await fake.disconnect_all(4000, invalidate_sessions=True)
    await fake.wait_until_identified(count=2)
    await fake.wait_for(lambda: client.ready_count == 2)
    # Persistent views survive the re-identify.
    inter = await fake.dispatch_button("mentorbot:ack", user_id=fake.add_user("quinn"))
    assert (await fake.wait_for_interaction_response(inter)).type == p.CALLBACK_UPDATE_MESSAGE


async def test_disallowed_privileged_intent_closes_4014(fake: FakeDiscord) -> None:
    """Asking for a privileged intent the app lacks closes 4014: PrivilegedIntentsRequired."""
    fake.allowed_privileged_intents = 0
    client = BotClient(DEFAULT_INTENTS | discord.Intents(message_content=True))
    try:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await asyncio.wait_for(client.start(fake.token), 5)
    finally:
        await client.close()


async def test_raw_gateway_protocol_with_zlib_stream(fake: FakeDiscord) -> None:
    """The socket speaks zlib-stream JSON: HELLO, heartbeat ACK, READY with seq and resume URL."""
    inflater = zlib.decompressobj()

    async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, object]:
        msg = await ws.receive(timeout=5)
        assert msg.type is aiohttp.WSMsgType.BINARY and msg.data.endswith(b"\x00\x00\xff\xff")
        return json.loads(inflater.decompress(msg.data))

    url = fake.gateway_url + "?v=10&encoding=json&compress=zlib-stream"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        hello = await receive(ws)
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 1000  # type: ignore[index]
        await ws.send_str(json.dumps({"op": 1, "d": None}))
        assert (await receive(ws))["op"] == 11
        identify = {"token": fake.token, "intents": 0, "properties": {}}
        await ws.send_str(json.dumps({"op": 2, "d": identify}))
        ready = await receive(ws)
        assert ready["t"] == "READY" and ready["s"] == 1
        data = ready["d"]
        assert isinstance(data, dict)
        assert data["resume_gateway_url"] == fake.gateway_url
        assert data["application"]["id"] == fake.application_id
        assert data["guilds"] == [{"id": g.id, "unavailable": True} for g in fake.guilds]
        # No GUILDS intent, so no GUILD_CREATE: the next frame is what the test dispatches.
        seq = await fake.dispatch("TYPING_START", {"channel_id": "1", "user_id": "2"})
        event = await receive(ws)
        assert event["t"] == "TYPING_START" and event["s"] == seq == 2
    await fake.wait_for(lambda: not fake._sessions)


async def test_gateway_rejects_bad_token_with_4004(fake: FakeDiscord) -> None:
    """IDENTIFY with the wrong token is closed with 4004 Authentication failed."""
    async with aiohttp.ClientSession() as session, session.ws_connect(fake.gateway_url) as ws:
        assert json.loads((await ws.receive(timeout=5)).data)["op"] == 10
        await ws.send_str(json.dumps({"op": 2, "d": {"token": "nope", "intents": 0}}))
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 4004
    assert fake.identify_count == 0 and fake.token == DEFAULT_TOKEN


async def test_gateway_closes_on_protocol_errors(fake: FakeDiscord) -> None:
    """Payloads before IDENTIFY close 4003 and unknown opcodes close 4001, as on Discord."""
    async with aiohttp.ClientSession() as session:
        for frame, code in (({"op": 3, "d": {}}, 4003), ({"op": 99, "d": None}, 4001)):
            async with session.ws_connect(fake.gateway_url) as ws:
                assert json.loads((await ws.receive(timeout=5)).data)["op"] == 10
                await ws.send_str(json.dumps(frame))
                closing = await ws.receive(timeout=5)
                assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == code


async def test_a_modal_over_discords_limits_is_refused_and_a_submit_must_fit_it(
    fake: FakeDiscord, start_client: StartClient
) -> None:
    """A 46-character input label is 400/50035; a submit longer than max_length raises."""
    client = BotClient()

    @client.tree.command(name="quiet", description="Never answers")
    async def quiet(interaction: discord.Interaction) -> None:
        return None

    await start_client(client)
    hana = fake.add_user("hana")
    bad_modal, good_modal = (
        {
            "type": p.CALLBACK_MODAL,
            "data": {
                "custom_id": "mb:form:x",
                "title": "Form",
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {
                                "type": p.COMPONENT_TEXT_INPUT,
                                "custom_id": "answer",
                                "label": label,
                                "style": 2,
                                "max_length": 10,
                            }
                        ],
                    }
                ],
            },
        }
        for label in ("L" * 46, "Answer")
    )
    async with aiohttp.ClientSession() as session:
        for body, status in ((bad_modal, 400), (good_modal, 204)):
            inter = await fake.dispatch_slash_command("quiet", user_id=hana)
            url = f"{fake.api_base}/interactions/{inter.id}/{inter.token}/callback"
            async with session.post(url, json=body) as response:
                assert response.status == status
    with pytest.raises(ValueError, match="max_length"):
        await fake.dispatch_modal_submit("mb:form:x", {"answer": "x" * 11}, user_id=hana)
    with pytest.raises(ValueError, match="required"):
        await fake.dispatch_modal_submit("mb:form:x", {"answer": ""}, user_id=hana)


async def test_limits_are_on_by_default(fake: FakeDiscord) -> None:
    """Route buckets, the global limit and the DM-open limit are enforced unless switched off."""
    assert fake.enforce_global_limit and fake.enforce_route_limits and fake.enforce_dm_open_limit
    fake.limits_enabled(False)
    assert not (fake.enforce_global_limit or fake.enforce_route_limits)


async def test_opening_dms_too_fast_answers_40003_and_counts_as_invalid(fake: FakeDiscord) -> None:
    """Past the DM-open limit the first message into a new DM is 403 40003, an invalid request."""
    fake.dm_open_limit = 1
    headers = {"Authorization": f"Bot {fake.token}"}
    users = [fake.add_user(f"new{n}") for n in range(2)]
    async with aiohttp.ClientSession(headers=headers) as session:
        statuses = []
        for user in users:
            async with session.post(
                f"{fake.api_base}/users/@me/channels", json={"recipient_id": user}
            ) as opened:
                channel = (await opened.json())["id"]
            async with session.post(
                f"{fake.api_base}/channels/{channel}/messages", json={"content": "hi"}
            ) as sent:
                statuses.append((sent.status, (await sent.json()).get("code")))
    assert statuses == [(200, None), (403, 40003)]
    assert fake.dm_open_refusals == 1 and fake.invalid_requests() == 1


async def test_past_the_invalid_request_limit_everything_is_banned(fake: FakeDiscord) -> None:
    """More invalid requests than the limit in the window: every request answers 403 banned."""
    fake.invalid_limit = 2
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(f"{fake.api_base}/users/@me") as response:
                assert response.status == 401
        async with session.get(
            f"{fake.api_base}/users/@me", headers={"Authorization": f"Bot {fake.token}"}
        ) as response:
            assert (response.status, await response.text()) == (403, "banned")
    assert fake.banned_requests == 1
