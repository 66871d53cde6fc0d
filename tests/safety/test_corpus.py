"""The evaluation corpus: every file well formed, and the screen's floors on it (issue 12).

The floors on the test set are the one place the suite asserts a figure: a regression there
is a safety bug. The test set is never opened for tuning; the lead pins its SHA-256 here.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from bot.safety import Assessment, assess
from bot.safety.corpus import RISK_CODES, CorpusError, evaluate, load_corpus, parse_line
from tests.safety.conftest import CORPUS, DEV_SETS, corpus_files

# Floors on the held-out test set (issue 12).
TEST_MIN_CRISIS_RECALL = 0.98
TEST_MAX_FALSE_CRISIS = 0.03
# Floors reached on the English dev set; raise them as the screen improves, never lower.
DEV_EN_MIN_CRISIS_RECALL = 0.97
DEV_EN_MIN_CONCERN_RECALL = 0.90
DEV_EN_MAX_FALSE_CRISIS = 0.03
DEV_EN_MIN_SIZE = 700
MIN_HARD_NEGATIVES = 0.40


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_every_corpus_file_follows_the_format(path: Path) -> None:
    """Each line parses, with a known label, category and language, and no text repeats."""
    items = load_corpus(path)
    assert items, f"{path.name} is empty"
    repeated = [t for t, n in Counter(i.text for i in items).items() if n > 1]
    assert not repeated, f"{path.name} repeats {repeated[:3]}"


def test_the_english_dev_set_is_large_and_honest() -> None:
    """At least 700 English messages, 40% or more of them hard negatives, every category."""
    items = load_corpus(DEV_SETS / "en.jsonl")
    assert len(items) >= DEV_EN_MIN_SIZE
    assert sum(i.label == "none" for i in items) / len(items) >= MIN_HARD_NEGATIVES
    assert {i.lang for i in items} == {"en"}
    categories = {i.category for i in items if i.label != "none"}
    assert categories == set(RISK_CODES)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("not json", "not JSON"),
        ('{"text": "hi", "label": "none", "category": "everyday"}', "keys"),
        ('{"text": "", "label": "none", "category": "everyday", "lang": "en"}', "text"),
        ('{"text": "x", "label": "panic", "category": "everyday", "lang": "en"}', "label"),
        ('{"text": "x", "label": "crisis", "category": "hyperbole", "lang": "en"}', "category"),
        ('{"text": "x", "label": "none", "category": "self_harm", "lang": "en"}', "category"),
        ('{"text": "x", "label": "none", "category": "news", "lang": "xx"}', "lang"),
    ],
)
def test_a_malformed_line_is_named_with_its_problem(line: str, problem: str) -> None:
    """The loader rejects a bad line and says which file, line and field."""
    with pytest.raises(CorpusError, match=problem) as caught:
        parse_line(line, "dev.jsonl:7")
    assert "dev.jsonl:7" in str(caught.value)


def test_evaluate_counts_recall_and_false_alarms() -> None:
    """Scoring: crisis needs crisis, concern needs concern or more, benign counts alarms."""
    lines = [
        {"text": "a", "label": "crisis", "category": "self_harm", "lang": "en"},
        {"text": "b", "label": "crisis", "category": "self_harm", "lang": "en"},
        {"text": "c", "label": "concern", "category": "isolation", "lang": "es"},
        {"text": "d", "label": "none", "category": "news", "lang": "en"},
        {"text": "e", "label": "none", "category": "news", "lang": "en"},
    ]
    items = [parse_line(json.dumps(line), f"x:{n}") for n, line in enumerate(lines)]
    verdicts = {"a": "crisis", "b": "concern", "c": "crisis", "d": "crisis", "e": "concern"}
    result = evaluate(items, lambda text: Assessment(verdicts[text]))  # type: ignore[arg-type]
    assert result.crisis_recall == 0.5
    assert result.concern_recall == 1.0
    assert (result.false_crisis_rate, result.false_concern_rate) == (0.5, 0.5)
    assert result.by_category["self_harm"].right == 1
    assert result.by_language["es"]["concern"].right == 1
    assert len(result.misses) == 3


def test_floors_on_the_english_dev_set() -> None:
    """The English dev set: crisis recall, concern recall and false crisis at the floors reached."""
    result = evaluate(load_corpus(DEV_SETS / "en.jsonl"), assess)
    assert result.crisis_recall >= DEV_EN_MIN_CRISIS_RECALL, result.as_dict()
    assert result.concern_recall >= DEV_EN_MIN_CONCERN_RECALL, result.as_dict()
    assert result.false_crisis_rate <= DEV_EN_MAX_FALSE_CRISIS, result.as_dict()


# The held-out sets are pinned: a change to them shows here, in review.
HELD_OUT_SHA256 = {
    "test.jsonl": "56c138972c9599fed54f7b4cbf84d1727a12f5afe6b8bac946645592eee4649e",
    "test_social.jsonl": "c153d7e2a740238e47ae09e97a1ae5f24aa3c472f65610482f876075eed10c85",
}
# What the screen reached on each held-out set when last measured (never tuned on). 2026-12-07,
# English rules plus 14 language packs: test 0.6185 / 0.0467, social 0.6024 / 0.0221; then
# with the learned model (bot/safety/model.py, trained on dev only), measured once: test
# 0.6422 / 0.0491, social 0.6728 / 0.0245. The same day the model's features became presence
# instead of counts, because repetition alone ("and on and on ..." 300 times) scored as a
# crisis: test 0.6351 / 0.0479, social 0.6636 / 0.0221. That one lowering is deliberate (a
# false urgent alert on nonsense is a defect too); otherwise falling below is a safety
# regression. Raise these as the screen improves; never lower them to make a change pass.
# 2026-12-07, later: second dev batches in all 15 languages (8,387 dev items), the packs'
# rules written from them and the model retrained on them: test 0.7405 / 0.0386, social
# 0.7492 / 0.0270. That model raised a repeated-filler message and one-word command arguments
# to concern, so filler (en-filler.jsonl) and command arguments (en-commands.jsonl) joined the
# English dev set, the model needs at least three distinct words (MIN_EVIDENCE), and it was
# retrained: test 0.7405 / 0.0386, social 0.7462 / 0.0270. Each step was chosen for its
# dev-side reason (a false alert on nonsense), never on these figures.
# 2026-12-07, evening: third dev batches (en, fr, de, ar, ar-Latn, hi-Latn; 10,353 dev items)
# weighted to threats and plans, rules for all but hi-Latn, the engine's speed-ups (same
# decisions), model retrained once: test 0.7571 / 0.0386, social 0.7554 / 0.0270. That model
# raised '/pairing avoid not-an-email' to a concern alert (caught by the bad-input tests in the
# fresh-clone CI run), so 40 mistyped command arguments joined en-commands.jsonl and it was
# retrained: test 0.7559 / 0.0386 (one crisis item fewer, concern 0.8312 -> 0.8344), social
# 0.7554 / 0.0270. Chosen for its dev-side reason (a false alert on a typo), not these figures.
REGRESSION_FLOORS = {
    # name: (minimum crisis recall, maximum benign false-crisis rate)
    "test.jsonl": (0.755, 0.04),
    "test_social.jsonl": (0.755, 0.03),
}


def _held_out_figures(path: Path) -> dict[str, object]:
    """Figures only: the messages and misses of a held-out set are never printed."""
    return evaluate(load_corpus(path), assess).as_dict()


@pytest.mark.parametrize("name", sorted(HELD_OUT_SHA256))
def test_held_out_sets_are_unchanged(name: str) -> None:
    """The held-out files are exactly the ones written before the screen and pinned here."""
    digest = hashlib.sha256((CORPUS / name).read_bytes()).hexdigest()
    assert digest == HELD_OUT_SHA256[name], f"{name} changed: held-out sets are never edited"


@pytest.mark.parametrize("name", sorted(REGRESSION_FLOORS))
def test_held_out_sets_do_not_regress(name: str) -> None:
    """Each held-out set stays at or above the figures the screen reached when last measured."""
    figures = _held_out_figures(CORPUS / name)
    recall, false_crisis = figures["crisis_recall"], figures["benign_false_crisis_rate"]
    assert isinstance(recall, float) and isinstance(false_crisis, float)
    min_recall, max_false_crisis = REGRESSION_FLOORS[name]
    ok = recall >= min_recall and false_crisis <= max_false_crisis
    assert ok, f"safety screen regressed on {name}: {figures}"


@pytest.mark.xfail(
    strict=True,
    reason="issue 12 is open: the rules fall short of these floors on unseen wording; when "
    "this passes, strict xfail fails the run so that the marker goes and the floor stays",
)
def test_floors_on_the_test_set(test_set: Path) -> None:
    """The held-out test set: crisis recall >= 0.98 and benign false crisis <= 0.03."""
    figures = _held_out_figures(test_set)
    recall, false_crisis = figures["crisis_recall"], figures["benign_false_crisis_rate"]
    assert isinstance(recall, float) and isinstance(false_crisis, float)
    ok = recall >= TEST_MIN_CRISIS_RECALL and false_crisis <= TEST_MAX_FALSE_CRISIS
    assert ok, f"below the issue's floors: {figures}"
