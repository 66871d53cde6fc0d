"""Builders for realistic Discord API v10 payloads, used by the loopback Discord fake.

Every builder returns plain JSON-able dicts shaped like what Discord actually sends
(snowflakes as strings, ISO-8601 timestamps, the optional-but-always-present keys
discord.py reads with ``data[...]``).  They are deliberately free of any state so
tests can also use them to hand-craft odd payloads.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

JSON = dict[str, Any]

#: Milliseconds of the Discord epoch (2015-01-01T00:00:00Z); snowflakes count from it.
DISCORD_EPOCH_MS = 1_420_070_400_000

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents).
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
#: Intents that must be switched on in the developer portal, else the gateway closes 4014.
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Channel types.
CHANNEL_GUILD_TEXT = 0
CHANNEL_DM = 1
CHANNEL_PUBLIC_THREAD = 11
CHANNEL_PRIVATE_THREAD = 12

# Interaction types.
INTERACTION_PING = 1
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_MESSAGE_COMPONENT = 3
INTERACTION_AUTOCOMPLETE = 4
INTERACTION_MODAL_SUBMIT = 5

# Interaction callback types.
CALLBACK_PONG = 1
CALLBACK_CHANNEL_MESSAGE_WITH_SOURCE = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE_MESSAGE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE_RESULT = 8
CALLBACK_MODAL = 9

# Message flags.
MESSAGE_FLAG_EPHEMERAL = 1 << 6
MESSAGE_FLAG_LOADING = 1 << 7

# Message types.
MESSAGE_DEFAULT = 0
MESSAGE_REPLY = 19
MESSAGE_CHAT_INPUT_COMMAND = 20

# Component types.
COMPONENT_ACTION_ROW = 1
COMPONENT_BUTTON = 2
COMPONENT_STRING_SELECT = 3
COMPONENT_TEXT_INPUT = 4

# Application flags: message-content intent enabled (limited) and the command badge.
DEFAULT_APPLICATION_FLAGS = (1 << 19) | (1 << 23)

#: Permissions of a bot with a typical "send messages + embeds + slash commands" invite.
DEFAULT_BOT_PERMISSIONS = "2251799813685247"
#: Permissions a normal member has in the default guild (@everyone defaults).
DEFAULT_MEMBER_PERMISSIONS = "1071698660929"

#: discord.py requires ``attachment_size_limit`` on interactions (10 MiB for unboosted guilds).
DEFAULT_ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


class SnowflakeFactory:
    """Generates unique, time-ordered snowflakes exactly like Discord's layout.

    Layout: 42 bits ms since the Discord epoch, 5 bits worker, 5 bits process, 12 bits increment.
    Thread-safe because discord.py's heartbeat runs in a thread (it never asks, but cheap).
    """

    def __init__(self, worker_id: int = 1, process_id: int = 0) -> None:
        self._worker = worker_id & 0x1F
        self._process = process_id & 0x1F
        self._last_ms = 0
        self._increment = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        """Return a fresh snowflake as a decimal string (Discord sends ids as strings)."""
        with self._lock:
            ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
            if ms <= self._last_ms:
                # Same (or earlier: clock step) millisecond: bump the increment, and
                # borrow the next millisecond once the 12-bit increment is exhausted.
                ms = self._last_ms
                self._increment += 1
                if self._increment > 0xFFF:
                    ms += 1
                    self._increment = 0
            else:
                self._increment = 0
            self._last_ms = ms
            value = (ms << 22) | (self._worker << 17) | (self._process << 12) | self._increment
            return str(value)


def snowflake_time(snowflake: str | int) -> dt.datetime:
    """Return the UTC creation time encoded in a snowflake."""
    ms = (int(snowflake) >> 22) + DISCORD_EPOCH_MS
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def iso_timestamp(when: dt.datetime | None = None) -> str:
    """Format a timestamp the way Discord does (microseconds, explicit +00:00)."""
    when = when or dt.datetime.now(dt.UTC)
    return when.astimezone(dt.UTC).isoformat(timespec="microseconds")


def random_token(length: int = 160) -> str:
    """An interaction-token-looking opaque string (Discord's are long url-safe strings)."""
    return "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(length)[: length - 16]


# --------------------------------------------------------------------------- users & guilds


def user(
    user_id: str,
    username: str,
    *,
    bot: bool = False,
    global_name: str | None = None,
) -> JSON:
    """A user object (post-2023 usernames: discriminator "0", optional global_name)."""
    payload: JSON = {
        "id": user_id,
        "username": username,
        "discriminator": "0",
        "global_name": global_name if global_name is not None else (None if bot else username),
        "avatar": None,
        "avatar_decoration_data": None,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
    }
    if bot:
        payload["bot"] = True
    return payload


def member(
    user_payload: JSON,
    *,
    roles: Sequence[str] = (),
    permissions: str | None = None,
    joined_at: str | None = None,
    nick: str | None = None,
) -> JSON:
    """A guild member object; ``permissions`` is only present inside interactions."""
    payload: JSON = {
        "user": user_payload,
        "nick": nick,
        "avatar": None,
        "banner": None,
        "roles": list(roles),
        "joined_at": joined_at or iso_timestamp(),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "communication_disabled_until": None,
    }
    if permissions is not None:
        payload["permissions"] = permissions
    return payload


def everyone_role(guild_id: str, permissions: str = DEFAULT_MEMBER_PERMISSIONS) -> JSON:
    """The @everyone role; Discord gives it the guild's own id."""
    return {
        "id": guild_id,
        "name": "@everyone",
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": 0,
        "permissions": permissions,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }


def text_channel(
    channel_id: str,
    guild_id: str | None,
    name: str,
    *,
    position: int = 0,
    last_message_id: str | None = None,
) -> JSON:
    """A GUILD_TEXT channel. Inside GUILD_CREATE Discord omits guild_id (pass None)."""
    payload: JSON = {
        "id": channel_id,
        "type": CHANNEL_GUILD_TEXT,
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "topic": None,
        "nsfw": False,
        "last_message_id": last_message_id,
        "rate_limit_per_user": 0,
        "parent_id": None,
        "flags": 0,
    }
    if guild_id is not None:
        payload["guild_id"] = guild_id
    return payload


def dm_channel(channel_id: str, recipient: JSON, *, last_message_id: str | None = None) -> JSON:
    """A DM channel as returned by POST /users/@me/channels."""
    return {
        "id": channel_id,
        "type": CHANNEL_DM,
        "last_message_id": last_message_id,
        "flags": 0,
        "recipients": [recipient],
    }


def unavailable_guild(guild_id: str) -> JSON:
    """The stub READY lists for every guild before its GUILD_CREATE arrives."""
    return {"id": guild_id, "unavailable": True}


def guild_create(
    guild_id: str,
    name: str,
    *,
    owner_id: str,
    channels: Iterable[JSON],
    members: Iterable[JSON],
    roles: Iterable[JSON] | None = None,
    joined_at: str | None = None,
) -> JSON:
    """A GUILD_CREATE dispatch body (a full guild plus the gateway-only extras)."""
    member_list = list(members)
    channel_list = list(channels)
    return {
        "id": guild_id,
        "name": name,
        "icon": None,
        "splash": None,
        "discovery_splash": None,
        "banner": None,
        "description": None,
        "owner_id": owner_id,
        "afk_channel_id": None,
        "afk_timeout": 300,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 2,
        "roles": list(roles) if roles is not None else [everyone_role(guild_id)],
        "emojis": [],
        "stickers": [],
        "features": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": channel_list[0]["id"] if channel_list else None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "public_updates_channel_id": None,
        "safety_alerts_channel_id": None,
        "max_members": 500000,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "premium_progress_bar_enabled": False,
        "preferred_locale": "en-US",
        "nsfw_level": 0,
        "nsfw": False,
        "incidents_data": None,
        "hub_type": None,
        "lazy": True,
        "large": False,
        "unavailable": False,
        "joined_at": joined_at or iso_timestamp(),
        "member_count": len(member_list),
        "members": member_list,
        "channels": channel_list,
        "threads": [],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "embedded_activities": [],
    }


# --------------------------------------------------------------------------- application


def application_info(
    application_id: str,
    *,
    name: str,
    bot_user: JSON,
    owner: JSON,
    flags: int = DEFAULT_APPLICATION_FLAGS,
) -> JSON:
    """GET /applications/@me. ``interactions_endpoint_url`` must stay null for a gateway bot."""
    return {
        "id": application_id,
        "name": name,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "hook": True,
        "bot_public": False,
        "bot_require_code_grant": False,
        "verify_key": "0" * 64,
        "flags": flags,
        "owner": owner,
        "team": None,
        "bot": bot_user,
        "guild_id": None,
        "interactions_endpoint_url": None,
        "role_connections_verification_url": None,
        "approximate_guild_count": 1,
        "approximate_user_install_count": 0,
        "redirect_uris": [],
        "tags": [],
        "install_params": {"scopes": ["bot", "applications.commands"], "permissions": "0"},
        "integration_types_config": {"0": {}},
    }


def application_command(
    body: Mapping[str, Any],
    *,
    command_id: str,
    application_id: str,
    version: str,
    guild_id: str | None,
) -> JSON:
    """Turn a command create/overwrite body into the object Discord stores and returns."""
    payload: JSON = {
        "id": command_id,
        "application_id": application_id,
        "version": version,
        "type": body.get("type", 1),
        "name": body["name"],
        "name_localizations": body.get("name_localizations"),
        "description": body.get("description", ""),
        "description_localizations": body.get("description_localizations"),
        "options": list(body.get("options", [])),
        "default_member_permissions": body.get("default_member_permissions"),
        "dm_permission": body.get("dm_permission", True),
        "nsfw": body.get("nsfw", False),
        "integration_types": body.get("integration_types", [0]),
        "contexts": body.get("contexts"),
    }
    if guild_id is not None:
        payload["guild_id"] = guild_id
    return payload


def ready(
    *,
    user_payload: JSON,
    guild_ids: Iterable[str],
    session_id: str,
    resume_gateway_url: str,
    application_id: str,
    application_flags: int = DEFAULT_APPLICATION_FLAGS,
    shard: Sequence[int] | None = None,
) -> JSON:
    """The READY dispatch body for a bot session."""
    payload: JSON = {
        "v": 10,
        "user_settings": {},
        "user": {**user_payload, "verified": True, "mfa_enabled": False, "email": None},
        "guilds": [unavailable_guild(g) for g in guild_ids],
        "guild_join_requests": [],
        "relationships": [],
        "private_channels": [],
        "presences": [],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_gateway_url,
        "geo_ordered_rtc_regions": ["us-east", "us-central"],
        "auth": {},
        "application": {"id": application_id, "flags": application_flags},
        "_trace": ['["gateway-prd-fake",{"micros":0}]'],
    }
    if shard is not None:
        payload["shard"] = list(shard)
    return payload


# --------------------------------------------------------------------------- messages & components


def normalise_embeds(embeds: Iterable[Mapping[str, Any]] | None) -> list[JSON]:
    """Discord echoes embeds back with ``type: rich`` filled in."""
    return [{"type": "rich", **dict(e)} for e in (embeds or [])]


def message(
    *,
    message_id: str,
    channel_id: str,
    author: JSON,
    content: str = "",
    embeds: Iterable[Mapping[str, Any]] | None = None,
    components: Iterable[Mapping[str, Any]] | None = None,
    attachments: Iterable[Mapping[str, Any]] | None = None,
    flags: int = 0,
    message_type: int = MESSAGE_DEFAULT,
    nonce: str | int | None = None,
    tts: bool = False,
    guild_id: str | None = None,
    member_payload: JSON | None = None,
    webhook_id: str | None = None,
    application_id: str | None = None,
    interaction_metadata: JSON | None = None,
    message_reference: Mapping[str, Any] | None = None,
    mentions: Iterable[JSON] = (),
) -> JSON:
    """A message object. REST responses omit guild_id/member; gateway events carry them."""
    payload: JSON = {
        "id": message_id,
        "type": message_type,
        "content": content,
        "channel_id": channel_id,
        "author": author,
        "attachments": list(attachments or []),
        "embeds": normalise_embeds(embeds),
        "mentions": list(mentions),
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": tts,
        "timestamp": iso_timestamp(snowflake_time(message_id)),
        "edited_timestamp": None,
        "flags": flags,
        "components": list(components or []),
    }
    if nonce is not None:
        payload["nonce"] = nonce
    if guild_id is not None:
        payload["guild_id"] = guild_id
    if member_payload is not None:
        payload["member"] = member_payload
    if webhook_id is not None:
        payload["webhook_id"] = webhook_id
    if application_id is not None:
        payload["application_id"] = application_id
    if interaction_metadata is not None:
        payload["interaction_metadata"] = interaction_metadata
    if message_reference is not None:
        payload["message_reference"] = {"type": 0, **dict(message_reference)}
    return payload


def button(custom_id: str, label: str = "Click", *, style: int = 1, disabled: bool = False) -> JSON:
    """A button component (style 1 = primary)."""
    return {
        "type": COMPONENT_BUTTON,
        "style": style,
        "label": label,
        "custom_id": custom_id,
        "disabled": disabled,
    }


def action_row(components: Iterable[JSON]) -> JSON:
    """An action row wrapping up to five components."""
    return {"type": COMPONENT_ACTION_ROW, "components": list(components)}


# --------------------------------------------------------------------------- interactions


def command_options(values: Mapping[str, Any]) -> list[JSON]:
    """Build CHAT_INPUT options from a ``name -> value`` mapping, inferring the option type.

    str → 3 STRING, bool → 5 BOOLEAN, int → 4 INTEGER, float → 10 NUMBER.  For user,
    channel or sub-command options pass explicit option dicts instead.
    """
    options: list[JSON] = []
    for name, value in values.items():
        # bool before int: bool is an int subclass.
        if isinstance(value, bool):
            option_type = 5
        elif isinstance(value, int):
            option_type = 4
        elif isinstance(value, float):
            option_type = 10
        else:
            option_type = 3
            value = str(value)
        options.append({"name": name, "type": option_type, "value": value})
    return options


def application_command_data(
    *,
    command_id: str,
    name: str,
    options: Sequence[JSON] = (),
    command_type: int = 1,
    command_guild_id: str | None = None,
    resolved: JSON | None = None,
) -> JSON:
    """``data`` of an APPLICATION_COMMAND interaction. guild_id only for guild-scoped commands."""
    payload: JSON = {"id": command_id, "name": name, "type": command_type}
    if options:
        payload["options"] = list(options)
    if command_guild_id is not None:
        payload["guild_id"] = command_guild_id
    if resolved is not None:
        payload["resolved"] = resolved
    return payload


def component_data(
    custom_id: str, *, component_type: int = COMPONENT_BUTTON, values: Sequence[str] | None = None
) -> JSON:
    """``data`` of a MESSAGE_COMPONENT interaction (values only for selects)."""
    payload: JSON = {"custom_id": custom_id, "component_type": component_type}
    if values is not None:
        payload["values"] = list(values)
    return payload


def modal_submit_data(custom_id: str, fields: Mapping[str, str]) -> JSON:
    """``data`` of a MODAL_SUBMIT: one action row per text input, in submission order."""
    return {
        "custom_id": custom_id,
        "components": [
            action_row([{"type": COMPONENT_TEXT_INPUT, "custom_id": field_id, "value": value}])
            for field_id, value in fields.items()
        ],
    }


def interaction(
    *,
    interaction_id: str,
    token: str,
    application_id: str,
    interaction_type: int,
    data: JSON | None,
    channel: JSON,
    invoker: JSON,
    guild_id: str | None = None,
    member_payload: JSON | None = None,
    message_payload: JSON | None = None,
    locale: str = "en-US",
    app_permissions: str = DEFAULT_BOT_PERMISSIONS,
) -> JSON:
    """An INTERACTION_CREATE body. In a guild ``member`` is set; in a DM ``user`` is."""
    payload: JSON = {
        "id": interaction_id,
        "application_id": application_id,
        "type": interaction_type,
        "token": token,
        "version": 1,
        "channel": channel,
        "channel_id": channel["id"],
        "app_permissions": app_permissions,
        "locale": locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": DEFAULT_ATTACHMENT_SIZE_LIMIT,
    }
    if data is not None:
        payload["data"] = data
    if guild_id is not None:
        payload["guild_id"] = guild_id
        payload["guild"] = {"id": guild_id, "locale": "en-US", "features": []}
        payload["guild_locale"] = "en-US"
        payload["member"] = member_payload or member(
            invoker, permissions=DEFAULT_MEMBER_PERMISSIONS
        )
        # Context 0 = GUILD; the owner map says the app is guild-installed there.
        payload["context"] = 0
        payload["authorizing_integration_owners"] = {"0": guild_id}
    else:
        payload["user"] = invoker
        # Context 1 = BOT_DM.
        payload["context"] = 1
        payload["authorizing_integration_owners"] = {"0": "0"}
    if message_payload is not None:
        payload["message"] = message_payload
    return payload


def interaction_metadata(interaction_payload: Mapping[str, Any]) -> JSON:
    """``interaction_metadata`` Discord stamps on messages created by an interaction response."""
    invoker = interaction_payload.get("user") or interaction_payload["member"]["user"]
    meta: JSON = {
        "id": interaction_payload["id"],
        "type": interaction_payload["type"],
        "user": invoker,
        "authorizing_integration_owners": interaction_payload.get(
            "authorizing_integration_owners", {}
        ),
    }
    data = interaction_payload.get("data") or {}
    if interaction_payload["type"] == INTERACTION_APPLICATION_COMMAND:
        meta["name"] = data.get("name")
        meta["command_type"] = data.get("type", 1)
    if "message" in interaction_payload:
        meta["interacted_message_id"] = interaction_payload["message"]["id"]
    return meta
