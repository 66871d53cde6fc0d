"""The reply around a crisis in the console (issue 12): the card with helplines, nothing after.

Drives the real `mentorbot console` with a script on stdin, as the README shows, for every
surface a student can type on: `/mood`, `/help`, `/goal add`, a check-in note, a plain message.
Then `mentorbot alerts list` shows the mentor's reason in plain words.
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
CHEERFUL = ("👋", "See you next time", "Got it", "Logged your mood", "/resources", "New goal")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[Path]:
    """The CLI in an empty folder against the test database, no platform tokens, Monday noon."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with time_machine.travel("2026-11-23 12:00:00+00:00", tick=True):
        yield tmp_path


def console(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], script: str
) -> str:
    """Sam's console session typing `script`; returns what it printed."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    assert main(["console", "--as", "sam@example.edu"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    "script",
    [
        f"/mood 1 {CRISIS}\n",
        f"/help {CRISIS}\n",
        f"/goal add {CRISIS}\n",
        f"/checkin\n2\n{CRISIS}\n",
        f"{CRISIS}\n",
    ],
    ids=["mood", "help", "goal", "checkin-note", "message"],
)
def test_crisis_in_the_console_prints_the_card_and_nothing_after(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], script: str
) -> None:
    """Each surface: the card with helplines is printed, and nothing cheerful follows it."""
    out = console(monkeypatch, capsys, script)
    assert CARD in out
    after = out.split(CARD, 1)[1]
    assert "Samaritans" in after
    for marker in CHEERFUL:
        assert marker not in after, marker
    assert "Traceback" not in out


def test_alerts_list_shows_the_reason_in_plain_words(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mentorbot alerts list` says "Wish to be dead", never a rule id or a code."""
    console(monkeypatch, capsys, "i wish i could go to sleep and never wake up\n")
    assert main(["alerts", "list"]) == 0
    listing = capsys.readouterr().out
    assert "Wish to be dead" in listing
    assert "crisis." not in listing and "passive_death_wish" not in listing
