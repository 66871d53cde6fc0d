"""Goals through commands and the add-goal form."""

from __future__ import annotations

import pytest
from sqlmodel import select

from storage.tables import Goal, GoalUpdate
from tests.conftest import Chat, text_of


def goals(chat: Chat) -> list[Goal]:
    with chat.core.db.session() as session:
        return list(session.exec(select(Goal)).all())


def test_add_list_progress_complete(sam: Chat) -> None:
    """A goal goes from added to 40% to done, with updates recorded."""
    reply = sam.send("/goal add Read two papers by 2026-12-10")
    assert "due 2026-12-10" in text_of(reply)
    [goal] = goals(sam)
    assert "Read two papers" in text_of(sam.send("/goal list"))
    sam.send(f"/goal progress {goal.id} 40")
    sam.send(f"/goal done {goal.id}")
    [goal] = goals(sam)
    assert (goal.status, goal.progress, goal.next_nudge_at) == ("done", 100, None)
    with sam.core.db.session() as session:
        assert [u.progress for u in session.exec(select(GoalUpdate))] == [40, 100]


def test_new_goal_has_next_nudge_for_the_scheduler(sam: Chat, clock) -> None:
    """A new goal's first nudge is due a week later."""
    sam.send("/goal add Practise interviews")
    [goal] = goals(sam)
    assert (goal.next_nudge_at - clock.now()).days == 7


def test_drop_stops_nudges(sam: Chat) -> None:
    """A dropped goal has no next nudge."""
    sam.send("/goal add Learn Spanish")
    [goal] = goals(sam)
    sam.send(f"/goal drop {goal.id}")
    [goal] = goals(sam)
    assert goal.status == "dropped" and goal.next_nudge_at is None


def test_milestones_drive_progress(sam: Chat) -> None:
    """Ticking one of two milestones sets progress to 50%."""
    sam.send("/goal add Dissertation")
    [goal] = goals(sam)
    sam.send(f"/goal milestone {goal.id} Outline")
    sam.send(f"/goal milestone {goal.id} Draft")
    sam.send(f"/goal tick {goal.id} 1")
    [goal] = goals(sam)
    assert goal.progress == 50


def test_goal_form_adds_a_goal(sam: Chat) -> None:
    """The modal's form submission adds a goal with a due date."""
    sam.form("goal.add", title="Apply for internships", due="2027-01-15")
    [goal] = goals(sam)
    assert goal.title == "Apply for internships" and str(goal.due_date) == "2027-01-15"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/goal add", "Use /goal add TITLE"),
        ("/goal add Old thing by 2020-01-01", "already passed"),
        ("/goal add Thing by 2026-13-45", "isn't a date"),
        ("/goal progress 999 50", "can't find your goal"),
        ("/goal progress 1 150", "0 to 100"),
        ("/goal fly", "don't know '/goal fly'"),
    ],
)
def test_bad_goal_input_is_explained_and_changes_nothing(
    sam: Chat, line: str, expected: str
) -> None:
    """Malformed goal commands get a clear message and store nothing new."""
    if "progress 1 " in line:
        sam.send("/goal add Something")
    before = [(g.id, g.progress) for g in goals(sam)]
    assert expected in text_of(sam.send(line))
    assert [(g.id, g.progress) for g in goals(sam)] == before


def test_cannot_touch_another_students_goal(sam: Chat, alex: Chat) -> None:
    """Goal ids of other students look like unknown goals."""
    alex.send("/goal add Alex's goal")
    [goal] = goals(alex)
    assert "can't find" in text_of(sam.send(f"/goal done {goal.id}"))
    assert goals(alex)[0].status == "open"
