"""The screen against a labelled set of realistic student messages.

`labelled_phrases.csv` (columns text,label) holds phrases written for this project, the way
students write: plain, indirect, misspelt, slang, leetspeak, spaced, zero-width and
homoglyph disguises, Spanish and French, everyday hyperbole and ordinary messages. Labels:
crisis, concern, benign_hyperbole, benign_everyday.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from bot.safety import Assessment, Screen, load_rules

LABELLED = Path(__file__).with_name("labelled_phrases.csv")
LABELS = ("crisis", "concern", "benign_hyperbole", "benign_everyday")

MIN_CRISIS_RECALL = 0.98
MAX_FALSE_CRISIS = 0.05
MIN_CONCERN_CAUGHT = 0.90


def load() -> list[tuple[str, str]]:
    with LABELLED.open(encoding="utf-8", newline="") as handle:
        return [(row["text"], row["label"]) for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def results() -> list[tuple[str, str, Assessment]]:
    screen = Screen(load_rules())
    return [(text, label, screen.assess(text)) for text, label in load()]


def test_set_is_big_and_well_formed() -> None:
    """At least 300 distinct phrases, valid labels, and enough of each kind."""
    rows = load()
    counts = Counter(label for _, label in rows)
    assert set(counts) <= set(LABELS)
    assert len(rows) >= 300
    assert len({text for text, _ in rows}) == len(rows)
    assert counts["crisis"] >= 100
    assert counts["concern"] >= 60
    assert counts["benign_hyperbole"] >= 70
    assert counts["benign_everyday"] >= 70


def test_recall_and_false_crisis_rate(
    results: list[tuple[str, str, Assessment]], record_property: pytest.RecordProperty
) -> None:
    """Crisis recall >= 0.98, benign false-crisis <= 0.05, concern caught >= 0.90 (printed)."""
    crisis = [a for _, label, a in results if label == "crisis"]
    concern = [a for _, label, a in results if label == "concern"]
    benign = [a for _, label, a in results if label.startswith("benign")]
    recall = sum(a.level == "crisis" for a in crisis) / len(crisis)
    false_crisis = sum(a.level == "crisis" for a in benign) / len(benign)
    concern_caught = sum(a.at_least("concern") for a in concern) / len(concern)
    benign_flagged = sum(a.at_least("concern") for a in benign) / len(benign)

    figures = {
        "crisis_recall": round(recall, 4),
        "benign_false_crisis_rate": round(false_crisis, 4),
        "concern_at_least_concern": round(concern_caught, 4),
        "benign_flagged_concern_or_more": round(benign_flagged, 4),
    }
    for name, value in figures.items():
        record_property(name, value)
    print(
        f"\nlabelled set: {len(results)} phrases; "
        f"crisis recall {recall:.3f} ({len(crisis)} crisis), "
        f"benign false-crisis {false_crisis:.3f} ({len(benign)} benign), "
        f"concern caught {concern_caught:.3f} ({len(concern)} concern), "
        f"benign flagged as concern or more {benign_flagged:.3f}"
    )

    missed = [text for text, label, a in results if label == "crisis" and a.level != "crisis"]
    false_alarms = [
        text for text, label, a in results if label.startswith("benign") and a.level == "crisis"
    ]
    assert recall >= MIN_CRISIS_RECALL, f"missed crises: {missed}"
    assert false_crisis <= MAX_FALSE_CRISIS, f"false crises: {false_alarms}"
    assert concern_caught >= MIN_CONCERN_CAUGHT


def test_no_crisis_phrase_is_assessed_none(
    results: list[tuple[str, str, Assessment]],
) -> None:
    """Every crisis phrase reaches at least concern: nothing labelled crisis is "none"."""
    silent = [text for text, label, a in results if label == "crisis" and a.level == "none"]
    assert silent == []
