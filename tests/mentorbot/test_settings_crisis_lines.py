"""CRISIS_LINES_FILE: an operator's own crisis lines, checked at start like the shipped ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import DEFAULT_CRISIS_LINES
from mentorbot.settings import Settings

CAMPUS = """
version: 1
countries:
  IE:
    name: Ireland (our campus)
    lines:
      - kind: crisis
        name: Campus Crisis Line
        contact: Call 0100 200 300 (24/7)
        languages: [en, ga]
        sources:
          - https://example.edu/crisis
        source_kind: service
        checked: 2026-12-01
      - kind: emergency
        name: Emergency services
        contact: Call 112
        languages: []
        sources:
          - https://example.org/112
        source_kind: government
        checked: 2026-12-01
"""


def settings_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> Settings:
    """Settings whose CRISIS_LINES_FILE holds `text`."""
    path = tmp_path / "crisis_lines.yaml"
    path.write_text(text)
    monkeypatch.setenv("CRISIS_LINES_FILE", str(path))
    return Settings(env_file=None)


def test_operator_file_replaces_a_country_in_the_core_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator's Irish lines reach the core; other countries keep the shipped lines."""
    core = settings_with(tmp_path, monkeypatch, CAMPUS).core()
    assert core.crisis_lines["IE"][0].name == "Campus Crisis Line"
    assert core.crisis_lines["IN"] == DEFAULT_CRISIS_LINES["IN"]


def test_operator_file_without_an_emergency_number_stops_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose country has no emergency number is a settings error naming the setting."""
    broken = CAMPUS.split("      - kind: emergency")[0]
    with pytest.raises(ValidationError, match="CRISIS_LINES_FILE"):
        settings_with(tmp_path, monkeypatch, broken)


def test_missing_operator_file_stops_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CRISIS_LINES_FILE that does not exist is refused at start."""
    monkeypatch.setenv("CRISIS_LINES_FILE", str(tmp_path / "nowhere.yaml"))
    with pytest.raises(ValidationError, match="cannot be read"):
        Settings(env_file=None)


def test_without_the_setting_the_shipped_lines_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CRISIS_LINES_FILE: the core gets exactly the shipped lines."""
    monkeypatch.delenv("CRISIS_LINES_FILE", raising=False)
    assert Settings(env_file=None).core().crisis_lines == DEFAULT_CRISIS_LINES
