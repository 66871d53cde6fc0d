"""Programme-wide breaks (winter break, exams) and personal pauses: times with no check-ins.

Both dates of a break are included, and are read as each student's local dates. During a break
or a pause no check-in opens and no reminder goes out, and a check-in that closes then is
recorded as excused rather than missed, so the escalation rule never counts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from sqlmodel import Session, col, select

from bot.args import record_id
from bot.errors import UserError
from bot.i18n import _
from storage.tables import Person, ProgrammeBreak

MAX_BREAK_DAYS = 366


def add_break(
    session: Session, starts_on: date, ends_on: date, title: str, today: date
) -> ProgrammeBreak:
    """Store a break after validating it; overlapping an existing break is a UserError."""
    title = " ".join(title.split())
    if not title:
        raise UserError(_('A break needs a title, e.g. "Winter break".'))
    if len(title) > 200:
        raise UserError(_("Please keep a break title under 200 characters."))
    if ends_on < starts_on:
        raise UserError(
            _("The break ends before it starts. Give the first day, then the last day.")
        )
    if ends_on < today:
        raise UserError(
            _("The break ended on {date}, in the past.").format(date=ends_on.isoformat())
        )
    if (ends_on - starts_on).days >= MAX_BREAK_DAYS:
        raise UserError(_("A break can last up to a year."))
    clash = session.exec(
        select(ProgrammeBreak).where(
            col(ProgrammeBreak.starts_on) <= ends_on, col(ProgrammeBreak.ends_on) >= starts_on
        )
    ).first()
    if clash is not None:
        raise UserError(
            _(
                'That overlaps break #{id} "{title}" ({starts} to {ends}). '
                "Remove it first or pick other dates."
            ).format(
                id=clash.id,
                title=clash.title,
                starts=clash.starts_on.isoformat(),
                ends=clash.ends_on.isoformat(),
            )
        )
    programme_break = ProgrammeBreak(starts_on=starts_on, ends_on=ends_on, title=title)
    session.add(programme_break)
    session.flush()
    return programme_break


def list_breaks(session: Session) -> Sequence[ProgrammeBreak]:
    """All breaks, earliest first."""
    return session.exec(select(ProgrammeBreak).order_by(col(ProgrammeBreak.starts_on))).all()


def remove_break(session: Session, raw_id: str | int) -> ProgrammeBreak:
    """Delete a break by id."""
    break_id = record_id(raw_id)
    programme_break = session.get(ProgrammeBreak, break_id) if break_id is not None else None
    if programme_break is None:
        raise UserError(_("There is no break #{id}.").format(id=str(raw_id).strip().lstrip("#")))
    session.delete(programme_break)
    return programme_break


def describe_break(programme_break: ProgrammeBreak) -> str:
    """One line an admin can read."""
    return _("#{id} {title}: {starts} to {ends}").format(
        id=programme_break.id,
        title=programme_break.title,
        starts=programme_break.starts_on.isoformat(),
        ends=programme_break.ends_on.isoformat(),
    )


def breaks_around(session: Session, first: date, last: date) -> list[ProgrammeBreak]:
    """Breaks that touch the dates first..last (so callers can test many dates without queries)."""
    return list(
        session.exec(
            select(ProgrammeBreak).where(
                col(ProgrammeBreak.starts_on) <= last, col(ProgrammeBreak.ends_on) >= first
            )
        ).all()
    )


def break_on(breaks: Sequence[ProgrammeBreak], local_date: date) -> ProgrammeBreak | None:
    """The break covering this local date, if any."""
    for programme_break in breaks:
        if programme_break.starts_on <= local_date <= programme_break.ends_on:
            return programme_break
    return None


class Pausable(Protocol):
    """Anything with a pause date: a `Person`, or a lighter row in bulk."""

    @property
    def paused_until(self) -> date | None: ...  # noqa: D102


def is_paused(person: Pausable, local_date: date) -> bool:
    """True while `/pause until DATE` holds: check-ins restart on that date."""
    return person.paused_until is not None and local_date < person.paused_until


def away_reason(person: Person, local_date: date, breaks: Sequence[ProgrammeBreak]) -> str | None:
    """Why the student gets no check-in on this local date (paused, on a break), or None."""
    if is_paused(person, local_date):
        assert person.paused_until is not None
        # Stored as the closed check-in's reason (a record, not translated).
        return f"paused until {person.paused_until.isoformat()}"
    programme_break = break_on(breaks, local_date)
    if programme_break is not None:
        return f"programme break: {programme_break.title}"[:200]
    return None
