"""The OAuth2 URL that adds the bot to a server, with exactly the permissions it needs.

Permissions asked for, and why (everything else happens through interactions and DMs, which
need no server permission at all: slash-command replies, button edits, the goal form and the
/mydata file are interaction responses, and check-ins, nudges and alerts are DMs):

* ``view_channel`` (1024): see the private staff channel (DISCORD_STAFF_CHANNEL_ID), which
  a bot must be able to view before it can post there;
* ``send_messages`` (2048): post mentor alerts in that staff channel;
* ``embed_links`` (16384): alerts are embeds, which Discord hides in a server channel
  without this permission.

Not asked for: ``attach_files`` (files only go out as interaction responses or DMs),
``read_message_history`` (the bot never reads or replies to old messages; it edits its own
messages through interactions), ``use_application_commands`` (a permission for the people
who run commands, not for the bot), ``mention_everyone`` (the bot never pings beyond the
recipient), thread permissions (no threads are used).
"""

from __future__ import annotations

import discord

SCOPES = ("bot", "applications.commands")
PERMISSION_REASONS: dict[str, str] = {
    "view_channel": "see the private staff channel before posting alerts there",
    "send_messages": "post mentor alerts in the staff channel",
    "embed_links": "show alerts as embeds in the staff channel (hidden without it)",
}


def required_permissions() -> discord.Permissions:
    """The bot's permissions, computed from discord.py's flags (19456)."""
    return discord.Permissions(**dict.fromkeys(PERMISSION_REASONS, True))


def invite_url(application_id: int | str) -> str:
    """The URL a server admin opens to add the bot with its slash commands."""
    return discord.utils.oauth_url(
        application_id, permissions=required_permissions(), scopes=SCOPES
    )


async def fetch_application_id(token: str) -> str:
    """Ask Discord for the application id behind a bot token (uses the configured API URL)."""
    client = discord.Client(intents=discord.Intents.none())
    try:
        await client.login(token)
        return str(client.application_id)
    finally:
        await client.close()
