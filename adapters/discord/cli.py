"""`mentorbot discord ...` subcommands, registered through mentorbot.cli.EXTENSIONS."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from bot.errors import UserError


class InviteSettings(Protocol):
    """What invite-url reads from the settings (mentorbot.settings.DiscordSettings)."""

    bot_token: str | None
    application_id: str | None
    api_url: str
    gateway_url: str


def add_discord_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    add: Callable[..., argparse.ArgumentParser],
    load_settings: Callable[[], InviteSettings],
) -> None:
    """Add `mentorbot discord invite-url`."""
    parser = sub.add_parser("discord", help="Discord commands")
    actions = parser.add_subparsers(dest="discord_command", metavar="ACTION", required=True)

    def invite(args: argparse.Namespace) -> int:
        return print_invite_url(load_settings(), explain=args.explain)

    p = add(
        "invite-url",
        invite,
        "print the URL that adds the bot to a Discord server (scopes bot, applications.commands)",
        actions,
    )
    p.add_argument("--explain", action="store_true", help="also say why each permission")


def print_invite_url(settings: InviteSettings, *, explain: bool = False) -> int:
    """Print the invite URL; the application id comes from the settings or from Discord."""
    from adapters.discord.invite import (
        PERMISSION_REASONS,
        fetch_application_id,
        invite_url,
        required_permissions,
    )
    from adapters.discord.urls import discord_pointed_at

    application_id = settings.application_id
    if not application_id:
        if not settings.bot_token:
            raise UserError(
                "Set DISCORD_APPLICATION_ID (Developer Portal > General Information) or "
                "DISCORD_BOT_TOKEN so I can look it up."
            )
        with discord_pointed_at(settings.api_url, settings.gateway_url):
            application_id = asyncio.run(_fetch(fetch_application_id, settings.bot_token))
    print(invite_url(application_id))
    if explain:
        print(f"Permissions {required_permissions().value}:")
        for name, why in PERMISSION_REASONS.items():
            print(f"  {name}: {why}")
    return 0


async def _fetch(fetch: Callable[[str], Any], token: str) -> str:
    try:
        return str(await fetch(token))
    except Exception as exc:
        raise UserError(f"Couldn't get the application id from Discord: {exc}") from exc
