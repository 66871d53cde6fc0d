"""Programme breaks: validation (overlaps, past dates), listing and removal; pauses."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from bot.errors import UserError
from bot.services.breaks import add_break, away_reason, break_on, list_breaks, remove_break
from storage.tables import Person, ProgrammeBreak

TODAY = date(2026, 11, 23)


def stored(db) -> list[ProgrammeBreak]:
    with db.session() as session:
        return list(session.exec(select(ProgrammeBreak)).all())


def test_add_list_and_remove_a_break(db) -> None:
    """A break is stored with both dates included, listed, and removed by id."""
    with db.session() as session:
        winter = add_break(session, date(2026, 12, 21), date(2027, 1, 4), " Winter  break ", TODAY)
        wid = winter.id
    with db.session() as session:
        [listed] = list_breaks(session)
        assert (listed.title, listed.starts_on, listed.ends_on) == (
            "Winter break",
            date(2026, 12, 21),
            date(2027, 1, 4),
        )
        assert break_on([listed], date(2027, 1, 4)) is not None
        assert break_on([listed], date(2027, 1, 5)) is None
        remove_break(session, str(wid))
    assert stored(db) == []


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2027, 1, 2), date(2027, 1, 10), "overlaps"),
        (date(2026, 12, 1), date(2026, 12, 21), "overlaps"),
        (date(2027, 2, 10), date(2027, 2, 1), "ends before it starts"),
        (date(2026, 10, 1), date(2026, 10, 5), "in the past"),
    ],
)
def test_bad_breaks_are_refused_and_store_nothing(db, start, end, message) -> None:
    """Overlapping, reversed or past breaks are a clear error; nothing new is stored."""
    with db.session() as session:
        add_break(session, date(2026, 12, 21), date(2027, 1, 4), "Winter break", TODAY)
    with pytest.raises(UserError, match=message), db.session() as session:
        add_break(session, start, end, "Another", TODAY)
    assert len(stored(db)) == 1


def test_removing_an_unknown_break_is_an_error(db) -> None:
    """An id that is not there is named in the error."""
    with pytest.raises(UserError, match="#42"), db.session() as session:
        remove_break(session, "42")


def test_pause_and_break_reasons() -> None:
    """A pause holds until the day before its end date; a break covers both its dates."""
    person = Person(
        email="k@example.edu",
        name="K",
        role="student",
        created_at=None,  # type: ignore[arg-type]
        paused_until=date(2026, 11, 25),
    )
    winter = ProgrammeBreak(starts_on=date(2026, 12, 21), ends_on=date(2027, 1, 4), title="Winter")
    assert away_reason(person, date(2026, 11, 24), []) == "paused until 2026-11-25"
    assert away_reason(person, date(2026, 11, 25), []) is None
    assert away_reason(person, date(2026, 12, 21), [winter]) == "programme break: Winter"
