"""Wiring: the URL overrides, `mentorbot run` starting Discord, and the invite URL command."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import discord.gateway
import discord.http
import pytest

from adapters.discord.invite import fetch_application_id, required_permissions
from adapters.discord.urls import discord_pointed_at, normalise_api_url
from mentorbot.cli import main
from mentorbot.runner import run
from mentorbot.settings import Settings
from mentorbot_fakes.discord_api import FakeDiscord


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder (no .env) and no platform tokens."""
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN", "DISCORD_APPLICATION_ID"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_url_overrides_apply_and_restore() -> None:
    """The API base gets /api/v10 when bare and no trailing slash; the old URLs come back."""
    assert normalise_api_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/api/v10"
    assert normalise_api_url("http://x/api/v10/") == "http://x/api/v10"
    old = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    with discord_pointed_at("http://127.0.0.1:1/api/v10/", "ws://127.0.0.1:1/gateway"):
        assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:1/api/v10/users/@me"
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:1/gateway"
    assert old == (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)


def test_staff_channel_setting_reaches_the_core(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DISCORD_STAFF_CHANNEL_ID becomes the core's staff channel unless STAFF_CHANNEL is set."""
    monkeypatch.setenv("DISCORD_STAFF_CHANNEL_ID", "1234567890")
    assert Settings(env_file=None).core().staff_channel == "discord:1234567890"
    monkeypatch.setenv("STAFF_CHANNEL", "slack:C0123")
    assert Settings(env_file=None).core().staff_channel == "slack:C0123"


async def test_run_starts_discord_when_a_token_is_set(
    env: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeDiscord
) -> None:
    """`mentorbot run` starts Discord from the settings (token, URLs, guilds) and closes it."""
    guild = fake.default_guild.id  # type: ignore[union-attr]
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{env / 'bot.db'}")
    monkeypatch.setenv("DISCORD_BOT_TOKEN", fake.token)
    monkeypatch.setenv("DISCORD_GUILD_IDS", guild)
    monkeypatch.setenv("DISCORD_API_URL", fake.base_url)  # bare: /api/v10 is added
    monkeypatch.setenv("DISCORD_GATEWAY_URL", fake.gateway_url)
    # Point discord.py somewhere useless first: only the settings can lead it to the fake.
    with discord_pointed_at("http://127.0.0.1:9/api/v10", "ws://127.0.0.1:9/gateway"):
        task = asyncio.create_task(run(Settings(env_file=None)))
        await fake.wait_until_identified(timeout=10)
        assert "mood" in {c["name"] for c in fake.commands[guild]}
        # 4004 (authentication failed) is a close discord.py never retries.
        await fake.disconnect_all(4004)
        with pytest.raises(RuntimeError, match="4004"):
            await asyncio.wait_for(task, 10)
    # The client was closed, not left reconnecting: no socket, no second IDENTIFY.
    await asyncio.sleep(0.1)
    assert fake.identify_count == 1 and not fake._connections


def test_invite_url_has_exactly_the_scopes_and_permissions(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The invite URL asks for bot + applications.commands, view/send/embed and threads only."""
    monkeypatch.setenv("DISCORD_APPLICATION_ID", "1290000000000000000")
    assert main(["discord", "invite-url", "--explain"]) == 0
    out = capsys.readouterr().out
    query = parse_qs(urlparse(out.splitlines()[0]).query)
    assert query == {
        "client_id": ["1290000000000000000"],
        "scope": ["bot applications.commands"],
        "permissions": ["377957141504"],
    }
    perms = required_permissions()
    assert perms.value == 377957141504 and perms.view_channel and perms.embed_links
    assert perms.create_private_threads and perms.send_messages_in_threads
    assert not perms.manage_threads
    assert not (perms.administrator or perms.mention_everyone or perms.attach_files)
    assert "embed_links" in out


def test_invite_url_without_id_or_token_says_what_to_set(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With neither an application id nor a token the command explains what to set."""
    assert main(["discord", "invite-url"]) == 1
    assert "DISCORD_APPLICATION_ID" in capsys.readouterr().err


async def test_application_id_is_fetched_with_the_token(fake: FakeDiscord) -> None:
    """Without DISCORD_APPLICATION_ID the id is looked up with the bot token."""
    assert await fetch_application_id(fake.token) == fake.application_id
