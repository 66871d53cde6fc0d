"""Shared fixtures: databases, a fixed clock, the core over the demo programme, a chat driver.

Databases are migrated by Alembic: SQLite always, PostgreSQL too when configured.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.demo import seed_demo
from bot.model import Actor, Choice, Inbound, Message, Reply
from bot.safety import assess
from storage import crypto
from storage.db import Database
from storage.migrate import upgrade
from tests.tick import REGISTRY

PG_ENV = "MENTORBOT_TEST_DATABASE_URL"
# A Monday, 10:00 UTC: inside everyone's waking hours in Europe and the Americas.
START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


# Free text is sealed at rest; every test runs with this key (a fresh one per test session).
TEST_ENCRYPTION_KEY = crypto.generate_key()


@pytest.fixture(autouse=True)
def encryption_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """Configure the test key for storage, and for any app built from the environment."""
    monkeypatch.setenv("ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY)
    crypto.configure([TEST_ENCRYPTION_KEY])
    return TEST_ENCRYPTION_KEY


@pytest.fixture(autouse=True, scope="session")
def compiled_screen() -> None:
    """Compile the safety screen's language packs once, before any test waits on a reply.

    The running bot does this at start (mentorbot.app.build_app); a test that gives a bot a
    few seconds to answer must not spend them compiling the packs.
    """
    assess("warming up the screen before the first test")


@pytest.fixture(autouse=True)
def no_health_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """No default health endpoint (8080) in tests: runs side by side would fight over it.

    Bots started in-process or as subprocesses inherit this; a test that wants the endpoint
    sets HEALTH_PORT to a free port itself.
    """
    monkeypatch.setenv("HEALTH_PORT", "0")


def _backends() -> list[str]:
    return ["sqlite", "postgres"] if os.environ.get(PG_ENV) else ["sqlite"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once by Alembic; each test copies it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db.engine)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The PostgreSQL test database, migrated from scratch once per session.

    With CI=true an unreachable database fails the run instead of skipping.
    """
    url = os.environ[PG_ENV]
    try:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    except Exception as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at {url} is unreachable in CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    db = Database(url)
    upgrade(db.engine)
    db.dispose()
    yield url


def _truncate_postgres(db: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database URL on each backend under test."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "test.db"
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    db = Database(url)
    _truncate_postgres(db)
    db.dispose()
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The database of the test."""
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    """A clock fixed at Monday 2026-11-23 10:00 UTC."""
    return FixedClock(START)


@pytest.fixture
def core_settings() -> CoreSettings:
    """Default core settings."""
    return CoreSettings()


@pytest.fixture
def demo(db: Database, clock: FixedClock) -> Database:
    """The database with the demo programme seeded."""
    with db.session() as session:
        seed_demo(session, clock.now())
    return db


@pytest.fixture
def core(demo: Database, core_settings: CoreSettings, clock: FixedClock) -> MentorBot:
    """The core over the demo programme."""
    return MentorBot(demo, core_settings, clock, registry=REGISTRY)


@dataclass
class Chat:
    """Drives the core as one console user: type lines, press buttons."""

    core: MentorBot
    email: str
    last: Reply | None = None

    @property
    def actor(self) -> Actor:
        return Actor("console", "local", self.email, email=self.email)

    def send(self, line: str, event_id: str | None = None) -> Reply:
        if line.startswith("/"):
            name, _, rest = line[1:].partition(" ")
            inbound = Inbound(self.actor, "command", name, {}, rest, event_id=event_id)
        else:
            inbound = Inbound(self.actor, "text", "message", {}, line, event_id=event_id)
        self.last = self.core.handle(inbound)
        return self.last

    def press(self, label_or_choice: str | Choice, reply: Reply | None = None) -> Reply:
        choice = label_or_choice
        if isinstance(choice, str):
            choice = find_choice(reply or self.last, choice)
        self.last = self.core.handle(
            Inbound(self.actor, "action", choice.action, choice.args_dict())
        )
        return self.last

    def form(self, name: str, **fields: str) -> Reply:
        self.last = self.core.handle(Inbound(self.actor, "form", name, fields))
        return self.last


def all_messages(reply: Reply | None) -> list[Message]:
    """The update (if any) and the messages of a reply."""
    if reply is None:
        return []
    return ([reply.update] if reply.update else []) + list(reply.messages)


def text_of(reply: Reply | None) -> str:
    """All visible text of a reply, for assertions."""
    parts: list[str] = []
    for message in all_messages(reply):
        parts += [message.title, message.text]
        parts += [f"{f.label}: {f.value}" for f in message.fields]
        parts += [f"{lk.title} {lk.url}" for lk in message.links]
        parts += [c.label for c in message.choices]
    return "\n".join(p for p in parts if p)


def find_choice(reply: Reply | None, label: str) -> Choice:
    """The choice whose label contains `label`."""
    for message in all_messages(reply):
        for choice in message.choices:
            if label in choice.label:
                return choice
    raise AssertionError(f"no choice {label!r} in {text_of(reply)!r}")


@pytest.fixture
def sam(core: MentorBot) -> Chat:
    """The demo student Sam (Europe/London, mentor Maya)."""
    return Chat(core, "sam@example.edu")


@pytest.fixture
def alex(core: MentorBot) -> Chat:
    """The demo student Alex (America/New_York, mentor Maya)."""
    return Chat(core, "alex@example.edu")


@pytest.fixture
def maya(core: MentorBot) -> Chat:
    """The demo mentor Maya."""
    return Chat(core, "maya@example.edu")


@pytest.fixture
def avery(core: MentorBot) -> Chat:
    """The demo admin Avery."""
    return Chat(core, "admin@example.edu")
