"""Captured Discord payload shapes decode into the core's form fields and actions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.client import modal_values
from adapters.discord.custom_ids import decode_action, decode_form

PAYLOADS = Path(__file__).parent / "payloads"


def load(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("modal_submit_action_rows.json", {"title": "Finish the essay draft", "due": ""}),
        ("modal_submit_labels.json", {"title": "Read two papers", "due": "2026-12-01"}),
    ],
)
def test_modal_submit_fields_in_both_layouts(name: str, expected: dict[str, str]) -> None:
    """Text inputs are found in action rows (classic) and in labels (newer modal layout)."""
    data = load(name)
    assert decode_form(data["custom_id"]) == "goal.add"
    assert modal_values(data) == expected


def test_button_press_in_a_dm_decodes_to_the_checkin_action() -> None:
    """A DM button press names the action and its args; every button on the message does too."""
    payload = load("button_press_dm.json")
    assert decode_action(payload["data"]["custom_id"]) == (
        "checkin.mood",
        {"checkin": "42", "score": "4"},
    )
    ids = [c["custom_id"] for row in payload["message"]["components"] for c in row["components"]]
    assert [decode_action(i)[0] for i in ids] == ["checkin.mood", "checkin.mood", "checkin.skip"]  # type: ignore[index]
