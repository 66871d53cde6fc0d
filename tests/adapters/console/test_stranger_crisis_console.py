"""A crisis typed in the console by someone not on the roster reaches on-call staff.

Drives the real `mentorbot console --as nobody@example.edu`, as the console demo does: the card
says the programme staff were told; `mentorbot alerts list` names them as not on the roster;
the admin sees the alert in their console, acknowledges it, and a second crisis folds in.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine

from mentorbot.cli import main

CRISIS = "honestly i just want it all to end, i want to die"
CARD = "== You don't have to face this alone =="


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[Path]:
    """The CLI in an empty folder against the test database, no platform tokens, Monday noon."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN", "STAFF_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    with time_machine.travel("2026-11-23 12:00:00+00:00", tick=True):
        yield tmp_path


def console(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], who: str, script: str
) -> str:
    """`who`'s console session typing `script`; returns what it printed."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    assert main(["console", "--as", who]) == 0
    return capsys.readouterr().out


def test_a_crisis_from_someone_not_on_the_roster_reaches_the_admin(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The card says staff know; the alert is listed, acknowledged by the admin, folded."""
    console(monkeypatch, capsys, "admin@example.edu", "/help\n")  # seeds the demo programme
    out = console(monkeypatch, capsys, "nobody@example.edu", f"{CRISIS}\n")
    assert CARD in out and "I've let the programme staff know" in out
    assert "Hi! I'm" not in out.split(CARD, 1)[1] and "Traceback" not in out

    assert main(["alerts", "list"]) == 0
    listing = capsys.readouterr().out
    assert "student=nobody@example.edu (not on the roster: Console user nobody@example.edu" in (
        listing
    )
    assert "urgent" in listing and "Wish to be dead" in listing

    seen = console(monkeypatch, capsys, "admin@example.edu", "/alerts\n/alerts ack 1\n")
    assert "Not on the roster" in seen and "Console user nobody@example.edu" in seen
    assert "Avery Admin acknowledged this" in seen

    again = console(monkeypatch, capsys, "nobody@example.edu", f"{CRISIS}\n/mood 4\n")
    assert "I've let the programme staff know" in again and "not enrolled" in again
    assert main(["alerts", "list", "--all"]) == 0
    listing = capsys.readouterr().out
    assert listing.count("#") == 1  # one alert: the second crisis folded into it
