"""Least privilege, written down: every Slack permission the adapter needs and why.

`tests/adapters/slack/test_manifest.py` checks that the adapter calls exactly the Web API
methods listed here and that `manifest.yml` asks for exactly the union of these scopes.
"""

from __future__ import annotations

# AsyncWebClient method the adapter calls -> bot scopes that method needs.
WEB_API_SCOPES: dict[str, tuple[str, ...]] = {
    # Startup check of the bot token (no scope needed).
    "auth_test": (),
    # Startup check of the app-level token for Socket Mode; it needs the *app-level* scope
    # connections:write, which is not a bot scope and is not listed in the manifest.
    "apps_connections_open": (),
    # Pushes (check-ins, alerts) and replies in the bot's DMs.
    "chat_postMessage": ("chat:write",),
    # The check-in and alert messages are edited in place after a button press.
    "chat_update": ("chat:write",),
    # Erasure: the bot deletes its own delivered messages to or about the person.
    "chat_delete": ("chat:write",),
    # Peer pairing: a multi-party DM of the pair (or trio) and the bot.
    "conversations_open": ("mpim:write",),
    # Profile email (to link a Slack user to the roster) and time zone.
    "users_info": ("users:read", "users:read.email"),
    # The add-goal modal and the App Home tab (views need no scope).
    "views_open": (),
    "views_publish": (),
    # The /mentor mydata export, uploaded as a file into the person's DM.
    "files_upload_v2": ("files:write",),
}

# Events the adapter subscribes to -> bot scopes they need.
EVENT_SCOPES: dict[str, tuple[str, ...]] = {
    "message.im": ("im:history",),
    "app_home_opened": (),
}

# Slash commands -> bot scopes they need.
COMMAND_SCOPES: dict[str, tuple[str, ...]] = {"/mentor": ("commands",)}


def required_bot_scopes() -> set[str]:
    """Every bot scope the adapter needs: the union over methods, events and commands."""
    tables = (WEB_API_SCOPES, EVENT_SCOPES, COMMAND_SCOPES)
    return {scope for table in tables for scopes in table.values() for scope in scopes}
