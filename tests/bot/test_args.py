"""The shared parsers of `bot.args`: ids, bounded numbers, quoted names, LIKE patterns."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.args import MAX_ID, like_pattern, record_id, small_number, split_words, take_name


@pytest.mark.parametrize(
    "typed",
    ["99999999999999999999", str(MAX_ID + 1), "9" * 5000, "²", "١٢", "-1", "0", "1.5", "", "#"],
)
def test_an_id_no_row_can_have_is_none(typed: str) -> None:
    """Too big, unicode digits, negative, zero, not a number: None, never an exception."""
    assert record_id(typed) is None


def test_an_id_as_typed() -> None:
    """`12`, `#12`, ` 12 ` and 12 are the id 12."""
    assert {record_id("12"), record_id("#12"), record_id(" 12 "), record_id(12)} == {12}


@given(st.text(max_size=30))
def test_record_id_never_raises(typed: str) -> None:
    """Whatever is typed, an id or None, within the database's range."""
    value = record_id(typed)
    assert value is None or 0 < value <= MAX_ID


@pytest.mark.parametrize(
    ("typed", "high", "expected"),
    [
        ("5", 5, 5),
        ("0", 5, 0),
        ("6", 5, None),
        ("²", 5, None),
        ("9" * 5000, MAX_ID, None),
        ("-1", 5, None),
        (" 3 ", 5, 3),
        ("3.0", 5, None),
    ],
)
def test_small_number(typed: str, high: int, expected: int | None) -> None:
    """A whole number 0..high in ASCII digits, or None."""
    assert small_number(typed, high) == expected


@pytest.mark.parametrize(
    "typed", ['"Study skills" every 2', "“Study skills” every 2", "‘Study skills’ every 2"]
)
def test_quoted_names_straight_and_curly(typed: str) -> None:
    """A name in straight or curly quotes is one word; what follows keeps its place."""
    words = split_words(typed)
    name, after = take_name(words, 0, frozenset({"every"}))
    assert (name, words.items[after], words.rest_after(after + 1)) == (
        "Study skills",
        "every",
        "2",
    )


def test_an_unbalanced_quote_is_kept_literally() -> None:
    """`"Study skills` is two words, the quote kept: people type apostrophes."""
    assert split_words('"Study skills').items == ('"Study', "skills")


def test_like_pattern_escapes_wildcards() -> None:
    """`%`, `_` and the escape character itself match literally."""
    assert like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"


@pytest.mark.parametrize("raw", ["9" * 4000, "Europe/" + "x" * 300, "../../etc/passwd", "\x00"])
def test_an_impossible_zone_is_refused_not_crashed(raw: str) -> None:
    """A zone name that can't be a file name is "I don't know the time zone", not an OSError."""
    from bot.args import parse_zone
    from bot.errors import UserError
    from bot.localtime import is_valid_zone

    assert not is_valid_zone(raw)
    with pytest.raises(UserError, match="time zone"):
        parse_zone(raw)
