"""The learned part of the screen: it only raises, its weights load offline, training repeats."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.safety import default_screen
from bot.safety.features import MIN_EVIDENCE, evidence_of, featurise, model_text
from bot.safety.model import MODEL_FILE, Model, ModelError, default_model, load_model
from bot.safety.screen import FRAMED, Screen
from bot.safety.taxonomy import level_of
from bot.safety.train import DEV_SETS, train, training_hash

# Words that make the rules and the model both busy: risk words, hard-negative frames,
# negations, other scripts, leetspeak.
_WORDS = (
    "i", "want", "to", "die", "kill", "myself", "not", "never", "essay", "film", "about",
    "exam", "killing", "me", "lol", "jk", "k1ll", "sewerslide", "unalive", "pills", "saving",
    "goodbye", "everyone", "better", "off", "without", "hurts", "dad", "home", "unsafe",
    "hopeless", "tired", "of", "living", ".", "!", "😂", "😭", "morir", "quiero", "sterben",
    "死にたい", "想死", "마음", "хочу", "умереть", "मरना", "boss", "game", "roommate", "cuts",
)  # fmt: skip


@pytest.fixture(scope="module")
def model() -> Model:
    """The shipped weights."""
    return default_model()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=300),
        st.lists(st.sampled_from(_WORDS), max_size=40).map(" ".join),
    )
)
def test_the_model_never_lowers_what_the_rules_decided(text: str) -> None:
    """level(rules + model) >= level(rules) on any text; a raise names the model first."""
    screen = default_screen()
    rules = screen.assess_rules(text)
    both = screen.assess(text)
    assert both.severity >= rules.severity
    if both.severity > rules.severity:
        assert both.reasons[0] == f"model.{both.level}"
        assert level_of(both.categories[0]) == both.level
        assert both.reasons[1:] == rules.reasons
    else:
        assert both == rules


def _always(model: Model, crisis: float, concern: float) -> Model:
    """`model` with its thresholds moved (-inf: every message reaches that level)."""
    return dataclasses.replace(model, crisis_threshold=crisis, concern_threshold=concern)


@pytest.fixture(scope="module")
def eager_screen(model: Model) -> Screen:
    """The built-in rules with a model that calls every message a crisis."""
    return Screen(default_screen().rules, model=_always(model, -math.inf, -math.inf))


def test_a_model_raise_names_a_category_of_its_level_and_the_riskiest_sentence(
    eager_screen: Screen,
) -> None:
    """A raise to crisis puts a crisis category first, says "model.crisis", keeps the words."""
    text = "The bus was late again. The library opens at nine tomorrow"
    found = eager_screen.assess(text)
    assert found.level == "crisis"
    assert found.reasons[0] == "model.crisis"
    assert level_of(found.categories[0]) == "crisis"
    assert found.excerpt in text
    assert found.language == "en"


def test_a_crisis_framed_as_content_is_not_raised_back(eager_screen: Screen) -> None:
    """A film's plot that the rules lowered to concern stays a concern, even for an eager model."""
    text = "my essay is on self harm in adolescents, anyone got good sources?"
    rules = eager_screen.assess_rules(text)
    assert rules.level == "concern" and FRAMED in rules.reasons
    assert eager_screen.assess(text) == rules


def test_a_silent_model_changes_nothing(model: Model) -> None:
    """With thresholds no message reaches, every verdict is exactly the rules' own."""
    quiet = Screen(default_screen().rules, model=_always(model, math.inf, math.inf))
    for text in ("i want to die", "this exam is killing me", "i feel worthless", "hello"):
        assert quiet.assess(text) == quiet.assess_rules(text)


def test_the_shipped_weights_load_offline_and_name_their_training_set() -> None:
    """model.npz reads with numpy alone and records the dev sets it was trained on, no more."""
    loaded = load_model(MODEL_FILE)
    paths = sorted(DEV_SETS.glob("*.jsonl"))
    assert loaded.meta["training_files"] == [path.name for path in paths]
    assert loaded.meta["training_sha256"] == training_hash(paths), (
        "the dev sets changed since the model was trained: run python -m bot.safety.train"
    )
    validation = loaded.meta["cross_validation"]
    assert isinstance(validation, dict)
    # The thresholds were chosen so that the model adds at most 0.5% benign false crisis.
    assert validation["added_false_crisis"] <= 0.005 * validation["benign"]
    # About 2.8 MB at 8,400 dev items, 3.7 MB at 11,400 (more n-grams carry a weight): the
    # bound catches a runaway feature space, not the corpus's steady growth.
    assert MODEL_FILE.stat().st_size < 4_500_000


