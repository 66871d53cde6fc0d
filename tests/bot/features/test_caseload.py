"""The caseload feature: a mentor's students at a glance."""

from __future__ import annotations

from tests.conftest import Chat, all_messages, text_of


def _sam_line(maya: Chat) -> str:
    [line] = [ln for ln in text_of(maya.send("/mentees")).splitlines() if "Sam Student" in ln]
    return line


def test_the_caseload_shows_the_latest_mood_not_the_last_check_ins(sam: Chat, maya: Chat) -> None:
    """A /mood after a check-in is the mood the mentor sees."""
    checkin = sam.send("/checkin")
    [four] = [
        c for m in all_messages(checkin) for c in m.choices if c.args_dict().get("score") == "4"
    ]
    sam.press(four, checkin)
    sam.send("/mood 2 rough afternoon")
    assert "mood 2/5" in _sam_line(maya)
