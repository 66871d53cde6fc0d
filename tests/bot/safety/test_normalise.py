"""Normalisation: the disguises students use must come out as plain words."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from bot.safety.normalise import (
    collapse_repeats,
    collapse_spacing,
    decode_leet,
    normalise,
    strip_noise,
    variants,
)

ZWSP = "\u200b"


def test_lowercases_and_squeezes_whitespace() -> None:
    """Case is folded and any run of whitespace becomes one space."""
    assert normalise("  I  Want\tTO\n\nDIE  ") == "i want to die"


def test_strips_zero_width_and_format_characters() -> None:
    """Zero-width spaces/joiners, bidi marks, word joiner, BOM and soft hyphen vanish."""
    hidden = "k\u200bi\u200cl\u200dl \u200emy\u200fs\u2060e\ufefflf su\u00adicide"
    assert normalise(hidden) == "kill myself suicide"


def test_strips_invisible_fillers_and_combining_marks() -> None:
    """Hangul fillers and strike-through or "zalgo" combining marks are removed."""
    assert normalise("d\u3164ie") == "die"
    assert normalise("s\u0336u\u0336i\u0336c\u0336i\u0336d\u0336e\u0336") == "suicide"
    assert normalise("k\u0301i\u0308l\u0327l") == "kill"


def test_removes_accents() -> None:
    """Accents are dropped, so Spanish and French rules are written without them."""
    assert normalise("Je vais à l'hôpital, ¿qué pasó?") == "je vais a lhopital, ¿que paso?"


def test_maps_cyrillic_and_greek_homoglyphs() -> None:
    """Look-alike letters from other scripts become the Latin letters they imitate."""
    assert normalise("\u0455u\u0456c\u0456d\u0435") == "suicide"  # Cyrillic s, i, e
    assert normalise("k\u0456ll") == "kill"
    assert normalise("\u03ba\u03b9ll") == "kill"  # Greek kappa, iota
    assert normalise("\u041a\u0406LL") == "kill"  # upper-case Cyrillic, folded first


def test_folds_compatibility_forms() -> None:
    """Fullwidth, mathematical bold and circled letters fold to plain ASCII."""
    assert normalise("\uff4b\uff49\uff4c\uff4c") == "kill"
    assert normalise("\U0001d41d\U0001d422\U0001d41e") == "die"
    assert normalise("\u24da\u24d8\u24db\u24db") == "kill"


def test_removes_apostrophes_and_unifies_quotes() -> None:
    """Apostrophes of every kind go ("I'm" -> "im"); curly quotes become straight ones."""
    assert normalise("I\u2019m not ok, don't") == "im not ok, dont"
    assert normalise("\u201cquoted\u201d") == '"quoted"'


def test_keeps_digits_in_the_canonical_form() -> None:
    """Numbers survive normalisation; only the leet variant decodes them."""
    assert normalise("Room 101 at 3pm, got 45/50") == "room 101 at 3pm, got 45/50"


def test_collapses_letter_spacing() -> None:
    """Single letters joined by one repeated separator become a word."""
    assert collapse_spacing("k i l l  m y s e l f") == "kill myself"
    assert collapse_spacing("k.i.l.l m.y.s.e.l.f") == "kill myself"
    assert collapse_spacing("i want to d-i-e") == "i want to die"
    assert collapse_spacing("i w a n t  t o  d i e") == "i want to die"


def test_letter_spacing_leaves_ordinary_text_alone() -> None:
    """One or two single letters ("i am a student") are not glued together."""
    assert collapse_spacing("i am a student, is it a b test?") == "i am a student, is it a b test?"


def test_decodes_leetspeak_only_inside_words() -> None:
    """Digits and symbols touching letters decode; plain numbers don't."""
    assert decode_leet("k1ll mys3lf") == "kill myself"
    assert decode_leet("5u1c1d3") == "suicide"
    assert decode_leet("my$elf k!ll") == "myself kill"
    assert decode_leet("ki11", one="l") == "kill"
    assert decode_leet("room 101, $50, 2024") == "room 101, $50, 2024"
    assert decode_leet("help!!! now") == "help!!! now"
    assert decode_leet("k*ll d*e") == "kill die"


def test_collapses_stretched_letters() -> None:
    """Three or more repeats shrink; ordinary doubles ("kill", "sleep") stay."""
    assert collapse_repeats("dieeee sooo") == "die so"
    assert collapse_repeats("killllll", keep=2) == "kill"
    assert collapse_repeats("kill sleep") == "kill sleep"


def test_strip_noise_keeps_sentence_ends_and_emoji() -> None:
    """Brackets, dashes and ellipses become spaces; . ! ? ; * and emoji stay."""
    assert strip_noise("kill-myself (now)... ok! \U0001f602") == "kill myself now ok! \U0001f602"


def test_variants_start_with_the_canonical_form() -> None:
    """The first variant is always `normalise(text)`; others add decodings."""
    text = "I w4nt t0 d13eee"
    found = variants(text)
    assert found[0] == normalise(text)
    assert "i want to die" in found


def test_variants_decode_combined_disguises() -> None:
    """Spacing, leet, zero-width characters and stretching decode together."""
    assert "i want to kill myself" in variants(f"i want to k{ZWSP}1{ZWSP}ll myselfff")
    assert "kill myself" in variants("k 1 l l  m y s e l f")


def test_ordinary_text_has_at_most_two_variants() -> None:
    """Plain text costs two passes: canonical and punctuation-free."""
    assert len(variants("Exam went ok, thanks! See you Thursday.")) == 2
    assert len(variants("exam went ok")) == 1


WORDS = st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=12)


@given(st.lists(WORDS, min_size=1, max_size=20))
def test_plain_lowercase_words_are_unchanged(words: list[str]) -> None:
    """Plain ASCII lower-case words separated by spaces are already canonical."""
    text = " ".join(words)
    assert normalise(text) == text


@given(st.text(max_size=300))
def test_normalise_never_raises_and_is_idempotent(text: str) -> None:
    """Any string normalises without error, and normalising twice changes nothing."""
    once = normalise(text)
    assert normalise(once) == once


@given(st.text(max_size=300))
def test_variants_never_raise(text: str) -> None:
    """Every decoding step is total: any string yields at least one variant."""
    found = variants(text)
    assert found
    assert found[0] == normalise(text)
