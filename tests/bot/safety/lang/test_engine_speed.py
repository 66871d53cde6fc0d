"""The language engine's speed-ups change no result.

The first-character lookahead makes searches skip positions, never miss a match; sentences
are looked up, not rescanned.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.safety.lang import (
    _SENTENCE_END,
    LanguagePack,
    _compile_fast,
    _first_class,
    _SentenceEnds,
    _without_lookahead,
    normalise,
    packs,
    screen_languages,
)

DEV_FOLDER = Path(__file__).parents[3] / "safety" / "corpus" / "dev"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("abc", "[a]"),
        (r"\bfoo|bar?", "[bf]"),
        ("(?<!x)(?:我|俺)?想死", "[俺想我]"),
        ("a*b", "[ab]"),
        ("[0-3x]y", "[0-3x]"),
        (r"(?:\s?a)b", None),  # \s could start it
        (".x", None),
        ("[^a]b", None),
        (r"\w+", None),
        ("x?", None),  # can match the empty string, so it starts anywhere
        ("(?i)a", None),
    ],
)
def test_first_class_is_a_superset_of_where_matches_start(
    source: str, expected: str | None
) -> None:
    """The class names every character a match can start with, or nothing when unsure."""
    assert _first_class(source) == expected


def test_fast_pattern_keeps_the_written_source() -> None:
    """The lookahead is added in front and can be taken off again to build unions."""
    fast = _compile_fast(r"\bfoo|\bbar")
    assert fast.pattern == r"\b(?=[bf])(?:\bfoo|\bbar)"
    assert _without_lookahead(fast.pattern) == r"\bfoo|\bbar"
    assert _without_lookahead("plain") == "plain"


def corpus() -> list[str]:
    """Every development message on disk, to compare the fast and plain patterns on."""
    texts = []
    for path in sorted(DEV_FOLDER.glob("*.jsonl")):
        texts.extend(json.loads(line)["text"] for line in path.read_text().splitlines() if line)
    return texts


@pytest.mark.parametrize("pack", packs(), ids=lambda p: p.code)
def test_fast_unions_find_what_plain_unions_find(pack: LanguagePack) -> None:
    """On every dev message and example, each pack's prefilter agrees with the plain regex."""
    texts = corpus() + [t for t, _ in pack.examples] + list(pack.counter_examples)
    for union in (pack.any_crisis, pack.any_concern):
        assert union is not None
        plain = re.compile(_without_lookahead(union.pattern))
        for text in texts:
            norm = pack.normalise(text)
            fast_hit, plain_hit = union.search(norm), plain.search(norm)
            assert (fast_hit and fast_hit.span()) == (plain_hit and plain_hit.span()), text


ALPHABET = "ab 2378xyz我想死自杀不活ाम्रमरनाچموتابي"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_fast_and_plain_agree_on_random_text(text: str) -> None:
    """Random text over the packs' own letters: every pack's prefilter agrees with plain."""
    for pack in packs():
        norm = normalise(text, fold_accents=pack.fold_accents, join_wide=pack.join_wide)
        for union in (pack.any_crisis, pack.any_concern):
            assert union is not None
            plain = re.compile(_without_lookahead(union.pattern))
            fast_hit, plain_hit = union.search(norm), plain.search(norm)
            assert (fast_hit and fast_hit.span()) == (plain_hit and plain_hit.span())


@pytest.mark.parametrize(
    ("risky", "lang"),
    [("我真的不想活了！", "zh"), ("نفسى أمـوت.", "ar"), ("Bdi MOUT wallah!", "ar-Latn")],
)
def test_finding_quotes_the_original_sentence_of_a_long_message(risky: str, lang: str) -> None:
    """In a long message the finding names the sentence that carries the risk, as typed."""
    filler = ["the library closes at ten tonight.", "明天有考试。", "الجو حلو اليوم."]
    text = " ".join(filler * 30 + [risky] + filler * 30)
    found = [f for f in screen_languages(text) if f.lang == lang and f.level == "crisis"]
    assert [f.sentence for f in found] == [risky.rstrip("！.!")]


def reference_sentence_around(text: str, hit: re.Match[str]) -> str:
    """The sentence holding a hit, found by scanning from the start (the engine's old way)."""
    start = 0
    for end in _SENTENCE_END.finditer(text, 0, hit.start()):
        start = end.end()
    stop = _SENTENCE_END.search(text, hit.end())
    return text[start : stop.start() if stop else len(text)]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab .!?\n。x", max_size=40), st.sampled_from(["a", "ab", "b.", "x"]))
def test_sentence_lookup_matches_a_full_scan(text: str, word: str) -> None:
    """The sentence found by bisecting the sentence ends is the one a full scan finds."""
    ends = _SentenceEnds(text)
    for hit in re.finditer(re.escape(word), text):
        assert ends.around(hit) == reference_sentence_around(text, hit)


def reference_fold(text: str) -> str:
    """Accent folding one character at a time (the engine's old way), for comparison."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    kept = kept.replace("ı", "i").replace("đ", "d").replace("ß", "ss")
    return kept.replace("\u0649", "\u064a").replace("\u0629", "\u0647").replace("\u0640", "")


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="aeéçñüßıđ أإآؤئىةـمر ãắệйёžşğ𝒜\u0308ँ़ंक़ḁ", max_size=30))
def test_fast_accent_fold_matches_the_character_loop(text: str) -> None:
    """Folding with one regex gives what folding character by character gave."""
    plain = normalise(text, fold_accents=False, join_wide=False)
    folded = normalise(text, fold_accents=True, join_wide=False)
    expected = normalise(reference_fold(plain), fold_accents=False, join_wide=False)
    assert folded == expected
