"""`mentorbot schedule add|list|remove` and `mentorbot breaks add|list|remove`."""

from __future__ import annotations

import pytest

from mentorbot.cli import main
from storage.tables import CheckinSchedule, ProgrammeBreak
from tests.mentorbot.conftest import stored


@pytest.fixture
def env(demo_cli: str) -> str:
    """The CLI on the demo programme (see conftest)."""
    return demo_cli


def test_schedule_add_list_remove(env, capsys) -> None:
    """An admin adds a group schedule, sees it listed, and removes it."""
    code = main(
        [
            "schedule",
            "add",
            "--name",
            "Study skills check-in",
            "--days",
            "tue,thu",
            "--time",
            "17:30",
            "--group",
            "Study skills",
            "--reminder-minutes",
            "60",
            "--questions",
            "mood,note",
            "--end",
            "2027-06-30",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "Added #2 Study skills check-in: tue,thu at 17:30" in out
    assert main(["schedule", "list"]) == 0
    listing = capsys.readouterr().out
    assert "#1 Weekday check-in" in listing and "group Study skills" in listing
    assert "reminder after 60 min" in listing and "until 2027-06-30" in listing
    assert main(["schedule", "remove", "2"]) == 0
    assert "Removed schedule #2" in capsys.readouterr().out
    main(["schedule", "list"])
    assert "#2" not in capsys.readouterr().out
    main(["schedule", "list", "--all"])
    assert "(removed)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--time", "25:00"], "isn't a time of day"),
        (["--time", "09:00", "--end", "2026-01-31"], "in the past"),
        (["--time", "09:00", "--group", "Chess club"], "no group called 'Chess club'"),
        (["--time", "09:00", "--person", "nobody@example.edu"], "no enrolled student"),
        (["--time", "09:00", "--days", "someday"], "isn't a day"),
        (["--time", "09:00", "--timezone", "Europe/Atlantis"], "time zone 'Europe/Atlantis'"),
        (["--time", "09:00", "--questions", "note"], "include 'mood'"),
    ],
)
def test_schedule_add_rejects_bad_input(env, capsys, args: list[str], message: str) -> None:
    """Bad input: exit code 1, a clear message, nothing stored."""
    assert main(["schedule", "add", "--name", "Bad", *args]) == 1
    assert message in capsys.readouterr().err
    assert [s.name for s in stored(env, CheckinSchedule)] == ["Weekday check-in"]


def test_schedule_remove_unknown_id_fails(env, capsys) -> None:
    """Removing a schedule that isn't there exits 1."""
    assert main(["schedule", "remove", "99"]) == 1
    assert "no active schedule #99" in capsys.readouterr().err


def test_breaks_add_list_remove(env, capsys) -> None:
    """The winter break from the issue: added, listed, removed."""
    assert main(["breaks", "add", "2026-12-21", "2027-01-04", "Winter break"]) == 0
    assert "Added break #1 Winter break: 2026-12-21 to 2027-01-04" in capsys.readouterr().out
    assert main(["breaks", "list"]) == 0
    assert "Winter break" in capsys.readouterr().out
    assert main(["breaks", "remove", "1"]) == 0
    assert stored(env, ProgrammeBreak) == []


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2027-01-03", "2027-01-10", "overlaps break #1"),
        ("2027-02-10", "2027-02-01", "ends before it starts"),
        ("2026-10-01", "2026-10-02", "in the past"),
        ("2027-13-01", "2027-13-05", "isn't a date"),
    ],
)
def test_breaks_add_rejects_bad_input(env, capsys, start: str, end: str, message: str) -> None:
    """Overlapping, reversed, past or malformed breaks: exit 1, nothing new stored."""
    assert main(["breaks", "add", "2026-12-21", "2027-01-04", "Winter break"]) == 0
    capsys.readouterr()
    assert main(["breaks", "add", start, end, "Another"]) == 1
    assert message in capsys.readouterr().err
    assert len(stored(env, ProgrammeBreak)) == 1
