"""Pairing preferences: a student's say in peer pairing.

```
/pairing skip                   sit out the next round of each of my groups
/pairing pause until DATE       sit out every round before DATE (at most a year ahead)
/pairing resume                 back in: the skip and the pause are cleared
/pairing avoid EMAIL            never pair me with this person (private; they are not told)
/pairing avoid                  my "don't pair me with" list
/pairing unavoid EMAIL          take them off it
```

What the round does with them (`bot.services.pairing.open_round`): skips and pauses take the
student out before grouping; the avoid list is a hard constraint of the grouping. When no
grouping honours every list, the student who asked is left out of that round (never the
person they avoid, who must not be able to tell) and told so privately, without a name.

This module stores and reads the preferences; it knows nothing of rounds beyond their ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from bot.args import parse_day, parse_email, split_words
from bot.errors import UserError
from bot.i18n import _, ngettext
from bot.people import person_by_email
from storage.tables import (
    Group,
    GroupMember,
    PairingAvoid,
    PairingPause,
    PairingSkip,
    Person,
)

# A pause can reach this many days ahead (like `/pause until`).
MAX_PAUSE_DAYS = 365
# The "don't pair me with" list is for a few people; a longer one would leave its owner out
# of most rounds (and could be used to steer the pairing of a whole group).
MAX_AVOIDS = 20


@dataclass(frozen=True)
class Preferences:
    """One student's pairing preferences, as their status shows them."""

    skipping: tuple[Group, ...]  # groups whose next round they sit out
    paused_until: date | None
    avoiding: tuple[Person, ...]


def paired_groups(session: Session, person: Person) -> list[Group]:
    """The groups with pairing on that the person is a member (not a mentor) of, by name."""
    return list(
        session.exec(
            select(Group)
            .join(GroupMember, col(GroupMember.group_id) == Group.id)
            .where(
                GroupMember.person_id == person.id,
                GroupMember.role == "member",
                col(Group.pairing_weeks).is_not(None),
            )
            .order_by(col(Group.name))
        ).all()
    )


def preferences(session: Session, person: Person, today: date) -> Preferences:
    """The person's skips still to be used, their pause (if still ahead) and their list."""
    skipping = session.exec(
        select(Group)
        .join(PairingSkip, col(PairingSkip.group_id) == Group.id)
        .where(PairingSkip.person_id == person.id, col(PairingSkip.round_id).is_(None))
        .order_by(col(Group.name))
    ).all()
    pause = session.get(PairingPause, person.id)
    avoiding = session.exec(
        select(Person)
        .join(PairingAvoid, col(PairingAvoid.avoided_id) == Person.id)
        .where(PairingAvoid.person_id == person.id, col(Person.deleted_at).is_(None))
        .order_by(col(Person.name), col(Person.id))
    ).all()
    until = pause.until if pause is not None and pause.until > today else None
    unique = {g.id: g for g in skipping}  # one pending skip per group is the rule; be sure
    return Preferences(tuple(unique.values()), until, tuple(avoiding))


# ---------------------------------------------------------------- skip, pause, resume


def skip_next(session: Session, person: Person, now: datetime) -> tuple[list[Group], list[Group]]:
    """Sit out the next round of each paired group: (groups newly skipped, already skipped).

    Refused (nothing stored) when none of the person's groups has pairing on.
    """
    groups = paired_groups(session, person)
    if not groups:
        raise UserError(
            _(
                "None of your groups has peer pairing on, so there's no round to skip. "
                "Type /pairing to see your pairing."
            )
        )
    pending = set(
        session.exec(
            select(PairingSkip.group_id).where(
                PairingSkip.person_id == person.id, col(PairingSkip.round_id).is_(None)
            )
        ).all()
    )
    assert person.id is not None
    new = [g for g in groups if g.id not in pending]
    session.add_all(
        PairingSkip(person_id=person.id, group_id=g.id, created_at=now)
        for g in new
        if g.id is not None
    )
    return new, [g for g in groups if g.id in pending]


def parse_pause(rest: str, today: date) -> date:
    """`until DATE` (or just DATE): a date after today and at most a year ahead."""
    example = f"/pairing pause until {(today + timedelta(days=28)).isoformat()}"
    words = split_words(rest.strip()).items
    if words and words[0].lower() == "until":
        words = words[1:]
    if len(words) != 1:
        raise UserError(
            _("Use /pairing pause until YYYY-MM-DD, for example {example}.").format(example=example)
        )
    until = parse_day(words[0])
    if until <= today:
        raise UserError(
            _("{date} isn't after today. Pick a later date, e.g. {example}.").format(
                date=until.isoformat(), example=example
            )
        )
    if until > today + timedelta(days=MAX_PAUSE_DAYS):
        raise UserError(_("A pairing pause can last up to a year. Pick an earlier date."))
    return until


