"""`mentorbot alerts list`, `mentorbot delivery status` and `mentorbot check` on a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.model import Actor, Inbound
from mentorbot.cli import main
from mentorbot.cli_delivery import STUCK_EXIT, age_text
from storage.db import Database
from tests.scheduling.world import utc
from tests.tick import REGISTRY

CRISIS = "i want to end it all tonight"


def say(url: str, at: tuple[int, int], email: str, text: str) -> None:
    """Someone writes to the bot at hh:mm on the CLI's Monday (no delivery runs)."""
    db = Database(url)
    try:
        core = MentorBot(db, CoreSettings(), FixedClock(utc(2026, 11, 23, *at)), registry=REGISTRY)
        core.handle(
            Inbound(Actor("console", "local", email, email=email), "text", "message", {}, text)
        )
    finally:
        db.dispose()


def test_check_is_ok_with_nothing_stuck(demo_cli: str, capsys: pytest.CaptureFixture[str]) -> None:
    """No urgent alert: exit 0 and one OK line."""
    assert main(["check"]) == 0
    assert capsys.readouterr().out.startswith("OK: no urgent alert is stuck")


def test_check_exits_2_and_says_why_when_an_urgent_alert_is_stuck(
    demo_cli: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A crisis from 11:50 nobody received by noon: exit 2, naming the alert and why."""
    say(demo_cli, (11, 50), "sam@example.edu", CRISIS)
    assert main(["check"]) == STUCK_EXIT
    out = capsys.readouterr().out
    assert "CRITICAL: 1 urgent alert(s) stuck" in out
    assert "STUCK urgent alert #1 (crisis): not delivered to anyone who can act" in out
    assert CRISIS not in out


def test_alerts_list_shows_stuck_first_with_why(
    demo_cli: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stuck crisis comes first with its reason, above a newer low-mood alert."""
    say(demo_cli, (11, 50), "sam@example.edu", CRISIS)
    say(demo_cli, (11, 58), "alex@example.edu", "/mood 1")
    # /mood is a command: send it as one.
    db = Database(demo_cli)
    core = MentorBot(db, CoreSettings(), FixedClock(utc(2026, 11, 23, 11, 58)), registry=REGISTRY)
    core.handle(
        Inbound(
            Actor("console", "local", "alex@example.edu", email="alex@example.edu"),
            "command",
            "mood",
            {},
            "1",
        )
    )
    db.dispose()
    assert main(["alerts", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("STUCK #1 ") and "crisis" in lines[0]
    assert lines[1].strip().startswith("why: not delivered to anyone who can act within 120 s")
    assert any("low_mood" in line and "alex@example.edu" in line for line in lines[2:])


def test_delivery_status_groups_rows_by_platform_kind_and_age(
    demo_cli: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pending rows per platform and kind with the urgent count and the oldest's age."""
    say(demo_cli, (11, 50), "sam@example.edu", CRISIS)
    assert main(["delivery", "status"]) == 0
    out = capsys.readouterr().out
    [row] = [line for line in out.splitlines() if line.startswith("console")]
    platform, kind, status, count, urgent, oldest = row.split()[:6]
    assert (platform, kind, status, count, urgent) == ("console", "alert", "pending", "1", "1")
    assert oldest == "10m"
    assert "STUCK urgent alert #1" in out


def test_delivery_status_with_an_empty_outbox(
    demo_cli: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing queued: one line says so."""
    assert main(["delivery", "status"]) == 0
    assert "Nothing is waiting or failed" in capsys.readouterr().out


def test_age_text() -> None:
    """Ages read as seconds, minutes, hours and days."""
    assert [age_text(timedelta(seconds=s)) for s in (5, 600, 3900, 2 * 86400 + 7200)] == [
        "5s",
        "10m",
        "1h05m",
        "2d02h",
    ]
