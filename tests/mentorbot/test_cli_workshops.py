"""`mentorbot group ...` and `mentorbot workshop ...` on the demo programme."""

from __future__ import annotations

import pytest

from bot.model import Message
from mentorbot.cli import main
from storage.db import Database
from storage.tables import Group, GroupMember, Outbox, WorkshopSeries, WorkshopSession
from tests.dbdump import snapshot
from tests.mentorbot.conftest import stored
from tests.scheduling.world import utc


@pytest.fixture
def env(demo_cli: str) -> str:
    """The CLI on the demo programme (see conftest)."""
    return demo_cli


def everything(url: str) -> dict:
    db = Database(url)
    try:
        return snapshot(db)
    finally:
        db.dispose()


ADD = [
    "workshop",
    "add",
    "--group",
    "Study skills",
    "--title",
    "Exam stress",
    "--start",
    "2026-12-01T16:00",
    "--timezone",
    "Europe/London",
    "--duration",
    "60",
    "--capacity",
    "12",
    "--location",
    "https://meet.example/abc",
]


def test_group_add_bind_members_and_list(env, capsys) -> None:
    """An admin creates a group bound to Slack, adds members, lists groups and members."""
    assert main(["group", "add", "Exam prep", "--slack-channel", "C0EXAM123"]) == 0
    assert "Exam prep: 0 member(s), mentors none; slack channel C0EXAM123" in (
        capsys.readouterr().out
    )
    assert (
        main(["group", "members", "add", "Exam prep", "sam@example.edu", "maya@example.edu"]) == 0
    )
    assert "Added to Exam prep: sam@example.edu, maya@example.edu." in capsys.readouterr().out
    assert main(["group", "members", "list", "Exam prep"]) == 0
    listing = capsys.readouterr().out
    assert "sam@example.edu Sam Student (member)" in listing
    assert "maya@example.edu Maya Mentor (mentor)" in listing
    assert main(["group", "bind", "Exam prep", "--discord-channel", "123456789012345678"]) == 0
    assert main(["group", "list"]) == 0
    assert "discord channel 123456789012345678" in capsys.readouterr().out
    assert main(["group", "unbind", "Exam prep"]) == 0
    assert main(["group", "members", "remove", "Exam prep", "sam@example.edu"]) == 0
    assert "Removed from Exam prep: sam@example.edu." in capsys.readouterr().out
    [group] = [g for g in stored(env, Group) if g.name == "Exam prep"]
    assert group.channel_id is None
    assert len([m for m in stored(env, GroupMember) if m.group_id == group.id]) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["group", "add", "Exam prep", "--slack-channel", "general"], "isn't a Slack channel id"),
        (["group", "add", "Study skills"], "already a group"),
        (["group", "bind", "Study skills"], "Give --slack-channel"),
        (["group", "members", "add", "Study skills", "ghost@example.edu"], "aren't enrolled"),
        (["group", "members", "list", "Chess"], "no group called 'Chess'"),
    ],
)
def test_group_bad_input_exits_1_and_stores_nothing(env, capsys, args, message) -> None:
    """Bad channel ids, duplicate names, unknown people or groups: exit 1, nothing stored."""
    before = everything(env)
    assert main(args) == 1
    assert message in capsys.readouterr().err
    assert everything(env) == before


def test_workshop_add_list_report_move_cancel(env, capsys) -> None:
    """The CLI creates a session (announced by DM: no channel), lists, reports, moves, cancels."""
    assert main(ADD) == 0
    out = capsys.readouterr().out
    assert "#1 Exam stress for Study skills: Tue 1 Dec, 16:00–17:00 (Europe/London)" in out
    [session] = stored(env, WorkshopSession)
    assert (session.starts_at, session.capacity, session.created_by) == (
        utc(2026, 12, 1, 16, 0),
        12,
        None,
    )
    invitations = [r for r in stored(env, Outbox) if r.dedupe_key.startswith("workshop:1:announce")]
    assert len(invitations) == 2  # Sam and Alex, by DM
    assert main(["workshop", "list"]) == 0
    assert "0 of 12 places taken" in capsys.readouterr().out
    assert main(["workshop", "report", "1"]) == 0
    report = capsys.readouterr().out
    assert "Report: Exam stress" in report and "0 response(s)" in report
    assert main(["workshop", "move", "1", "--start", "2026-12-02T17:30"]) == 0
    assert "Wed 2 Dec, 17:30–18:30" in capsys.readouterr().out
    moved = [r for r in stored(env, Outbox) if ":moved:" in r.dedupe_key]
    assert len(moved) == 2 and "has moved" in Message.from_json(moved[0].payload).text
    assert main(["workshop", "cancel", "1"]) == 0
    assert "Cancelled #1 Exam stress" in capsys.readouterr().out
    assert main(["workshop", "list"]) == 0
    assert "No upcoming workshops." in capsys.readouterr().out
    assert main(["workshop", "list", "--all"]) == 0
    assert "(cancelled)" in capsys.readouterr().out


def test_workshop_series_from_the_cli(env, capsys) -> None:
    """`--weekly 3 --days tue,thu` makes three sessions of one series."""
    args = [*ADD[:7], "2026-12-01T16:00", *ADD[8:], "--weekly", "3", "--days", "tue,thu"]
    assert main(args) == 0
    assert len(stored(env, WorkshopSeries)) == 1
    starts = sorted(s.starts_at for s in stored(env, WorkshopSession))
    assert starts == [utc(2026, 12, 1, 16), utc(2026, 12, 3, 16), utc(2026, 12, 8, 16)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--start": "2026-11-01T16:00"}, "is in the past"),
        ({"--start": "2026-12-01"}, "isn't a start"),
        ({"--duration": "0"}, "can't end before it starts"),
        ({"--capacity": "0"}, "at least 1 place"),
        ({"--timezone": "Mars/Base"}, "don't know the time zone"),
        ({"--group": "Chess"}, "no group called 'Chess'"),
    ],
)
def test_workshop_bad_input_exits_1_and_stores_nothing(env, capsys, change, message) -> None:
    """Past starts, no duration, no places, unknown zones or groups: exit 1, nothing stored."""
    args = list(ADD)
    for flag, value in change.items():
        args[args.index(flag) + 1] = value
    before = everything(env)
    assert main(args) == 1
    assert message in capsys.readouterr().err
    assert everything(env) == before


def test_workshop_commands_on_a_missing_session(env, capsys) -> None:
    """Cancel, move and report of an unknown id explain what's wrong."""
    for args in (
        ["workshop", "cancel", "7"],
        ["workshop", "report", "7"],
        ["workshop", "move", "7", "--start", "2026-12-02T10:00"],
    ):
        assert main(args) == 1
        assert "no workshop session #7" in capsys.readouterr().err
