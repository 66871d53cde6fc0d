"""A loopback fake of Discord (REST API v10 + gateway websocket) for driving a real discord.py.

Usage::

    async with running_fake() as fake:  # FakeDiscord + discord_pointed_at(...)
        client = discord.Client(intents=discord.Intents.none(), guild_ready_timeout=0.05)
        task = asyncio.create_task(client.start(fake.token))
        await fake.wait_until_identified()
        inter = await fake.dispatch_slash_command("ping", user_id=fake.add_user("alice"))
        response = await fake.wait_for_interaction_response(inter)
        await client.close()  # before the fake stops, or discord.py keeps reconnecting
        await task

Everything listens on 127.0.0.1 with a random free port.  The fake keeps just enough state
(messages, DM channels, commands, gateway sessions) to answer discord.py like Discord does,
and records every request so tests can assert on what the bot *sent*.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import hashlib
import json
import math
import re
import secrets
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.parser import BytesParser
from types import TracebackType
from typing import Any, Self

import discord.gateway
import discord.http
import yarl
from aiohttp import WSMsgType, web

from mentorbot_fakes import discord_payloads as p

JSON = dict[str, Any]

API_PREFIX = "/api/v10"
DEFAULT_TOKEN = "MTI5MDAwMDAwMDAwMDAwMDAwMA.Gfake0.loopback-discord-fake-token"
DEFAULT_APPLICATION_ID = "1290000000000000000"
#: How long Discord remembers an ``enforce_nonce`` nonce (documented as "a few minutes").
DEFAULT_NONCE_WINDOW = 300.0
#: Discord drops an interaction that was not answered within three seconds.
DEFAULT_INTERACTION_DEADLINE = 3.0
#: Discord's real HELLO interval; tests usually lower it.
DEFAULT_HEARTBEAT_INTERVAL_MS = 41_250

# Opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

# Callback types each interaction type may answer with (others are a 400 on Discord).
_ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    p.INTERACTION_PING: frozenset({p.CALLBACK_PONG}),
    p.INTERACTION_APPLICATION_COMMAND: frozenset({4, 5, 9, 12}),
    p.INTERACTION_MESSAGE_COMPONENT: frozenset({4, 5, 6, 7, 9, 12}),
    p.INTERACTION_AUTOCOMPLETE: frozenset({8}),
    p.INTERACTION_MODAL_SUBMIT: frozenset({4, 5, 6, 7}),
}

# Request headers worth keeping on a RecordedCall.
# Discord's limits on registering application commands (CHAT_INPUT names are lowercase).
COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
MAX_COMMAND_DESCRIPTION = 100
MAX_COMMAND_OPTIONS = 25
MAX_CHOICES = 25
MAX_TOP_LEVEL_COMMANDS = 100
OPTION_SUB_COMMAND = 1
OPTION_SUB_COMMAND_GROUP = 2


def command_problems(command: Mapping[str, Any], path: str = "") -> list[str]:
    """What Discord would refuse in one command (or option) registration, as readable lines.

    Names: 1-32 letters, digits, `-` or `_`, lowercase; descriptions 1-100 characters; at
    most 25 options (or subcommands) and 25 choices; required options before optional ones.
    """
    name = str(command.get("name", ""))
    here = f"{path} {name}".strip()
    problems: list[str] = []
    if not COMMAND_NAME.match(name) or name != name.lower():
        problems.append(f"{here}: name must be 1-32 lowercase letters, digits, - or _")
    description = str(command.get("description", ""))
    if command.get("type", 1) == 1 and not 1 <= len(description) <= MAX_COMMAND_DESCRIPTION:
        problems.append(f"{here}: description must be 1-{MAX_COMMAND_DESCRIPTION} characters")
    options = list(command.get("options") or [])
    if len(options) > MAX_COMMAND_OPTIONS:
        problems.append(f"{here}: more than {MAX_COMMAND_OPTIONS} options")
    if len(command.get("choices") or []) > MAX_CHOICES:
        problems.append(f"{here}: more than {MAX_CHOICES} choices")
    names = [str(o.get("name", "")) for o in options]
    if len(set(names)) != len(names):
        problems.append(f"{here}: option names repeat")
    seen_optional = False
    for option in options:
        if option.get("type") in (OPTION_SUB_COMMAND, OPTION_SUB_COMMAND_GROUP):
            problems.extend(command_problems({"type": 1, **option}, here))
            continue
        problems.extend(command_problems({"type": 1, **option}, here))
        if option.get("required"):
            if seen_optional:
                problems.append(f"{here}: required option {option.get('name')} after optional")
        else:
            seen_optional = True
    return problems


_RECORDED_HEADERS = ("Authorization", "Content-Type", "User-Agent", "X-Audit-Log-Reason")


# =========================================================================== URL overrides


def point_discord_at(rest_base: str, gateway_url: str) -> None:
    """Make every discord.py client in this process talk to ``rest_base``/``gateway_url``.

    discord.py 2.7 has no per-client knob for either URL, so this sets two class attributes:

    * ``discord.http.Route.BASE`` (str, default ``"https://discord.com/api/v10"``): every REST
      call, including interaction callbacks and webhook follow-ups (``discord.webhook.async_``
      imports the same ``Route``), builds its URL as ``Route.BASE + path`` when the ``Route`` is
      constructed, so changing it affects all later requests.  Must include ``/api/v10`` and
      no trailing slash.
    * ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (``yarl.URL``, default
      ``wss://gateway.discord.gg/``): a plain ``discord.Client`` connects here directly (it never
      calls GET /gateway or /gateway/bot) and appends ``?v=10&encoding=json&compress=zlib-stream``.
      After READY it reconnects/resumes to READY's ``resume_gateway_url``; after an
      INVALID_SESSION it falls back to ``DEFAULT_GATEWAY`` again.

    ``AutoShardedClient`` instead takes the gateway from GET /gateway/bot (which the fake also
    points back at itself).  CDN asset URLs (avatars) are not redirected: never fetch them.
    """
    discord.http.Route.BASE = rest_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


@contextlib.contextmanager
def discord_pointed_at(rest_base: str, gateway_url: str) -> Iterator[None]:
    """Context manager around :func:`point_discord_at` that restores the previous URLs."""
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    point_discord_at(rest_base, gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


# =========================================================================== records


@dataclass
class RecordedFile:
    """A file uploaded in a multipart request (``files[n]`` part)."""

    field_name: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class RecordedCall:
    """One REST request as the fake received it, plus the status it answered with."""

    method: str
    #: Path relative to the API base, e.g. ``/channels/123/messages`` (no query string).
    path: str
    #: Matched route template, e.g. ``/channels/{channel_id}/messages``; ``""`` if unknown.
    route: str
    query: dict[str, str]
    #: JSON body, or the parsed ``payload_json`` part of a multipart body; None if absent.
    json: Any
    headers: dict[str, str]
    #: ``time.monotonic()`` when the request arrived (before the simulated latency).
    at: float
    files: list[RecordedFile] = field(default_factory=list)
    status: int | None = None
    response_json: Any = None
    response_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class InteractionResponse:
    """An accepted POST /interactions/{id}/{token}/callback."""

    interaction_id: str
    token: str
    #: Callback type: 4 message, 5 deferred, 6 deferred update, 7 update message, 9 modal, ...
    type: int
    data: JSON | None
    at: float
    files: list[RecordedFile] = field(default_factory=list)

    @property
    def flags(self) -> int:
        """Message flags of the response (64 = ephemeral)."""
        return int((self.data or {}).get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        """Whether the response asked for an ephemeral message."""
        return bool(self.flags & p.MESSAGE_FLAG_EPHEMERAL)


@dataclass
class DispatchedInteraction:
    """An interaction the fake sent over the gateway; use ``id``/``token`` to find replies."""

    id: str
    token: str
    type: int
    channel_id: str
    guild_id: str | None
    user_id: str
    payload: JSON
    dispatched_at: float
    #: Message the component was attached to (component / modal-from-component only).
    message_id: str | None = None
    #: Callback type of the initial response once one has been accepted.
    response_type: int | None = None
    #: Message ``@original`` resolves to (created by type 4/5, or the component's message).
    original_message_id: str | None = None


@dataclass
class RouteLimit:
    """A per-route bucket: ``limit`` requests per ``window`` seconds per major parameter."""

    limit: int
    window: float


@dataclass
class FakeGuild:
    """A guild the bot is in; its text channels are ``name -> id``."""

    id: str
    name: str
    owner_id: str
    channels: dict[str, str] = field(default_factory=dict)

    def channel_id(self, name: str) -> str:
        """Id of the text channel called ``name``."""
        return self.channels[name]


@dataclass
class _Injection:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    remaining: int


@dataclass
class _Bucket:
    count: int
    reset_at: float  # monotonic


@dataclass
class _GatewaySession:
    session_id: str
    intents: int
    seq: int = 0
    #: (seq, frame) of dispatches, replayed on RESUME.
    buffer: list[tuple[int, JSON]] = field(default_factory=list)
    connection: _GatewayConnection | None = None


class _DiscordError(Exception):
    """Raised by handlers to answer with Discord's JSON error shape."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class _GatewayConnection:
    """One websocket; serialises sends so the zlib stream and sequence numbers stay ordered."""

    def __init__(self, ws: web.WebSocketResponse, *, zlib_stream: bool) -> None:
        self.ws = ws
        self.session: _GatewaySession | None = None
        self.lock = asyncio.Lock()
        #: Set when the fake closed the socket, so its close code is not the client's.
        self.server_closed = False
        # One compressor for the whole connection: zlib-stream is a single deflate stream
        # and the client keeps one decompressor, flushed with Z_SYNC_FLUSH per message.
        self._compressor = zlib.compressobj() if zlib_stream else None

    async def send(self, frame: JSON) -> None:
        """Send a frame; caller must hold ``lock`` when ordering matters."""
        text = json.dumps(frame, separators=(",", ":"))
        if self._compressor is None:
            await self.ws.send_str(text)
        else:
            data = self._compressor.compress(text.encode()) + self._compressor.flush(
                zlib.Z_SYNC_FLUSH
            )
            await self.ws.send_bytes(data)


