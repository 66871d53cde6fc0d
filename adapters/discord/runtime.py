"""Starting and stopping the Discord adapter inside `mentorbot run`.

The composition root hands in the core (which wakes the delivery loop itself), the Discord
settings and a hook to register the Messenger; the adapter never imports the entrance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import discord

from adapters.discord.client import Core, MentorDiscordClient
from adapters.discord.messenger import PLATFORM, DiscordMessenger
from adapters.discord.urls import point_discord_at
from bot.core import MentorBot
from bot.model import Messenger
from bot.people import closed_dm_users
from bot.services.platform_state import CommandSyncGate

log = logging.getLogger(__name__)


class DiscordSettingsLike(Protocol):
    """What the adapter reads from the settings (mentorbot.settings.DiscordSettings)."""

    bot_token: str | None
    api_url: str
    gateway_url: str

    @property
    def guilds(self) -> Sequence[int]:
        """Guild ids to sync the commands to; empty means global."""
        ...


async def start_discord(
    core: Core,
    settings: DiscordSettingsLike,
    stop: asyncio.Event,
    *,
    add_messenger: Callable[[str, Messenger], None],
    report_health: Callable[[str, Callable[[], Awaitable[bool]]], None] | None = None,
) -> asyncio.Task[None]:
    """Register the Discord Messenger and run the client until `stop` is set.

    `report_health` receives a check that is True while the gateway session is ready.
    """
    if not settings.bot_token:
        raise ValueError("DISCORD_BOT_TOKEN is not set")
    # Both URLs are process-wide in discord.py; with the defaults this changes nothing.
    point_discord_at(settings.api_url, settings.gateway_url)
    # With the database at hand (the real core): commands sync only when they changed, and
    # people whose DMs are closed get nothing until they write (both survive a restart).
    db = core.db if isinstance(core, MentorBot) else None
    client = MentorDiscordClient(
        core,
        guild_ids=list(settings.guilds),
        sync_gate=CommandSyncGate(db) if db is not None else None,
    )
    closed: set[str] = set()
    if db is not None:

        def load_closed() -> set[str]:
            with db.session() as session:
                return closed_dm_users(session, PLATFORM)

        closed = await asyncio.to_thread(load_closed)
    messenger = DiscordMessenger(client, guard=client.guard, closed_users=closed)
    client.user_seen.append(messenger.user_wrote)
    add_messenger(PLATFORM, messenger)
    if report_health is not None:

        async def connected() -> bool:
            return client.is_ready() and not client.is_closed()

        report_health(PLATFORM, connected)
    return asyncio.create_task(run_client(client, settings.bot_token, stop), name="discord")


async def run_client(client: discord.Client, token: str, stop: asyncio.Event) -> None:
    """Run the client until `stop` is set (or it fails); it is always closed afterwards."""
    running = asyncio.create_task(client.start(token), name="discord-client")
    stopping = asyncio.create_task(stop.wait(), name="discord-stop")
    try:
        done, _ = await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if running in done:
            running.result()  # re-raise why the client ended
    except discord.LoginFailure as exc:
        raise RuntimeError("Discord refused DISCORD_BOT_TOKEN; check the token.") from exc
    except discord.PrivilegedIntentsRequired as exc:  # pragma: no cover - we ask for none
        raise RuntimeError("Discord refused the gateway intents.") from exc
    except discord.ConnectionClosed as exc:
        # Codes discord.py can't recover from (4004 bad token, 4013 bad intents, ...).
        raise RuntimeError(f"Discord closed the gateway for good ({exc.code}).") from exc
    finally:
        stopping.cancel()
        # Close before anything else stops, or discord.py keeps reconnecting.
        await client.close()
        if not running.done():
            running.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await running
