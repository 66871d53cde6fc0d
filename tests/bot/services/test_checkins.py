"""The check-in conversation: mood buttons, optional note, optional goal progress."""

from __future__ import annotations

from sqlmodel import select

from storage.tables import Checkin, Goal, MoodEntry
from tests.conftest import Chat, text_of


def rows(chat: Chat, table):
    with chat.core.db.session() as session:
        return list(session.exec(select(table)).all())


def test_full_checkin_flow_records_mood_note_and_goal(sam: Chat) -> None:
    """Mood button, a typed note, then goal progress: one check-in, one mood entry."""
    sam.send("/goal add Finish essay")
    prompt = sam.send("/checkin")
    assert "how are you feeling" in text_of(prompt)
    after_mood = sam.press("3")
    assert after_mood.update is not None and "3/5" in after_mood.update.text
    assert "Anything on your mind" in text_of(after_mood)
    after_note = sam.send("worried about the essay deadline")
    assert "Finish essay" in text_of(after_note)
    done = sam.press("50%")
    assert "50%" in text_of(done)
    [checkin] = rows(sam, Checkin)
    assert (checkin.status, checkin.mood, checkin.note, checkin.step) == (
        "answered",
        3,
        "worried about the essay deadline",
        "done",
    )
    [entry] = rows(sam, MoodEntry)
    assert (entry.score, entry.note, entry.checkin_id) == (3, checkin.note, checkin.id)
    [goal] = rows(sam, Goal)
    assert goal.progress == 50


def test_answering_twice_updates_not_duplicates(sam: Chat) -> None:
    """Pressing a second mood button on the same check-in updates the one mood entry."""
    prompt = sam.send("/checkin")
    sam.press("2", prompt)
    reply = sam.press("4", prompt)
    assert "4/5" in reply.update.text
    [entry] = rows(sam, MoodEntry)
    assert entry.score == 4
    assert len(rows(sam, Checkin)) == 1


def test_skip_is_recorded_as_skipped_never_as_a_score(sam: Chat) -> None:
    """Skipping stores status skipped and no mood entry."""
    sam.send("/checkin")
    sam.press("Skip today")
    [checkin] = rows(sam, Checkin)
    assert checkin.status == "skipped" and checkin.mood is None
    assert rows(sam, MoodEntry) == []


def test_note_can_be_skipped_and_flow_finishes_without_goals(sam: Chat) -> None:
    """With no goals, skipping the note ends the check-in."""
    sam.send("/checkin")
    sam.press("5")
    reply = sam.press("Skip")
    assert "Thanks for checking in" in text_of(reply)
    [checkin] = rows(sam, Checkin)
    assert checkin.step == "done" and checkin.note is None


def test_another_students_checkin_button_changes_nothing(sam: Chat, alex: Chat) -> None:
    """A check-in id that belongs to someone else is refused."""
    prompt = sam.send("/checkin")
    choice = prompt.messages[0].choices[0]
    reply = alex.press(choice)
    assert "someone else" in text_of(reply)
    assert rows(sam, MoodEntry) == []


def test_checkin_command_reuses_the_open_checkin(sam: Chat) -> None:
    """Typing /checkin twice shows the same unanswered check-in."""
    sam.send("/checkin")
    sam.send("/checkin")
    assert len(rows(sam, Checkin)) == 1


def test_note_suggests_matching_resource(sam: Chat) -> None:
    """A note mentioning exams suggests the exam stress resource."""
    sam.send("/checkin")
    sam.press("3")
    reply = sam.send("so much revision for exams")
    assert "Exam stress" in text_of(reply)
