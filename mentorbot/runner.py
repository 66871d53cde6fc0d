"""Running the bot: the adapters that are configured, the delivery loop, the console demo."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from typing import TYPE_CHECKING

from adapters.console.chat import PLATFORM as CONSOLE
from adapters.console.chat import ConsoleChat, ConsoleMessenger
from mentorbot.app import App, build_app
from mentorbot.settings import Settings
from scheduling import start_scheduler

if TYPE_CHECKING:
    from adapters.slack import SlackConfig

log = logging.getLogger(__name__)

DEFAULT_CONSOLE_USER = "sam@example.edu"


async def run_console(app: App, email: str) -> int:
    """An interactive (or scripted) console chat as `email`."""
    messenger = ConsoleMessenger(sys.stdout)
    app.add_messenger(CONSOLE, messenger)
    chat = ConsoleChat(app.core, app.delivery, messenger, email, sys.stdout)
    # Scheduled check-ins and reminders work in the demo too; they show after the next line.
    scheduler = await start_scheduler(
        app.db, app.core_settings, app.clock, on_work=app.delivery.wake
    )
    try:
        # A chat is not held up by a few seconds; waiting keeps a scripted session's output
        # the same whether or not something was due at start.
        await scheduler.wait_caught_up()
        await chat.run(sys.stdin)
    finally:
        scheduler.shutdown()
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
    scheduler = None
    # Email and the alert webhook first: a platform that fails to start is reported there.
    side_channels = app.add_side_channels()
    if side_channels:
        log.info("urgent alerts also go by %s", " and ".join(side_channels))
    failures: list[tuple[str, Exception]] = []
    try:
        for starter in PLATFORM_STARTERS:
            platform = platform_of(starter)
            try:
                task = await starter(app, stop)
            except Exception as exc:
                # A bad token at start: loud, and the other platforms still start (a crisis
                # must reach someone on them).
                log.error("%s did not start: %s", platform, exc)
                failures.append((platform, exc))
                continue
            if task is not None:
                tasks.append(asyncio.create_task(_watched(app, platform, task)))
        # Reported once every other platform is registered, so the report can go there.
        for platform, exc in failures:
            app.platform_failed(platform, f"it did not start: {exc}")
        if failures and not _chat_running(app):
            await app.delivery.deliver_once()  # the reports by email or webhook, then stop
            raise failures[0][1]
        tasks.append(asyncio.create_task(app.delivery.run_forever(stop)))
        # After the messengers are registered: the catch-up may queue pushes for every platform.
        # It runs in the background as the tick's first run; start-up does not wait for it.
        scheduler = await start_scheduler(
            app.db, app.core_settings, app.clock, on_work=app.delivery.wake
        )
        # What start-up built (settings, safety rules, the adapters' clients and tables of
        # SQLAlchemy's caches) lives as long as the process. Taken out of the collector's
        # reach, it no longer makes every full collection walk it: those paused the loop for
        # ~0.1 s every second or two in an answer burst (bench/answers.py).
        gc.freeze()
        await asyncio.gather(*tasks)
    finally:
        # Also on cancellation or a failed start: stop whatever did start.
        stop.set()
        if scheduler is not None:
            scheduler.shutdown()
        if tasks:
            # Give adapters a moment to close cleanly, then cancel what is left.
            _done, pending = await asyncio.wait(tasks, timeout=10)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        app.db.dispose()
    return 0


# Platform adapters register an async starter: (app, stop) -> task or None when not configured.
PLATFORM_STARTERS: list = []  # type: ignore[type-arg]
CHAT_PLATFORMS = ("slack", "discord")


def platform_of(starter: object) -> str:
    """The platform a starter starts (`start_slack` -> "slack")."""
    return str(getattr(starter, "platform", getattr(starter, "__name__", "?"))).removeprefix(
        "start_"
    )


def _chat_running(app: App) -> bool:
    return any(platform in app.messengers for platform in CHAT_PLATFORMS)


async def _watched(app: App, platform: str, task: asyncio.Task[object]) -> object:
    """Await a platform's task; if it fails, report it and keep the rest running.

    Discord refusing the token at login ends its task: that is logged, reported on the other
    routes, and the process goes on unless no chat platform is left.
    """
    try:
        return await task
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error("%s stopped: %s", platform, exc)
        app.platform_failed(platform, f"it stopped: {exc}")
        if not _chat_running(app):
            await app.delivery.deliver_once()  # the reports by email or webhook, then stop
            raise
        return None


def slack_config(settings: Settings, *, reuse_port: bool = False) -> SlackConfig:
    """The Slack adapter's configuration from the settings."""
    from adapters.slack import SlackConfig

    slack = settings.slack
    return SlackConfig(
        bot_token=slack.bot_token or "",
        app_token=slack.app_token,
        signing_secret=slack.signing_secret,
        mode=slack.mode,
        http_host=slack.http_host,
        http_port=slack.http_port,
        api_url=slack.api_url,
        reuse_port=reuse_port,
        max_body_bytes=slack.max_body_bytes,
    )


async def start_slack(app: App, stop: asyncio.Event) -> asyncio.Task[object] | None:
    """Start the Slack adapter (Socket Mode or HTTP) when SLACK_BOT_TOKEN is set.

    In HTTP mode with SLACK_HTTP_WORKERS > 1, worker processes share the port (see
    `mentorbot.slack_workers`).
    """
    slack = app.settings.slack
    if not slack.enabled:
        return None
    from adapters.slack import PLATFORM as SLACK
    from adapters.slack import SlackService

    workers = slack.http_workers - 1 if slack.mode == "http" else 0
    service = SlackService(
        slack_config(app.settings, reuse_port=workers > 0), app.core, wake=app.delivery.wake
    )
    # Registered before the delivery loop starts, so Slack pushes find their Messenger.
    app.add_messenger(SLACK, service.messenger)
    await service.start()
    if not workers:
        return asyncio.create_task(service.run_until(stop))
    from mentorbot.slack_workers import WAKE_SIGNAL, SlackWorkers

    # A worker whose event queued pushes asks this process's delivery loop to send them.
    asyncio.get_running_loop().add_signal_handler(WAKE_SIGNAL, app.delivery.wake)
    pool = SlackWorkers(workers)

    async def serve() -> None:
        await asyncio.gather(service.run_until(stop), pool.run(stop))

    return asyncio.create_task(serve())


PLATFORM_STARTERS.append(start_slack)


async def start_discord(app: App, stop: asyncio.Event) -> asyncio.Task[None] | None:
    """Start the Discord adapter when DISCORD_BOT_TOKEN is set."""
    if not app.settings.discord.enabled:
        return None
    from adapters.discord.runtime import start_discord as start

    # The Messenger is registered before the delivery loop starts, so pushes find it.
    return await start(
        app.core,
        app.settings.discord,
        stop,
        add_messenger=app.add_messenger,
        wake=lambda: app.delivery.wake(),
    )


PLATFORM_STARTERS.append(start_discord)
