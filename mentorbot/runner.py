"""Running the bot: the adapters that are configured, the delivery loop, the console demo."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adapters.console.chat import PLATFORM as CONSOLE
from adapters.console.chat import ConsoleChat, ConsoleMessenger
from mentorbot.app import App, build_app, stuck_urgent_alerts_check
from mentorbot.health import HealthMonitor, HealthServer
from mentorbot.logs import REJECTED, rejected_request
from mentorbot.settings import ClusterError, Settings, cluster_problem
from scheduling import start_scheduler
from scheduling.scheduler import CheckinScheduler
from storage.leases import SqliteInstanceLock, keep_lease, lease_for, wait_for_lease
from storage.wakeups import listen

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from adapters.slack import SlackConfig

    # (app, stop) -> the platform's running task, or None when it is not configured.
    PlatformStarter = Callable[[App, asyncio.Event], Awaitable[asyncio.Task[object] | None]]

log = logging.getLogger(__name__)

DEFAULT_CONSOLE_USER = "sam@example.edu"


def platforms_configured(settings: Settings) -> bool:
    """True when a Slack or Discord token is set: a real programme, never seeded."""
    return settings.slack.enabled or settings.discord.enabled


async def run_console(app: App, email: str) -> int:
    """An interactive (or scripted) console chat as `email`."""
    messenger = ConsoleMessenger(sys.stdout)
    app.add_messenger(CONSOLE, messenger)
    chat = ConsoleChat(app.core, app.delivery, messenger, email, sys.stdout)
    # Scheduled check-ins and reminders work in the demo too; they show after the next line.
    scheduler = await start_scheduler(
        app.db,
        app.core_settings,
        app.clock,
        jobs=app.core.registry.jobs,
        personal_data=app.core.registry.personal_data,
        on_work=app.delivery.wake,
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


# SIGTERM (systemctl stop, docker stop) and SIGINT (Ctrl-C) both stop the bot cleanly.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# The whole stop stays under the 10 s that systemd and docker wait before SIGKILL: delivery
# gets this long to finish its sends in flight and release the rest...
DELIVERY_STOP_SECONDS = 4.0
# ...and the platforms the rest, to close their connections.
STOP_DEADLINE_SECONDS = 9.0
REJECTED_REPORT_SECONDS = 60.0


async def run(settings: Settings) -> int:
    """Start what is configured; with no platform tokens, the console demo.

    Runs until SIGTERM or SIGINT, then stops in order: no more scheduled work; delivery
    finishes the sends in flight and releases what it had claimed (due at once for the next
    start); the platforms close their connections; exit 0 within 10 s. A platform that fails
    stops everything the same way and its error is raised.
    """
    problem = cluster_problem(settings.cluster, settings.database.database_url)
    if problem is not None:
        raise ClusterError(problem)
    instance = SqliteInstanceLock(settings.database.database_url)
    if not settings.database.database_url.startswith("postgresql") and not instance.acquire():
        raise ClusterError(
            f"Another `mentorbot run` already uses this SQLite database ({instance.path}). "
            "SQLite serves one instance: stop the other one, or for several instances use "
            "PostgreSQL with CLUSTER=true."
        )
    try:
        return await _run(settings)
    finally:
        instance.release()


async def _run(settings: Settings) -> int:
    if not platforms_configured(settings):
        # The console demo is the one run that seeds (an empty database only).
        app = build_app(settings, seed=True)
        print("No SLACK_BOT_TOKEN or DISCORD_BOT_TOKEN set: starting the console demo.")
        return await run_console(app, DEFAULT_CONSOLE_USER)
    app = build_app(settings)
    obs = settings.observability
    log.info(
        "mentorbot starting: %s on %s",
        ", ".join(
            p
            for p, on in (("slack", settings.slack.enabled), ("discord", settings.discord.enabled))
            if on
        ),
        "PostgreSQL" if app.db.is_postgres else "SQLite",
    )
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, _on_signal, sig, stop_requested)
    platforms_stop = asyncio.Event()
    delivery_stop = asyncio.Event()
    owned = _Owned()
    # One owner per database runs the Discord gateway, the tick and delivery (storage/leases).
    lease = lease_for(settings.database.database_url)
    check_seconds = settings.cluster.lease_check_seconds
    leadership: asyncio.Task[None] | None = None
    lease_watch: asyncio.Task[None] | None = None
    server: HealthServer | None = None
    REJECTED.listeners.append(app.metrics.on_rejected)
    reporter = asyncio.create_task(_report_rejected(stop_requested))
    failure: BaseException | None = None
    try:
        app.health = HealthMonitor(
            app.db,
            app.clock,
            delivery=app.delivery,
            stuck_alerts=stuck_urgent_alerts_check(app),
            max_delivery_lag=obs.health_max_delivery_lag_seconds,
            monotonic=app.delivery.pacer.monotonic,
        )
        app.metrics.watch_database(app.db, app.clock)
        if obs.health_port:
            server = HealthServer(
                app.health, obs.health_host, obs.health_port, metrics=app.metrics.render
            )
            await server.start()
        # Email and the alert webhook first: a platform that fails to start is reported there.
        side_channels = app.add_side_channels()
        if side_channels:
            log.info("urgent alerts also go by %s", " and ".join(side_channels))
        # Platforms every instance serves (Slack's HTTP receivers, Socket Mode) start at once.
        failures = await _start_platforms(app, _shared_starters(), platforms_stop, owned)
        if await lease.try_acquire():
            await _become_owner(app, owned, platforms_stop, delivery_stop, failures)
            lease_watch = asyncio.create_task(keep_lease(lease, check_seconds=check_seconds))
        else:
            # Another instance owns the Discord gateway, the tick and delivery: this one
            # answers Slack and wakes the owner (NOTIFY) when it queues pushes.
            log.info(
                "another instance owns the Discord gateway, the scheduler and delivery: "
                "standing by to take over"
            )
            app.stand_by_for(frozenset(app.configured_platforms()))
            _report_failures(app, failures)
            if app.shares_budget:
                # PACING_BUDGET=postgres: this instance sends what it runs (Slack), paced by
                # the shared budget; the owner keeps re-routing and the watchdog.
                app.delivery.maintains = False
                _start_delivery(app, owned, delivery_stop)
            if failures and not _chat_running(app) and not _owner_platforms_configured(app):
                raise failures[0][1]
            leadership = asyncio.create_task(
                wait_for_lease(lease, check_seconds=check_seconds, standing_by=_standby_beat(app))
            )
        # What start-up built (settings, safety rules, the adapters' clients and tables of
        # SQLAlchemy's caches) lives as long as the process. Taken out of the collector's
        # reach, it no longer makes every full collection walk it: those paused the loop for
        # ~0.1 s every second or two in an answer burst (bench/answers.py).
        gc.freeze()
        app.health.started = True
        log.info("mentorbot started")
        waiter = asyncio.create_task(stop_requested.wait())
        watching: set[asyncio.Task[Any]] = {waiter, *owned.tasks()}
        watching |= {t for t in (leadership, lease_watch) if t is not None}
        ended = False
        while failure is None and not waiter.done():
            done, _ = await asyncio.wait(watching, return_when=asyncio.FIRST_COMPLETED)
            watching -= done
            for task in done - {waiter}:
                if task is leadership and not task.cancelled() and task.exception() is None:
                    # The owner died (or stopped): this instance takes its work over.
                    leadership = None
                    await _become_owner(app, owned, platforms_stop, delivery_stop, [])
                    lease_watch = asyncio.create_task(
                        keep_lease(lease, check_seconds=check_seconds)
                    )
                    watching |= {lease_watch, *owned.tasks()}
                    continue
                # A platform (or delivery) that fails with no chat platform left: its error
                # is the run's; so is a lost lease (another instance may own the work now).
                if not task.cancelled() and task.exception() is not None:
                    failure = task.exception()
                    break
                # A platform that failed while another still runs was reported by `_watched`:
                # the rest keep running. Anything else that ends on its own ends the run.
                if task.cancelled() or task.result() is not PLATFORM_FAILED:
                    ended = True
            if ended:
                break
        waiter.cancel()
    finally:
        # Also on cancellation or a failed start: stop whatever did start, in order.
        for helper in (leadership, lease_watch, owned.listener):
            if helper is not None:
                helper.cancel()
                await asyncio.gather(helper, return_exceptions=True)
        await _stop_in_order(
            app,
            owned.scheduler,
            owned.delivery_task,
            delivery_stop,
            owned.platform_tasks,
            platforms_stop,
        )
        # Only once delivery has stopped: a standby taking over must not send beside it.
        await lease.release()
        stop_requested.set()
        await asyncio.gather(reporter, return_exceptions=True)
        REJECTED.flush(force=True)
        with contextlib.suppress(ValueError):
            REJECTED.listeners.remove(app.metrics.on_rejected)
        if server is not None:
            await server.stop()
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        app.db.dispose()
    if failure is not None:
        raise failure
    log.info("mentorbot stopped cleanly")
    return 0


CHAT_PLATFORMS = ("slack", "discord")
# Platforms only the lease's owner runs: two gateway sessions on one Discord token would both
# receive every interaction (and the loser could take its one response).
OWNER_PLATFORMS = frozenset({"discord"})


@dataclass
class _Owned:
    """What this process started: platforms, and as the owner the tick, delivery, wake-ups."""

    platform_tasks: list[asyncio.Task[object]] = field(default_factory=list)
    delivery_task: asyncio.Task[None] | None = None
    scheduler: CheckinScheduler | None = None
    listener: asyncio.Task[None] | None = None

    def tasks(self) -> set[asyncio.Task[Any]]:
        """The tasks whose end the run watches."""
        found: set[asyncio.Task[Any]] = set(self.platform_tasks)
        if self.delivery_task is not None:
            found.add(self.delivery_task)
        return found


def _shared_starters() -> list[PlatformStarter]:
    return [s for s in PLATFORM_STARTERS if platform_of(s) not in OWNER_PLATFORMS]


def _owner_starters() -> list[PlatformStarter]:
    return [s for s in PLATFORM_STARTERS if platform_of(s) in OWNER_PLATFORMS]


def _owner_platforms_configured(app: App) -> bool:
    return bool(OWNER_PLATFORMS & set(app.configured_platforms()))


async def _start_platforms(
    app: App, starters: list[PlatformStarter], stop: asyncio.Event, owned: _Owned
) -> list[tuple[str, Exception]]:
    """Start each platform; returns those that failed (the others still start)."""
    failures: list[tuple[str, Exception]] = []
    for starter in starters:
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
            owned.platform_tasks.append(asyncio.create_task(_watched(app, platform, task)))
    return failures


def _report_failures(app: App, failures: list[tuple[str, Exception]]) -> None:
    # Reported once every other platform is registered, so the report can go there.
    for platform, error in failures:
        app.platform_failed(platform, f"it did not start: {error}")


def _standby_beat(app: App) -> Callable[[], None]:
    """While standing by, the health check's delivery heartbeat says this instance is alive."""

    def beat() -> None:
        app.delivery.heartbeat = app.delivery.pacer.monotonic()

    return beat