def pause_until(session: Session, person: Person, until: date, now: datetime) -> None:
    """Sit out every round that opens before `until` (the person's local date)."""
    assert person.id is not None
    pause = session.get(PairingPause, person.id)
    if pause is None:
        pause = PairingPause(person_id=person.id, until=until, created_at=now)
    pause.until, pause.created_at = until, now
    session.add(pause)


def resume(session: Session, person: Person) -> int:
    """Clear the pause and the skips not yet used; how many of them there were."""
    cleared = session.execute(
        delete(PairingSkip).where(
            col(PairingSkip.person_id) == person.id, col(PairingSkip.round_id).is_(None)
        )
    )
    count = int(getattr(cleared, "rowcount", 0) or 0)
    pause = session.get(PairingPause, person.id)
    if pause is not None:
        session.delete(pause)
        count += 1
    return count


def is_sitting_out(pause: PairingPause | None, local_today: date) -> bool:
    """True while a pairing pause holds (the person is back on `until` itself)."""
    return pause is not None and local_today < pause.until


# ---------------------------------------------------------------- the avoid list


def _someone(session: Session, person: Person, raw: str) -> Person:
    """The enrolled person an avoid/unavoid names; refusals store nothing."""
    if not raw.strip() or len(split_words(raw).items) != 1:
        raise UserError(_("Use /pairing avoid EMAIL, for example /pairing avoid sam@example.edu."))
    email = parse_email(raw)
    if email == person.email:
        raise UserError(_("That's your own email: you're never paired with yourself."))
    other = person_by_email(session, email)
    if other is None or other.deleted_at is not None:
        raise UserError(
            _(
                "I can't find anyone with the email {email}. Check the spelling; it's the "
                "address the programme has for them."
            ).format(email=email)
        )
    return other


def avoid(session: Session, person: Person, raw: str, now: datetime) -> tuple[Person, bool]:
    """Add someone to the person's list; (them, False when they were on it already)."""
    other = _someone(session, person, raw)
    assert person.id is not None and other.id is not None
    listed = session.exec(
        select(PairingAvoid.avoided_id).where(PairingAvoid.person_id == person.id)
    ).all()
    if other.id in listed:
        return other, False
    if len(listed) >= MAX_AVOIDS:
        raise UserError(
            ngettext(
                "Your list already has {n} person, the most it can hold. Take someone "
                "off with /pairing unavoid EMAIL, or talk to your mentor.",
                "Your list already has {n} people, the most it can hold. Take someone "
                "off with /pairing unavoid EMAIL, or talk to your mentor.",
                MAX_AVOIDS,
            ).format(n=MAX_AVOIDS)
        )
    session.add(PairingAvoid(person_id=person.id, avoided_id=other.id, created_at=now))
    return other, True


def unavoid(session: Session, person: Person, raw: str) -> Person:
    """Take someone off the person's list; refused when they aren't on it."""
    other = _someone(session, person, raw)
    row = session.exec(
        select(PairingAvoid).where(
            PairingAvoid.person_id == person.id, PairingAvoid.avoided_id == other.id
        )
    ).first()
    if row is None:
        raise UserError(
            _("{email} isn't on your list. Type /pairing avoid to see it.").format(
                email=other.email
            )
        )
    session.delete(row)
    return other


def avoid_lists(session: Session, person_ids: Sequence[int]) -> dict[int, frozenset[int]]:
    """Person -> the people (among `person_ids`) they asked not to be paired with."""
    if not person_ids:
        return {}
    found: dict[int, set[int]] = {}
    for who, avoided in session.exec(
        select(PairingAvoid.person_id, PairingAvoid.avoided_id).where(
            col(PairingAvoid.person_id).in_(list(person_ids)),
            col(PairingAvoid.avoided_id).in_(list(person_ids)),
        )
    ).all():
        found.setdefault(who, set()).add(avoided)
    return {who: frozenset(them) for who, them in found.items()}


# ---------------------------------------------------------------- what a round reads


def pauses_of(session: Session, person_ids: Sequence[int]) -> dict[int, PairingPause]:
    """The pairing pauses of these people, by person."""
    if not person_ids:
        return {}
    return {
        p.person_id: p
        for p in session.exec(
            select(PairingPause).where(col(PairingPause.person_id).in_(list(person_ids)))
        ).all()
    }


def pending_skips(session: Session, group_id: int) -> dict[int, PairingSkip]:
    """The group's skips still waiting for a round, by person."""
    return {
        s.person_id: s
        for s in session.exec(
            select(PairingSkip).where(
                PairingSkip.group_id == group_id, col(PairingSkip.round_id).is_(None)
            )
        ).all()
    }
