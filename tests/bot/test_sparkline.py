"""The 14-day sparkline and its text twin: the same trend in words, in the reader's language."""

from __future__ import annotations

from datetime import date

from bot.i18n import speaking
from bot.sparkline import describe_trend, sparkline

# A Thursday: two days earlier is Tuesday.
TODAY = date(2026, 12, 10)
FORTNIGHT: list[float | None] = [3, 3, None, 3, 3, 3, 4, None, 3, 3, 3, 2, 3, 3]


def test_sparkline_draws_a_bar_a_day_and_a_dot_for_a_gap() -> None:
    """One character a day: the bar for the day's mood, a dot where none was logged."""
    assert sparkline([1, 2, None, 5, 2.6]) == "▁▂·▅▃"


def test_twin_says_the_usual_score_the_lowest_day_and_the_gaps_in_english() -> None:
    """Mostly 3, the one 2 on Tuesday (within the week: the weekday), 12 of 14 days logged."""
    assert (
        describe_trend(FORTNIGHT, TODAY) == "mostly 3, lowest 2 on Tuesday (12 of 14 days logged)"
    )


def test_twin_in_spanish() -> None:
    """The same twin in Spanish, with Spanish day names."""
    with speaking("es"):
        text = describe_trend(FORTNIGHT, TODAY)
    assert text == "casi siempre 3, mínimo 2 el martes (12 de 14 días registrados)"


def test_twin_of_an_empty_fortnight() -> None:
    """No entry at all says so, in both languages; it never claims a score."""
    empty: list[float | None] = [None] * 14
    assert describe_trend(empty, TODAY) == "no mood logged in the last 14 days"
    with speaking("es"):
        assert (
            describe_trend(empty, TODAY)
            == "ningún estado de ánimo registrado en los últimos 14 días"
        )


def test_twin_names_both_scores_of_a_tie() -> None:
    """Two scores equally common are both named; the lowest below them still has its day."""
    week: list[float | None] = [4, 3, 4, 3, None, 1, 4]
    assert describe_trend(week, TODAY) == ("mostly 4, lowest 1 yesterday (6 of 7 days logged)")
    tied: list[float | None] = [4, 3, 4, 3, None, 1, None]
    assert describe_trend(tied, TODAY) == (
        "mostly 3 and 4, lowest 1 yesterday (5 of 7 days logged)"
    )
    with speaking("es"):
        assert describe_trend(tied, TODAY) == (
            "casi siempre 3 y 4, mínimo 1 ayer (5 de 7 días registrados)"
        )


def test_twin_of_three_tied_scores_gives_the_range() -> None:
    """More than two equally common scores: the range, no "lowest" (it is the range's start)."""
    assert describe_trend([2, 3, 4], TODAY) == "mixed, from 2 to 4 (3 of 3 days logged)"


def test_twin_counts_the_days_of_a_lowest_tie_and_names_the_latest() -> None:
    """The lowest score on several days: how many, and the latest of them."""
    week: list[float | None] = [3, 2, 3, 3, 2, 3, 3]
    assert describe_trend(week, TODAY) == (
        "mostly 3, lowest 2 on 2 days, last on Tuesday (7 of 7 days logged)"
    )
    with speaking("es"):
        assert describe_trend(week, TODAY) == (
            "casi siempre 3, mínimo 2 en 2 días, el último el martes (7 de 7 días registrados)"
        )


def test_twin_names_a_date_further_back_than_a_week() -> None:
    """A day more than a week ago is named by its date: two Tuesdays fit in a fortnight."""
    scores: list[float | None] = [1] + [3] * 13
    assert describe_trend(scores, TODAY) == (
        "mostly 3, lowest 1 on Fri 27 Nov (14 of 14 days logged)"
    )
