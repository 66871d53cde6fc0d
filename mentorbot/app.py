"""The composition root: settings -> database -> core -> delivery -> adapters."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.clock import Clock, SystemClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.demo import seed_demo
from bot.model import Messenger
from mentorbot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade

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
    _delivery: OutboxDelivery | None = None

    @property
    def delivery(self) -> OutboxDelivery:
        """The outbox delivery loop over the registered messengers."""
        if self._delivery is None:
            self._delivery = OutboxDelivery(
                self.db, self.messengers, self.clock, self.core_settings
            )
        return self._delivery

    def add_messenger(self, platform: str, messenger: Messenger) -> None:
        """Register an adapter's messenger (before the delivery loop is used)."""
        self.messengers[platform] = messenger
        if self._delivery is not None:
            self._delivery.messengers[platform] = messenger


def build_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    seed: bool | None = None,
    migrate: bool = True,
) -> App:
    """Build the app: upgrade the database, seed the demo when empty and allowed."""
    settings = settings or Settings()
    db = Database(settings.database.database_url)
    if migrate:
        upgrade(db.engine)
    clock = clock or SystemClock()
    core_settings = settings.core()
    want_seed = settings.programme.demo_seed if seed is None else seed
    if want_seed:
        with db.session() as session:
            if seed_demo(session, clock.now()):
                log.info("seeded the demo programme (DEMO_SEED=false turns this off)")
    core = MentorBot(db, core_settings, clock)
    return App(settings=settings, core_settings=core_settings, db=db, clock=clock, core=core)
