"""compose.yaml: the bot and PostgreSQL 15 with a named volume, settings from .env."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.deploy.conftest import ROOT


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return data


def test_bot_and_postgres_15_with_a_named_volume() -> None:
    """Two services; PostgreSQL 15 keeps its data in a declared named volume."""
    data = compose()
    assert set(data["services"]) == {"bot", "db"}
    db = data["services"]["db"]
    assert db["image"] == "postgres:15"
    [volume] = db["volumes"]
    name, _, mount = volume.partition(":")
    assert mount == "/var/lib/postgresql/data" and name in data["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_bot_reads_env_file_and_waits_for_a_healthy_database() -> None:
    """The bot: built here, env_file .env, PostgreSQL URL to the db service, clean stop."""
    bot = compose()["services"]["bot"]
    assert bot["build"] == "."
    assert bot["env_file"] == ".env"
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    url = bot["environment"]["DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://mentorbot:") and "@db:5432/mentorbot" in url
    assert bot["stop_signal"] == "SIGTERM"
    assert int(bot["stop_grace_period"].removesuffix("s")) >= 10
    # Published on the host's loopback only: health, metrics and Slack HTTP mode.
    assert all(port.startswith("127.0.0.1:") for port in bot["ports"])
    assert bot["read_only"] is True and "ALL" in bot["cap_drop"]


def test_every_variable_it_needs_is_documented_in_env_example() -> None:
    """Each ${VAR} compose interpolates is in .env.example, where operators look."""
    text = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    needed = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    assert needed == {"POSTGRES_PASSWORD", "ENCRYPTION_KEYS"}
    documented = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    assert needed <= documented