async def _become_owner(
    app: App,
    owned: _Owned,
    platforms_stop: asyncio.Event,
    delivery_stop: asyncio.Event,
    failures: list[tuple[str, Exception]],
) -> None:
    """Holding the lease: start the Discord gateway, delivery, wake-ups and the tick.

    With PACING_BUDGET=owner (the default) all sending is done here, so one pacer holds the
    platforms' budgets for the whole cluster; with `postgres` every instance delivers through
    the budget shared in PostgreSQL (docs/architecture.md compares them).
    """
    app.stand_by_for(frozenset())
    failures = [*failures, *await _start_platforms(app, _owner_starters(), platforms_stop, owned)]
    _report_failures(app, failures)
    if failures and not _chat_running(app):
        await app.delivery.deliver_once()  # the reports by email or webhook, then stop
        raise failures[0][1]
    app.delivery.maintains = True
    # With a shared budget, delivery may already run here (since standing by).
    _start_delivery(app, owned, delivery_stop)
    # After the messengers are registered: the catch-up may queue pushes for every platform.
    # It runs in the background as the tick's first run; start-up does not wait for it.
    owned.scheduler = await start_scheduler(
        app.db,
        app.core_settings,
        app.clock,
        jobs=app.core.registry.jobs,
        personal_data=app.core.registry.personal_data,
        on_work=app.delivery.wake,
    )
    log.info("this instance owns the Discord gateway, the scheduler and delivery")


