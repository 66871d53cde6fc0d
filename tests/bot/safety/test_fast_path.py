"""The screen's shortcuts never change a decision: compared with a plain reference screen.

The reference runs every English rule pattern over every variant with no anchor pre-filter,
every rule of each language pack over the whole text with no literal pre-filter, and scores
the learned model window by window without any shared work. The shipped screen must reach
the same level and the same categories on every development item, on every rule's and
pack's examples and counter-examples, and on long messages built from the corpus.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import bot.safety.lang as lang_module
import bot.safety.screen as screen_module
from bot.safety import Screen, load_rules
from bot.safety.corpus import load_folder
from bot.safety.features import Features, featurise
from bot.safety.lang import packs, screen_languages
from bot.safety.lang.prefilter import literals_in
from bot.safety.model import Model, Scores, default_model
from bot.safety.normalise import normalise, variants
from bot.safety.rules import Level

DEV_SETS = Path(__file__).resolve().parents[2] / "safety" / "corpus" / "dev"


class _ReferenceModel(Model):
    """The shipped weights, scored window by window with plain numpy (no shared work)."""

    def scores_of(self, features: Features) -> Scores:
        """Each head's best score over the message and its sentences, computed directly."""
        windows = [(0, features.length), *features.sentences]
        firsts: dict[int, int] = {}
        for bucket, start in zip(features.buckets.tolist(), features.starts.tolist(), strict=True):
            firsts.setdefault(bucket, start)
        buckets = np.fromiter(firsts.keys(), dtype=np.intp, count=len(firsts))
        starts = np.fromiter(firsts.values(), dtype=np.intp, count=len(firsts))
        best: list[float] = []
        for weights in (self.crisis_weights, self.concern_weights):
            values = weights[buckets].astype(np.float64)
            scores = []
            for low, high in windows:
                inside = (starts >= low) & (starts < high)
                number = int(inside.sum())
                scores.append(float(values[inside].sum()) / np.sqrt(number) if number else 0.0)
            best.append(max(scores))
        crisis = self.crisis_bias + best[0]
        concern = self.concern_bias + best[1]
        level: Level = "none"
        if crisis >= self.crisis_threshold:
            level = "crisis"
        elif concern >= self.concern_threshold:
            level = "concern"
        return Scores(crisis, concern, level)


class _ReferenceScreen(Screen):
    """Every English pattern tried over the whole of every variant (no anchor pre-filter)."""

    def _fire(
        self,
        text: str,
        *,
        gated: bool = True,
        crisis_only: bool = False,
        forms: tuple[str, ...] | None = None,
    ) -> dict[int, str]:
        return super()._fire(text, gated=False, crisis_only=crisis_only, forms=forms)


RULES = load_rules()
_MODEL = default_model()
FAST = Screen(RULES)
REFERENCE = _ReferenceScreen(
    RULES,
    model=_ReferenceModel(**{f.name: getattr(_MODEL, f.name) for f in dataclasses.fields(_MODEL)}),
)


def _dev_texts() -> list[str]:
    return [item.text for item in load_folder(sorted(DEV_SETS.glob("*.jsonl")))]


def _example_texts() -> Iterator[str]:
    for rule in RULES:
        yield from rule.examples
        yield from rule.counter_examples
    for pack in packs():
        yield from (text for text, _ in pack.examples)
        yield from pack.counter_examples


def _long_texts(pool: list[str], size: int, count: int) -> list[str]:
    """Messages of `size` characters, corpus text after corpus text (like `bench safety`)."""
    rng = random.Random(size * 7 + count)
    built: list[str] = []
    for _ in range(count):
        parts: list[str] = []
        while sum(len(p) + 2 for p in parts) < size:
            parts.append(rng.choice(pool))
        built.append(". ".join(parts)[:size])
    return built


def _decisions(
    screen: Screen, texts: list[str], *, gated: bool
) -> list[tuple[str, tuple[str, ...]]]:
    reference_languages = functools.partial(screen_languages, gated=False)
    with pytest.MonkeyPatch.context() as patch:
        if not gated:
            patch.setattr(screen_module, "screen_languages", reference_languages)
        return [
            (found.level, tuple(found.categories))
            for found in (screen.assess(text) for text in texts)
        ]


def _assert_same(texts: list[str]) -> None:
    fast = _decisions(FAST, texts, gated=True)
    reference = _decisions(REFERENCE, texts, gated=False)
    different = [i for i, (a, b) in enumerate(zip(fast, reference, strict=True)) if a != b]
    # Indexes only: a dev text may be a student's words in all but name.
    assert not different, f"{len(different)} decisions differ, first at item {different[:5]}"


