"""`mentorbot run` as a real subprocess: SIGTERM/SIGINT stop it cleanly, nothing is lost.

The bot runs exactly as an operator starts it (bench/harness.py's BotProcess), against the
loopback fakes served by the test's own event loop, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from bench.harness import (
    BotProcess,
    PromptLedger,
    bot_environment,
    count_rows,
    free_port,
    outbox_status,
    prepare_programme,
    summarise_prompts,
)
from mentorbot_fakes.discord_api import FakeDiscord
from mentorbot_fakes.slack_api import FakeSlack
from mentorbot_fakes.slack_signing import sign_request
from storage.tables import CheckinSchedule, Person, Resource
from tests.conftest import TEST_ENCRYPTION_KEY

STUDENTS = 40
STRANGER_WORDS = "unsigned secret confession"
# Paced slowly enough that a SIGTERM lands mid fan-out, fast enough to finish in seconds.
RATE = 8.0
# Long leases: a row left `sending` would wait this long before a restart could send it.
LEASE_SECONDS = 120
STOP_LIMIT_SECONDS = 10.0


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Poll a condition on the fakes (they record; there is nothing to await) until true."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - polling recordings
            await asyncio.sleep(0.02)


async def stop_with(bot: BotProcess, sig: signal.Signals) -> tuple[int, float]:
    """Send `sig` to the bot; its exit code and the seconds it took to exit."""
    assert bot.process is not None
    started = time.monotonic()
    os.kill(bot.process.pid, sig)
    code = await asyncio.wait_for(bot.process.wait(), STOP_LIMIT_SECONDS + 20)
    return code, time.monotonic() - started


async def healthy(http: aiohttp.ClientSession, port: int) -> dict[str, object]:
    """The /healthz report once it is 200 (a connection may still be settling), else fail."""
    deadline = time.monotonic() + 10
    while True:
        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            report: dict[str, object] = await response.json()
            if response.status == 200 or time.monotonic() > deadline:
                assert response.status == 200, report
                return report
        await asyncio.sleep(0.1)


async def test_sigterm_mid_fanout_exits_0_in_time_and_loses_nothing(
    database_url: str, tmp_path: Path
) -> None:
    """SIGTERM mid fan-out: exit 0 in 10 s, nothing left claimed, the rest sent once at restart."""
    async with FakeSlack() as fake:
        programme = prepare_programme(database_url, STUDENTS, fake)
        ledger = PromptLedger(fake, programme)
        env = bot_environment(
            database_url=database_url,
            fake=fake,
            encryption_key=TEST_ENCRYPTION_KEY,
            settings={
                "SLACK_RATE_WORKSPACE": str(RATE),
                "OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
                "HEALTH_PORT": str(free_port()),
            },
        )
        bot = BotProcess("stop", env, tmp_path)
        await bot.start()
        await until(lambda: bool(ledger.scan() or True) and ledger.delivered >= 8)
        # A request signed with the wrong secret is refused, and only counted.
        body = f"token=x&text=mood+1+{STRANGER_WORDS.replace(' ', '+')}"
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                bot.events_url,
                data=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    **sign_request(body, "not-the-secret"),
                },
            ) as response,
        ):
            assert response.status == 401
        code, seconds = await stop_with(bot, signal.SIGTERM)
        log = bot.log_path.read_text(errors="replace")
        assert code == 0, log
        assert seconds < STOP_LIMIT_SECONDS, log
        assert "SIGTERM received: stopping" in log and "stopped cleanly" in log
        # The refusal is in the log as a count (flushed at stop), never as the body.
        assert "rejected 1 Slack request(s) since the last report: bad_signature=1" in log
        assert "confession" not in log
        assert "Traceback" not in log
        # Start, the schedule's catch-up and delivery summaries are logged at INFO.
        assert "mentorbot starting: slack on" in log and "scheduler catch-up" in log
        assert re.search(r"delivery: \d+ sent", log) or "released unsent" in log
        ledger.scan()
        statuses = outbox_status(database_url)
        assert len(statuses) == STUDENTS
        # Nothing is left claimed: what was not sent went back to pending.
        assert set(statuses.values()) <= {"sent", "pending"}, statuses
        sent = {key for key, status in statuses.items() if status == "sent"}
        # What reached Slack is exactly what is recorded as sent; the stop came mid fan-out.
        assert sent == set(ledger.posts_of_key()), "a sent prompt went unrecorded, or v.v."
        assert 0 < len(sent) < STUDENTS
        # A restart sends the rest straight away: released rows do not wait for a lease.
        restarted = time.monotonic()
        await bot.start()
        await until(lambda: bool(ledger.scan() or True) and ledger.delivered == STUDENTS)
        assert time.monotonic() - restarted < LEASE_SECONDS / 2
        code, _ = await stop_with(bot, signal.SIGTERM)
        assert code == 0
        assert summarise_prompts(ledger, STUDENTS) == {
            "missing": 0,
            "duplicates": 0,
            "delivered": STUDENTS,
        }
        assert set(outbox_status(database_url).values()) == {"sent"}


async def test_sigint_closes_socket_mode_and_discord_health_meanwhile_and_no_seed(
    database_url: str, tmp_path: Path
) -> None:
    """Socket Mode + Discord: healthz and metrics answer, SIGINT closes both, no demo seeded."""
    async with FakeSlack() as slack, FakeDiscord() as discord:
        guild = discord.default_guild
        assert guild is not None
        env = bot_environment(
            database_url=database_url,
            fake=slack,
            encryption_key=TEST_ENCRYPTION_KEY,
            settings={
                "SLACK_MODE": "socket",
                "SLACK_APP_TOKEN": slack.app_token,
                "DISCORD_BOT_TOKEN": discord.token,
                "DISCORD_API_URL": discord.base_url,
                "DISCORD_GATEWAY_URL": discord.gateway_url,
                "DISCORD_GUILD_IDS": guild.id,
            },
        )
        bot = BotProcess("both", env, tmp_path)
        # Socket Mode has no HTTP port of its own: the health endpoint is the one to wait on.
        bot.env["HEALTH_PORT"] = str(bot.port)
        await bot.start()
        try:
            await _check_both_then_sigint(bot, slack, discord)
        except (AssertionError, TimeoutError) as exc:
            # Say what the bot logged: a failure here is otherwise hard to tell apart.
            raise AssertionError(f"{exc!r}\n--- bot log ---\n{bot.log_tail(60)}") from exc
    # Tokens set, database empty: the demo people and their weekday check-in never appear.
    assert count_rows(database_url, Person) == 0
    assert count_rows(database_url, CheckinSchedule) == 0
    assert count_rows(database_url, Resource) == 0


async def _check_both_then_sigint(bot: BotProcess, slack: FakeSlack, discord: FakeDiscord) -> None:
    """Health and metrics with both platforms up, then SIGINT closes both within 10 s."""
    async with aiohttp.ClientSession() as http:
        health = await healthy(http, bot.port)
        async with http.get(f"http://127.0.0.1:{bot.port}/metrics") as response:
            assert response.status == 200
            metrics = await response.text()
    assert health["platforms"] == {
        "discord": {"ok": True, "connected": True},
        "slack": {"ok": True, "connected": True},
    }
    assert health["database"]["ok"] and health["delivery"]["ok"]
    assert health["stuck_urgent_alerts"] == {"ok": True, "count": 0, "alert_ids": []}
    assert "mentorbot_database_up 1.0" in metrics
    assert slack.socket_connections == 1 and discord._connections
    code, seconds = await stop_with(bot, signal.SIGINT)
    log = bot.log_path.read_text(errors="replace")
    assert code == 0 and seconds < STOP_LIMIT_SECONDS, log
    assert "SIGINT received: stopping" in log and "Traceback" not in log
    # The INFO lines an operator looks for first: each platform's connection.
    assert "Slack connected in Socket Mode" in log and "Discord connected" in log
    await until(lambda: slack.socket_connections == 0 and not discord._connections, 10)