def _start_delivery(app: App, owned: _Owned, delivery_stop: asyncio.Event) -> None:
    """Start the delivery loop and its wake-ups here, unless they already run."""
    app.delivering = True
    if owned.delivery_task is None:
        owned.delivery_task = asyncio.create_task(app.delivery.run_forever(delivery_stop))
    if app.db.is_postgres and owned.listener is None:
        # Other instances' NOTIFYs (they queued pushes) wake this loop at once.
        owned.listener = asyncio.create_task(
            listen(app.settings.database.database_url, app.delivery.wake)
        )


# What `_watched` returns for a platform that failed and was reported while others run.
PLATFORM_FAILED = object()


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
        return PLATFORM_FAILED


def _on_signal(sig: signal.Signals, stop_requested: asyncio.Event) -> None:
    """A stop signal: say so once, and let `run` stop everything in order."""
    if not stop_requested.is_set():
        log.info("%s received: stopping", sig.name)
    stop_requested.set()


async def _stop_in_order(
    app: App,
    scheduler: CheckinScheduler | None,
    delivery_task: asyncio.Task[None] | None,
    delivery_stop: asyncio.Event,
    platform_tasks: list[asyncio.Task[object]],
    platforms_stop: asyncio.Event,
) -> None:
    """Scheduler, then delivery (sends in flight finish, claims released), then platforms.

    Delivery stops before the platforms close, so a send in flight still has its client;
    events that arrive meanwhile are stored and answered as usual.
    """
    deadline = asyncio.get_running_loop().time() + STOP_DEADLINE_SECONDS
    if scheduler is not None:
        scheduler.shutdown()
    delivery_stop.set()
    if delivery_task is not None:
        done, _ = await asyncio.wait({delivery_task}, timeout=DELIVERY_STOP_SECONDS)
        if not done:
            # Claimed rows left `sending` go out again when their lease runs out.
            log.warning("delivery did not stop in %.0f s; cancelling it", DELIVERY_STOP_SECONDS)
            delivery_task.cancel()
        await asyncio.gather(delivery_task, return_exceptions=True)
    platforms_stop.set()
    if platform_tasks:
        remaining = max(0.5, deadline - asyncio.get_running_loop().time())
        _done, pending = await asyncio.wait(platform_tasks, timeout=remaining)
        for task in pending:
            log.warning("a platform did not close in time; cancelling it")
            task.cancel()
        await asyncio.gather(*platform_tasks, return_exceptions=True)


async def _report_rejected(stop: asyncio.Event) -> None:
    """Log the rejected-request counts once a minute, even when no new rejection comes."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REJECTED_REPORT_SECONDS)
        REJECTED.flush()


# Platform adapters register an async starter: (app, stop) -> task or None when not configured.
PLATFORM_STARTERS: list[PlatformStarter] = []


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
        slack_config(app.settings, reuse_port=workers > 0),
        app.core,
        # Refused requests are counted and logged once a minute, never as bodies.
        on_reject=rejected_request,
    )
    # Registered before the delivery loop starts, so Slack pushes find their Messenger.
    app.add_messenger(SLACK, service.messenger)
    await service.start()
    app.add_health_check(SLACK, service.connected)
    if not workers:
        return asyncio.create_task(service.run_until(stop))
    from mentorbot.slack_workers import WAKE_SIGNAL, SlackWorkers

    # A worker whose event queued pushes asks this process's delivery loop to send them.
    asyncio.get_running_loop().add_signal_handler(WAKE_SIGNAL, app.wake_delivery)
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
        report_health=app.add_health_check,
    )


PLATFORM_STARTERS.append(start_discord)
