"""The taxonomy's words for mentors: labels that match the alert's level (issue 12)."""

from __future__ import annotations

import pytest

from bot.safety.taxonomy import (
    CONCERN_SUFFIX,
    TAXONOMY,
    Category,
    alert_reason,
    label_at,
    render_reason,
    with_category,
)


@pytest.mark.parametrize("category", [c for c, info in TAXONOMY.items() if info.level == "crisis"])
def test_no_crisis_label_reads_bare_on_a_concern_alert(category: Category) -> None:
    """Every crisis-level category on a concern alert is marked as mentioned, not a crisis."""
    rendered = render_reason(alert_reason("concern", [category]))
    assert rendered == TAXONOMY[category].label + CONCERN_SUFFIX


def test_a_crisis_alert_shows_its_labels_as_they_are() -> None:
    """On a crisis alert the labels are the plain ones, concern ones included."""
    reason = alert_reason("crisis", [Category.PASSIVE_DEATH_WISH, Category.LOW_MOOD])
    assert render_reason(reason) == "Wish to be dead; Very low mood"


def test_concern_labels_are_unchanged_on_a_concern_alert() -> None:
    """A concern category reads the same on a concern alert; unknown codes read generically."""
    assert label_at("burden", "concern") == "Feeling a burden"
    assert render_reason("concern:not_a_code") == "Worrying message"


def test_with_category_adds_a_code_once() -> None:
    """A signal's code joins a safety reason once; other reasons are left alone."""
    reason = with_category("crisis:self_harm", Category.LOW_MOOD)
    assert reason == "crisis:self_harm,low_mood"
    assert with_category(reason, Category.LOW_MOOD) == reason
    assert with_category("Mood 2/5", Category.LOW_MOOD) == "Mood 2/5"
