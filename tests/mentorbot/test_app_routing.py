"""The composition root tells the core what runs; a platform failing at start is reported."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlmodel import select

from bot.outbox import running_platforms
from bot.services.roster import import_roster, parse_roster
from mentorbot import runner
from mentorbot.app import App, build_app
from mentorbot.settings import Settings
from mentorbot_fakes.recording import RecordingMessenger
from storage.tables import Outbox

AVERY_D = "301000000000000501"
ROSTER = (
    "email,name,role,timezone,mentor_email,backup_mentor_email,groups,slack_user_id,"
    "discord_user_id\n"
    f"admin@example.edu,Avery Admin,admin,Europe/London,,,,U0AVERY001,{AVERY_D}\n"
)


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> App:
    """The app on the test database with the demo programme and Avery on Slack and Discord."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "x")  # a platform is configured: not the console
    # These tests read the staff channel's first messages: no weekly digest among them.
    monkeypatch.setenv("DIGEST_DAY", "off")
    built = build_app(Settings(env_file=None), seed=True)
    with built.db.session() as session:
        import_roster(session, parse_roster(ROSTER), built.clock.now())
    return built


def test_registered_messengers_are_the_running_platforms(app: App) -> None:
    """Each add_messenger (and remove) updates what every later unit of work sees."""
    with app.db.session() as session:
        assert running_platforms(session) is None  # nothing said yet: everything counts
    app.add_messenger("discord", RecordingMessenger(platform="discord"))
    app.add_messenger("email", RecordingMessenger(platform="email"))
    with app.db.session() as session:
        assert running_platforms(session) == {"discord", "email"}
    app.remove_messenger("email")
    with app.db.session() as session:
        assert running_platforms(session) == {"discord"}


def test_side_channels_are_added_only_when_configured(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No SMTP_HOST and no webhook: nothing; with them: email and webhook messengers."""
    assert app.add_side_channels() == []
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_FROM", "bot@school.edu")
    monkeypatch.setenv("ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    monkeypatch.setenv("ALERT_WEBHOOK_SECRET", "s")
    app.settings = Settings(env_file=None)
    assert app.add_side_channels() == ["email", "webhook"]
    assert {"email", "webhook"} <= set(app.messengers)


def test_a_worker_declares_what_the_settings_turn_on(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Slack HTTP worker delivers nothing: the core is told the configured platforms."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-x")
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_FROM", "bot@school.edu")
    app.settings = Settings(env_file=None)
    app.declare_configured_platforms()
    with app.db.session() as session:
        assert running_platforms(session) == {"slack", "discord", "email"}


def test_half_an_email_configuration_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """SMTP_HOST without SMTP_FROM would send nothing: the settings refuse it."""
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.delenv("SMTP_FROM", raising=False)
    with pytest.raises(ValueError, match="SMTP_FROM is required"):
        Settings(env_file=None)


async def test_a_platform_failing_at_start_is_reported_and_the_others_run(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack refuses its token at start: logged, Avery told on Discord, Discord keeps running."""
    discord = RecordingMessenger(platform="discord")

    async def start_slack(app: App, stop: asyncio.Event) -> None:
        raise RuntimeError("Slack rejected SLACK_BOT_TOKEN (invalid_auth). Check it in .env.")

    async def start_discord(app: App, stop: asyncio.Event) -> asyncio.Task[None]:
        app.add_messenger("discord", discord)

        async def serve() -> None:
            for _ in range(200):  # until the report went out, then stop the run
                if discord.sent:
                    break
                await asyncio.sleep(0.02)
            stop.set()
            await stop.wait()

        return asyncio.create_task(serve())

    monkeypatch.setattr(runner, "PLATFORM_STARTERS", [start_slack, start_discord])
    monkeypatch.setattr(runner, "build_app", lambda settings: app)
    assert await runner.run(app.settings) == 0
    assert "slack did not start" in caplog.text
    [report] = discord.sent
    assert report.to.user_id == AVERY_D
    assert "Slack isn't working" in report.message.text and "invalid_auth" in report.message.text
    with app.db.session() as session:
        notices = session.exec(select(Outbox).where(Outbox.kind == "platform_notice")).all()
    assert [(n.platform, n.status) for n in notices] == [("discord", "sent")]


async def test_a_platform_refused_at_login_is_reported_and_the_others_keep_running(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Discord's task ends with a refused token: reported to Avery on Slack, Slack runs on."""
    slack = RecordingMessenger(platform="slack")

    async def start_slack(app: App, stop: asyncio.Event) -> asyncio.Task[None]:
        app.add_messenger("slack", slack)

        async def serve() -> None:
            for _ in range(200):  # until the report went out, then stop the run
                if slack.sent:
                    break
                await asyncio.sleep(0.02)
            stop.set()

        return asyncio.create_task(serve())

    async def start_discord(app: App, stop: asyncio.Event) -> asyncio.Task[None]:
        app.add_messenger("discord", RecordingMessenger(platform="discord"))

        async def login() -> None:
            await asyncio.sleep(0.05)
            raise RuntimeError("Discord refused DISCORD_BOT_TOKEN; check the token.")

        return asyncio.create_task(login())

    monkeypatch.setattr(runner, "PLATFORM_STARTERS", [start_slack, start_discord])
    monkeypatch.setattr(runner, "build_app", lambda settings: app)
    assert await runner.run(app.settings) == 0
    assert "discord stopped" in caplog.text
    [report] = slack.sent
    assert report.to.user_id == "U0AVERY001"
    assert "Discord isn't working" in report.message.text
    assert "discord" not in app.messengers
