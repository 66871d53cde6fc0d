"""The literal prefilter and windowed search that keep the language packs fast.

They may only ever skip work that cannot find anything: these tests hold the packs' answers
with the prefilter equal to their answers without it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

import bot.safety.lang as lang
from bot.safety.lang import PACK_FOLDER, LanguagePack, load_pack
from bot.safety.lang.prefilter import RuleFilter, build_filter, max_width, required_literals
from bot.safety.taxonomy import Category

CODES = ("es", "fr", "de", "pt", "tr", "ru", "vi")
DEV_FOLDER = Path(__file__).parents[3] / "safety" / "corpus" / "dev"


def _unfiltered(pack: LanguagePack) -> LanguagePack:
    """The same pack with every rule searched over the whole message."""
    everything = RuleFilter(None, None, {}, frozenset(range(len(pack.rules))))
    rules = tuple(dataclasses.replace(rule, width=None) for rule in pack.rules)
    return dataclasses.replace(pack, rule_filter=everything, rules=rules)


def _answers(pack: LanguagePack, text: str) -> set[tuple[str, str, str]]:
    return {(f.category.value, f.level, f.sentence) for f in pack.findings(text)}


def test_required_literals_of_a_plain_word_is_the_word() -> None:
    """A pattern's rare word is what every match must contain."""
    assert required_literals(r"\bsuicid\w{0,30}") == {"suicid"}


def test_short_words_are_multiplied_into_their_neighbours() -> None:
    """Alternatives next to a literal join it, giving rarer literals than either part."""
    assert required_literals(r"\b(?:cat|rach) tay\b") == {"cat tay", "rach tay"}
    assert required_literals(r"\bamig[oa]s?\b") == {"amigo", "amiga"}


def test_a_pattern_with_no_fixed_word_has_no_required_literal() -> None:
    """Nothing can be named for a pattern of bare word classes, so its rule always runs."""
    assert required_literals(r"\w{1,30}") is None
    only_short = build_filter([r"\bno\b", r"\w{1,30} \w{1,30}"])
    assert only_short.gate is None
    assert only_short.candidates("no anything at all") == {0: None, 1: None}


def test_a_rule_whose_short_literal_is_absent_is_not_run() -> None:
    """A literal too short for the shared search still rules its pattern out when absent."""
    only_short = build_filter([r"\bno\b", r"\w{1,30} \w{1,30}"])
    assert only_short.candidates("anything at all") == {1: None}


def test_every_required_literal_is_in_what_the_pattern_matches() -> None:
    """For each alternative the pattern can match, one of its required literals is inside."""
    pattern = r"(?:ya )?no (?:quiero|kiero) (?:vivir|existir)(?! mas)"
    literals = required_literals(pattern)
    assert literals
    for text in ("no quiero vivir", "ya no kiero existir", "no kiero vivir"):
        match = re.search(pattern, text)
        assert match is not None
        assert any(literal in match.group(0) for literal in literals)


def test_width_is_bounded_only_for_bounded_patterns() -> None:
    """Bounded gaps give a width; an unbounded repeat gives none (search everywhere)."""
    assert max_width(r"\bquiero (?:\w{1,30} ){0,2}morir") == 7 + 2 * 31 + 5
    assert max_width(r"\bquiero .*morir") is None


def test_candidates_name_every_rule_whose_literal_occurs_even_when_literals_overlap() -> None:
    """A literal inside a longer one, at the same place, still credits its own rule."""
    rule_filter = build_filter([r"\bmorir", r"\bmorirme\b", r"\bsuicid"])
    found = rule_filter.candidates("quiero morirme ya")
    assert set(found) == {0, 1}
    assert rule_filter.candidates("nada que ver") == {}


@pytest.mark.parametrize("code", CODES)
def test_pack_answers_are_the_same_with_and_without_the_prefilter(code: str) -> None:
    """On every example, counter-example and dev message the prefilter changes no finding."""
    pack = load_pack(PACK_FOLDER / f"{code}.yaml")
    plain = _unfiltered(pack)
    dev = (DEV_FOLDER / f"{code}.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [text for text, _ in pack.examples] + list(pack.counter_examples)
    texts += [json.loads(line)["text"] for line in dev if line.strip()]
    differing = [t for t in texts if _answers(pack, t) != _answers(plain, t)]
    assert differing == []


def test_a_crisis_sentence_at_the_end_of_a_long_message_is_found() -> None:
    """Windowed search still finds one risky sentence after 4,000 characters of chat."""
    pack = load_pack(PACK_FOLDER / "es.yaml")
    filler = "hoy fui a clase, me muero de risa con el profe, el examen me esta matando. " * 55
    text = filler + "la verdad ya no quiero existir."
    found = {f.category: f.sentence for f in pack.findings(text)}
    assert found.get(Category.PASSIVE_DEATH_WISH) == "la verdad ya no quiero existir"
    assert _answers(pack, text) == _answers(_unfiltered(pack), text)


def test_a_match_faked_by_a_window_end_is_not_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window that ends mid-word must not turn "morirse" into a match for the word "morir"."""
    monkeypatch.setattr(lang, "_LOOKAROUND_MARGIN", 0)
    rule = lang._Rule(Category.PASSIVE_DEATH_WISH, "crisis", re.compile(r"\bmorir\b"), None, 5)
    norm = "x" * 50 + " morirse de risa"
    start = norm.index("morir")
    assert lang._surviving_match(rule, norm, [(start, start + 5)]) is None
    assert lang._surviving_match(rule, norm + " y morir", None) is not None
