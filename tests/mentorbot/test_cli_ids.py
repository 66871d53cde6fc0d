"""Every CLI verb that takes an id or a number: anything typed is a friendly error, never a crash.

An id too large for the database (99999999999999999999), a unicode digit ("²"), a negative or
an empty one: each prints a message, exits non-zero and changes nothing.
"""

from __future__ import annotations

import pytest

from mentorbot.cli import main
from storage.db import Database
from tests.dbdump import snapshot

BAD_IDS = ["99999999999999999999", "2147483648", "²", "-1", "0", "#", "1.5", "9" * 5000]
VERBS = [
    ["schedule", "remove"],
    ["breaks", "remove"],
    ["workshop", "cancel"],
    ["workshop", "report"],
]


def _everything(url: str) -> dict:
    db = Database(url)
    try:
        return snapshot(db)
    finally:
        db.dispose()


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
@pytest.mark.parametrize("bad", BAD_IDS, ids=lambda s: s[:24])
def test_an_id_that_cannot_exist_is_not_found(demo_cli: str, capsys, verb, bad) -> None:
    """`mentorbot ... remove|cancel|report ID` with an impossible id: not found, exit 1."""
    before = _everything(demo_cli)
    assert main([*verb, bad]) == 1
    captured = capsys.readouterr()
    assert "There is no" in captured.err and "Traceback" not in captured.err + captured.out
    assert _everything(demo_cli) == before


@pytest.mark.parametrize("bad", ["99999999999999999999", "²"])
def test_moving_a_session_that_cannot_exist(demo_cli: str, capsys, bad) -> None:
    """`mentorbot workshop move ID --start ...` with an impossible id: not found, exit 1."""
    before = _everything(demo_cli)
    assert main(["workshop", "move", bad, "--start", "2026-12-02T16:00"]) == 1
    assert "There is no workshop session" in capsys.readouterr().err
    assert _everything(demo_cli) == before


@pytest.mark.parametrize(
    "args",
    [
        ["alerts", "list", "--limit", "99999999999999999999"],
        ["alerts", "list", "--limit", "²"],
        ["schedule", "add", "--name", "X", "--time", "09:00", "--reminder-minutes", "9" * 20],
        ["schedule", "add", "--name", "X", "--time", "09:00", "--every-n-days", "²"],
    ],
    ids=["limit-huge", "limit-unicode", "reminder-huge", "every-unicode"],
)
def test_a_number_option_out_of_range_is_a_usage_error(demo_cli: str, capsys, args) -> None:
    """A number option no column can hold is refused by the parser (exit 2), nothing stored."""
    before = _everything(demo_cli)
    with pytest.raises(SystemExit) as stopped:
        main(args)
    assert stopped.value.code == 2
    assert "isn't a whole number" in capsys.readouterr().err
    assert _everything(demo_cli) == before


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--duration", "99999999999999999999"),
        ("--capacity", "99999999999999999999"),
        ("--weekly", "99999999999999999999"),
        ("--duration", "²"),
    ],
)
def test_a_workshop_number_no_column_can_hold(demo_cli: str, capsys, option, value) -> None:
    """`mentorbot workshop add` with a huge or unicode number: a friendly error, exit 1."""
    args = [
        "workshop",
        "add",
        "--group",
        "Study skills",
        "--title",
        "T",
        "--start",
        "2026-12-01T16:00",
        "--duration",
        "60",
    ]
    if option == "--duration":
        args[-1] = value
    else:
        args += [option, value]
    before = _everything(demo_cli)
    assert main(args) == 1
    assert "must be a whole number" in capsys.readouterr().err
    assert _everything(demo_cli) == before