def test_a_broken_weights_file_is_refused_with_its_name(tmp_path: Path) -> None:
    """A file that is not a model, or lacks arrays, is a ModelError naming the file."""
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"garbage\.npz"):
        load_model(garbage)
    partial = tmp_path / "partial.npz"
    np.savez(partial, buckets=np.zeros(1, dtype=np.uint32))
    with pytest.raises(ModelError, match="missing"):
        load_model(partial)


def test_training_twice_on_the_same_items_gives_the_same_weights(tmp_path: Path) -> None:
    """The trainer is deterministic: a tiny subset trained twice gives identical files."""
    paths = [DEV_SETS / "en.jsonl"]
    rules = default_screen().assess_rules
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    train(paths, first, limit=120, folds=2, rules=rules)
    train(paths, second, limit=120, folds=2, rules=rules)
    with np.load(first) as a, np.load(second) as b:
        assert a.files == b.files
        for name in a.files:
            assert np.array_equal(a[name], b[name]), name
    assert load_model(first).meta["items"] == 120


def test_features_are_the_same_on_every_run_and_read_the_decoded_text() -> None:
    """Hashing is not Python's salted hash; leetspeak and spacing are undone before it."""
    assert model_text("I w@nt to DIE!!") == " i want to die . . "
    features = featurise("k1ll myself")
    assert np.array_equal(features.buckets, featurise("kill myself").buckets)
    # Fixed across processes and machines: the weights file depends on these exact buckets.
    assert featurise("ok").buckets.tolist() == [634906, 636060, 1007627, 444121]
    assert features.buckets.max() < 1 << 20


def test_every_sentence_is_scored_so_a_long_message_does_not_dilute_one(model: Model) -> None:
    """A risky sentence buried in a long benign message scores as it does on its own."""
    risky = "honestly i dont see the point of being here anymore."
    filler = " the bus was late and the lecture ran over and lunch was cold." * 30
    alone = model.scores(risky)
    buried = model.scores(filler + " " + risky + filler)
    assert alone.level == "crisis"
    assert buried.level == "crisis"
    # Close, not equal: a feature counts once, where it first occurs, so words the filler
    # already used (" the ") leave the buried sentence's own score.
    assert abs(buried.crisis - alone.crisis) < 0.6
    assert model.scores(filler + filler).level == "none"


def test_a_lone_surrogate_is_screened_not_a_crash() -> None:
    """Platform JSON can carry a lone surrogate: the model reads it as one more character."""
    found = default_screen().assess("i want to die \ud800 sooo tired")
    assert found.level == "crisis"
    assert featurise("hi \ud800").length == len(model_text("hi \ud800"))


@pytest.mark.parametrize(
    "text",
    [
        "A long win that goes on.\n" + "and on " * 300,
        "and on and on and on",
        "ha " * 500,
        "lol " * 200,
    ],
)
def test_repetition_alone_raises_nothing(text: str) -> None:
    """A word repeated hundreds of times scores as once: nonsense never pages a mentor."""
    assert default_screen().assess(text).level == "none"


@pytest.mark.parametrize("text", ["attend", "every", "y" * 2001, "sam@example.edu 2", "ok ok ok"])
def test_a_word_or_two_is_left_to_the_rules(text: str) -> None:
    """A command argument of one or two words never pages a mentor on the model's say alone."""
    assert default_screen().assess(text).level == "none"


@pytest.mark.parametrize(
    ("text", "enough"),
    [
        ("attend", False),
        ("and on and on", False),
        ("nobody would notice", True),
        ("活着好累", True),  # each wide character counts as a word
        ("想死", False),
    ],
)
def test_evidence_counts_distinct_words_and_wide_characters(text: str, enough: bool) -> None:
    """The model's evidence gate counts distinct words, and CJK characters one by one."""
    assert (evidence_of(model_text(text)) >= MIN_EVIDENCE) is enough


def test_short_crisis_phrases_are_still_caught_by_the_rules() -> None:
    """Below the gate the rules still screen: "kms" and "我想死" are crises."""
    assert default_screen().assess("kms").level == "crisis"
    assert default_screen().assess("我想死").level == "crisis"