# =========================================================================== the fake


class FakeDiscord:
    """Loopback Discord: REST routes a discord.py bot uses plus a gateway websocket.

    Tunables (plain attributes, change any time):

    * ``latency`` - seconds added to every REST request.
    * ``enforce_global_limit`` / ``global_limit`` / ``global_window`` - global rate limit
      (50 requests per 1 s, ON by default).  Interaction callbacks are exempt, as on Discord.
    * ``enforce_route_limits`` / ``route_limits`` - per-route buckets keyed by
      ``(METHOD, template)`` and the major parameter (ON by default): creating, editing and
      deleting messages 5 per 5 s per channel, opening DMs, interaction follow-ups 5 per 2 s
      per webhook. Responses carry ``X-RateLimit-*`` headers so discord.py pre-empts.
    * ``enforce_dm_open_limit`` / ``dm_open_limit`` / ``dm_open_window`` - the first message
      into a DM the bot opened (POST /users/@me/channels) counts as opening a conversation;
      beyond ``dm_open_limit`` per ``dm_open_window`` seconds Discord answers 403 code 40003
      ("You are opening direct messages too fast"). Discord publishes no figure: the default
      (30 per minute) is this fake's assumption. DMs created with ``dm_channel_id_for`` count
      as opened long ago (a programme's second day).
    * ``invalid_limit`` / ``invalid_window`` - Discord bans for a while whoever sends 10,000
      invalid requests (401, 403, 429 other than ``shared``) in 10 minutes; the fake counts
      them (``invalid_requests()``) and, past the limit, answers everything 403 (``banned``).
    * ``limits_enabled(False)`` turns all of the above off: only for a benchmark to show
      their effect, and it says so in its output.
    * ``nonce_window`` - seconds an ``enforce_nonce`` nonce deduplicates.
    * ``interaction_deadline`` - seconds to answer an interaction (None: no limit).
    * ``heartbeat_interval_ms`` - HELLO interval; ``ack_heartbeats`` - answer op 1 or not.
    * ``allowed_privileged_intents`` - bit mask; IDENTIFY asking more is closed with 4014.
    * ``echo_own_messages`` - dispatch MESSAGE_CREATE for messages the bot posts (Discord does).
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        application_id: str = DEFAULT_APPLICATION_ID,
        bot_user_id: str | None = None,
        bot_username: str = "MentorBot",
        owner_id: str | None = None,
        default_guild_name: str | None = "Mentor Academy",
        default_channel_names: Sequence[str] = ("general", "mentoring"),
        heartbeat_interval_ms: int = DEFAULT_HEARTBEAT_INTERVAL_MS,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.application_id = application_id
        # Bots created since 2021 share their id with the application.
        self.bot_user_id = bot_user_id or application_id
        self.host = host
        self.snowflakes = p.SnowflakeFactory()

        # --- tunables
        self.latency = 0.0
        self.enforce_global_limit = True
        self.global_limit = 50
        self.global_window = 1.0
        self.enforce_route_limits = True
        self.route_limits: dict[tuple[str, str], RouteLimit] = {
            ("POST", "/channels/{channel_id}/messages"): RouteLimit(limit=5, window=5.0),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}"): RouteLimit(5, 5.0),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}"): RouteLimit(5, 5.0),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}"): RouteLimit(5, 2.0),
            ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"): (
                RouteLimit(5, 2.0)
            ),
        }
        self.enforce_dm_open_limit = True
        self.dm_open_limit = 30
        self.dm_open_window = 60.0
        self.invalid_limit = 10_000
        self.invalid_window = 600.0
        self.nonce_window = DEFAULT_NONCE_WINDOW
        self.interaction_deadline: float | None = DEFAULT_INTERACTION_DEADLINE
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.ack_heartbeats = True
        self.allowed_privileged_intents = p.PRIVILEGED_INTENTS
        self.echo_own_messages = True

        # --- world state
        self.bot_user = p.user(self.bot_user_id, bot_username, bot=True)
        self.owner_user = p.user(owner_id or self.snowflakes.next(), "mentorbot-owner")
        # The language each user's Discord client is set to: every interaction they start
        # carries it as ``locale`` (Discord sends the invoking user's client language).
        self.user_locales: dict[str, str] = {}
        self.users: dict[str, JSON] = {
            self.bot_user_id: self.bot_user,
            self.owner_user["id"]: self.owner_user,
        }
        self.guilds: list[FakeGuild] = []
        self.default_guild: FakeGuild | None = None
        if default_guild_name is not None:
            self.default_guild = self.add_guild(default_guild_name, default_channel_names)
        self.dm_channels: dict[str, str] = {}  # recipient user id -> DM channel id
        # DM channel id -> user id, a cache over dm_channels (checked against it on use), so a
        # 10,000-DM fan-out does not scan every DM for every message (bench/fanout.py).
        self._dm_by_channel: dict[str, str] = {}
        #: Threads the bot opened (id -> thread channel object with a ``member_ids`` list).
        self.threads: dict[str, JSON] = {}
        self.messages: dict[str, JSON] = {}  # id -> live message object
        #: Commands by guild id (None = global), as returned to the bot.
        self.commands: dict[str | None, list[JSON]] = {}
        # Why a command registration was refused (Discord answers 50035 with the details).
        self.registration_errors: list[str] = []
        self.interactions: dict[str, DispatchedInteraction] = {}
        #: Modals the bot opened (custom id -> modal data): a submit must fit its inputs.
        self.modals: dict[str, JSON] = {}

        # --- recordings
        self.calls: list[RecordedCall] = []
        #: Every message the bot created (channel sends, interaction replies, follow-ups),
        #: as the live message objects (later edits show up here).
        self.messages_sent: list[JSON] = []
        self.interaction_responses: list[InteractionResponse] = []
        self.http_429 = 0
        #: ``time.monotonic()`` of every request the global limit counted (its window's view,
        #: after the simulated latency), for measuring how close a sender came to the limit.
        self.global_counted_at: list[float] = []
        self.nonce_hits = 0
        self.identify_count = 0
        self.resume_count = 0
        self.heartbeat_count = 0
        self.identify_payloads: list[JSON] = []
        self.gateway_received: list[JSON] = []

        #: ``time.monotonic()`` of every invalid request (401, 403, non-shared 429).
        self.invalid_at: list[float] = []
        #: Requests answered 403 because the invalid-request limit was passed.
        self.banned_requests = 0
        #: Sends refused with 40003 (opening DMs too fast).
        self.dm_open_refusals = 0

        # --- internals
        # DMs the bot opened with POST /users/@me/channels and has not written to yet,
        # and when the first messages into opened DMs were accepted (the 40003 window).
        self._unopened_dms: set[str] = set()
        self._dm_first_sends: list[float] = []
        self._forbidden_dm_users: set[str] = set()
        self._unknown_channels: set[str] = set()
        self._injections: list[_Injection] = []
        self._buckets: dict[str, _Bucket] = {}
        self._global_count = 0
        self._global_reset_at = 0.0
        self._nonces: dict[tuple[str, str], tuple[str, float]] = {}
        self._sessions: dict[str, _GatewaySession] = {}
        self._connections: set[_GatewayConnection] = set()
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._route_auth: dict[str, bool] = {}
        # The RecordedCall of each in-flight request (handlers read the parsed body from it).
        self._active_calls: dict[int, RecordedCall] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind 127.0.0.1 on a free port and start serving REST and the gateway."""
        self._changed = asyncio.Condition()
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024**2)
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        # Port 0 lets the OS pick a free port; AppRunner.addresses reports what was bound.
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Close gateway connections (1001 going away) and shut the server down."""
        for conn in list(self._connections):
            await conn.ws.close(code=1001, message=b"fake discord stopping")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port (after ``start``)."""
        if self._port is None:
            raise RuntimeError("FakeDiscord is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        """Value for ``Route.BASE``: ``http://127.0.0.1:PORT/api/v10``."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """Value for ``DEFAULT_GATEWAY``: ``ws://127.0.0.1:PORT/gateway``."""
        return f"ws://{self.host}:{self.port}/gateway"

    # ------------------------------------------------------------------ world setup

    def add_user(
        self,
        username: str,
        user_id: str | None = None,
        *,
        bot: bool = False,
        locale: str = "en-US",
    ) -> str:
        """Register a user (for fetch_user and interaction invokers); returns its id.

        ``locale`` is the language of the user's client ("es-ES", "zh-CN", "ar"), sent on
        every interaction they start.
        """
        uid = user_id or self.snowflakes.next()
        self.users[uid] = p.user(uid, username, bot=bot)
        self.user_locales[uid] = locale
        return uid

    def add_guild(self, name: str, channel_names: Sequence[str] = ("general",)) -> FakeGuild:
        """Add a guild with text channels; it appears in READY and (GUILDS intent) GUILD_CREATE."""
        guild = FakeGuild(id=self.snowflakes.next(), name=name, owner_id=self.owner_user["id"])
        for channel_name in channel_names:
            guild.channels[channel_name] = self.snowflakes.next()
        self.guilds.append(guild)
        return guild

    def user_payload(self, user_id: str) -> JSON:
        """The user object for ``user_id``; unknown ids get a synthesised user."""
        if user_id not in self.users:
            self.users[user_id] = p.user(user_id, f"user{user_id[-4:]}")
        return self.users[user_id]

    def dm_channel_id_for(self, user_id: str) -> str:
        """The (stable) id of the bot's DM channel with ``user_id``, creating it if needed."""
        if user_id not in self.dm_channels:
            self.dm_channels[user_id] = self.snowflakes.next()
        self._dm_by_channel[self.dm_channels[user_id]] = user_id
        return self.dm_channels[user_id]

    def guild_of_channel(self, channel_id: str) -> FakeGuild | None:
        """The configured guild owning ``channel_id`` (a thread: its parent's), if any."""
        thread = self.threads.get(channel_id)
        if thread is not None:
            channel_id = thread["parent_id"]
        for guild in self.guilds:
            if channel_id in guild.channels.values():
                return guild
        return None

    def limits_enabled(self, on: bool) -> None:
        """Switch every rate limit on or off (off only to show a limit's effect in a bench)."""
        self.enforce_global_limit = on
        self.enforce_route_limits = on
        self.enforce_dm_open_limit = on

    def reset_rate_limits(self) -> None:
        """Start every window afresh, as if the bot had been idle (after changing a limit)."""
        self._buckets.clear()
        self._global_count = 0
        self._global_reset_at = 0.0
        self._dm_first_sends.clear()

    def invalid_requests(self, window: float | None = None) -> int:
        """Invalid requests (401, 403, non-shared 429) in the last ``window`` seconds."""
        since = time.monotonic() - (self.invalid_window if window is None else window)
        return sum(1 for at in self.invalid_at if at >= since)

    # ------------------------------------------------------------------ error injection

    def forbid_dm(self, user_id: str) -> None:
        """Sending into ``user_id``'s DM fails with 403 code 50007 (DMs closed / blocked)."""
        self._forbidden_dm_users.add(user_id)

    def allow_dm(self, user_id: str) -> None:
        """Undo :meth:`forbid_dm`."""
        self._forbidden_dm_users.discard(user_id)

    def unknown_channel(self, channel_id: str) -> None:
        """Every request on ``channel_id`` fails with 404 code 10003 (Unknown Channel)."""
        self._unknown_channels.add(channel_id)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` requests matching ``method`` and ``path_regex`` get this answer.

        ``path_regex`` is searched in the path relative to the API base
        (``/channels/123/messages``).  For status 429 a ``Retry-After`` header is derived from
        ``body["retry_after"]``; ``Via`` is always sent (discord.py treats a 429 without it as
        a Cloudflare ban and does not retry).
        """
        self._injections.append(
            _Injection(
                method=method.upper(),
                pattern=re.compile(path_regex),
                status=status,
                body=body,
                headers=dict(headers or {}),
                remaining=times,
            )
        )

    def clear_failures(self) -> None:
        """Forget every `fail_next` injection not used up yet (an outage ends)."""
        self._injections.clear()

    # ------------------------------------------------------------------ queries

    def calls_matching(self, method: str, path_regex: str) -> list[RecordedCall]:
        """Recorded calls with this method whose path matches ``path_regex`` (re.search)."""
        pattern = re.compile(path_regex)
        return [c for c in self.calls if c.method == method.upper() and pattern.search(c.path)]

    def responses_for(self, interaction: DispatchedInteraction | str) -> list[InteractionResponse]:
        """Accepted callbacks for an interaction (object or id)."""
        iid = interaction if isinstance(interaction, str) else interaction.id
        return [r for r in self.interaction_responses if r.interaction_id == iid]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109 - the tests' API: one deadline per wait
        """Wait until ``predicate()`` holds.

        Re-checked after every request or gateway frame, and every 20 ms so predicates on
        bot-side state (set after the bot's last request) are noticed promptly too.
        """
        if self._changed is None:
            raise RuntimeError("FakeDiscord is not started")
        async with asyncio.timeout(timeout):
            while not predicate():
                async with self._changed:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.02)

    async def wait_until_identified(self, timeout: float = 5.0, *, count: int = 1) -> None:  # noqa: ASYNC109 - the tests' API: one deadline per wait
        """Wait until ``count`` IDENTIFYs have been answered with READY."""
        await self.wait_for(lambda: self.identify_count >= count, timeout)

    async def wait_until_resumed(self, timeout: float = 5.0, *, count: int = 1) -> None:  # noqa: ASYNC109 - the tests' API: one deadline per wait
        """Wait until ``count`` RESUMEs have been answered with RESUMED."""
        await self.wait_for(lambda: self.resume_count >= count, timeout)

    async def wait_for_interaction_response(
        self,
        interaction: DispatchedInteraction | str,
        timeout: float = 5.0,  # noqa: ASYNC109 - the tests' API: one deadline per wait
    ) -> InteractionResponse:
        """Wait for the initial callback to an interaction and return it."""
        await self.wait_for(lambda: bool(self.responses_for(interaction)), timeout)
        return self.responses_for(interaction)[0]

    async def wait_for_call(
        self,
        method: str,
        path_regex: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - the tests' API: one deadline per wait
        *,
        count: int = 1,
    ) -> RecordedCall:
        """Wait until ``count`` matching calls were answered; return the last one."""
        await self.wait_for(
            lambda: (
                len([c for c in self.calls_matching(method, path_regex) if c.status is not None])
                >= count
            ),
            timeout,
        )
        return [c for c in self.calls_matching(method, path_regex) if c.status is not None][-1]

    async def _notify(self) -> None:
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    # ================================================================== REST plumbing

    def _add_routes(self, app: web.Application) -> None:
        routes: list[tuple[str, str, Callable[[web.Request], Awaitable[web.Response]], bool]] = [
            # (method, template, handler, needs bot auth)
            ("GET", "/users/@me", self._get_me, True),
            ("POST", "/users/@me/channels", self._create_dm, True),
            ("GET", "/users/{user_id}", self._get_user, True),
            ("GET", "/gateway", self._get_gateway, False),
            ("GET", "/gateway/bot", self._get_gateway_bot, True),
            # discord.py's Client.login() calls the oauth2 alias; both exist on Discord.
            ("GET", "/oauth2/applications/@me", self._get_application, True),
            ("GET", "/applications/@me", self._get_application, True),
            ("GET", "/applications/{application_id}/commands", self._get_commands, True),
            ("PUT", "/applications/{application_id}/commands", self._put_commands, True),
            ("POST", "/applications/{application_id}/commands", self._post_command, True),
            (
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._get_commands,
                True,
            ),
            (
                "PUT",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._put_commands,
                True,
            ),
            (
                "POST",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                self._post_command,
                True,
            ),
            ("GET", "/channels/{channel_id}", self._get_channel, True),
            ("POST", "/channels/{channel_id}/messages", self._create_message, True),
            ("POST", "/channels/{channel_id}/typing", self._typing, True),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message, True),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_message, True),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message, True),
            ("POST", "/channels/{channel_id}/threads", self._start_thread, True),
            (
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                self._start_thread_from_message,
                True,
            ),
            (
                "PUT",
                "/channels/{channel_id}/thread-members/{user_id}",
                self._add_thread_member,
                True,
            ),
            # Interaction callbacks and webhook-token routes are authenticated by the token
            # in the path; discord.py sends no Authorization header there.
            (
                "POST",
                "/interactions/{interaction_id}/{interaction_token}/callback",
                self._interaction_callback,
                False,
            ),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}", self._webhook_execute, False),
            (
                "GET",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                self._webhook_get_message,
                False,
            ),
            (
                "PATCH",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                self._webhook_edit_message,
                False,
            ),
            (
                "DELETE",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                self._webhook_delete_message,
                False,
            ),
        ]
        for method, template, handler, auth in routes:
            app.router.add_route(method, API_PREFIX + template, handler)
            self._route_auth[f"{method} {template}"] = auth
        app.router.add_get("/gateway", self._gateway_handler)

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path == "/gateway":
            return await handler(request)
        call = await self._record(request)
        self._active_calls[id(request)] = call
        try:
            response = await self._answer(request, handler, call)
        finally:
            self._active_calls.pop(id(request), None)
        response.headers.setdefault("Via", "1.1 google")
        call.status = response.status
        call.response_headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower().startswith(("x-ratelimit", "retry"))
        }
        if isinstance(response, web.Response) and isinstance(response.body, bytes):
            with contextlib.suppress(ValueError, TypeError):
                call.response_json = json.loads(response.body)
        if response.status == 429:
            self.http_429 += 1
        if response.status in (401, 403) or (
            response.status == 429 and response.headers.get("X-RateLimit-Scope") != "shared"
        ):
            self.invalid_at.append(time.monotonic())
        await self._notify()
        return response

    async def _record(self, request: web.Request) -> RecordedCall:
        body = await request.read()
        path = request.path.removeprefix(API_PREFIX)
        resource = request.match_info.route.resource
        canonical = resource.canonical if resource is not None else ""
        route = canonical.removeprefix(API_PREFIX) if canonical.startswith(API_PREFIX) else ""
        payload, files = _parse_body(request.headers.get("Content-Type", ""), body)
        call = RecordedCall(
            method=request.method,
            path=path,
            route=route,
            query=dict(request.query),
            json=payload,
            headers={h: request.headers[h] for h in _RECORDED_HEADERS if h in request.headers},
            at=time.monotonic(),
            files=files,
        )
        self.calls.append(call)
        return call

    async def _answer(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        call: RecordedCall,
    ) -> web.StreamResponse:
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if not call.route:
            # Unknown route: Discord's generic 404 (405 for a known path, wrong method).
            http_exc = getattr(request.match_info, "http_exception", None)
            status = 405 if isinstance(http_exc, web.HTTPMethodNotAllowed) else 404
            reason = "Method Not Allowed" if status == 405 else "Not Found"
            return _error(status, 0, f"{status}: {reason}")
        if self._banned():
            self.banned_requests += 1
            # Cloudflare's temporary ban: an HTML 403, no JSON error code.
            return web.Response(status=403, text="banned", content_type="text/html")
        route_key = f"{call.method} {call.route}"
        if self._route_auth.get(route_key, True) and call.headers.get("Authorization") != (
            f"Bot {self.token}"
        ):
            return _error(401, 0, "401: Unauthorized")
        # Interaction endpoints (callbacks, and follow-ups on the interaction's webhook token)
        # are not bound to the global limit (Discord docs).
        if self.enforce_global_limit and not call.route.startswith(
            ("/interactions/", "/webhooks/")
        ):
            limited = self._check_global_limit()
            if limited is not None:
                return limited
        injected = self._take_injection(call)
        if injected is not None:
            return injected
        bucket_headers, limited = self._check_route_limit(call, request)
        if limited is not None:
            return limited
        try:
            response = await handler(request)
        except _DiscordError as err:
            response = _error(err.status, err.code, err.message)
        for key, value in bucket_headers.items():
            response.headers[key] = value
        return response

    def _call(self, request: web.Request) -> RecordedCall:
        return self._active_calls[id(request)]

    def _take_injection(self, call: RecordedCall) -> web.Response | None:
        for injection in self._injections:
            if injection.method == call.method and injection.pattern.search(call.path):
                injection.remaining -= 1
                if injection.remaining <= 0:
                    self._injections.remove(injection)
                headers = dict(injection.headers)
                if injection.status == 429 and isinstance(injection.body, dict):
                    retry = float(injection.body.get("retry_after", 1.0))
                    headers.setdefault("Retry-After", str(math.ceil(retry)))
                    headers.setdefault("X-RateLimit-Scope", "user")
                if injection.body is None:
                    return web.Response(status=injection.status, headers=headers)
                return _json_response(injection.body, status=injection.status, headers=headers)
        return None

    def _banned(self) -> bool:
        """True while the invalid requests of the last window exceed Discord's limit."""
        if len(self.invalid_at) <= self.invalid_limit:
            return False
        cutoff = time.monotonic() - self.invalid_window
        while self.invalid_at and self.invalid_at[0] < cutoff:
            self.invalid_at.pop(0)
        return len(self.invalid_at) > self.invalid_limit

    def _check_dm_open(self, channel_id: str) -> None:
        """403 40003 when the first message into an opened DM comes too fast after others."""
        if channel_id not in self._unopened_dms:
            return
        now = time.monotonic()
        if self.enforce_dm_open_limit:
            cutoff = now - self.dm_open_window
            while self._dm_first_sends and self._dm_first_sends[0] < cutoff:
                self._dm_first_sends.pop(0)
            if len(self._dm_first_sends) >= self.dm_open_limit:
                self.dm_open_refusals += 1
                raise _DiscordError(403, 40003, "You are opening direct messages too fast")
        self._dm_first_sends.append(now)
        self._unopened_dms.discard(channel_id)

    def _check_global_limit(self) -> web.Response | None:
        now = time.monotonic()
        if now >= self._global_reset_at:
            self._global_count = 0
            self._global_reset_at = now + self.global_window
        self._global_count += 1
        self.global_counted_at.append(now)
        if self._global_count <= self.global_limit:
            return None
        retry_after = round(self._global_reset_at - now, 3)
        return _json_response(
            {"message": "You are being rate limited.", "retry_after": retry_after, "global": True},
            status=429,
            headers={
                "Retry-After": str(math.ceil(retry_after)),
                "X-RateLimit-Global": "true",
                "X-RateLimit-Scope": "global",
            },
        )

    def _check_route_limit(
        self, call: RecordedCall, request: web.Request
    ) -> tuple[dict[str, str], web.Response | None]:
        if not self.enforce_route_limits:
            return {}, None
        limit = self.route_limits.get((call.method, call.route))
        if limit is None:
            return {}, None
        # Discord buckets are per route *and* major parameter (channel, guild, webhook).
        info = request.match_info
        major = "+".join(
            info[k] for k in ("channel_id", "guild_id", "webhook_id", "webhook_token") if k in info
        )
        bucket_hash = hashlib.sha1(f"{call.method} {call.route}".encode()).hexdigest()[:32]
        key = f"{bucket_hash}:{major}"
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None or now >= bucket.reset_at:
            bucket = self._buckets[key] = _Bucket(count=0, reset_at=now + limit.window)
        bucket.count += 1
        reset_after = max(bucket.reset_at - now, 0.0)
        headers = {
            "X-RateLimit-Limit": str(limit.limit),
            "X-RateLimit-Remaining": str(max(limit.limit - bucket.count, 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash,
        }
        if bucket.count <= limit.limit:
            return headers, None
        retry_after = round(reset_after, 3)
        return headers, _json_response(
            {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
            status=429,
            headers={
                **headers,
                "Retry-After": str(math.ceil(retry_after)),
                "X-RateLimit-Scope": "user",
            },
        )

    # ================================================================== REST handlers

    async def _get_me(self, request: web.Request) -> web.Response:
        return _json_response(
            {
                **self.bot_user,
                "verified": True,
                "mfa_enabled": False,
                "email": None,
                "locale": "en-US",
            }
        )

    async def _get_user(self, request: web.Request) -> web.Response:
        return _json_response(self.user_payload(request.match_info["user_id"]))

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return _json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        return _json_response(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000 - self.identify_count,
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def _get_application(self, request: web.Request) -> web.Response:
        return _json_response(
            p.application_info(
                self.application_id,
                name=self.bot_user["username"],
                bot_user=self.bot_user,
                owner=self.owner_user,
            )
        )

    def _check_application(self, request: web.Request) -> str | None:
        if request.match_info["application_id"] != self.application_id:
            raise _DiscordError(403, 50001, "Missing Access")
        guild_id = request.match_info.get("guild_id")
        if guild_id is not None and not any(g.id == guild_id for g in self.guilds):
            raise _DiscordError(403, 50001, "Missing Access")
        return guild_id

    async def _get_commands(self, request: web.Request) -> web.Response:
        guild_id = self._check_application(request)
        return _json_response(self.commands.get(guild_id, []))

    async def _put_commands(self, request: web.Request) -> web.Response:
        guild_id = self._check_application(request)
        body = self._call(request).json or []
        problems = [line for cmd in body for line in command_problems(cmd)]
        if len(body) > MAX_TOP_LEVEL_COMMANDS:
            problems.append(f"more than {MAX_TOP_LEVEL_COMMANDS} commands")
        if problems:
            self.registration_errors.extend(problems)
            raise _DiscordError(400, 50035, "Invalid Form Body")
        existing = {(c["name"], c["type"]): c for c in self.commands.get(guild_id, [])}
        stored = [self._store_command(cmd, guild_id, existing) for cmd in body]
        self.commands[guild_id] = stored
        return _json_response(stored)

    async def _post_command(self, request: web.Request) -> web.Response:
        guild_id = self._check_application(request)
        body = self._call(request).json or {}
        problems = command_problems(body)
        if problems:
            self.registration_errors.extend(problems)
            raise _DiscordError(400, 50035, "Invalid Form Body")
        current = self.commands.setdefault(guild_id, [])
        existing = {(c["name"], c["type"]): c for c in current}
        command = self._store_command(body, guild_id, existing)
        key = (command["name"], command["type"])
        created = key not in existing
        self.commands[guild_id] = [c for c in current if (c["name"], c["type"]) != key] + [command]
        return _json_response(command, status=201 if created else 200)

    def _store_command(
        self,
        body: Mapping[str, Any],
        guild_id: str | None,
        existing: Mapping[tuple[str, int], JSON],
    ) -> JSON:
        # Overwriting keeps the id of a command with the same name and type, as Discord does.
        previous = existing.get((body["name"], body.get("type", 1)))
        return p.application_command(
            body,
            command_id=previous["id"] if previous else self.snowflakes.next(),
            application_id=self.application_id,
            version=self.snowflakes.next(),
            guild_id=guild_id,
        )

    async def _create_dm(self, request: web.Request) -> web.Response:
        body = self._call(request).json or {}
        recipient_id = str(body.get("recipient_id", ""))
        if not recipient_id.isdigit():
            raise _DiscordError(400, 50035, "Invalid Form Body")
        new = recipient_id not in self.dm_channels
        channel_id = self.dm_channel_id_for(recipient_id)
        if new:
            self._unopened_dms.add(channel_id)
        return _json_response(p.dm_channel(channel_id, self.user_payload(recipient_id)))

    def _channel_payload(self, channel_id: str) -> JSON:
        if channel_id in self._unknown_channels:
            raise _DiscordError(404, 10003, "Unknown Channel")
        if channel_id in self.threads:
            return {k: v for k, v in self.threads[channel_id].items() if k != "member_ids"}
        dm_user = self._dm_recipient(channel_id)
        if dm_user is not None:
            return p.dm_channel(channel_id, self.user_payload(dm_user))
        guild = self.guild_of_channel(channel_id)
        if guild is not None:
            name = next(n for n, cid in guild.channels.items() if cid == channel_id)
            position = list(guild.channels).index(name)
            return p.text_channel(channel_id, guild.id, name, position=position)
        # Lenient on purpose: any other id is a text channel of the default guild, so adapter
        # tests can post to arbitrary channel ids; use unknown_channel() for the 404 path.
        guild_id = self.default_guild.id if self.default_guild else self.snowflakes.next()
        return p.text_channel(channel_id, guild_id, f"channel-{channel_id[-4:]}")

    async def _get_channel(self, request: web.Request) -> web.Response:
        return _json_response(self._channel_payload(request.match_info["channel_id"]))

    # ------------------------------------------------------------------ threads

    def _new_thread(
        self, parent_id: str, body: Mapping[str, Any], *, thread_id: str, thread_type: int
    ) -> JSON:
        parent = self._channel_payload(parent_id)
        if parent["type"] != p.CHANNEL_GUILD_TEXT:
            # Threads live in server text channels only (never in a DM or another thread).
            raise _DiscordError(400, 50024, "Cannot execute action on this channel type")
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 100:
            raise _DiscordError(400, 50035, "Invalid Form Body")
        thread: JSON = {
            "id": thread_id,
            "type": thread_type,
            "guild_id": parent.get("guild_id"),
            "parent_id": parent_id,
            "owner_id": self.bot_user_id,
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": int(body.get("auto_archive_duration") or 4320),
                "archive_timestamp": p.iso_timestamp(),
                "locked": False,
                "invitable": bool(body.get("invitable", True)),
            },
            "flags": 0,
            "member_ids": [self.bot_user_id],
        }
        self.threads[thread_id] = thread
        return thread

    async def _start_thread(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/threads: a thread without a message (type 11 public, 12 private)."""
        body = self._call(request).json or {}
        thread_type = int(body.get("type") or p.CHANNEL_PRIVATE_THREAD)
        if thread_type not in (p.CHANNEL_PUBLIC_THREAD, p.CHANNEL_PRIVATE_THREAD):
            raise _DiscordError(400, 50035, "Invalid Form Body")
        thread = self._new_thread(
            request.match_info["channel_id"],
            body,
            thread_id=self.snowflakes.next(),
            thread_type=thread_type,
        )
        return _json_response(self._channel_payload(thread["id"]), status=201)

    async def _start_thread_from_message(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/messages/{id}/threads: a public thread whose id is the message's."""
        info = request.match_info
        msg = self._message_in_channel(info["channel_id"], info["message_id"])
        if msg["id"] in self.threads:
            raise _DiscordError(400, 160004, "A thread has already been created for this message")
        thread = self._new_thread(
            info["channel_id"],
            self._call(request).json or {},
            thread_id=msg["id"],
            thread_type=p.CHANNEL_PUBLIC_THREAD,
        )
        return _json_response(self._channel_payload(thread["id"]), status=201)

    async def _add_thread_member(self, request: web.Request) -> web.Response:
        """PUT /channels/{id}/thread-members/{user}: add someone to a thread (204)."""
        info = request.match_info
        thread = self.threads.get(info["channel_id"])
        if thread is None:
            raise _DiscordError(404, 10003, "Unknown Channel")
        user_id = info["user_id"]
        if user_id not in self.users:
            raise _DiscordError(404, 10013, "Unknown User")
        if user_id not in thread["member_ids"]:
            thread["member_ids"].append(user_id)
            thread["member_count"] = len(thread["member_ids"])
        return web.Response(status=204)

    async def _typing(self, request: web.Request) -> web.Response:
        self._channel_payload(request.match_info["channel_id"])
        return web.Response(status=204)

    def _dm_recipient(self, channel_id: str) -> str | None:
        cached = self._dm_by_channel.get(channel_id)
        if cached is not None and self.dm_channels.get(cached) == channel_id:
            return cached
        for user_id, dm_id in self.dm_channels.items():
            if dm_id == channel_id:
                self._dm_by_channel[channel_id] = user_id
                return user_id
        return None

    async def _create_message(self, request: web.Request) -> web.Response:
        call = self._call(request)
        channel_id = request.match_info["channel_id"]
        self._channel_payload(channel_id)  # 404 for unknown_channel()
        recipient = self._dm_recipient(channel_id)
        if recipient is not None and recipient in self._forbidden_dm_users:
            raise _DiscordError(403, 50007, "Cannot send messages to this user")
        self._check_dm_open(channel_id)
        body = call.json or {}
        if not any(body.get(k) for k in ("content", "embeds", "components", "sticker_ids")) and (
            not call.files
        ):
            raise _DiscordError(400, 50006, "Cannot send an empty message")
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            key = (channel_id, str(nonce))
            seen = self._nonces.get(key)
            now = time.monotonic()
            if seen is not None and now - seen[1] < self.nonce_window:
                # Discord answers a repeated enforced nonce with the original message.
                self.nonce_hits += 1
                return _json_response(self.messages[seen[0]])
        msg = self._new_message(
            channel_id,
            body,
            call.files,
            message_type=p.MESSAGE_REPLY if body.get("message_reference") else p.MESSAGE_DEFAULT,
        )
        if nonce is not None and body.get("enforce_nonce"):
            self._nonces[(channel_id, str(nonce))] = (msg["id"], time.monotonic())
        if self.echo_own_messages:
            await self._echo_message(msg)
        return _json_response(msg)

    def _new_message(
        self,
        channel_id: str,
        body: Mapping[str, Any],
        files: Sequence[RecordedFile],
        *,
        message_type: int = p.MESSAGE_DEFAULT,
        flags: int | None = None,
        webhook: bool = False,
        interaction_payload: JSON | None = None,
    ) -> JSON:
        message_id = self.snowflakes.next()
        msg = p.message(
            message_id=message_id,
            channel_id=channel_id,
            author=self.bot_user,
            content=str(body.get("content") or ""),
            embeds=body.get("embeds"),
            components=body.get("components"),
            attachments=self._attachments(channel_id, body, files),
            flags=int(body.get("flags") or 0) if flags is None else flags,
            message_type=message_type,
            nonce=body.get("nonce"),
            tts=bool(body.get("tts")),
            webhook_id=self.application_id if webhook else None,
            application_id=self.application_id if webhook else None,
            interaction_metadata=(
                p.interaction_metadata(interaction_payload) if interaction_payload else None
            ),
            message_reference=body.get("message_reference"),
        )
        self.messages[message_id] = msg
        self.messages_sent.append(msg)
        return msg

    def _attachments(
        self, channel_id: str, body: Mapping[str, Any], files: Sequence[RecordedFile]
    ) -> list[JSON]:
        described = {str(a.get("id")): a for a in body.get("attachments") or []}
        result: list[JSON] = []
        for index, upload in enumerate(files):
            attachment_id = self.snowflakes.next()
            meta = described.get(str(index), {})
            url = f"{self.base_url}/attachments/{channel_id}/{attachment_id}/{upload.filename}"
            result.append(
                {
                    "id": attachment_id,
                    "filename": upload.filename,
                    "description": meta.get("description"),
                    "size": len(upload.data),
                    "url": url,
                    "proxy_url": url,
                    "content_type": upload.content_type,
                }
            )
        return result

    def _apply_edit(
        self, msg: JSON, body: Mapping[str, Any], files: Sequence[RecordedFile]
    ) -> None:
        if "content" in body:
            msg["content"] = body["content"] or ""
        if "embeds" in body:
            msg["embeds"] = p.normalise_embeds(body["embeds"])
        if "components" in body:
            msg["components"] = list(body["components"] or [])
        if "flags" in body and body["flags"] is not None:
            # Only SUPPRESS_EMBEDS is editable; ephemeral/loading stay as they were.
            keep = msg["flags"] & (p.MESSAGE_FLAG_EPHEMERAL | p.MESSAGE_FLAG_LOADING)
            msg["flags"] = keep | (int(body["flags"]) & (1 << 2))
        if "attachments" in body or files:
            keep_ids = {str(a.get("id")) for a in body.get("attachments") or []}
            kept = [a for a in msg["attachments"] if a["id"] in keep_ids]
            msg["attachments"] = kept + self._attachments(msg["channel_id"], body, files)
        # An edit of a deferred ("thinking") response turns it into a real message.
        msg["flags"] &= ~p.MESSAGE_FLAG_LOADING
        msg["edited_timestamp"] = p.iso_timestamp()

    def _message_in_channel(self, channel_id: str, message_id: str) -> JSON:
        self._channel_payload(channel_id)
        msg = self.messages.get(message_id)
        if msg is None or msg["channel_id"] != channel_id:
            raise _DiscordError(404, 10008, "Unknown Message")
        return msg

    async def _get_message(self, request: web.Request) -> web.Response:
        info = request.match_info
        return _json_response(self._message_in_channel(info["channel_id"], info["message_id"]))

    async def _edit_message(self, request: web.Request) -> web.Response:
        info = request.match_info
        msg = self._message_in_channel(info["channel_id"], info["message_id"])
        if msg["author"]["id"] != self.bot_user_id:
            raise _DiscordError(403, 50005, "Cannot edit a message authored by another user")
        call = self._call(request)
        self._apply_edit(msg, call.json or {}, call.files)
        return _json_response(msg)

    async def _delete_message(self, request: web.Request) -> web.Response:
        info = request.match_info
        msg = self._message_in_channel(info["channel_id"], info["message_id"])
        if msg["author"]["id"] != self.bot_user_id:
            # As Discord: in a DM nobody deletes the other side's messages; in a guild it takes
            # Manage Messages, which the bot is not given (adapters/discord/invite.py).
            if self._dm_recipient(info["channel_id"]) is not None:
                raise _DiscordError(403, 50003, "Cannot execute action on a DM channel")
            raise _DiscordError(403, 50013, "Missing Permissions")
        del self.messages[msg["id"]]
        return web.Response(status=204)

    # ------------------------------------------------------------------ interactions (REST)

    def _interaction_by_token(self, token: str) -> DispatchedInteraction:
        for inter in self.interactions.values():
            if inter.token == token:
                return inter
        raise _DiscordError(404, 10015, "Unknown Webhook")

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        call = self._call(request)
        info = request.match_info
        inter = self.interactions.get(info["interaction_id"])
        if inter is None or inter.token != info["interaction_token"]:
            raise _DiscordError(404, 10062, "Unknown interaction")
        if (
            self.interaction_deadline is not None
            and call.at - inter.dispatched_at > self.interaction_deadline
        ):
            raise _DiscordError(404, 10062, "Unknown interaction")
        if inter.response_type is not None:
            raise _DiscordError(400, 40060, "Interaction has already been acknowledged.")
        body = call.json or {}
        callback_type = int(body.get("type", 0))
        if callback_type not in _ALLOWED_CALLBACKS.get(inter.type, frozenset()):
            raise _DiscordError(400, 50035, "Invalid Form Body")
        data = body.get("data")
        message: JSON | None = None
        if callback_type == p.CALLBACK_MODAL:
            modal = data if isinstance(data, dict) else {}
            _check_modal(modal)
            self.modals[str(modal.get("custom_id"))] = modal
        if callback_type == p.CALLBACK_CHANNEL_MESSAGE_WITH_SOURCE:
            message = self._new_message(
                inter.channel_id,
                data or {},
                call.files,
                message_type=p.MESSAGE_CHAT_INPUT_COMMAND
                if inter.type == p.INTERACTION_APPLICATION_COMMAND
                else p.MESSAGE_DEFAULT,
                webhook=True,
                interaction_payload=inter.payload,
            )
            inter.original_message_id = message["id"]
        elif callback_type == p.CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            ephemeral = int((data or {}).get("flags") or 0) & p.MESSAGE_FLAG_EPHEMERAL
            message = self._new_message(
                inter.channel_id,
                {},
                [],
                message_type=p.MESSAGE_CHAT_INPUT_COMMAND
                if inter.type == p.INTERACTION_APPLICATION_COMMAND
                else p.MESSAGE_DEFAULT,
                flags=p.MESSAGE_FLAG_LOADING | ephemeral,
                webhook=True,
                interaction_payload=inter.payload,
            )
            inter.original_message_id = message["id"]
        elif callback_type in (p.CALLBACK_DEFERRED_UPDATE_MESSAGE, p.CALLBACK_UPDATE_MESSAGE):
            inter.original_message_id = inter.message_id
            target = self.messages.get(inter.message_id or "")
            if target is not None and callback_type == p.CALLBACK_UPDATE_MESSAGE:
                self._apply_edit(target, data or {}, call.files)
                message = target
        inter.response_type = callback_type
        self.interaction_responses.append(
            InteractionResponse(
                interaction_id=inter.id,
                token=inter.token,
                type=callback_type,
                data=data,
                at=call.at,
                files=call.files,
            )
        )
        if call.query.get("with_response", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        result: JSON = {
            "interaction": {
                "id": inter.id,
                "type": inter.type,
                "response_message_loading": callback_type == p.CALLBACK_DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": bool(
                    message and message["flags"] & p.MESSAGE_FLAG_EPHEMERAL
                ),
            }
        }
        if inter.original_message_id is not None:
            result["interaction"]["response_message_id"] = inter.original_message_id
        if message is not None:
            result["resource"] = {"type": callback_type, "message": message}
        return _json_response(result)

    def _webhook_interaction(self, request: web.Request) -> DispatchedInteraction:
        info = request.match_info
        if info["webhook_id"] != self.application_id:
            raise _DiscordError(404, 10015, "Unknown Webhook")
        return self._interaction_by_token(info["webhook_token"])

    async def _webhook_execute(self, request: web.Request) -> web.Response:
        inter = self._webhook_interaction(request)
        if inter.response_type is None:
            # Follow-ups need an acknowledged interaction first.
            raise _DiscordError(404, 10015, "Unknown Webhook")
        call = self._call(request)
        original = self.messages.get(inter.original_message_id or "")
        if original is not None and original["flags"] & p.MESSAGE_FLAG_LOADING:
            # The first follow-up after a DEFERRED_CHANNEL_MESSAGE replaces the "thinking"
            # placeholder instead of posting a second message (its flags are ignored).
            self._apply_edit(original, call.json or {}, call.files)
            if call.query.get("wait", "").lower() not in ("1", "true"):
                return web.Response(status=204)
            return _json_response(original)
        msg = self._new_message(
            inter.channel_id,
            call.json or {},
            call.files,
            message_type=p.MESSAGE_CHAT_INPUT_COMMAND
            if inter.type == p.INTERACTION_APPLICATION_COMMAND
            else p.MESSAGE_DEFAULT,
            webhook=True,
            interaction_payload=inter.payload,
        )
        if call.query.get("wait", "").lower() not in ("1", "true"):
            return web.Response(status=204)
        return _json_response(msg)

    def _webhook_message(self, request: web.Request) -> JSON:
        inter = self._webhook_interaction(request)
        message_id = request.match_info["message_id"]
        if message_id == "@original":
            message_id = inter.original_message_id or ""
        msg = self.messages.get(message_id)
        if msg is None:
            raise _DiscordError(404, 10008, "Unknown Message")
        return msg

    async def _webhook_get_message(self, request: web.Request) -> web.Response:
        return _json_response(self._webhook_message(request))

    async def _webhook_edit_message(self, request: web.Request) -> web.Response:
        msg = self._webhook_message(request)
        call = self._call(request)
        self._apply_edit(msg, call.json or {}, call.files)
        return _json_response(msg)

    async def _webhook_delete_message(self, request: web.Request) -> web.Response:
        msg = self._webhook_message(request)
        del self.messages[msg["id"]]
        return web.Response(status=204)

    # ================================================================== gateway

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        if request.query.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"Error while decoding payload.")
            return ws
        # discord.py asks for zlib-stream (or zstd-stream when a zstd module is installed);
        # it also accepts plain TEXT frames whatever it asked, so zstd falls back to text.
        conn = _GatewayConnection(ws, zlib_stream=request.query.get("compress") == "zlib-stream")
        self._connections.add(conn)
        try:
            async with conn.lock:
                await conn.send(
                    {
                        "op": OP_HELLO,
                        "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": []},
                        "s": None,
                        "t": None,
                    }
                )
            async for msg in ws:
                frame: Any = None
                if msg.type is WSMsgType.TEXT:
                    with contextlib.suppress(ValueError):
                        frame = json.loads(msg.data)
                if not isinstance(frame, dict):
                    # discord.py sends text JSON; anything else is what Discord rejects (4002).
                    await self._server_close(conn, 4002, "Error while decoding payload.")
                    break
                self.gateway_received.append(frame)
                await self._on_gateway_frame(conn, frame)
        finally:
            self._connections.discard(conn)
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
                # A client closing with 1000/1001 ends its session; others stay resumable.
                if ws.close_code in (1000, 1001) and not conn.server_closed:
                    self._sessions.pop(session.session_id, None)
            await self._notify()
        return ws

    async def _on_gateway_frame(self, conn: _GatewayConnection, frame: JSON) -> None:
        op = frame.get("op")
        data = frame.get("d")
        if op not in (
            OP_HEARTBEAT,
            OP_IDENTIFY,
            OP_RESUME,
            OP_PRESENCE_UPDATE,
            OP_VOICE_STATE_UPDATE,
            OP_REQUEST_GUILD_MEMBERS,
        ):
            await self._server_close(conn, 4001, "Unknown opcode.")
            return
        if conn.session is None and op not in (OP_HEARTBEAT, OP_IDENTIFY, OP_RESUME):
            await self._server_close(conn, 4003, "Not authenticated.")
            return
        if op == OP_HEARTBEAT:
            self.heartbeat_count += 1
            if self.ack_heartbeats:
                async with conn.lock:
                    await conn.send({"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == OP_IDENTIFY:
            await self._identify(conn, data or {})
        elif op == OP_RESUME:
            await self._resume(conn, data or {})
        elif op == OP_REQUEST_GUILD_MEMBERS and isinstance(data, dict) and conn.session:
            # Answer with an empty chunk so chunk waits (members intent) finish at once.
            await self._send_dispatch(
                conn.session,
                "GUILD_MEMBERS_CHUNK",
                {
                    "guild_id": data.get("guild_id"),
                    "members": [],
                    "chunk_index": 0,
                    "chunk_count": 1,
                    "not_found": [],
                    "nonce": data.get("nonce"),
                },
            )
        # Presence and voice-state updates are only recorded (gateway_received).
        await self._notify()

    async def _identify(self, conn: _GatewayConnection, data: JSON) -> None:
        if conn.session is not None:
            await self._server_close(conn, 4005, "Already authenticated.")
            return
        if data.get("token") != self.token:
            await self._server_close(conn, 4004, "Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        if intents & p.PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            await self._server_close(conn, 4014, "Disallowed intent(s).")
            return
        self.identify_payloads.append(data)
        session = _GatewaySession(session_id=secrets.token_hex(16), intents=intents)
        self._sessions[session.session_id] = session
        session.connection = conn
        conn.session = session
        await self._send_dispatch(
            session,
            "READY",
            p.ready(
                user_payload=self.bot_user,
                guild_ids=[g.id for g in self.guilds],
                session_id=session.session_id,
                resume_gateway_url=self.gateway_url,
                application_id=self.application_id,
                shard=data.get("shard"),
            ),
        )
        if intents & p.INTENT_GUILDS:
            for guild in self.guilds:
                await self._send_dispatch(session, "GUILD_CREATE", self._guild_create(guild))
        self.identify_count += 1

    async def _resume(self, conn: _GatewayConnection, data: JSON) -> None:
        session = self._sessions.get(str(data.get("session_id")))
        if data.get("token") != self.token:
            await self._server_close(conn, 4004, "Authentication failed.")
            return
        if session is None:
            # d=false: not resumable, the client must IDENTIFY afresh.
            async with conn.lock:
                await conn.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        if session.connection is not None and session.connection is not conn:
            await self._server_close(session.connection, 4000, "Session resumed elsewhere.")
        session.connection = conn
        conn.session = session
        last_seq = int(data.get("seq") or 0)
        async with conn.lock:
            for seq, frame in session.buffer:
                if seq > last_seq:
                    await conn.send(frame)
        await self._send_dispatch(session, "RESUMED", {"_trace": ['["gateway-prd-fake",{}]']})
        self.resume_count += 1

    async def _server_close(self, conn: _GatewayConnection, code: int, reason: str) -> None:
        conn.server_closed = True
        await conn.ws.close(code=code, message=reason.encode())

    def _guild_create(self, guild: FakeGuild) -> JSON:
        channels = [
            p.text_channel(cid, None, name, position=i)
            for i, (name, cid) in enumerate(guild.channels.items())
        ]
        bot_member = p.member(self.bot_user, roles=[])
        return p.guild_create(
            guild.id, guild.name, owner_id=guild.owner_id, channels=channels, members=[bot_member]
        )

    async def _send_dispatch(self, session: _GatewaySession, event: str, data: Any) -> int:
        # Sequence numbers are per session and continue across RESUME.
        conn = session.connection
        if conn is None:
            session.seq += 1
            frame = {"op": OP_DISPATCH, "d": data, "s": session.seq, "t": event}
            session.buffer.append((session.seq, frame))
            return session.seq
        async with conn.lock:
            session.seq += 1
            frame = {"op": OP_DISPATCH, "d": data, "s": session.seq, "t": event}
            session.buffer.append((session.seq, frame))
            del session.buffer[:-1000]
            if not conn.ws.closed:
                # The socket may be closing under us; the frame stays buffered for RESUME.
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await conn.send(frame)
            return session.seq

    # ------------------------------------------------------------------ gateway: test-side API

    async def dispatch(self, event: str, data: JSON) -> int:
        """Send a DISPATCH (op 0) to every live session; returns the last sequence number.

        Sessions whose socket is down (client reconnecting) buffer the event for RESUME.
        """
        if not self._sessions:
            raise RuntimeError("no gateway session: start the client and wait_until_identified()")
        seq = 0
        for session in list(self._sessions.values()):
            seq = await self._send_dispatch(session, event, data)
        await self._notify()
        return seq

    async def disconnect_all(self, code: int = 4000, *, invalidate_sessions: bool = False) -> None:
        """Close every gateway socket with ``code`` (4000 = reconnect & RESUME).

        With ``invalidate_sessions`` the sessions are forgotten, so the client's RESUME gets
        INVALID_SESSION and it must IDENTIFY again (watch ``identify_count``).
        """
        if invalidate_sessions:
            self._sessions.clear()
        for conn in list(self._connections):
            await self._server_close(conn, code, "fake disconnect")

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT; discord.py closes and RESUMEs."""
        for conn in list(self._connections):
            async with conn.lock:
                await conn.send({"op": OP_RECONNECT, "d": None, "s": None, "t": None})

    @property
    def intents(self) -> int | None:
        """Intents of the last IDENTIFY (None before any)."""
        return int(self.identify_payloads[-1].get("intents", 0)) if self.identify_payloads else None

    # ------------------------------------------------------------------ interaction builders

    def _interaction_place(
        self, user_id: str, channel_id: str | None, guild_id: str | None
    ) -> tuple[str, JSON, str | None]:
        """Resolve (channel_id, channel payload, guild_id) for a DM or guild interaction."""
        if guild_id is None and channel_id is not None:
            owner = self.guild_of_channel(channel_id)
            guild_id = owner.id if owner else None
        if guild_id is None:
            dm_id = channel_id or self.dm_channel_id_for(user_id)
            self.dm_channels.setdefault(user_id, dm_id)
            return dm_id, p.dm_channel(dm_id, self.user_payload(user_id)), None
        guild = next((g for g in self.guilds if g.id == guild_id), None)
        if channel_id is None:
            if guild is None or not guild.channels:
                raise ValueError(f"guild {guild_id} has no channels; pass channel_id")
            channel_id = next(iter(guild.channels.values()))
        channel = self._channel_payload(channel_id)
        channel["guild_id"] = guild_id
        return channel_id, channel, guild_id

    async def dispatch_interaction(
        self,
        interaction_type: int,
        data: JSON | None,
        *,
        user_id: str,
        channel_id: str | None = None,
        guild_id: str | None = None,
        message: JSON | None = None,
    ) -> DispatchedInteraction:
        """Build and send an INTERACTION_CREATE (DM unless guild_id/a guild channel is given).

        In a DM the payload has ``user`` and a type-1 channel; in a guild it has ``member``,
        ``guild_id`` and a text channel.  Returns the record holding ``id``/``token``.
        """
        channel_id, channel, guild_id = self._interaction_place(user_id, channel_id, guild_id)
        invoker = self.user_payload(user_id)
        payload = p.interaction(
            interaction_id=self.snowflakes.next(),
            token=p.random_token(),
            application_id=self.application_id,
            interaction_type=interaction_type,
            data=data,
            channel=channel,
            invoker=invoker,
            guild_id=guild_id,
            message_payload=message,
            locale=self.user_locales.get(user_id, "en-US"),
        )
        inter = DispatchedInteraction(
            id=payload["id"],
            token=payload["token"],
            type=interaction_type,
            channel_id=channel_id,
            guild_id=guild_id,
            user_id=user_id,
            payload=payload,
            dispatched_at=time.monotonic(),
            message_id=message["id"] if message else None,
        )
        self.interactions[inter.id] = inter
        await self.dispatch("INTERACTION_CREATE", payload)
        return inter

    async def dispatch_slash_command(
        self,
        name: str,
        options: Mapping[str, Any] | Sequence[JSON] | None = None,
        *,
        user_id: str,
        channel_id: str | None = None,
        guild_id: str | None = None,
        command_guild_id: str | None = None,
        resolved: JSON | None = None,
    ) -> DispatchedInteraction:
        """An APPLICATION_COMMAND (type 2) for CHAT_INPUT command ``name``.

        ``options`` is ``{name: value}`` (types inferred) or explicit option dicts.
        ``command_guild_id`` marks a guild-registered command (discord.py looks it up in that
        guild's tree); the command id is taken from synced commands when known.
        """
        registered = self.commands.get(command_guild_id, [])
        command_id = next(
            (c["id"] for c in registered if c["name"] == name), self.snowflakes.next()
        )
        if options is None:
            option_list: list[JSON] = []
        elif isinstance(options, Mapping):
            option_list = p.command_options(options)
        else:
            option_list = list(options)
        data = p.application_command_data(
            command_id=command_id,
            name=name,
            options=option_list,
            command_guild_id=command_guild_id,
            resolved=resolved,
        )
        return await self.dispatch_interaction(
            p.INTERACTION_APPLICATION_COMMAND,
            data,
            user_id=user_id,
            channel_id=channel_id,
            guild_id=guild_id,
        )

    def _component_message(self, channel_id: str, message_id: str | None, custom_id: str) -> JSON:
        if message_id is not None and message_id in self.messages:
            return self.messages[message_id]
        # A bot message carrying the button, e.g. one posted before a restart (persistent view).
        msg = p.message(
            message_id=message_id or self.snowflakes.next(),
            channel_id=channel_id,
            author=self.bot_user,
            content="",
            components=[p.action_row([p.button(custom_id)])],
        )
        self.messages[msg["id"]] = msg
        return msg

    async def dispatch_button(
        self,
        custom_id: str,
        *,
        user_id: str,
        channel_id: str | None = None,
        guild_id: str | None = None,
        message_id: str | None = None,
        component_type: int = p.COMPONENT_BUTTON,
        values: Sequence[str] | None = None,
    ) -> DispatchedInteraction:
        """A MESSAGE_COMPONENT (type 3) press of ``custom_id`` on ``message_id``.

        The message is taken from what the bot sent (so its components are real) or, if
        unknown, synthesised with a single button.  Use ``component_type``/``values`` for
        selects.
        """
        channel_id, _, guild_id = self._interaction_place(user_id, channel_id, guild_id)
        message = self._component_message(channel_id, message_id, custom_id)
        return await self.dispatch_interaction(
            p.INTERACTION_MESSAGE_COMPONENT,
            p.component_data(custom_id, component_type=component_type, values=values),
            user_id=user_id,
            channel_id=channel_id,
            guild_id=guild_id,
            message=message,
        )

    async def dispatch_modal_submit(
        self,
        custom_id: str,
        fields: Mapping[str, str],
        *,
        user_id: str,
        channel_id: str | None = None,
        guild_id: str | None = None,
    ) -> DispatchedInteraction:
        """A MODAL_SUBMIT (type 5) of modal ``custom_id``; ``fields`` maps input ids to values.

        For a modal the bot opened, values its inputs would not accept (too long, too short,
        a required one empty) raise ValueError: Discord's client never submits them.
        """
        opened = self.modals.get(custom_id)
        if opened is not None:
            _check_submission(opened, fields)
        return await self.dispatch_interaction(
            p.INTERACTION_MODAL_SUBMIT,
            p.modal_submit_data(custom_id, fields),
            user_id=user_id,
            channel_id=channel_id,
            guild_id=guild_id,
        )

    def add_user_message(self, channel_id: str, author_id: str, content: str) -> str:
        """Store a message a user wrote (not dispatched): for tests of what the bot may delete."""
        msg = p.message(
            message_id=self.snowflakes.next(),
            channel_id=channel_id,
            author=self.user_payload(author_id),
            content=content,
        )
        self.messages[msg["id"]] = msg
        return str(msg["id"])

    async def dispatch_message_create(
        self,
        channel_id: str | None,
        author_id: str,
        content: str,
        guild_id: str | None = None,
        *,
        mentions_bot: bool = False,
    ) -> JSON | None:
        """A user's MESSAGE_CREATE; ``channel_id=None`` means the author's DM with the bot.

        Honours intents like Discord: guild messages need GUILD_MESSAGES, DMs need
        DIRECT_MESSAGES (else nothing is sent and None is returned), and without
        MESSAGE_CONTENT a guild message not mentioning the bot arrives with empty content.
        """
        if channel_id is None:
            channel_id = self.dm_channel_id_for(author_id)
        if guild_id is None:
            owner = self.guild_of_channel(channel_id)
            guild_id = owner.id if owner else None
        author = self.user_payload(author_id)
        msg = p.message(
            message_id=self.snowflakes.next(),
            channel_id=channel_id,
            author=author,
            content=content,
            guild_id=guild_id,
            member_payload={k: v for k, v in p.member(author).items() if k != "user"}
            if guild_id
            else None,
            mentions=[self.bot_user] if mentions_bot else (),
        )
        if mentions_bot and guild_id and f"<@{self.bot_user_id}>" not in content:
            msg["content"] = f"<@{self.bot_user_id}> {content}"
        delivered = await self._dispatch_message(msg, from_bot=False)
        return msg if delivered else None

    async def _echo_message(self, msg: JSON) -> None:
        guild = self.guild_of_channel(msg["channel_id"])
        event = dict(msg)
        if guild is not None:
            event["guild_id"] = guild.id
            event["member"] = {k: v for k, v in p.member(self.bot_user).items() if k != "user"}
        await self._dispatch_message(event, from_bot=True)

    async def _dispatch_message(self, msg: JSON, *, from_bot: bool) -> bool:
        delivered = False
        in_guild = "guild_id" in msg
        for session in list(self._sessions.values()):
            needed = p.INTENT_GUILD_MESSAGES if in_guild else p.INTENT_DIRECT_MESSAGES
            if not session.intents & needed:
                continue
            event = dict(msg)
            mentioned = any(u["id"] == self.bot_user_id for u in msg.get("mentions", []))
            content_visible = (
                session.intents & p.INTENT_MESSAGE_CONTENT or not in_guild or mentioned or from_bot
            )
            if not content_visible:
                # What Discord strips without the MESSAGE_CONTENT privileged intent.
                event.update(content="", embeds=[], attachments=[], components=[])
            await self._send_dispatch(session, "MESSAGE_CREATE", event)
            delivered = True
        await self._notify()
        return delivered


# =========================================================================== helpers


def _check_submission(modal: JSON, fields: Mapping[str, str]) -> None:
    """What Discord's client enforces before a modal submits: each input's length rules."""
    for item in _text_inputs(modal):
        value = fields.get(str(item.get("custom_id")), "")
        if item.get("required", True) and not value:
            raise ValueError(f"input {item.get('custom_id')} is required")
        if value and len(value) < int(item.get("min_length") or 0):
            raise ValueError(f"input {item.get('custom_id')} is shorter than its min_length")
        if len(value) > int(item.get("max_length") or 4000):
            raise ValueError(f"input {item.get('custom_id')} is longer than its max_length")


def _text_inputs(modal: JSON) -> list[JSON]:
    """The text inputs of a modal, in action rows or (newer layouts) labels."""
    found: list[JSON] = []
    for row in modal.get("components") or []:
        if not isinstance(row, dict):
            continue
        inner = [*(row.get("components") or [])]
        if isinstance(row.get("component"), dict):
            inner.append(row["component"])
        found += [
            c for c in inner if isinstance(c, dict) and c.get("type") == p.COMPONENT_TEXT_INPUT
        ]
    return found


def _check_modal(modal: JSON) -> None:
    """Discord's limits on a modal (400 Invalid Form Body when broken)."""
    title = str(modal.get("title") or "")
    custom_id = str(modal.get("custom_id") or "")
    rows = modal.get("components") or []
    broken = not (1 <= len(title) <= 45) or not (1 <= len(custom_id) <= 100)
    broken = broken or not (1 <= len(rows) <= 5)
    for item in _text_inputs(modal):
        max_length = int(item.get("max_length") or 4000)
        broken = broken or not (1 <= len(str(item.get("label") or "")) <= 45)
        broken = broken or not (1 <= max_length <= 4000)
        broken = broken or not (0 <= int(item.get("min_length") or 0) <= 4000)
        broken = broken or len(str(item.get("placeholder") or "")) > 100
        broken = broken or len(str(item.get("value") or "")) > max_length
    if broken:
        raise _DiscordError(400, 50035, "Invalid Form Body")


def _error(status: int, code: int, message: str) -> web.Response:
    """Discord's JSON error body."""
    return _json_response({"message": message, "code": code}, status=status)


def _parse_body(content_type: str, body: bytes) -> tuple[Any, list[RecordedFile]]:
    """Decode a JSON or multipart/form-data body into (json payload, uploaded files)."""
    if not body:
        return None, []
    if content_type.startswith("application/json"):
        try:
            return json.loads(body), []
        except ValueError:
            return body.decode(errors="replace"), []
    if content_type.startswith("multipart/form-data"):
        # The stdlib email parser understands multipart/form-data given the boundary header;
        # aiohttp's own reader would need the unread stream, which the middleware consumed.
        message = BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        payload: Any = None
        files: list[RecordedFile] = []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition") or ""
            raw = part.get_payload(decode=True)
            data = raw if isinstance(raw, bytes) else b""
            if name == "payload_json":
                payload = json.loads(data)
            else:
                files.append(
                    RecordedFile(
                        field_name=str(name),
                        filename=part.get_filename() or str(name),
                        content_type=part.get_content_type(),
                        data=data,
                    )
                )
        return payload, files
    return body.decode(errors="replace"), []


@contextlib.asynccontextmanager
async def running_fake(**kwargs: Any) -> AsyncIterator[FakeDiscord]:
    """Start a :class:`FakeDiscord` and point discord.py at it for the block's duration."""
    async with FakeDiscord(**kwargs) as fake:
        with discord_pointed_at(fake.api_base, fake.gateway_url):
            yield fake


def _json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON response with exactly ``Content-Type: application/json``.

    discord.py's ``json_or_text`` compares the header verbatim, so aiohttp's default
    ``application/json; charset=utf-8`` would make it treat every body as plain text.
    """
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(),
        status=status,
        headers=headers,
        content_type="application/json",
    )
