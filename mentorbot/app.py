"""The composition root: settings -> database -> core -> delivery -> adapters."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlmodel import SQLModel

from bot.clock import Clock, SystemClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.demo import seed_demo
from bot.features import build_registry
from bot.model import Messenger
from bot.outbox import set_running_platforms
from bot.pacing import Pacer, SharedPacer
from bot.safety import RuleFileError, Screen, default_screen, load_rules
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.routing import report_platform_down
from bot.services.watchdog import stuck_urgent_alerts
from mentorbot.health import (
    HealthMonitor,
    PlatformCheck,
    StuckAlerts,
)
from mentorbot.metrics import Metrics
from mentorbot.settings import PrivacySettings, Settings
from storage import crypto
from storage.budget import PostgresBudget
from storage.db import Database
from storage.migrate import upgrade
from storage.wakeups import notify

log = logging.getLogger(__name__)


@dataclass
class App:
    """Everything built, ready for an entry point to run."""

    settings: Settings
    core_settings: CoreSettings
    db: Database
    clock: Clock
    core: MentorBot
    messengers: dict[str, Messenger] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    # Built by `mentorbot run`; platform starters register their connection checks on it.
    health: HealthMonitor | None = None
    # Platforms another instance runs for this one (the owner's Discord gateway and delivery
    # while this one stands by): pushes are still addressed to them.
    cluster_platforms: frozenset[str] = frozenset()
    # True while this process runs the delivery loop (it owns the lease, or it is alone).
    delivering: bool = False
    _delivery: OutboxDelivery | None = None

    @property
    def delivery(self) -> OutboxDelivery:
        """The outbox delivery loop over the registered messengers."""
        if self._delivery is None:
            self._delivery = OutboxDelivery(
                self.db,
                self.messengers,
                self.clock,
                self.core_settings,
                # Who hears of a failure, where an urgent alert goes next: the services decide.
                ServiceDeliveryEvents(self.core_settings),
                pacer=self._pacer(),
                observer=self.metrics.observer(),
            )
        return self._delivery

    @property
    def shares_budget(self) -> bool:
        """True when every instance delivers, paced by a budget in PostgreSQL."""
        return self.settings.cluster.pacing_budget == "postgres" and self.db.is_postgres

    def _pacer(self) -> Pacer:
        limits = self.settings.pacing.limits()
        if self.shares_budget:
            return SharedPacer(limits, PostgresBudget(self.db.engine))
        return Pacer(limits)

    def wake_delivery(self) -> None:
        """Wake the delivery loop wherever it runs (the core's `on_queued` hook).

        Here when this process delivers; on PostgreSQL otherwise by NOTIFY, which wakes the
        owner's loop on whatever machine it runs. A process with no loop to wake on SQLite
        (a CLI verb) leaves the rows to the running bot's next pass.
        """
        if self._delivery is not None:
            self._delivery.wake()  # only sets an event when the loop does not run here
        # With a shared budget this process may not run every platform (the owner's Discord
        # gateway): the owner is told as well.
        if self.db.is_postgres and (not self.delivering or self.shares_budget):
            notify(self.db.engine)

    def stand_by_for(self, platforms: frozenset[str]) -> None:
        """Another instance runs `platforms` for this one: address pushes to them anyway."""
        self.cluster_platforms = platforms
        self._declare_running()

    def _declare_running(self) -> None:
        set_running_platforms(self.db.session_info, set(self.messengers) | self.cluster_platforms)

    def add_health_check(self, platform: str, check: PlatformCheck) -> None:
        """Report a platform's connection on the health endpoint (when there is one)."""
        if self.health is not None:
            self.health.add_platform(platform, check)

    def add_messenger(self, platform: str, messenger: Messenger) -> None:
        """Register an adapter's messenger (before the delivery loop is used).

        The core learns what runs from here: pushes are addressed to platforms that have a
        Messenger, and alerts go sideways from those that don't.
        """
        self.messengers[platform] = messenger
        if self._delivery is not None:
            self._delivery.messengers[platform] = messenger
        self._declare_running()

    def configured_platforms(self) -> list[str]:
        """The platforms the settings turn on (what `mentorbot run` registers)."""
        settings = self.settings
        wanted = {
            "slack": settings.slack.enabled,
            "discord": settings.discord.enabled,
            "email": settings.alerting.email_enabled,
            "webhook": settings.alerting.webhook_enabled,
        }
        return [platform for platform, on in wanted.items() if on]

    def declare_configured_platforms(self) -> None:
        """Tell the core what runs in a process that delivers nothing itself (a worker)."""
        set_running_platforms(self.db.session_info, self.configured_platforms())

    def remove_messenger(self, platform: str) -> None:
        """A platform stopped (it failed to start): its rows are re-routed from now on."""
        self.messengers.pop(platform, None)
        if self._delivery is not None:
            self._delivery.messengers.pop(platform, None)
        self._declare_running()

    def platform_failed(self, platform: str, reason: str) -> None:
        """A platform could not start or stopped for good: loud, and told on other routes.

        Logged as an error, and reported to the admins on every other route (another
        platform, email, the webhook); its rows are re-routed or wait.
        """
        self.remove_messenger(platform)
        with self.db.session() as session:
            report_platform_down(
                session,
                self.core_settings,
                self.clock.now(),
                platform,
                reason,
                frozenset(self.messengers),
            )
        if self._delivery is not None:
            self._delivery.wake()

    def add_side_channels(self) -> list[str]:
        """Register email and the alert webhook when configured; returns what was added."""
        alerting = self.settings.alerting
        added: list[str] = []
        if alerting.email_enabled:
            from adapters.email import PLATFORM as EMAIL
            from adapters.email import EmailConfig, EmailMessenger

            assert alerting.smtp_host and alerting.smtp_from
            config = EmailConfig(
                host=alerting.smtp_host,
                port=alerting.smtp_port,
                sender=alerting.smtp_from,
                username=alerting.smtp_username,
                password=alerting.smtp_password,
                starttls=alerting.smtp_starttls,
                timeout=alerting.smtp_timeout,
            )
            self.add_messenger(EMAIL, EmailMessenger(config))
            added.append(EMAIL)
        if alerting.webhook_enabled:
            from adapters.webhook import PLATFORM as WEBHOOK
            from adapters.webhook import WebhookMessenger

            assert alerting.webhook_url and alerting.webhook_secret
            self.add_messenger(
                WEBHOOK, WebhookMessenger(alerting.webhook_url, alerting.webhook_secret)
            )
            added.append(WEBHOOK)
        return added


def stuck_urgent_alerts_check(app: App) -> StuckAlerts:
    """The health check's rule for stuck urgent alerts: the watchdog's own.

    So the health endpoint, `mentorbot check` and the alarms always agree.
    """
    settings = app.core_settings
    return lambda session, now: stuck_urgent_alerts(session, settings, now)


def configure_encryption(privacy: PrivacySettings) -> None:
    """Hand the encryption keys to storage: ENCRYPTION_KEYS, else the (created) key file."""
    keys = privacy.keys
    if not keys:
        choice = crypto.choose_key_file(privacy.encryption_key_file or None)
        if choice.warning:
            log.warning(choice.warning)
        path = choice.path
        key, created = crypto.load_or_create_key_file(path)
        if created:
            log.warning(
                "ENCRYPTION_KEYS is not set: created a new encryption key in %s (mode 0600). "
                "Fine for the demo; in production set ENCRYPTION_KEYS from your secret store, "
                "and back the key up: without it, stored notes cannot be read.",
                path,
            )
        else:
            log.info("using the encryption key in %s (ENCRYPTION_KEYS is not set)", path)
        # An old key file still opens what it sealed (see crypto.choose_key_file).
        keys = [key, *(crypto.load_or_create_key_file(p)[0] for p in choice.also_open)]
    crypto.configure(keys)


def build_screen(settings: Settings) -> Screen:
    """The safety screen: built-in rules plus the programme's own files, examples checked.

    A rule file whose own examples fail would screen wrongly, so the bot refuses to start.
    """
    files = settings.programme.safety_rule_files
    if not files:
        return default_screen()
    screen = Screen(load_rules(files))
    problems = screen.check_examples()
    if problems:
        raise RuleFileError(
            ", ".join(files), "rules fail their own examples: " + "; ".join(problems)
        )
    return screen


def build_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    seed: bool = False,
    migrate: bool = True,
) -> App:
    """Build the app: upgrade the database, and seed the demo into an empty one if `seed`.

    Only the console demo and `mentorbot demo seed` ask for the seed: a demo schedule in a
    real programme would apply to the roster imported later.
    """
    settings = settings or Settings()
    configure_encryption(settings.privacy)
    db = Database(settings.database.database_url)
    if migrate:
        upgrade(db.engine)
    # Refuse to start with keys that cannot read what is stored (a lost key file, a typo).
    crypto.check_keys_open_stored_values(db.engine, crypto.sealed_columns(SQLModel.metadata))
    clock = clock or SystemClock()
    core_settings = settings.core()
    if seed:
        with db.session() as session:
            if seed_demo(session, clock.now()):
                log.info("seeded the demo programme into the empty database")
    # The composition root: the features make the registry the core routes with.
    screen = build_screen(settings)
    # Compile every language pack now, not on the first student's message: the first crisis
    # message after a start must be answered as fast as any other.
    screen.assess("warming up the screen before the first message")
    core = MentorBot(
        db,
        core_settings,
        clock,
        screen=screen.assess,
        registry=build_registry(),
    )
    app = App(settings=settings, core_settings=core_settings, db=db, clock=clock, core=core)
    core.on_handled = app.metrics.on_handled
    # Events that queued pushes (an alert for a mentor) wake the delivery loop at once.
    core.on_queued = app.wake_delivery
    return app
