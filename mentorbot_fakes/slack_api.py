"""A loopback fake of the Slack Web API and Socket Mode for tests.

``FakeSlack`` is an aiohttp server on 127.0.0.1 that the *real* ``slack_sdk``
``AsyncWebClient`` and the *real* ``slack_bolt`` ``AsyncApp`` (Socket Mode through
``AsyncSocketModeHandler``) talk to unchanged; only the client's ``base_url`` points here::

    async with FakeSlack() as fake:
        client = AsyncWebClient(token=fake.token, base_url=fake.base_url)
        await client.chat_postMessage(channel="C1", text="hi")
        assert fake.calls_to("chat.postMessage")[0].json_params["text"] == "hi"

Fidelity notes (why things are the way they are):

* Slack answers almost every API error with HTTP 200 and ``{"ok": false, "error": ...}``;
  only rate limiting uses HTTP 429 (+ ``Retry-After`` in whole seconds).  The fake does
  the same so the SDK raises ``SlackApiError`` exactly as in production.
* The SDK sends some methods form-encoded or as query parameters (``params=``) and others
  as a JSON body (``chat.postMessage``, ``views.*``), with the token in
  ``Authorization: Bearer``.  Every route accepts all three and merges them.
* Form-encoded callers send ``blocks``/``view``/... as JSON strings; ``RecordedCall``
  keeps the raw values in ``params`` and the decoded ones in ``json_params``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import math
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import WSCloseCode, WSMsgType, web
from slack_sdk.web.async_client import AsyncWebClient

from mentorbot_fakes.slack_signing import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_CHANNEL_ID,
    DEFAULT_CHANNEL_NAME,
    TEAM_DOMAIN,
    TEAM_ID,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "TEAM_ID",
    "FakeChannel",
    "FakeSlack",
    "FakeUser",
    "MethodHandler",
    "RecordedCall",
    "ResponseUrlPost",
    "SocketAck",
    "SocketEnvelope",
    "StoredMessage",
    "StoredView",
    "UploadedFile",
]

TEAM_NAME = "Mentorbot Test"
BOT_NAME = "mentorbot"
DEFAULT_SCOPES = "chat:write,commands,im:write,im:history,users:read,users:read.email"

# Fields that form-encoded callers send as JSON strings (the SDK json.dumps them).
_JSON_FIELDS = frozenset(
    {"blocks", "attachments", "view", "metadata", "files", "unfurls", "user_auth_blocks"}
)
# Methods that need the app-level (xapp-) token instead of the bot token.
_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
# Slack's documented hard limits, enforced because exceeding them is a real bug.
_MAX_MESSAGE_BLOCKS = 50
_MAX_VIEW_BLOCKS = 100
_MAX_TEXT_CHARS = 40_000
_MAX_MODAL_TITLE_CHARS = 24

# Slack's documented rate-limit tier of every Web API method the bot calls (per method, per
# workspace, per app; api.slack.com/docs/rate-limits and each method's page).
# chat.postMessage is "special": about one message per second per channel with short bursts
# (the channel bucket below), plus a workspace limit the bench sets (`method_rpm`).
METHOD_TIERS: dict[str, int] = {
    "apps.connections.open": 1,
    "auth.test": 4,  # "special" on Slack, generous: modelled as Tier 4
    "chat.update": 3,
    "chat.delete": 3,
    "chat.postEphemeral": 4,
    "conversations.open": 3,
    "conversations.info": 3,
    "users.info": 4,
    "users.lookupByEmail": 3,
    "views.open": 4,
    "views.push": 4,
    "views.update": 4,
    "views.publish": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
}
# Requests per minute of each tier ("1+", "20+", "50+", "100+" per minute: Slack tolerates
# short bursts; the fake allows exactly this many in any sliding 60 s). Tier 1 gets 5: a
# Socket Mode start asks for a connection URL twice (our check, then the SDK), and the "+"
# and burst tolerance cover that on Slack too.
TIER_RPM: dict[int, int] = {1: 5, 2: 20, 3: 50, 4: 100}
# A response_url takes at most 5 posts, within 30 minutes of the interaction.
RESPONSE_URL_USES = 5
RESPONSE_URL_SECONDS = 30 * 60

MethodHandler = Callable[[dict[str, Any]], dict[str, Any]]
"""A custom Web API method: receives decoded params, returns the JSON body (``ok`` added)."""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class RecordedCall:
    """One Web API request the fake answered (including rejected ones)."""

    method: str
    params: dict[str, Any]
    """Merged query/form/JSON parameters exactly as received (form values are strings)."""
    json_params: dict[str, Any]
    """``params`` with JSON-string fields (``blocks``, ``view``, ``files``, ...) decoded."""
    at: float
    """``time.monotonic()`` when the request arrived."""
    status: int
    response: dict[str, Any]
    token: str | None

    @property
    def ok(self) -> bool:
        """True when the fake answered ``{"ok": true}``."""
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        """The Slack error code of a failed call, else None."""
        err = self.response.get("error")
        return str(err) if err is not None else None


@dataclass(frozen=True)
class ResponseUrlPost:
    """One POST to a ``response_url`` handed out by ``FakeSlack.response_url``."""

    name: str
    body: dict[str, Any] | None
    raw: str
    at: float


@dataclass(frozen=True)
class SocketEnvelope:
    """An envelope the fake pushed to a Socket Mode client."""

    envelope_id: str
    type: str
    payload: dict[str, Any]
    at: float


@dataclass(frozen=True)
class SocketAck:
    """An acknowledgement (``{"envelope_id": ..., "payload": ...}``) sent by the client."""

    envelope_id: str
    payload: dict[str, Any] | None
    at: float


@dataclass
class FakeUser:
    """A member of the fake workspace, rendered like a ``users.info`` user object."""

    user_id: str
    name: str
    email: str | None = None
    tz: str = "Europe/London"
    real_name: str = ""
    display_name: str = ""
    is_bot: bool = False
    deleted: bool = False
    locale: str = "en-GB"
    team_id: str = TEAM_ID

    def to_api(self, *, include_locale: bool = False) -> dict[str, Any]:
        """Return the user object as ``users.info``/``users.lookupByEmail`` return it."""
        real_name = self.real_name or self.name
        try:
            now = datetime.now(ZoneInfo(self.tz))
            offset = now.utcoffset()
            tz_offset = int(offset.total_seconds()) if offset is not None else 0
            tz_label = now.tzname() or self.tz
        except ZoneInfoNotFoundError:
            tz_offset, tz_label = 0, self.tz
        first, _, last = real_name.partition(" ")
        profile: dict[str, Any] = {
            "title": "",
            "phone": "",
            "skype": "",
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": self.display_name,
            "display_name_normalized": self.display_name,
            "fields": None,
            "status_text": "",
            "status_emoji": "",
            "status_expiration": 0,
            "avatar_hash": hashlib.md5(self.user_id.encode()).hexdigest()[:12],
            "first_name": first,
            "last_name": last,
            "image_48": f"https://avatars.slack-edge.com/{self.user_id}_48.png",
            "team": self.team_id,
        }
        # Slack omits the email of bots (and without users:read.email).
        if self.email is not None:
            profile["email"] = self.email
        if self.is_bot:
            profile["bot_id"] = BOT_ID if self.user_id == BOT_USER_ID else f"B{self.user_id[1:]}"
        user: dict[str, Any] = {
            "id": self.user_id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": real_name,
            "tz": self.tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
            "is_email_confirmed": self.email is not None,
            "who_can_share_contact_card": "EVERYONE",
        }
        if include_locale:
            user["locale"] = self.locale
        return user


@dataclass
class FakeChannel:
    """A conversation known to the fake (public/private channel, DM or group DM)."""

    channel_id: str
    name: str = ""
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    user: str | None = None
    """The other member of a DM."""
    members: list[str] = field(default_factory=list)
    created: int = field(default_factory=lambda: int(time.time()))

    def to_api(self) -> dict[str, Any]:
        """Return the conversation object as ``conversations.info`` returns it."""
        if self.is_im:
            return {
                "id": self.channel_id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.user,
                "is_user_deleted": False,
                "priority": 0,
                "last_read": "0000000000.000000",
                "latest": None,
                "unread_count": 0,
                "unread_count_display": 0,
                "is_open": True,
            }
        return {
            "id": self.channel_id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private and not self.is_mpim,
            "is_group": self.is_private and not self.is_mpim,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private or self.is_mpim,
            "created": self.created,
            "is_archived": False,
            "is_general": self.name == "general",
            "unlinked": 0,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "is_member": True,
            "context_team_id": TEAM_ID,
            "creator": "U0ADMIN001",
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
        }


@dataclass
class StoredMessage:
    """A message the bot posted (kept so chat.update/chat.delete can find it)."""

    channel: str
    ts: str
    text: str
    blocks: list[Any] | None = None
    attachments: list[Any] | None = None
    thread_ts: str | None = None
    metadata: dict[str, Any] | None = None
    files: list[str] = field(default_factory=list)
    edited_ts: str | None = None
    deleted: bool = False
    ephemeral_user: str | None = None
    """Set for chat.postEphemeral messages (visible only to that user)."""
    author: str = BOT_USER_ID
    """Who wrote it: the bot, or a user (`FakeSlack.add_user_message`)."""

    def to_api(self) -> dict[str, Any]:
        """Return the ``message`` object as chat.postMessage/chat.update return it."""
        msg: dict[str, Any] = {
            "user": BOT_USER_ID,
            "type": "message",
            "ts": self.ts,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": self.text,
            "team": TEAM_ID,
            "bot_profile": {
                "id": BOT_ID,
                "app_id": APP_ID,
                "name": BOT_NAME,
                "icons": {"image_48": "https://a.slack-edge.com/mentorbot_48.png"},
                "deleted": False,
                "updated": 1700000000,
                "team_id": TEAM_ID,
            },
        }
        if self.blocks is not None:
            msg["blocks"] = self.blocks
        if self.attachments is not None:
            msg["attachments"] = self.attachments
        if self.thread_ts is not None:
            msg["thread_ts"] = self.thread_ts
        if self.metadata is not None:
            msg["metadata"] = self.metadata
        if self.edited_ts is not None:
            msg["edited"] = {"user": BOT_USER_ID, "ts": self.edited_ts}
        return msg


@dataclass
class StoredView:
    """A modal or App Home view opened/pushed/published through the fake."""

    view_id: str
    view: dict[str, Any]
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    user_id: str | None = None
    """Owner of a published App Home view."""

    def to_api(self) -> dict[str, Any]:
        """Return the ``view`` object as views.open/update/push/publish return it."""
        out: dict[str, Any] = {
            "id": self.view_id,
            "team_id": TEAM_ID,
            "type": self.view.get("type", "modal"),
            "blocks": self.view.get("blocks", []),
            "private_metadata": self.view.get("private_metadata", ""),
            "callback_id": self.view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": self.hash,
            "title": self.view.get("title"),
            "clear_on_close": bool(self.view.get("clear_on_close", False)),
            "notify_on_close": bool(self.view.get("notify_on_close", False)),
            "close": self.view.get("close"),
            "submit": self.view.get("submit"),
            "previous_view_id": self.previous_view_id,
            "root_view_id": self.root_view_id,
            "app_id": APP_ID,
            "external_id": self.view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        return out


@dataclass
class UploadedFile:
    """A file going through files.getUploadURLExternal -> upload URL -> completeUploadExternal."""

    file_id: str
    filename: str
    length: int
    upload_key: str
    content: bytes | None = None
    title: str | None = None
    alt_txt: str | None = None
    completed: bool = False
    channel_id: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None

    def to_api(self) -> dict[str, Any]:
        """Return the file object as files.completeUploadExternal returns it."""
        now = int(time.time())
        return {
            "id": self.file_id,
            "created": now,
            "timestamp": now,
            "name": self.filename,
            "title": self.title or self.filename,
            "mimetype": "",
            "filetype": "",
            "pretty_type": "",
            "user": BOT_USER_ID,
            "user_team": TEAM_ID,
            "editable": False,
            "size": len(self.content or b""),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": self.channel_id is not None,
            "url_private": f"https://files.slack.com/files-pri/{TEAM_ID}-{self.file_id}/{self.filename}",
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{self.file_id}/{self.filename}",
            "channels": [self.channel_id] if self.channel_id else [],
            "groups": [],
            "ims": [],
            "comments_count": 0,
        }


# --------------------------------------------------------------------- internals


class _ApiError(Exception):
    """Raised inside method handlers to answer ``{"ok": false, "error": code}``."""

    def __init__(self, error: str, *, status: int = 200, retry_after: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.retry_after = retry_after


@dataclass
class _InjectedFailure:
    """A queued ``fail_next`` answer."""

    error: str
    status: int
    remaining: int
    retry_after: int | None


@dataclass
class _TokenBucket:
    """Per-channel limiter: ``rate`` tokens/second, holding at most ``capacity`` tokens."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def wait_needed(self, now: float) -> float:
        """Refill to ``now`` and return how long until one token is available (0 = go)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        """Consume one token (only after ``wait_needed`` returned 0)."""
        self.tokens -= 1.0


def _retry_after_seconds(wait: float) -> int:
    # Slack sends whole seconds; rounding up guarantees a client that honours the header
    # is admitted on its retry (rounding down would cause a second 429).
    return max(1, math.ceil(wait - 1e-9))


def _truthy(value: Any) -> bool:
    """Interpret a Slack boolean parameter (JSON bool or form "true"/"1")."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return bool(value)


