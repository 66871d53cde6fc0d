"""Running the bot: the adapters that are configured, the delivery loop, the console demo."""

from __future__ import annotations

import asyncio
import logging
import sys

from adapters.console.chat import PLATFORM as CONSOLE
from adapters.console.chat import ConsoleChat, ConsoleMessenger
from mentorbot.app import App, build_app
from mentorbot.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_CONSOLE_USER = "sam@example.edu"


async def run_console(app: App, email: str) -> int:
    """An interactive (or scripted) console chat as `email`."""
    messenger = ConsoleMessenger(sys.stdout)
    app.add_messenger(CONSOLE, messenger)
    chat = ConsoleChat(app.core, app.delivery, messenger, email, sys.stdout)
    await chat.run(sys.stdin)
    app.db.dispose()
    return 0


async def run(settings: Settings) -> int:
    """Start what is configured; with no platform tokens, the console demo."""
    if not settings.slack.enabled and not settings.discord.enabled:
        app = build_app(settings)
        print("No SLACK_BOT_TOKEN or DISCORD_BOT_TOKEN set: starting the console demo.")
        return await run_console(app, DEFAULT_CONSOLE_USER)
    app = build_app(settings)
    stop = asyncio.Event()
    tasks: list[asyncio.Task[object]] = []
    for starter in PLATFORM_STARTERS:
        task = await starter(app, stop)
        if task is not None:
            tasks.append(task)
    tasks.append(asyncio.create_task(app.delivery.run_forever(stop)))
    try:
        await asyncio.gather(*tasks)
    finally:
        stop.set()
        app.db.dispose()
    return 0


# Platform adapters register an async starter: (app, stop) -> task or None when not configured.
PLATFORM_STARTERS: list = []  # type: ignore[type-arg]
