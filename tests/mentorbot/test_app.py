"""The composition root: extra safety rules are loaded and checked before the bot starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.safety import RuleFileError
from mentorbot.app import build_screen
from mentorbot.settings import Settings

GOOD_RULE = """
rules:
  - id: concern.placement.unbearable
    level: concern
    category: placement
    patterns:
      - '\\bplacement (?:is|has been) (?:awful|unbearable)\\b'
    examples:
      - "my placement is unbearable"
    counter_examples:
      - "my placement is going fine"
"""


def settings_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rules: str) -> Settings:
    path = tmp_path / "extra.yaml"
    path.write_text(rules)
    monkeypatch.setenv("SAFETY_EXTRA_RULES", str(path))
    return Settings(env_file=None)


def test_extra_rule_file_extends_the_screen(tmp_path, monkeypatch) -> None:
    """A programme's own rule is screened on top of the built-in rules."""
    screen = build_screen(settings_with(tmp_path, monkeypatch, GOOD_RULE))
    assert screen.assess("honestly my placement is unbearable").level == "concern"
    assert screen.assess("I want to kill myself").level == "crisis"


def test_rule_failing_its_own_examples_stops_start(tmp_path, monkeypatch) -> None:
    """A rule whose example does not match refuses to load rather than screen wrongly."""
    broken = GOOD_RULE.replace('"my placement is unbearable"', '"my placement is great"')
    with pytest.raises(RuleFileError):
        build_screen(settings_with(tmp_path, monkeypatch, broken))


def test_no_extra_files_uses_builtin_screen(monkeypatch) -> None:
    """Without SAFETY_EXTRA_RULES the built-in screen is used."""
    monkeypatch.delenv("SAFETY_EXTRA_RULES", raising=False)
    screen = build_screen(Settings(env_file=None))
    assert screen.assess("I'd die for a coffee").level != "crisis"
