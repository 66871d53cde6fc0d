"""Slack request signing and realistic inbound payload builders for tests.

Slack signs every HTTP request it sends to an app with
``v0=HMAC_SHA256(signing_secret, "v0:{timestamp}:{raw body}")`` in ``X-Slack-Signature``
and the UNIX timestamp in ``X-Slack-Request-Timestamp``; bolt rejects requests whose
timestamp is more than five minutes off.  The builders below produce the same field names
Slack sends so that handlers are tested against what production delivers:

* slash commands arrive form-encoded (``command=/mentor&text=...``);
* interactivity (block actions, view submissions) arrives form-encoded with a single
  ``payload`` field holding JSON;
* Events API callbacks arrive as a JSON body.

The ``*_payload`` functions return the decoded dicts, which is also exactly what a
Socket Mode envelope carries in its ``payload`` (see ``FakeSlack.socket_send``).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

# Identifiers of the fake workspace; shared with mentorbot_fakes.slack_api so that the
# payloads built here agree with what the fake's auth.test reports.
TEAM_ID = "T0MENTOR01"
TEAM_DOMAIN = "mentorbot-test"
ENTERPRISE_ID: str | None = None
APP_ID = "A0MENTORAPP"
BOT_ID = "B0MENTORBOT"
BOT_USER_ID = "U0MENTORBOT"
DEFAULT_USER_ID = "U0STUDENT1"
DEFAULT_USER_NAME = "student.one"
DEFAULT_CHANNEL_ID = "C0GENERAL1"
DEFAULT_CHANNEL_NAME = "general"
# Slack's deprecated verification token still travels in every payload.
VERIFICATION_TOKEN = "fakeVerificationToken0001"

_trigger_counter = itertools.count(1)
_event_counter = itertools.count(1)


def sign_request(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Return the ``X-Slack-Request-Timestamp``/``X-Slack-Signature`` headers for ``body``.

    ``timestamp`` defaults to now; pass an old one to test replay rejection.
    """
    ts = int(time.time()) if timestamp is None else timestamp
    raw = body.decode("utf-8") if isinstance(body, bytes) else body
    base = f"v0:{ts}:{raw}".encode()
    digest = hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def make_trigger_id() -> str:
    """Return a unique trigger id shaped like Slack's (``<digits>.<digits>.<hex>``)."""
    n = next(_trigger_counter)
    return f"{1000000000 + n}.{4242424242}.{secrets.token_hex(16)}"


def make_event_id() -> str:
    """Return a unique Events API event id (``Ev`` + uppercase alphanumerics)."""
    return f"Ev{next(_event_counter):08d}MNTR"


def slash_command_payload(
    command: str = "/mentor",
    text: str = "",
    *,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    response_url: str | None = None,
    trigger_id: str | None = None,
    api_app_id: str = APP_ID,
) -> dict[str, str]:
    """Return the decoded fields of a slash command invocation (all values are strings).

    This dict is the Socket Mode ``slash_commands`` envelope payload as-is.
    """
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        # Slack sends booleans in slash commands as the strings "true"/"false".
        "is_enterprise_install": "false",
        "response_url": response_url
        or f"https://hooks.slack.com/commands/{team_id}/1000000001/{secrets.token_hex(12)}",
        "trigger_id": trigger_id or make_trigger_id(),
    }


def slash_command_body(
    command: str = "/mentor",
    text: str = "",
    *,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    team_id: str = TEAM_ID,
    team_domain: str = TEAM_DOMAIN,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    response_url: str | None = None,
    trigger_id: str | None = None,
    api_app_id: str = APP_ID,
) -> str:
    """Return a slash command HTTP body, form-encoded exactly like Slack posts it."""
    return urlencode(
        slash_command_payload(
            command,
            text,
            user_id=user_id,
            user_name=user_name,
            team_id=team_id,
            team_domain=team_domain,
            channel_id=channel_id,
            channel_name=channel_name,
            response_url=response_url,
            trigger_id=trigger_id,
            api_app_id=api_app_id,
        )
    )


def block_actions_payload(
    action_id: str,
    value: str = "",
    *,
    block_id: str = "mentor_block",
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    team_id: str = TEAM_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_name: str = DEFAULT_CHANNEL_NAME,
    message_ts: str = "1700000000.000100",
    response_url: str | None = None,
    trigger_id: str | None = None,
    action_type: str = "button",
) -> dict[str, Any]:
    """Return a ``block_actions`` payload for a button click on a bot message in a channel."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or make_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": message_ts,
            "text": "",
            "blocks": [],
        },
        "state": {"values": {}},
        "response_url": response_url
        or f"https://hooks.slack.com/actions/{team_id}/1000000002/{secrets.token_hex(12)}",
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": value or action_id, "emoji": True},
                "value": value,
                "type": action_type,
                "action_ts": f"{int(time.time())}.000200",
            }
        ],
    }


def view_submission_payload(
    callback_id: str,
    values: dict[str, dict[str, dict[str, Any]]] | None = None,
    *,
    user_id: str = DEFAULT_USER_ID,
    user_name: str = DEFAULT_USER_NAME,
    team_id: str = TEAM_ID,
    view_id: str = "V0MENTOR001",
    private_metadata: str = "",
) -> dict[str, Any]:
    """Return a ``view_submission`` payload; ``values`` is ``state.values`` (block -> action)."""
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": make_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "blocks": [],
            "state": {"values": values or {}},
            "hash": "1700000000.abcdef12",
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "root_view_id": view_id,
            "previous_view_id": None,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def block_actions_body(payload: dict[str, Any]) -> str:
    """Return an interactivity HTTP body: form field ``payload`` holding the JSON payload."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def message_event(
    text: str,
    *,
    user_id: str = DEFAULT_USER_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    channel_type: str = "channel",
    ts: str | None = None,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """Return a user-authored ``message`` event (``channel_type`` "im" for DMs)."""
    event: dict[str, Any] = {
        "type": "message",
        "user": user_id,
        "text": text,
        "ts": ts or f"{time.time():.6f}",
        "channel": channel_id,
        "channel_type": channel_type,
        "team": TEAM_ID,
        "client_msg_id": secrets.token_hex(16),
        "event_ts": ts or f"{time.time():.6f}",
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def event_callback_payload(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    event_time: int | None = None,
) -> dict[str, Any]:
    """Return an Events API ``event_callback`` envelope around ``event``.

    This dict is the Socket Mode ``events_api`` envelope payload as-is.
    """
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or make_event_id(),
        "event_time": event_time if event_time is not None else int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_urlsafe(24)}",
    }


def event_callback_body(
    event: dict[str, Any],
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    *,
    api_app_id: str = APP_ID,
    event_time: int | None = None,
) -> str:
    """Return an Events API HTTP body (JSON) wrapping ``event``."""
    return json.dumps(
        event_callback_payload(
            event,
            event_id=event_id,
            team_id=team_id,
            api_app_id=api_app_id,
            event_time=event_time,
        )
    )
