"""Starting Slack: fail-fast token checks, configuration problems, and `mentorbot run` wiring."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
import pytest

from adapters.slack import SlackConfig, SlackService, SlackStartupError
from bot.clock import FixedClock
from bot.core import MentorBot
from mentorbot.app import build_app
from mentorbot.runner import PLATFORM_STARTERS, start_slack
from mentorbot.settings import Settings
from mentorbot_fakes.slack_api import FakeSlack
from tests.adapters.slack.conftest import SECRET


def _free_port() -> int:
    """A port nothing listens on (bound once by the OS, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_wrong_bot_token_fails_fast(core: MentorBot, fake: FakeSlack) -> None:
    """A bad SLACK_BOT_TOKEN stops startup with a message naming the setting."""
    config = SlackConfig(bot_token="xoxb-wrong", app_token=fake.app_token, api_url=fake.base_url)
    with pytest.raises(SlackStartupError, match=r"SLACK_BOT_TOKEN.*invalid_auth"):
        await SlackService(config, core).start()


async def test_wrong_app_token_fails_fast_instead_of_hanging(
    core: MentorBot, fake: FakeSlack
) -> None:
    """A bad SLACK_APP_TOKEN is reported at once; Socket Mode would otherwise retry forever."""
    config = SlackConfig(bot_token=fake.token, app_token="xapp-wrong", api_url=fake.base_url)
    service = SlackService(config, core)
    async with asyncio.timeout(3):
        with pytest.raises(SlackStartupError, match="SLACK_APP_TOKEN"):
            await service.start()
    assert fake.socket_connect_count == 0


async def test_unreachable_slack_is_reported(core: MentorBot) -> None:
    """A wrong SLACK_API_URL (nothing listening) is a startup error, not a hang."""
    config = SlackConfig(
        bot_token="xoxb-x", app_token="xapp-x", api_url=f"http://127.0.0.1:{_free_port()}/"
    )
    with pytest.raises(SlackStartupError, match="Can't reach Slack"):
        await SlackService(config, core).start()


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (SlackConfig(bot_token="xoxb-1"), "SLACK_APP_TOKEN"),
        (SlackConfig(bot_token="xoxb-1", mode="http"), "SLACK_SIGNING_SECRET"),
        (SlackConfig(bot_token="xoxb-1", mode="webhook"), "SLACK_MODE"),
    ],
)
async def test_configuration_problems_are_named(
    core: MentorBot, config: SlackConfig, problem: str
) -> None:
    """Missing tokens for the chosen mode, or an unknown mode, are named before any call."""
    with pytest.raises(SlackStartupError, match=problem):
        await SlackService(config, core).start()


async def test_mentorbot_run_starts_slack_over_http(
    tmp_path: Path, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> None:
    """The registered starter builds Slack from settings, registers its Messenger and serves."""
    assert start_slack in PLATFORM_STARTERS
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'run.db'}")
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake.token)
    monkeypatch.setenv("SLACK_MODE", "http")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    port = _free_port()
    monkeypatch.setenv("SLACK_HTTP_PORT", str(port))
    monkeypatch.setenv("SLACK_API_URL", fake.base_url)
    app = build_app(Settings(env_file=None), clock=clock, seed=True)
    stop = asyncio.Event()
    try:
        task = await start_slack(app, stop)
        assert task is not None
        assert "slack" in app.messengers and "slack" in app.delivery.messengers
        [auth] = fake.calls_to("auth.test")
        assert auth.token == fake.token
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            assert response.status == 200
        stop.set()
        await asyncio.wait_for(task, 5)
    finally:
        app.db.dispose()


async def test_starter_does_nothing_without_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> None:
    """Without SLACK_BOT_TOKEN the starter returns None and registers nothing."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    app = build_app(Settings(env_file=None), clock=clock, seed=False)
    try:
        assert await start_slack(app, asyncio.Event()) is None
        assert "slack" not in app.messengers
    finally:
        app.db.dispose()
