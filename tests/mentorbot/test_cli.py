"""The command line, including the scripted console example from the README."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine

from mentorbot.cli import main

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[Path]:
    """Run the CLI in an empty folder against the test database, with no platform tokens.

    The wall clock is moved to a Monday noon (UTC) so quiet hours don't defer pushes.
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name in ("SLACK_BOT_TOKEN", "DISCORD_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with time_machine.travel("2026-11-23 12:00:00+00:00", tick=True):
        yield tmp_path


def run_console(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], email: str, script: str
) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    assert main(["console", "--as", email]) == 0
    return capsys.readouterr().out


def test_scripted_console_mood_shows_resource_and_alerts_mentor(env, monkeypatch, capsys) -> None:
    """The README example: mood logged, a relevant resource shown, the alert listed by the CLI."""
    out = run_console(monkeypatch, capsys, "sam@example.edu", "/mood 2 stressed about exams\n")
    assert "Logged your mood" in out and "2/5" in out
    assert "Exam stress: a survival guide" in out
    assert "Low mood" not in out  # the mentor's alert is not shown to the student
    assert main(["alerts", "list"]) == 0
    listing = capsys.readouterr().out
    assert "low_mood" in listing and "sam@example.edu" in listing and "maya@example.edu" in listing


def test_mentor_sees_alert_in_their_console_and_acknowledges(env, monkeypatch, capsys) -> None:
    """Maya's console shows the pending alert on arrival; '1' acknowledges it."""
    run_console(monkeypatch, capsys, "sam@example.edu", "/mood 1\n")
    out = run_console(monkeypatch, capsys, "maya@example.edu", "1\n")
    assert "Low mood: Sam Student" in out and "[1] Acknowledge" in out
    assert "Maya Mentor acknowledged this" in out
    main(["alerts", "list"])
    assert "No open alerts" in capsys.readouterr().out


def test_console_checkin_with_numbered_choices(env, monkeypatch, capsys) -> None:
    """A full check-in typed in the console: numbers press buttons, text is the note."""
    out = run_console(monkeypatch, capsys, "sam@example.edu", "/checkin\n4\nall fine today\n")
    assert "[4]" in out and "You answered" in out and "added that to today's check-in" in out


def test_console_never_prints_a_traceback(env, monkeypatch, capsys) -> None:
    """Garbage input gets friendly messages only."""
    out = run_console(
        monkeypatch,
        capsys,
        "sam@example.edu",
        "/mood banana\n/goal progress x y\n/nope\n99\n" + "x" * 5000 + "\n",
    )
    assert "Traceback" not in out
    assert "isn't a mood score" in out and "too long" in out


def test_roster_import_reports_line_numbers_and_writes_nothing(env, capsys) -> None:
    """A bad roster CSV exits 1 with line numbers; a good one imports."""
    bad = env / "bad.csv"
    bad.write_text("email,name,role\nok@x.edu,Ok,student\nnope,No,student\n")
    assert main(["roster", "import", str(bad)]) == 1
    assert "line 3" in capsys.readouterr().err
    assert main(["export", "--email", "ok@x.edu"]) == 1
    assert main(["roster", "import", str(SAMPLES / "roster.csv")]) == 0
    assert "2 added" in capsys.readouterr().out


def test_resources_import_and_export(env, capsys) -> None:
    """Resources import from YAML; export prints one person's data as JSON."""
    assert main(["resources", "import", str(SAMPLES / "resources.yaml")]) == 0
    assert "1 added" in capsys.readouterr().out
    assert main(["roster", "import", str(SAMPLES / "roster.csv")]) == 0
    capsys.readouterr()
    assert main(["export", "--email", "kim@uni.example"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["person"]["email"] == "kim@uni.example"


def test_missing_file_and_bad_setting_are_friendly(env, monkeypatch, capsys) -> None:
    """A missing file and an invalid setting give one clear line each."""
    assert main(["roster", "import", "nope.csv"]) == 1
    assert "No such file" in capsys.readouterr().err
    monkeypatch.setenv("DEFAULT_TIMEZONE", "Nowhere/Land")
    assert main(["alerts", "list"]) == 2
    assert "DEFAULT_TIMEZONE" in capsys.readouterr().err


def test_help_lists_commands(capsys) -> None:
    """`mentorbot --help` names the subcommands."""
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for name in ("run", "console", "db", "roster", "resources", "alerts", "export"):
        assert name in out
