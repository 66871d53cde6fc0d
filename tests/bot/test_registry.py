"""The registry: one route for every command, arguments parsed by their specs, jobs isolated."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.auth import EVERYONE, allow
from bot.config import CoreSettings
from bot.errors import UserError
from bot.model import Reply
from bot.people import ADMIN, MENTOR, STUDENT
from bot.registry import (
    Arg,
    ArgKind,
    Command,
    Count,
    Feature,
    Job,
    JobOutcome,
    Registry,
    Window,
    parse_args,
    pick_variant,
)
from bot.tick import TickFailed, read_watermark, run_due_work
from storage.db import Database
from tests.scheduling.world import utc
from tests.tick import REGISTRY


@allow(*EVERYONE)
def _echo(ctx: object) -> Reply:
    return Reply.say("echo")


FAMILY = (
    Command("thing", "list", _echo, sub="list", default=True, other_names=("things",)),
    Command(
        "thing",
        "set",
        _echo,
        sub="set",
        args=(
            Arg("id", ArgKind.ID, "id", invalid="I can't find thing '{raw}'."),
            Arg("level", ArgKind.INT, "level", low=0, high=100),
            Arg("when", ArgKind.DATE, "when", optional=True),
        ),
        aliases=("put",),
    ),
    Command("thing", "say", _echo, sub="say", args=(Arg("words", ArgKind.TEXT, "words"),)),
)


def test_a_bare_family_goes_to_its_default_and_aliases_reach_the_variant() -> None:
    """`/thing` is the default variant; `/thing put` is `/thing set`."""
    assert pick_variant(FAMILY, "")[0].sub == "list"
    command, rest = pick_variant(FAMILY, "put 3 40")
    assert command.sub == "set" and rest == "3 40"


def test_an_unknown_subcommand_is_refused_with_the_choices() -> None:
    """A word that is no variant is named back with the variants there are."""
    with pytest.raises(UserError, match="list, set, say"):
        pick_variant(FAMILY, "dance")


def test_arguments_are_parsed_by_kind() -> None:
    """Ids, numbers and dates come out typed."""
    args = parse_args(FAMILY[1], "#3 40 2026-12-20", {})
    assert args.need("id", int) == 3 and args.need("level", int) == 40
    assert args.get("when", date) == date(2026, 12, 20)


@pytest.mark.parametrize("raw", ["99999999999999999999", "0", "-1", "²", "abc", "3.5"])
def test_an_id_that_cannot_exist_reads_as_not_found(raw: str) -> None:
    """Out-of-range or non-ASCII ids are "no such thing", never an overflow."""
    with pytest.raises(UserError, match="can't find thing"):
        parse_args(FAMILY[1], f"{raw} 40", {})


def test_missing_or_extra_words_get_the_usage() -> None:
    """Too few or too many words are answered with how the command is used."""
    with pytest.raises(UserError, match="Use /thing set ID 0-100"):
        parse_args(FAMILY[1], "3", {})
    with pytest.raises(UserError, match="Use /thing set"):
        parse_args(FAMILY[1], "3 40 2026-12-20 extra", {})


def test_text_keeps_its_spacing_and_quotes_make_one_word() -> None:
    """The rest of the line is kept as typed; a quoted name is one argument."""
    assert parse_args(FAMILY[2], "hello   there", {}).text("words") == "hello   there"
    named = Command(
        "n", "n", _echo, args=(Arg("name", ArgKind.WORD, "n"), Arg("x", ArgKind.INT, "x"))
    )
    assert parse_args(named, '"Study skills" 4', {}).text("name") == "Study skills"


def test_named_options_win_over_words() -> None:
    """Discord's typed options are used as given."""
    args = parse_args(FAMILY[1], "", {"id": "7", "level": "10"})
    assert args.need("id", int) == 7


def test_the_registry_refuses_clashing_names() -> None:
    """Two features claiming one command name is a start-up error, not a silent override."""
    keep = Feature("keep", "k", text_fallback=REGISTRY.text_fallback)
    clash = Feature("clash", "c", commands=(Command("mood", "x", _echo),))
    with pytest.raises(ValueError, match="mood"):
        Registry([*REGISTRY.features, clash])
    assert Registry([keep]).names == []


def test_help_is_generated_per_role() -> None:
    """Each role's help lists exactly the commands that role may run."""
    for role in (STUDENT, MENTOR, ADMIN):
        rows = {row.usage for row in REGISTRY.help_rows(role)}
        expected = {c.usage for c in REGISTRY.commands if role in c.roles}
        assert rows == expected
    assert any(row.usage.startswith("/schedule") for row in REGISTRY.help_rows(ADMIN))
    assert not any(row.usage.startswith("/schedule") for row in REGISTRY.help_rows(STUDENT))


@pytest.mark.parametrize("typed", ["/mood", "/goal", "/goals", "/alerts", "/workshop"])
def test_every_typed_command_has_a_family(typed: str) -> None:
    """The names people type find their command family."""
    assert REGISTRY.family(typed) is not None


# ------------------------------------------------------------------ the tick


def _job(name: str, calls: list[str], *, fail: bool = False, window: bool = False) -> Job:
    def run(db: Database, settings: CoreSettings, w: Window) -> JobOutcome:
        calls.append(name)
        if fail:
            raise RuntimeError("boom")
        return Count(name, 1)

    return Job(name, run, window=window)


def test_a_failing_job_does_not_stop_the_others(db: Database) -> None:
    """A broken feature job is logged and raised after the rest ran (alerts still re-escalate)."""
    calls: list[str] = []
    now = utc(2026, 11, 23, 9, 0)
    jobs = [_job("broken", calls, fail=True), _job("reescalate", calls)]
    with pytest.raises(TickFailed) as failed:
        run_due_work(db, CoreSettings(), now, jobs)
    assert calls == ["broken", "reescalate"]
    assert failed.value.report.outcome("reescalate", Count).n == 1
    assert "broken" in failed.value.report.failed
    with db.session() as session:
        assert read_watermark(session) == now  # no window job failed


def test_a_failing_window_job_holds_the_watermark(db: Database) -> None:
    """Occurrences a window job failed to open are retried by the next tick."""
    calls: list[str] = []
    start = utc(2026, 11, 23, 9, 0)
    run_due_work(db, CoreSettings(), start, [])
    with pytest.raises(TickFailed):
        run_due_work(
            db,
            CoreSettings(),
            start + timedelta(minutes=1),
            [_job("open", calls, fail=True, window=True)],
        )
    with db.session() as session:
        assert read_watermark(session) == start
