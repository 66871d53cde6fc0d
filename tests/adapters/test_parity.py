"""Every command of the registry on every platform, and help generated per role.

The registry is the one list of commands; Discord's tree is generated from it, Slack's
`/mentor NAME SUB ...` and the console's `/NAME SUB ...` pass the words to the core, which
routes them with the same registry. A command missing anywhere fails here.
"""

from __future__ import annotations

import io
from typing import Any

import discord
import pytest
from discord import app_commands

from adapters.console.chat import ConsoleChat, ConsoleMessenger
from adapters.discord.commands import MAX_ID, MAX_TOP_LEVEL, build_commands, tree_names
from adapters.slack.render import slack_commands
from bot.auth import EVERYONE
from bot.model import Inbound
from bot.people import ADMIN
from bot.registry import ArgKind, Command, pick_variant
from mentorbot_fakes.discord_api import command_problems
from tests.tick import REGISTRY


def command_id(command: Command) -> str:
    """`goal progress` or `mood`: how a command is named on Discord."""
    return f"{command.name} {command.sub}".strip()


def discord_tree() -> tuple[app_commands.CommandTree[Any], list[Any]]:
    """The generated tree on a client that never connects."""
    client = discord.Client(intents=discord.Intents.none())
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
    built = build_commands(REGISTRY)
    for command in built:
        tree.add_command(command)
    return tree, built


def discord_command(built: list[Any], command: Command) -> app_commands.Command[Any, ..., Any]:
    """The generated Discord (sub)command for one registry command."""
    for top in built:
        if top.name != command.name:
            continue
        if isinstance(top, app_commands.Group):
            found = top.get_command(command.sub)
            assert isinstance(found, app_commands.Command)
            return found
        assert isinstance(top, app_commands.Command)
        return top
    raise AssertionError(f"/{command_id(command)} is not on Discord")


def test_every_command_is_on_discord_with_an_option_per_argument() -> None:
    """The generated tree holds every registry command, each argument as a typed option."""
    _, built = discord_tree()
    assert sorted(tree_names(built)) == sorted(command_id(c) for c in REGISTRY.commands)
    for command in REGISTRY.commands:
        options = {p.name: p for p in discord_command(built, command).parameters}
        assert list(options) == [arg.name for arg in command.args] or set(options) == {
            arg.name for arg in command.args
        }
        for arg in command.args:
            option = options[arg.name]
            if arg.kind is ArgKind.ID:
                assert option.type is discord.AppCommandOptionType.integer
                assert (option.min_value, option.max_value) == (1, MAX_ID)
            elif arg.kind is ArgKind.INT:
                assert option.type is discord.AppCommandOptionType.integer
                assert (option.min_value, option.max_value) == (arg.low, arg.high)
            elif arg.kind is ArgKind.CHOICE:
                assert [c.value for c in option.choices] == list(arg.choices)
            else:
                assert option.type is discord.AppCommandOptionType.string


def test_the_tree_keeps_discords_registration_limits() -> None:
    """Names, descriptions and counts fit Discord's limits, and nothing had to be clipped."""
    tree, built = discord_tree()
    assert len(built) <= MAX_TOP_LEVEL
    for command in built:
        assert command_problems(command.to_dict(tree)) == []
    for command in REGISTRY.commands:
        assert 1 <= len(command.summary) <= 100, command_id(command)
        for arg in command.args:
            assert 1 <= len(arg.help) <= 100, f"{command_id(command)} {arg.name}"


def test_the_fake_refuses_what_discord_refuses() -> None:
    """A bad name, a long description or too many options is a registration problem."""
    assert command_problems({"name": "Goal", "description": "x"})
    assert command_problems({"name": "goal", "description": "x" * 101})
    many = [{"type": 3, "name": f"o{i}", "description": "x"} for i in range(26)]
    assert command_problems({"name": "goal", "description": "x", "options": many})


class Recorder:
    """Stands in for the client: keeps what a slash callback would send to the core."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    async def answer_command(
        self, interaction: Any, name: str, text: str = "", args: Any = None, **_: Any
    ) -> None:
        """Record the command instead of asking a core."""
        self.sent.append((name, text, dict(args or {})))


class FakeInteraction:
    """Just enough of an interaction for a command callback."""

    def __init__(self, client: Recorder) -> None:
        self.client = client


@pytest.mark.parametrize(
    ("path", "options", "text", "args"),
    [
        # ID and WORD
        (("goal", "progress"), {"goal": 3, "percent": "50"}, "progress 3 50", None),
        # ID and INT
        (("goal", "tick"), {"goal": 3, "milestone": 2}, "tick 3 2", None),
        # INT and TEXT (free text travels in `text` for the safety screen)
        (("mood", ""), {"score": 2, "note": "tired before exams"}, "2 tired before exams", None),
        # TEXT alone, optional INT left out: every argument is named, "" when not given
        (("mood", ""), {"note": "ok"}, "ok", {"score": "", "note": "ok"}),
        # EMAIL and TEXT
        (
            ("note", ""),
            {"email": "dana@example.edu", "text": "Call"},
            "dana@example.edu Call",
            None,
        ),
        # a word family: the words as typed
        (("schedule", "add"), {"details": "mon 09:00"}, "add mon 09:00", None),
    ],
)
async def test_a_discord_option_round_trip_makes_the_core_inbound(
    path: tuple[str, str], options: dict[str, Any], text: str, args: dict[str, str] | None
) -> None:
    """A slash command's options become `name`, typed `text` and named `args` for the core."""
    name, sub = path
    [command] = [c for c in REGISTRY.families[name] if c.sub == sub]
    _, built = discord_tree()
    recorder = Recorder()
    callback: Any = discord_command(built, command).callback
    await callback(FakeInteraction(recorder), **options)
    [(sent_name, sent_text, sent_args)] = recorder.sent
    assert (sent_name, sent_text) == (name, text)
    expected = args or {k: str(v) for k, v in options.items()}
    assert sent_args == expected
    assert pick_variant(REGISTRY.families[name], sent_text)[0] is command


@pytest.mark.parametrize("command", REGISTRY.commands, ids=command_id)
def test_slack_and_the_console_reach_every_command(command: Command) -> None:
    """`/mentor NAME SUB ...` (Slack) and `/NAME SUB ...` (console) pick the same variant."""
    typed = command_id(command)
    family = REGISTRY.family(command.name)
    assert family is not None
    # Slack: the core's hints name the command as a /mentor subcommand.
    assert slack_commands(f"/{typed}") == f"/mentor {typed}"
    # Console: the typed command goes to the core unchanged.
    chat = ConsoleChat(None, None, ConsoleMessenger(io.StringIO()), "a@x", io.StringIO())  # type: ignore[arg-type]
    inbound = chat.inbound_for(f"/{typed}")
    assert isinstance(inbound, Inbound) and inbound.kind == "command"
    assert inbound.name == command.name
    assert pick_variant(family, inbound.text)[0] is command


@pytest.mark.parametrize("role", EVERYONE)
def test_help_lists_exactly_what_each_role_may_run(role: str) -> None:
    """A role's generated help has one row per command it may run, and no other."""
    rows = [row.usage for row in REGISTRY.help_rows(role)]
    assert rows == [c.usage for c in REGISTRY.commands if role in c.roles]


def test_an_admins_help_includes_schedule() -> None:
    """Admins see /schedule in their help."""
    assert any(row.usage.startswith("/schedule") for row in REGISTRY.help_rows(ADMIN))
