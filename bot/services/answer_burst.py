"""Check-in answers of a burst, in bulk: the common case of 09:00 at a few statements a batch.

When thousands of students answer within minutes, nearly every event in a batch is the same
thing: a student's first mood answer on their own open check-in, needing no alert. This
module takes those from a batch and does for all of them together what `checkins.answer_mood`
does for one (one query for the people, one for the check-ins, one for their recent mood
averages, one flush for the writes), and leaves every other event, and every case it would
have to think about, to the general path: a repeated answer, someone else's check-in, a closed
one, a low or sharply dropped mood (alerts), a person without a time zone, anyone who acts
twice in the batch. tests/bot/services/test_answer_burst.py holds both paths equal on random
batches, replies and stored rows alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, tuple_, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from bot.args import record_id
from bot.auth import allowed_roles
from bot.config import CoreSettings
from bot.model import Inbound, Reply
from bot.services.checkins import answered_with_next, note_prompt, questions_of
from bot.services.escalation import is_low_mood, is_sharp_drop
from bot.services.language import speaking_to
from bot.services.resources import as_links, suggest
from storage.enums import CheckinStatus, CheckinStep
from storage.insert import insert_ignore
from storage.tables import Checkin, Identity, MoodEntry, Person, ProcessedEvent

MOOD_ACTION = "checkin.mood"


@dataclass(frozen=True)
class MoodPress:
    """A mood button pressed, at position `index` of its batch."""

    index: int
    inbound: Inbound
    checkin_id: int
    score: int


def mood_presses(inbounds: Sequence[Inbound]) -> list[MoodPress]:
    """The well-formed mood presses of a batch whose actor acts only once in it.

    Someone who acts twice in a batch (a press and a typed note), or an event id seen twice
    (a platform retry), goes the general way, so those events keep their order.
    """
    seen: dict[tuple[str, str], int] = {}
    for inbound in inbounds:
        for key in _keys(inbound):
            seen[key] = seen.get(key, 0) + 1
    presses: list[MoodPress] = []
    for index, inbound in enumerate(inbounds):
        if inbound.kind != "action" or inbound.name != MOOD_ACTION:
            continue
        if any(seen[key] > 1 for key in _keys(inbound)):
            continue
        raw_id, raw_score = inbound.args.get("checkin", ""), inbound.args.get("score", "")
        checkin_id = record_id(raw_id)
        if checkin_id is None or raw_score not in ("1", "2", "3", "4", "5"):
            continue  # the general path answers anything unusual
        presses.append(MoodPress(index, inbound, checkin_id, int(raw_score)))
    return presses


def _keys(inbound: Inbound) -> list[tuple[str, str]]:
    """What makes two events of a batch depend on each other: the actor, the event id."""
    keys = [(inbound.actor.platform, inbound.actor.user_id)]
    if inbound.event_id:
        keys.append((f"{inbound.actor.platform}:event", inbound.event_id))
    return keys


def answer_in_bulk(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    presses: Sequence[MoodPress],
    mood_handler: Any,
) -> dict[int, Reply]:
    """Answer the presses that are the plain case; returns their replies by batch position.

    `mood_handler` is the handler the general path would run: only the roles it allows
    are answered here.
    """
    if not presses:
        return {}
    roles = allowed_roles(mood_handler) or ()
    people = _people(session, presses)
    checkins = {
        c.id: c
        for c in session.exec(
            select(Checkin).where(col(Checkin.id).in_({p.checkin_id for p in presses}))
        )
    }
    plain: list[tuple[MoodPress, Person, Checkin]] = []
    for press in presses:
        person = people.get((press.inbound.actor.platform, press.inbound.actor.user_id))
        checkin = checkins.get(press.checkin_id)
        if (
            person is None
            or checkin is None
            or person.role not in roles
            or not person.active
            or person.deleted_at is not None
            or person.timezone is None  # the general path may fill it from the profile
            or checkin.person_id != person.id
            or checkin.status != CheckinStatus.OPEN
            or checkin.mood is not None
            or checkin.step != CheckinStep.MOOD
            or is_low_mood(press.score, settings.escalation)
            or "note" not in questions_of(session, checkin.schedule_id)
        ):
            continue
        plain.append((press, person, checkin))
    averages = _averages(session, settings, now, [person.id for _, person, _ in plain])
    plain = [
        (press, person, checkin)
        for press, person, checkin in plain
        if not is_sharp_drop(press.score, averages.get(person.id or 0), settings.escalation)
    ]
    first_time = _record_events(session, now, [press.inbound for press, _, _ in plain])
    links = as_links(suggest(session, None, False, settings.resource_suggestions))
    replies: dict[int, Reply] = {}
    entries: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for press, person, checkin in plain:
        if press.inbound.event_id and press.inbound.event_id not in first_time:
            replies[press.index] = Reply()  # a platform retry of an event handled before
            continue
        assert checkin.id is not None and person.id is not None
        entries.append(
            {
                "person_id": person.id,
                "score": press.score,
                "note": checkin.note,
                "source": "checkin",
                "checkin_id": checkin.id,
                "recorded_at": now,
            }
        )
        answered = {
            "mood": press.score,
            "status": CheckinStatus.ANSWERED,
            "answered_at": checkin.answered_at or now,
            "step": CheckinStep.NOTE,
        }
        updates.append({"checkin": checkin.id, **{f"new_{k}": v for k, v in answered.items()}})
        # The session sees the answered check-in as stored (the UPDATE below stores it), so a
        # later event of the batch reads it as the general path would have left it.
        for name, value in answered.items():
            set_committed_value(checkin, name, value)
        # A batch holds many students: each reply in its own student's language, as the
        # general path speaks the actor's.
        with speaking_to(person, settings):
            replies[press.index] = Reply(
                update=answered_with_next(press.score, note_prompt(checkin.id, links))
            )
    if updates:
        # One UPDATE executed for each check-in, without the unit of work's per-object
        # change tracking (measured: bench answers, the core's largest cost after the reads).
        session.execute(_ANSWER_UPDATE, updates)
    if entries:
        # One executemany on the table: nothing here needs the new entries' ids back.
        session.execute(insert(MoodEntry.__table__), entries)  # type: ignore[attr-defined]
    session.flush()
    return replies


_CHECKINS = Checkin.__table__  # type: ignore[attr-defined]
_ANSWER_UPDATE = (
    update(_CHECKINS)
    .where(_CHECKINS.c.id == bindparam("checkin"))
    .values(
        mood=bindparam("new_mood"),
        status=bindparam("new_status"),
        answered_at=bindparam("new_answered_at"),
        step=bindparam("new_step"),
    )
)


def _people(session: Session, presses: Sequence[MoodPress]) -> dict[tuple[str, str], Person]:
    keys = {(p.inbound.actor.platform, p.inbound.actor.user_id) for p in presses}
    rows = session.exec(
        select(Identity.platform, Identity.user_id, Person)
        .join(Person, col(Person.id) == Identity.person_id)
        .where(tuple_(col(Identity.platform), col(Identity.user_id)).in_(keys))
    )
    return {(platform, user_id): person for platform, user_id, person in rows}


def _averages(
    session: Session, settings: CoreSettings, now: datetime, person_ids: Sequence[int | None]
) -> Mapping[int, float]:
    """Each person's average score over the drop window before now (as `average_before`)."""
    ids = {i for i in person_ids if i is not None}
    if not ids:
        return {}
    since = now - timedelta(days=settings.escalation.drop_window_days)
    rows = session.exec(
        select(MoodEntry.person_id, func.sum(MoodEntry.score), func.count())
        .where(
            col(MoodEntry.person_id).in_(ids),
            col(MoodEntry.recorded_at) >= since,
            col(MoodEntry.recorded_at) <= now,
        )
        .group_by(col(MoodEntry.person_id))
    )
    return {person_id: int(total) / int(count) for person_id, total, count in rows if count}


def _record_events(session: Session, now: datetime, inbounds: Sequence[Inbound]) -> set[str]:
    """Record the platform event ids; returns those seen for the first time."""
    rows = [
        {"platform": i.actor.platform, "event_id": i.event_id, "at": now}
        for i in inbounds
        if i.event_id
    ]
    if not rows:
        return set()
    # Executed for many rows at once (compiled once, whatever the batch size); RETURNING
    # names exactly the rows that went in, so the rest are retries.
    inserted = insert_ignore(session, ProcessedEvent, rows, returning=["event_id"])
    return {str(event_id) for (event_id,) in inserted}