def test_fast_screen_decides_like_the_reference_on_the_dev_sets() -> None:
    """Every development item gets the same level and categories with or without shortcuts."""
    _assert_same(_dev_texts())


def test_fast_screen_decides_like_the_reference_on_rule_examples() -> None:
    """Every English rule's and language pack's examples and counter-examples agree too."""
    _assert_same(list(_example_texts()))


@pytest.mark.parametrize(("size", "count"), [(280, 150), (4000, 25)])
def test_fast_screen_decides_like_the_reference_on_long_messages(size: int, count: int) -> None:
    """Messages of 280 and 4,000 characters built from the corpus get the same decisions."""
    _assert_same(_long_texts(_dev_texts(), size, count))


def test_reference_model_scores_like_the_shipped_one() -> None:
    """The reference model's scores match the shared-work ones (so the comparison is fair)."""
    for text in _long_texts(_dev_texts(), 600, 20):
        fast = _MODEL.scores(text)
        slow = REFERENCE.model.scores(text) if REFERENCE.model is not None else fast
        assert fast.level == slow.level
        assert fast.crisis == pytest.approx(slow.crisis, abs=1e-9)
        assert fast.concern == pytest.approx(slow.concern, abs=1e-9)


def _plain_only_framed(screen: Screen, text: str) -> bool:
    """The framing check in its plain form: every sentence in order, no hints, no sharing."""
    if not any(screen_module._FRAME.search(form) for form in variants(text)):
        return False
    framed: list[str] = []
    for sentence in screen_module._SENTENCES.split(text):
        if not sentence.strip():
            continue
        forms = variants(sentence)
        if (
            any(screen_module._FRAME.search(f) for f in forms)
            and not any(screen_module._OWNED.search(f) for f in forms)
            and not screen._said_in_first_person(forms)
        ):
            framed.append(sentence)
        elif screen._any_crisis(sentence, forms):
            return False
    return any(screen._any_crisis(sentence) for sentence in framed)


def _plain_excerpt(text: str, matched: list[str], sentences: list[str]) -> str:
    """The excerpt in its plain form: every sentence decoded, the first three chosen kept."""
    chosen: dict[str, None] = dict.fromkeys(sentences)
    if matched:
        parts = [part.strip() for part in screen_module._SENTENCES.split(text) if part.strip()]
        if len(parts) == 1:
            chosen[parts[0]] = None
        else:
            for part in parts:
                if any(hit in form for hit in matched for form in variants(part)):
                    chosen[part] = None
    if not chosen:
        return screen_module._clip(text.strip())
    return screen_module._clip(" … ".join(list(chosen)[: screen_module._MAX_EXCERPT_SENTENCES]))


def _framing_texts() -> list[str]:
    dev = _dev_texts()
    framed = [text for text in dev if screen_module._FRAME.search(normalise(text))]
    # Long messages mixing framed and unframed sentences, crisis and not, in every order.
    return framed + _long_texts(dev, 1200, 40) + _long_texts(framed + dev[:400], 1500, 40)


def test_framing_check_answers_like_its_plain_form() -> None:
    """Checking hinted sentences first gives the same answer as checking them in order."""
    different = []
    for index, text in enumerate(_framing_texts()):
        forms = variants(text)
        hints = [
            matched
            for rule, matched in FAST._fire(text, forms=forms).items()
            if FAST.rules[rule].level == "crisis"
        ]
        if FAST._only_framed(text, variants, hints) != _plain_only_framed(FAST, text):
            different.append(index)
    assert not different, f"{len(different)} differ, first at {different[:5]}"


def test_excerpt_is_the_one_every_sentence_decoded_would_give() -> None:
    """Stopping at the third chosen sentence shows the same excerpt as reading them all."""
    different = []
    for index, text in enumerate(_framing_texts() + _long_texts(_dev_texts(), 4000, 20)):
        found = FAST.assess_rules(text)
        matched = [
            hit for rule, hit in FAST._fire(text).items() if FAST.rules[rule].level == found.level
        ]
        sentences = [f.sentence for f in screen_languages(text) if f.level == found.level]
        if found.level == "none":
            continue
        if found.excerpt != _plain_excerpt(text, matched, sentences):
            different.append(index)
    assert not different, f"{len(different)} differ, first at {different[:5]}"


def test_first_occurrences_match_numpy_unique() -> None:
    """The model's distinct features and first positions are exactly `np.unique`'s."""
    for text in [*_long_texts(_dev_texts(), 4000, 10), "", "a", "no"]:
        features = featurise(text)
        ids, first = np.unique(features.buckets, return_index=True)
        buckets, starts = features._first_occurrences
        assert np.array_equal(buckets, ids)
        assert np.array_equal(starts, features.starts[first])