def _user_list(value: Any) -> list[str]:
    """Split a ``users`` parameter given as "U1,U2" or a JSON list."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _decode_json_fields(params: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Return params with JSON-string fields decoded, plus the names that failed to parse."""
    decoded = dict(params)
    bad: set[str] = set()
    for key in _JSON_FIELDS & params.keys():
        value = params[key]
        if isinstance(value, str):
            try:
                decoded[key] = json.loads(value) if value.strip() else None
            except ValueError:
                bad.add(key)
    return decoded, bad


def _check_blocks(blocks: Any, limit: int) -> None:
    """Reject malformed block lists like Slack does (``invalid_blocks``)."""
    if blocks is None:
        return
    if not isinstance(blocks, list) or len(blocks) > limit:
        raise _ApiError("invalid_blocks")
    for block in blocks:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise _ApiError("invalid_blocks")


def _check_inputs(blocks: list[Any]) -> None:
    """Slack's limits on a modal's input blocks (invalid_arguments when broken).

    A label of at most 2,000 characters; a plain_text_input holds at most 3,000 (its
    max_length may not promise more).
    """
    for block in blocks:
        if not isinstance(block, dict) or block.get("type") != "input":
            continue
        label = block.get("label")
        label_text = str(label.get("text", "")) if isinstance(label, dict) else ""
        element = block.get("element")
        if not label_text or len(label_text) > 2000 or not isinstance(element, dict):
            raise _ApiError("invalid_arguments")
        if element.get("type") == "plain_text_input":
            max_length = element.get("max_length", 3000)
            if not isinstance(max_length, int) or not 1 <= max_length <= 3000:
                raise _ApiError("invalid_arguments")


