"""docs/deploy.md: every `mentorbot` command it shows exists, every setting is documented."""

from __future__ import annotations

import re
import shlex

import pytest

from mentorbot.cli import build_parser
from tests.deploy.conftest import ROOT

DOC = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def commands() -> list[list[str]]:
    """The argument lists of every `mentorbot ...` command line in the guide."""
    found = []
    pattern = r"(?:^|[\s`/])mentorbot ((?:run|db|demo|keys|health|alerts|export)\b[^\n`]*)"
    for match in re.finditer(pattern, DOC):
        words = shlex.split(match.group(1).split(" #")[0].replace("$(date +%F)", "DATE"))
        found.append(words)
    return found


def test_the_guide_shows_the_operator_commands() -> None:
    """The commands an operator needs are all in the guide."""
    shown = {" ".join(words[:2]) for words in commands()}
    for needed in ("db backup", "db upgrade", "keys generate", "keys rotate", "demo seed"):
        assert needed in shown, needed


@pytest.mark.parametrize("words", commands(), ids=" ".join)
def test_every_command_in_the_guide_parses(words: list[str]) -> None:
    """The CLI accepts each command exactly as the guide writes it."""
    args = build_parser().parse_args(words)
    assert callable(args.func)


def test_every_setting_named_in_the_guide_is_in_env_example() -> None:
    """An operator can find each setting the guide mentions in .env.example."""
    documented = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    named = set(re.findall(r"`([A-Z][A-Z0-9_]{3,})(?:=[^`]*)?`", DOC))
    not_settings = {"INFO", "HEALTHCHECK", "WARNING", "ERROR", "DEBUG"}
    assert named - not_settings - documented == set()