def _pack_texts() -> list[str]:
    dev = _dev_texts()
    return [*dev, *_long_texts(dev, 280, 100), *_long_texts(dev, 4000, 20)]


def test_weak_literal_gates_never_skip_a_rule_that_matches() -> None:
    """A pack rule skipped because its short literals are absent has no match to find."""
    missed: list[tuple[str, int, int]] = []
    for group in lang_module._groups():
        lead = packs()[group.members[0]]
        norms = [lead.normalise(text) for text in _pack_texts()]
        for member in group.members:
            pack = packs()[member]
            for index, gate in pack.rule_filter.weak_gates.items():
                pattern = pack.rules[index].pattern
                missed.extend(
                    (pack.code, index, at)
                    for at, norm in enumerate(norms)
                    if gate.search(norm) is None and pattern.search(norm) is not None
                )
    assert not missed, f"{len(missed)} skipped rules match, first {missed[:5]}"


_Places = list[tuple[int, int]]


def _plain_candidates(group: lang_module._Group, norm: str) -> dict[int, dict[int, _Places]]:
    """Each literal place credited to its rules one at a time, in the order found."""
    found: dict[int, dict[int, _Places]] = {}
    if group.gate is None:
        return found
    for first, last, literal in literals_in(group.gate, norm):
        for member, rules in group.by_literal[literal]:
            for index in rules:
                found.setdefault(member, {}).setdefault(index, []).append((first, last))
    return found


def test_group_candidates_are_the_plain_loops() -> None:
    """Gathering each literal's places first names the same rules with the same places."""
    different = []
    for group in lang_module._groups():
        lead = packs()[group.members[0]]
        for at, text in enumerate(_pack_texts()):
            norm = lead.normalise(text)
            fast = {
                member: {index: sorted(spans or ()) for index, spans in rules.items()}
                for member, rules in group.candidates(norm).items()
            }
            plain = {
                member: {index: sorted(spans) for index, spans in rules.items()}
                for member, rules in _plain_candidates(group, norm).items()
            }
            if fast != plain:
                different.append((lead.code, at))
    assert not different, f"{len(different)} differ, first {different[:5]}"


def _plain_pack_normalise(text: str, *, fold_accents: bool, join_wide: bool) -> str:
    """A pack's normalisation without its shortcuts (every step on every text)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = lang_module._INVISIBLE.sub("", text)
    text = lang_module._APOSTROPHES.sub("", text)
    if fold_accents:
        decomposed = unicodedata.normalize("NFD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        text = text.replace("ı", "i").replace("đ", "d").replace("ß", "ss")
        text = text.translate(lang_module._ARABIC_FOLD)
    text = lang_module._SPACES.sub(" ", text).strip()
    text = lang_module._STRETCHED.sub(r"\1", text)
    if join_wide:
        text = lang_module._SPACE_BETWEEN_WIDE.sub("", text)
    return text


def test_pack_normalise_is_its_plain_form() -> None:
    """Skipping the accent fold on ASCII and the stretch pass without a triple changes nothing."""
    stretched = ["x" * 600 + " nooooo", "a" * 700 + "\n\n\n" + "b", "ok " * 300 + "ééé!!!"]
    different = []
    for at, text in enumerate([*_pack_texts(), *stretched]):
        for fold, join in ((True, False), (False, True), (False, False)):
            fast = lang_module.normalise(text, fold_accents=fold, join_wide=join)
            if fast != _plain_pack_normalise(text, fold_accents=fold, join_wide=join):
                different.append(at)
    # Indexes only: a dev text may be a student's words in all but name.
    assert not different, f"{len(different)} differ, first at {different[:5]}"


def test_requirement_table_chooses_the_patterns_the_word_walk_does() -> None:
    """Long or short, the numpy table and the word-by-word walk name the same patterns."""
    dev = _dev_texts()
    different = []
    for at, text in enumerate([*dev, *_long_texts(dev, 1000, 50), *_long_texts(dev, 4000, 20)]):
        for form in variants(text):
            positions = FAST._positions(form)
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(screen_module, "_TABLE_FROM", 10**9)
                walked = [pattern.order for pattern in FAST._candidates(positions)]
                patch.setattr(screen_module, "_TABLE_FROM", 0)
                tabled = [pattern.order for pattern in FAST._candidates(positions)]
            if walked != tabled:
                different.append(at)
    assert not different, f"{len(different)} differ, first at {different[:5]}"
