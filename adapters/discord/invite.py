"""The OAuth2 URL that adds the bot to a server, with exactly the permissions it needs.

Permissions asked for, and why (everything else happens through interactions and DMs, which
need no server permission at all: slash-command replies, button edits, the goal form and the
/mydata file are interaction responses, and check-ins, nudges and alerts are DMs):

* ``view_channel`` (1024): see the private staff channel (DISCORD_STAFF_CHANNEL_ID), which
  a bot must be able to view before it can post there;
* ``send_messages`` (2048): post mentor alerts in that staff channel;
* ``embed_links`` (16384): alerts are embeds, which Discord hides in a server channel
  without this permission;
* ``create_public_threads`` (1 << 35): a group prompt posted in a group's channel gets a
  thread for its replies;
* ``create_private_threads`` (1 << 36): peer pairing opens a private thread in the group's
  channel for each pair (bots cannot open group DMs on Discord);
* ``send_messages_in_threads`` (1 << 38): post the pairing's introduction in that thread and
  add the pair to it.

Not asked for: ``attach_files`` (files only go out as interaction responses or DMs),
``read_message_history`` (the bot never reads or replies to old messages; it edits its own
messages through interactions), ``use_application_commands`` (a permission for the people
who run commands, not for the bot), ``mention_everyone`` (the bot never pings beyond the
recipient), ``manage_threads`` (the bot only adds people to threads it opened itself).
"""

from __future__ import annotations

import discord

SCOPES = ("bot", "applications.commands")
PERMISSION_REASONS: dict[str, str] = {
    "view_channel": "see the private staff channel before posting alerts there",
    "send_messages": "post mentor alerts in the staff channel",
    "embed_links": "show alerts as embeds in the staff channel (hidden without it)",
    "create_public_threads": "open a reply thread on a group prompt in the group's channel",
    "create_private_threads": "open a private thread for each peer pairing (no group DMs)",
    "send_messages_in_threads": "introduce a pairing in its thread and add the pair to it",
}


def required_permissions() -> discord.Permissions:
    """The bot's permissions, computed from discord.py's flags (377957141504)."""
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