# ------------------------------------------------------------------------ server


class FakeSlack:
    """Loopback Slack: Web API under ``/api/<method>``, response URLs, uploads, Socket Mode.

    Configuration attributes may be changed at any time (also mid-test):

    * ``token`` / ``app_token``: the only accepted bot (xoxb-) / app-level (xapp-) tokens.
    * ``latency``: seconds slept before answering each request.
    * ``rate_limits_enabled``: master switch for every limit below, ON by default (Slack
      always enforces them; only a benchmark turns them off, to show their effect).
    * ``channel_rate`` / ``channel_burst``: chat.postMessage token bucket per channel
      (Slack: "about 1 message per second per channel, short bursts allowed").
    * Per-method tiers (``METHOD_TIERS``/``TIER_RPM``): requests per minute per method across
      the workspace (sliding 60 s window). ``workspace_rpm`` replaces every method's tier
      limit, ``method_rpm`` one method's; chat.postMessage has no workspace limit unless set.
    * ``response_url_uses`` / ``response_url_seconds``: a response URL takes 5 posts within
      30 minutes of its first use; later posts are answered 404 ``used_url``/``expired_url``.
    * ``strict_users``: when True, conversations.open/chat.postMessage to a user id
      answer ``user_not_found`` unless the user was added with ``add_user``.
    """

    def __init__(
        self,
        token: str = "xoxb-test",
        app_token: str = "xapp-test",
        *,
        latency: float = 0.0,
        rate_limits: bool = True,
        channel_rate: float = 1.0,
        channel_burst: int = 3,
        workspace_rpm: int | None = None,
        method_rpm: dict[str, int] | None = None,
        strict_users: bool = False,
        scopes: str = DEFAULT_SCOPES,
    ) -> None:
        self.token = token
        self.app_token = app_token
        self.latency = latency
        self.rate_limits_enabled = rate_limits
        self.channel_rate = channel_rate
        self.channel_burst = channel_burst
        self.workspace_rpm = workspace_rpm
        self.method_rpm: dict[str, int] = dict(method_rpm or {})
        self.response_url_uses = RESPONSE_URL_USES
        self.response_url_seconds: float = RESPONSE_URL_SECONDS
        self.strict_users = strict_users
        self.scopes = scopes

        # Recordings (cleared by clear()).
        self.calls: list[RecordedCall] = []
        self.response_posts: list[ResponseUrlPost] = []
        self.socket_sent: list[SocketEnvelope] = []
        self.socket_acks: list[SocketAck] = []
        self.http_429 = 0

        # Workspace state.
        self.users: dict[str, FakeUser] = {}
        self.channels: dict[str, FakeChannel] = {}
        self.messages: dict[str, dict[str, StoredMessage]] = {}
        self.ephemerals: list[StoredMessage] = []
        self.views: dict[str, StoredView] = {}
        self.home_views: dict[str, StoredView] = {}
        self.files: dict[str, UploadedFile] = {}
        self.socket_connect_count = 0

        self._custom_methods: dict[str, MethodHandler] = {}
        self._fail_next: dict[str, deque[_InjectedFailure]] = {}
        self._fail_channels: dict[str, str] = {}
        self._fail_users: dict[str, str] = {}
        self._channel_buckets: dict[str, _TokenBucket] = {}
        self._method_windows: dict[str, deque[float]] = {}
        # response_url name -> arrival times of the posts it accepted
        self._response_url_uses: dict[str, list[float]] = {}
        # response_url name -> (channel, ts) of the message an interaction came from
        self._response_targets: dict[str, tuple[str, str]] = {}
        self._last_ts_us = 0
        self._ids = itertools.count(1)
        self._tickets: set[str] = set()
        self._uploads_by_key: dict[str, UploadedFile] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

        self.add_user(BOT_USER_ID, name=BOT_NAME, is_bot=True, real_name="Mentorbot")
        self.add_channel(DEFAULT_CHANNEL_ID, name=DEFAULT_CHANNEL_NAME)

        self._handlers: dict[str, MethodHandler] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> Self:
        """Listen on a random free port of 127.0.0.1."""
        if self._runner is not None:
            return self
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{name}", self._handle_response_url)
        app.router.add_post("/upload/v1/{key}", self._handle_upload)
        app.router.add_get("/socket", self._handle_socket)
        # shutdown_timeout keeps stop() fast when a client leaves a connection open.
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        """Close Socket Mode connections and the server."""
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        self._port = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the fake listens on (only after ``start``)."""
        if self._port is None:
            raise RuntimeError("FakeSlack is not started; await fake.start() first")
        return self._port

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The Web API base URL to give ``AsyncWebClient(base_url=...)``."""
        return f"{self.origin}/api/"

    def web_client(self, token: str | None = None, **kwargs: Any) -> AsyncWebClient:
        """Return a real ``AsyncWebClient`` pointed at the fake (bot token by default)."""
        return AsyncWebClient(
            token=self.token if token is None else token, base_url=self.base_url, **kwargs
        )

    def response_url(self, name: str) -> str:
        """Return a loopback ``response_url``; POSTs to it land in ``response_posts``."""
        return f"{self.origin}/response/{quote(name, safe='')}"

    def message_response_url(self, name: str, channel: str, ts: str) -> str:
        """A ``response_url`` for a button pressed on message ``ts`` in ``channel``.

        As on Slack, posting ``replace_original`` to it replaces that message in place.
        """
        self.bind_response_url(name, channel, ts)
        return self.response_url(name)

    # ------------------------------------------------------------- directory setup

    def add_user(
        self,
        user_id: str,
        email: str | None = None,
        tz: str = "Europe/London",
        name: str | None = None,
        *,
        real_name: str = "",
        display_name: str = "",
        is_bot: bool = False,
        deleted: bool = False,
        locale: str = "en-GB",
    ) -> FakeUser:
        """Add (or replace) a workspace member known to users.info/users.lookupByEmail."""
        user = FakeUser(
            user_id=user_id,
            name=name or user_id.lower(),
            email=email,
            tz=tz,
            real_name=real_name or (name or user_id),
            display_name=display_name,
            is_bot=is_bot,
            deleted=deleted,
            locale=locale,
        )
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        name: str = "",
        *,
        is_private: bool = False,
        members: list[str] | None = None,
    ) -> FakeChannel:
        """Add (or replace) a channel known to conversations.info."""
        channel = FakeChannel(
            channel_id=channel_id,
            name=name or channel_id.lower(),
            is_private=is_private,
            members=list(members or []),
        )
        self.channels[channel_id] = channel
        return channel

    def dm_channel_id(self, user_id: str) -> str:
        """Return the DM channel id conversations.open gives for ``user_id`` (deterministic)."""
        return "D" + hashlib.sha256(user_id.encode()).hexdigest()[:10].upper()

    def add_method(self, method: str, handler: MethodHandler) -> None:
        """Serve an extra Web API method; ``handler(decoded_params)`` returns the body."""
        self._custom_methods[method] = handler

    # ------------------------------------------------------------ error injection

    def fail_next(
        self,
        method: str,
        error: str,
        status: int = 200,
        *,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with ``error`` (and HTTP ``status``).

        With ``status=429`` a ``Retry-After`` header (default 1 s) is added and the
        answer counts in ``http_429``.
        """
        self._fail_next.setdefault(method, deque()).append(
            _InjectedFailure(error=error, status=status, remaining=times, retry_after=retry_after)
        )

    def fail_channel(self, channel_id: str, error: str = "channel_not_found") -> None:
        """Fail every call addressing ``channel_id`` (e.g. "not_in_channel", "is_archived")."""
        self._fail_channels[channel_id] = error

    def fail_user(self, user_id: str, error: str = "user_not_found") -> None:
        """Fail every call addressing ``user_id`` (e.g. "user_disabled", "cannot_dm_bot")."""
        self._fail_users[user_id] = error

    def clear_failures(self) -> None:
        """Forget every ``fail_next``/``fail_channel``/``fail_user`` injection."""
        self._fail_next.clear()
        self._fail_channels.clear()
        self._fail_users.clear()

    def reset_rate_limits(self) -> None:
        """Refill every limiter as if the fake had been idle for a long time."""
        self._channel_buckets.clear()
        self._method_windows.clear()
        self._response_url_uses.clear()

    def method_limit(self, method: str) -> int | None:
        """Requests per minute the fake allows ``method`` (None: no workspace limit)."""
        if method in self.method_rpm:
            return self.method_rpm[method]
        if self.workspace_rpm is not None:
            return self.workspace_rpm
        tier = METHOD_TIERS.get(method)
        return TIER_RPM[tier] if tier is not None else None

    # ------------------------------------------------------------ inspection

    def calls_to(self, method: str) -> list[RecordedCall]:
        """Return the recorded calls of one Web API method, oldest first."""
        return [c for c in self.calls if c.method == method]

    def response_posts_to(self, name: str) -> list[ResponseUrlPost]:
        """Return the POSTs received by ``response_url(name)``, oldest first."""
        return [p for p in self.response_posts if p.name == name]

    def messages_in(self, channel: str) -> list[StoredMessage]:
        """Return the live (not deleted) bot messages of a channel, oldest first."""
        return [
            m
            for m in self.messages.get(channel, {}).values()
            if not m.deleted and m.author == BOT_USER_ID
        ]

    def live_with_buttons(self, channel: str) -> list[StoredMessage]:
        """The live bot messages of a channel that still show buttons (actions blocks)."""
        return [
            m
            for m in self.messages_in(channel)
            if any(isinstance(b, dict) and b.get("type") == "actions" for b in m.blocks or [])
        ]

    def add_user_message(self, channel: str, user: str, text: str) -> StoredMessage:
        """Store a message a user wrote in a channel (for tests of what the bot may delete)."""
        message = StoredMessage(channel=channel, ts=self._next_ts(), text=text, author=user)
        self.messages.setdefault(channel, {})[message.ts] = message
        return message

    def clear(self) -> None:
        """Forget recorded calls, response-URL posts, socket traffic and the 429 count.

        Workspace state (users, channels, messages, views) and limiters are kept.
        """
        self.calls.clear()
        self.response_posts.clear()
        self.socket_sent.clear()
        self.socket_acks.clear()
        self.http_429 = 0

    # A timeout argument (not asyncio.timeout) keeps test call sites one-liners: ASYNC109 off.
    async def wait_for_call(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[RecordedCall]:
        """Wait until ``method`` was called ``count`` times; return those calls."""
        await self.wait_until(lambda: len(self.calls_to(method)) >= count, timeout, method)
        return self.calls_to(method)

    async def wait_for_response_post(
        self,
        name: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[ResponseUrlPost]:
        """Wait until ``response_url(name)`` received ``count`` POSTs; return them."""
        await self.wait_until(
            lambda: len(self.response_posts_to(name)) >= count, timeout, f"response_url {name}"
        )
        return self.response_posts_to(name)

    # ------------------------------------------------------------ socket mode

    @property
    def socket_connections(self) -> int:
        """Number of open Socket Mode connections."""
        return len(self._sockets)

    async def wait_for_socket(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until a Socket Mode client is connected (and has been sent ``hello``)."""
        await self.wait_until(lambda: bool(self._sockets), timeout, "a socket mode connection")

    async def socket_send(
        self,
        type: str,
        payload: dict[str, Any],
        envelope_id: str | None = None,
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> str:
        """Push an envelope to the newest connection and return its ``envelope_id``.

        ``type`` is "slash_commands", "events_api" or "interactive"; waits up to ``timeout``
        for a connection.
        """
        await self.wait_for_socket(timeout)
        eid = envelope_id or str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": eid,
            "payload": payload,
            "type": type,
            # Slack lets slash commands and interactivity answer through the ack.
            "accepts_response_payload": (
                type != "events_api"
                if accepts_response_payload is None
                else accepts_response_payload
            ),
        }
        if type == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        await self._sockets[-1].send_json(envelope)
        self.socket_sent.append(
            SocketEnvelope(envelope_id=eid, type=type, payload=payload, at=time.monotonic())
        )
        return eid

    async def wait_for_ack(
        self,
        envelope_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, Any] | None:
        """Wait for the client's ack of ``envelope_id``; return its payload (None if empty)."""
        await self.wait_until(
            lambda: any(a.envelope_id == envelope_id for a in self.socket_acks),
            timeout,
            f"ack of envelope {envelope_id}",
        )
        return next(a for a in self.socket_acks if a.envelope_id == envelope_id).payload

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send Slack's ``disconnect`` message; the SDK then reconnects via a new URL."""
        for ws in list(self._sockets):
            await ws.send_json(
                {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
            )

    # ------------------------------------------------------------ HTTP handlers

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        method = request.match_info["method"]
        raw = await self._read_params(request)
        decoded, bad_json = _decode_json_fields(raw)
        token = self._request_token(request, raw)
        status, body, headers = self._dispatch(method, decoded, bad_json, token, arrived)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        self.calls.append(
            RecordedCall(
                method=method,
                params={k: v for k, v in raw.items() if k != "token"},
                json_params={k: v for k, v in decoded.items() if k != "token"},
                at=arrived,
                status=status,
                response=body,
                token=token,
            )
        )
        await self._notify()
        return web.json_response(body, status=status, headers=headers)

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        raw = await request.text()
        body: dict[str, Any] | None
        try:
            parsed = json.loads(raw) if raw else None
            body = parsed if isinstance(parsed, dict) else None
        except ValueError:
            body = None
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        name = request.match_info["name"]
        self.response_posts.append(ResponseUrlPost(name=name, body=body, raw=raw, at=arrived))
        refused = self._response_url_refusal(name, arrived) if body is not None else None
        if refused is None and body is not None:
            self._apply_response(name, body)
        await self._notify()
        if body is None:
            # Slack answers malformed response_url posts with 400 and a plain-text reason.
            return web.Response(status=400, text="invalid_payload", content_type="text/html")
        if refused is not None:
            return web.Response(status=404, text=refused, content_type="text/html")
        return web.Response(text="ok", content_type="text/html")

    def _response_url_refusal(self, name: str, now: float) -> str | None:
        """Slack's answer to a post beyond a response_url's 5 uses or 30 minutes, or None."""
        if not self.rate_limits_enabled:
            return None
        uses = self._response_url_uses.setdefault(name, [])
        if uses and now - uses[0] > self.response_url_seconds:
            return "expired_url"
        if len(uses) >= self.response_url_uses:
            return "used_url"
        uses.append(now)
        return None

    def bind_response_url(self, name: str, channel: str, ts: str) -> None:
        """Tie ``response_url(name)`` to a message, as Slack ties an interaction's URL.

        A post with ``replace_original`` then replaces that message (text and blocks), and one
        with ``delete_original`` deletes it; a post accepted by the URL changes the message
        exactly as Slack shows it to the person.
        """
        self._response_targets[name] = (channel, ts)

    def _apply_response(self, name: str, body: dict[str, Any]) -> None:
        target = self._response_targets.get(name)
        if target is None:
            return
        message = self.messages.get(target[0], {}).get(target[1])
        if message is None or message.deleted:
            return
        if _truthy(body.get("delete_original")):
            message.deleted = True
        elif _truthy(body.get("replace_original")):
            message.text = str(body.get("text") or "")
            blocks = body.get("blocks")
            message.blocks = blocks if isinstance(blocks, list) else None
            message.edited_ts = self._next_ts()

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        upload = self._uploads_by_key.get(request.match_info["key"])
        if upload is None:
            return web.Response(status=404, text="not found", content_type="text/plain")
        if request.content_type == "multipart/form-data":
            form = await request.post()
            part = form.get("file") or form.get("filename")
            content = part.file.read() if isinstance(part, web.FileField) else str(part).encode()
        else:
            content = await request.read()
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        upload.content = content
        # The real files.slack.com answers text/plain "OK - <bytes>".
        return web.Response(text=f"OK - {len(content)}", content_type="text/plain")

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        # autoping answers the SDK's ws-level "sdk-ping-pong:<t>" pings with pongs.
        ws = web.WebSocketResponse(autoping=True, timeout=1.0)
        await ws.prepare(request)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets) + 1,
                "debug_info": {
                    "host": "applink-fake-1",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": APP_ID},
            }
        )
        self._sockets.append(ws)
        self.socket_connect_count += 1
        await self._notify()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._record_socket_message(msg.data)
                    await self._notify()
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
            await self._notify()
        return ws

    def _record_socket_message(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
            payload = message.get("payload")
            self.socket_acks.append(
                SocketAck(
                    envelope_id=message["envelope_id"],
                    payload=payload if isinstance(payload, dict) else None,
                    at=time.monotonic(),
                )
            )

    # ------------------------------------------------------------ dispatch

    @staticmethod
    async def _read_params(request: web.Request) -> dict[str, Any]:
        """Merge query string, form (urlencoded or multipart) and JSON body parameters."""
        params: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.can_read_body:
            return params
        if request.content_type == "application/json":
            raw = await request.read()
            if raw.strip():
                body = json.loads(raw)
                if isinstance(body, dict):
                    params.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                params[key] = value.file.read() if isinstance(value, web.FileField) else value
        return params

    @staticmethod
    def _request_token(request: web.Request, params: dict[str, Any]) -> str | None:
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() or None
        # Slack also accepts the token as a POST/query parameter.
        token = params.get("token")
        return str(token) if token else None

    def _dispatch(
        self,
        method: str,
        params: dict[str, Any],
        bad_json: set[str],
        token: str | None,
        now: float,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Return (HTTP status, JSON body, extra headers) for one Web API call."""
        handler = self._custom_methods.get(method) or self._handlers.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        try:
            self._check_auth(method, token)
            self._check_injected(method)
            self._check_rate_limits(method, params, now)
            self._check_targets(params)
            if bad_json:
                raise _ApiError("invalid_blocks_format" if "blocks" in bad_json else "invalid_json")
            body = {"ok": True, **handler(params)}
        except _ApiError as err:
            headers: dict[str, str] = {}
            if err.status == 429:
                self.http_429 += 1
                headers["Retry-After"] = str(err.retry_after or 1)
            return err.status, {"ok": False, "error": err.error}, headers
        headers = {"x-oauth-scopes": self.scopes} if method == "auth.test" else {}
        return 200, body, headers

    def _check_auth(self, method: str, token: str | None) -> None:
        expected = self.app_token if method in _APP_TOKEN_METHODS else self.token
        if not token:
            # Real Slack distinguishes a missing token from a wrong one.
            raise _ApiError("not_authed")
        if token == expected:
            return
        if token in {self.token, self.app_token}:
            raise _ApiError("not_allowed_token_type")
        raise _ApiError("invalid_auth")

    def _check_injected(self, method: str) -> None:
        queue = self._fail_next.get(method)
        if not queue:
            return
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.popleft()
        raise _ApiError(failure.error, status=failure.status, retry_after=failure.retry_after)

    def _check_rate_limits(self, method: str, params: dict[str, Any], now: float) -> None:
        if not self.rate_limits_enabled:
            return
        waits: list[float] = []
        bucket: _TokenBucket | None = None
        if method == "chat.postMessage":
            channel = self._resolve_channel(params.get("channel"))
            bucket = self._channel_buckets.get(channel)
            if bucket is None:
                bucket = _TokenBucket(
                    capacity=float(self.channel_burst),
                    rate=self.channel_rate,
                    tokens=float(self.channel_burst),
                    updated=now,
                )
                self._channel_buckets[channel] = bucket
            # Attributes may have been changed since the bucket was created.
            bucket.capacity, bucket.rate = float(self.channel_burst), self.channel_rate
            waits.append(bucket.wait_needed(now))
        window: deque[float] | None = None
        rpm = self.method_limit(method)
        if rpm is not None:
            window = self._method_windows.setdefault(method, deque())
            while window and now - window[0] >= 60.0:
                window.popleft()
            waits.append(0.0 if len(window) < rpm else window[0] + 60.0 - now)
        wait = max(waits, default=0.0)
        if wait > 0:
            # Rejected requests do not consume quota, as with Slack.
            raise _ApiError("ratelimited", status=429, retry_after=_retry_after_seconds(wait))
        if bucket is not None:
            bucket.take()
        if window is not None:
            window.append(now)

    def _check_targets(self, params: dict[str, Any]) -> None:
        for key in ("channel", "channel_id"):
            value = params.get(key)
            if isinstance(value, str):
                for candidate in (value, self._resolve_channel(value)):
                    if candidate in self._fail_channels:
                        raise _ApiError(self._fail_channels[candidate])
                if value in self._fail_users:
                    raise _ApiError(self._fail_users[value])
        for channel in _user_list(params.get("channels")):
            if channel in self._fail_channels:
                raise _ApiError(self._fail_channels[channel])
        user_ids = _user_list(params.get("users"))
        for key in ("user", "user_id"):
            if isinstance(params.get(key), str):
                user_ids.append(params[key])
        email = params.get("email")
        if isinstance(email, str):
            user_ids.extend(u.user_id for u in self.users.values() if u.email == email)
        for user_id in user_ids:
            if user_id in self._fail_users:
                raise _ApiError(self._fail_users[user_id])

    # ------------------------------------------------------------ helpers

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}0FAKE{next(self._ids):05d}"

    def _next_ts(self) -> str:
        # Unique and strictly increasing even for posts within the same microsecond.
        now_us = int(time.time() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _resolve_channel(self, channel: Any) -> str:
        """Map a user id to its DM (posting to "U123" lands in the bot's DM with U123)."""
        value = str(channel or "")
        if value[:1] in {"U", "W"}:
            return self.dm_channel_id(value)
        return value

    def _require_user(self, user_id: Any) -> FakeUser:
        user = self.users.get(str(user_id or ""))
        if user is None:
            raise _ApiError("user_not_found")
        return user

    def _open_dm(self, user_id: str) -> tuple[FakeChannel, bool]:
        """Return the DM with ``user_id`` and whether it already existed."""
        if self.strict_users:
            self._require_user(user_id)
        channel_id = self.dm_channel_id(user_id)
        existing = self.channels.get(channel_id)
        if existing is not None:
            return existing, True
        channel = FakeChannel(channel_id=channel_id, is_im=True, user=user_id)
        self.channels[channel_id] = channel
        return channel, False

    def _message_fields(self, params: dict[str, Any]) -> tuple[str, Any, Any]:
        text = params.get("text")
        text = "" if text is None else str(text)
        blocks, attachments = params.get("blocks"), params.get("attachments")
        if len(text) > _MAX_TEXT_CHARS:
            raise _ApiError("msg_too_long")
        _check_blocks(blocks, _MAX_MESSAGE_BLOCKS)
        return text, blocks, attachments

    def _find_message(self, params: dict[str, Any]) -> StoredMessage:
        channel = self._resolve_channel(params.get("channel"))
        if not channel:
            raise _ApiError("channel_not_found")
        message = self.messages.get(channel, {}).get(str(params.get("ts") or ""))
        if message is None or message.deleted:
            raise _ApiError("message_not_found")
        return message

    async def _notify(self) -> None:
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> None:
        """Wait until ``predicate()`` holds; it is re-checked whenever the fake sees traffic."""
        if self._changed is None:
            raise RuntimeError("FakeSlack is not started; await fake.start() first")
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            raise TimeoutError(f"FakeSlack: no {what} within {timeout}s") from None

    # ------------------------------------------------------------ Web API methods

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self.port}/socket?ticket={ticket}&app_id={APP_ID}"}

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        raw_channel = str(params.get("channel") or "")
        if not raw_channel:
            raise _ApiError("channel_not_found")
        if raw_channel[:1] in {"U", "W"}:
            channel = self._open_dm(raw_channel)[0].channel_id
        else:
            channel = raw_channel
        text, blocks, attachments = self._message_fields(params)
        if not text and not blocks and not attachments:
            raise _ApiError("no_text")
        thread_ts = params.get("thread_ts")
        metadata = params.get("metadata")
        message = StoredMessage(
            channel=channel,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            attachments=attachments,
            thread_ts=str(thread_ts) if thread_ts else None,
            metadata=metadata if isinstance(metadata, dict) else None,
        )
        self.messages.setdefault(channel, {})[message.ts] = message
        return {"channel": channel, "ts": message.ts, "message": message.to_api()}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find_message(params)
        if message.author != BOT_USER_ID:
            raise _ApiError("cant_update_message")  # as Slack: only the bot's own messages
        text, blocks, attachments = self._message_fields(params)
        # Slack keeps fields the update does not mention.
        if "text" in params:
            message.text = text
        if blocks is not None:
            message.blocks = blocks
        if attachments is not None:
            message.attachments = attachments
        message.edited_ts = self._next_ts()
        return {
            "channel": message.channel,
            "ts": message.ts,
            "text": message.text,
            "message": message.to_api(),
        }

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_channel(params.get("channel"))
        if not channel:
            raise _ApiError("channel_not_found")
        user = params.get("user")
        if not user:
            raise _ApiError("user_not_found")
        if self.strict_users:
            self._require_user(user)
        text, blocks, attachments = self._message_fields(params)
        if not text and not blocks and not attachments:
            raise _ApiError("no_text")
        message = StoredMessage(
            channel=channel,
            ts=self._next_ts(),
            text=text,
            blocks=blocks,
            attachments=attachments,
            thread_ts=str(params["thread_ts"]) if params.get("thread_ts") else None,
            ephemeral_user=str(user),
        )
        self.ephemerals.append(message)
        return {"message_ts": message.ts}

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find_message(params)
        if message.author != BOT_USER_ID:
            # As Slack: a bot token deletes only the bot's own messages.
            raise _ApiError("cant_delete_message")
        message.deleted = True
        return {"channel": message.channel, "ts": message.ts}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = _user_list(params.get("users"))
        channel_param = params.get("channel")
        if not users:
            if not channel_param:
                raise _ApiError("users_list_not_supplied")
            known = self.channels.get(str(channel_param))
            if known is None or not (known.is_im or known.is_mpim):
                raise _ApiError("channel_not_found")
            channel, existed = known, True
        elif len(users) == 1:
            channel, existed = self._open_dm(users[0])
        else:
            if len(users) > 8:
                raise _ApiError("too_many_users")
            if self.strict_users:
                for user_id in users:
                    self._require_user(user_id)
            digest = hashlib.sha256(",".join(sorted(users)).encode()).hexdigest()[:10].upper()
            channel_id = "G" + digest
            existed = channel_id in self.channels
            if not existed:
                self.channels[channel_id] = FakeChannel(
                    channel_id=channel_id,
                    name="mpdm-" + "--".join(users) + "-1",
                    is_mpim=True,
                    members=[*users, BOT_USER_ID],
                )
            channel = self.channels[channel_id]
        full = _truthy(params.get("return_im"))
        out: dict[str, Any] = {"channel": channel.to_api() if full else {"id": channel.channel_id}}
        if existed:
            out.update({"no_op": True, "already_open": True})
        return out

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(str(params.get("channel") or ""))
        if channel is None:
            raise _ApiError("channel_not_found")
        return {"channel": channel.to_api()}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._require_user(params.get("user"))
        return {"user": user.to_api(include_locale=_truthy(params.get("include_locale")))}

    def _users_lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        email = str(params.get("email") or "").strip().lower()
        for user in self.users.values():
            if user.email is not None and user.email.lower() == email and not user.deleted:
                return {"user": user.to_api()}
        raise _ApiError("users_not_found")

    def _view_param(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if not isinstance(view, dict) or view.get("type") not in {"modal", "home"}:
            raise _ApiError("invalid_arguments")
        _check_blocks(view.get("blocks", []), _MAX_VIEW_BLOCKS)
        if view["type"] == "modal":
            title = view.get("title")
            title_text = str(title.get("text", "")) if isinstance(title, dict) else ""
            if not title_text or len(title_text) > _MAX_MODAL_TITLE_CHARS:
                raise _ApiError("invalid_arguments")
            _check_inputs(view.get("blocks") or [])
        return view

    def _new_view(
        self, view: dict[str, Any], *, root: str | None = None, previous: str | None = None
    ) -> StoredView:
        view_id = self._next_id("V")
        stored = StoredView(
            view_id=view_id,
            view=view,
            hash=f"{int(time.time())}.{secrets.token_hex(4)}",
            root_view_id=root or view_id,
            previous_view_id=previous,
        )
        self.views[view_id] = stored
        return stored

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id") and not params.get("interactivity_pointer"):
            raise _ApiError("invalid_arguments")
        return {"view": self._new_view(self._view_param(params)).to_api()}

    def _views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id") and not params.get("interactivity_pointer"):
            raise _ApiError("invalid_arguments")
        view = self._view_param(params)
        # The trigger carries no view id, so stack on the most recent modal.
        modals = [v for v in self.views.values() if v.view.get("type") == "modal"]
        previous = modals[-1] if modals else None
        stored = self._new_view(
            view,
            root=previous.root_view_id if previous else None,
            previous=previous.view_id if previous else None,
        )
        return {"view": stored.to_api()}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view = self._view_param(params)
        target: StoredView | None = None
        if params.get("view_id"):
            target = self.views.get(str(params["view_id"]))
        elif params.get("external_id"):
            wanted = str(params["external_id"])
            target = next(
                (v for v in self.views.values() if v.view.get("external_id") == wanted), None
            )
        else:
            raise _ApiError("invalid_arguments")
        if target is None:
            raise _ApiError("not_found")
        if params.get("hash") and str(params["hash"]) != target.hash:
            raise _ApiError("hash_conflict")
        target.view = view
        target.hash = f"{int(time.time())}.{secrets.token_hex(4)}"
        return {"view": target.to_api()}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user_id") or "")
        if not user_id:
            raise _ApiError("invalid_arguments")
        if self.strict_users:
            self._require_user(user_id)
        view = self._view_param(params)
        if view.get("type") != "home":
            raise _ApiError("invalid_arguments")
        current = self.home_views.get(user_id)
        if current is not None and params.get("hash") and str(params["hash"]) != current.hash:
            raise _ApiError("hash_conflict")
        stored = self._new_view(view)
        stored.user_id = user_id
        self.home_views[user_id] = stored
        return {"view": stored.to_api()}

    def _files_get_upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = params.get("filename")
        try:
            length = int(params.get("length") or 0)
        except (TypeError, ValueError):
            length = 0
        if not filename or length <= 0:
            raise _ApiError("invalid_arguments")
        file_id = self._next_id("F")
        key = secrets.token_urlsafe(12)
        upload = UploadedFile(
            file_id=file_id,
            filename=str(filename),
            length=length,
            upload_key=key,
            alt_txt=str(params["alt_txt"]) if params.get("alt_txt") else None,
        )
        self.files[file_id] = upload
        self._uploads_by_key[key] = upload
        return {"upload_url": f"{self.origin}/upload/v1/{key}", "file_id": file_id}

    def _files_complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = params.get("files")
        if not isinstance(entries, list) or not entries:
            raise _ApiError("invalid_arguments")
        channel_id = params.get("channel_id")
        completed: list[UploadedFile] = []
        for entry in entries:
            upload = self.files.get(str(entry.get("id") if isinstance(entry, dict) else ""))
            if upload is None or upload.content is None:
                raise _ApiError("file_not_found")
            completed.append(upload)
        for upload, entry in zip(completed, entries, strict=True):
            upload.completed = True
            upload.title = entry.get("title") or upload.filename
            upload.channel_id = str(channel_id) if channel_id else None
            upload.initial_comment = params.get("initial_comment")
            upload.thread_ts = params.get("thread_ts")
        if channel_id:
            # Completing an upload into a channel shares it as a bot message.
            channel = self._resolve_channel(channel_id)
            message = StoredMessage(
                channel=channel,
                ts=self._next_ts(),
                text=str(params.get("initial_comment") or ""),
                thread_ts=str(params["thread_ts"]) if params.get("thread_ts") else None,
                files=[u.file_id for u in completed],
            )
            self.messages.setdefault(channel, {})[message.ts] = message
        return {"files": [u.to_api() for u in completed]}
