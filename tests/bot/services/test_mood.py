"""Mood logging through the public interface."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from storage.tables import MoodEntry
from tests.conftest import Chat, text_of


def moods(chat: Chat) -> list[MoodEntry]:
    with chat.core.db.session() as session:
        return list(session.exec(select(MoodEntry)).all())


def test_mood_with_note_is_logged_and_shows_trend(sam: Chat) -> None:
    """`/mood 4 good day` stores score and note and answers with the 14-day sparkline."""
    reply = sam.send("/mood 4 good day")
    assert "4/5" in text_of(reply)
    assert "Last 14 days" in text_of(reply)
    [entry] = moods(sam)
    assert (entry.score, entry.note) == (4, "good day")


@pytest.mark.parametrize("bad", ["0", "6", "three", "-1", "2.5", "99999999999999999999"])
def test_invalid_scores_are_explained_and_not_stored(sam: Chat, bad: str) -> None:
    """Scores outside 1-5 get a friendly message and store nothing."""
    reply = sam.send(f"/mood {bad} hmm")
    assert "1 (awful) to 5 (great)" in text_of(reply)
    assert moods(sam) == []


def test_mood_history_sparkline_covers_fourteen_days(sam: Chat, clock) -> None:
    """History marks days without entries with a dot and logged days with a bar."""
    sam.send("/mood 5")
    clock.advance(days=2)
    sam.send("/mood 1")
    reply = sam.send("/mood")
    spark = next(f.value for f in reply.messages[0].fields if f.label == "Last 14 days")
    assert len(spark) == 14
    assert spark.endswith("▅·▁")


def test_mood_button_outside_checkin_logs(sam: Chat) -> None:
    """The mood buttons under /mood log a score."""
    history = sam.send("/mood")
    sam.press("4", history)
    assert [m.score for m in moods(sam)] == [4]


def test_mood_is_for_students_only(maya: Chat) -> None:
    """A mentor can't log a mood."""
    assert "for students" in text_of(maya.send("/mood 3"))


def test_average_trend_uses_local_days(alex: Chat, clock) -> None:
    """Entries are bucketed by the student's local day (New York), not UTC."""
    clock.set(clock.now().replace(hour=3))  # 22:00 the previous evening in New York
    alex.send("/mood 2")
    clock.advance(timedelta(hours=2))
    reply = alex.send("/mood")
    spark = next(f.value for f in reply.messages[0].fields if f.label == "Last 14 days")
    assert spark.endswith("▂·")
