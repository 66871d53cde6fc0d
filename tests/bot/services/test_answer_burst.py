"""Bulk answers of a burst equal the general path, event for event, row for row."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.model import Actor, Inbound, Reply
from bot.services.answer_burst import mood_presses
from storage.db import Database
from storage.migrate import upgrade
from storage.tables import (
    Alert,
    Checkin,
    CheckinSchedule,
    MoodEntry,
    Outbox,
    ProcessedEvent,
)
from tests.conftest import START
from tests.scheduling.world import add_person, assign_mentors, schedule
from tests.tick import REGISTRY

# Students by Slack id. s5 has no time zone; s6 has a high mood history (a 3 is a sharp drop).
STUDENTS = ["U1", "U2", "U3", "U4", "U5", "U6"]
MENTOR = "UM"
STRANGER = "UX"


def build_world(path: Path) -> dict[str, list[int]]:
    """A programme with open, answered, missed and note-less check-ins; returns check-in ids."""
    db = Database(f"sqlite:///{path}")
    upgrade(db.engine)
    mentor = add_person(db, "mentor@example.edu", role="mentor", slack_id=MENTOR, quiet=("0", "0"))
    with_note = schedule(db, days="daily", local_time="09:00", questions="mood,note,goal")
    without_note = schedule(db, days="daily", local_time="09:00", questions="mood,goal")
    ids: dict[str, list[int]] = {}
    people = {}
    for n, uid in enumerate(STUDENTS, start=1):
        tz = None if uid == "U5" else "Europe/London"
        people[uid] = add_person(db, f"s{n}@example.edu", tz=tz, slack_id=uid, quiet=("0", "0"))
        assign_mentors(db, people[uid], mentor)
    with db.session() as session:
        for n, uid in enumerate(STUDENTS, start=1):
            person_id = people[uid]
            rows = [
                Checkin(
                    person_id=person_id,
                    schedule_id=with_note,
                    occurrence_key=f"open:{n}",
                    opened_at=START - timedelta(minutes=5),
                ),
                Checkin(
                    person_id=person_id,
                    schedule_id=without_note,
                    occurrence_key=f"nonote:{n}",
                    opened_at=START - timedelta(minutes=4),
                ),
                Checkin(
                    person_id=person_id,
                    schedule_id=with_note,
                    occurrence_key=f"missed:{n}",
                    status="missed",
                    opened_at=START - timedelta(days=1),
                ),
                Checkin(
                    person_id=person_id,
                    schedule_id=with_note,
                    occurrence_key=f"answered:{n}",
                    status="answered",
                    step="note",
                    mood=4,
                    answered_at=START - timedelta(hours=1),
                    opened_at=START - timedelta(hours=2),
                ),
            ]
            session.add_all(rows)
            session.flush()
            session.add(
                MoodEntry(
                    person_id=person_id,
                    score=4,
                    source="checkin",
                    checkin_id=rows[3].id,
                    recorded_at=START - timedelta(hours=1),
                )
            )
            if uid == "U6":
                for day in range(1, 4):
                    session.add(
                        MoodEntry(
                            person_id=person_id, score=5, recorded_at=START - timedelta(days=day)
                        )
                    )
            ids[uid] = [int(r.id or 0) for r in rows]
    db.dispose()
    return ids


@pytest.fixture(scope="module")
def template() -> Iterator[tuple[Path, dict[str, list[int]]]]:
    """The world built once; each example copies the file."""
    folder = Path(tempfile.mkdtemp())
    path = folder / "world.db"
    ids = build_world(path)
    yield path, ids
    shutil.rmtree(folder, ignore_errors=True)


def events(ids: dict[str, list[int]]) -> st.SearchStrategy[list[Inbound]]:
    """Random batches: mostly mood presses, good and bad, plus commands and notes."""
    all_checkins = [c for row in ids.values() for c in row] + [999_999]
    user = st.sampled_from([*STUDENTS, MENTOR, STRANGER])
    press = st.builds(
        lambda uid, checkin, score, event: Inbound(
            Actor("slack", "T1", uid),
            "action",
            "checkin.mood",
            {"checkin": str(checkin), "score": score},
            event_id=event,
        ),
        user,
        st.one_of(
            st.sampled_from(all_checkins),
            st.sampled_from(STUDENTS).map(lambda uid: ids[uid][0]),  # own open check-in, often
        ),
        st.sampled_from(["1", "2", "3", "4", "5", "5", "9", "x"]),
        st.one_of(st.none(), st.sampled_from(["Ev1", "Ev2", "Ev3"])),
    )
    other = st.builds(
        lambda uid, kind: (
            Inbound(Actor("slack", "T1", uid), "command", "mood", {}, "4")
            if kind == "mood"
            else Inbound(Actor("slack", "T1", uid), "text", "message", {}, "long day")
        ),
        user,
        st.sampled_from(["mood", "note"]),
    )
    return st.lists(st.one_of(press, press, press, other), min_size=2, max_size=12)


def rows(db: Database) -> dict[str, object]:
    """What the events stored, without ids that depend on the order of inserts."""
    with db.session() as session:
        return {
            "moods": sorted(
                (
                    (e.person_id, e.score, e.checkin_id, e.source, e.note, e.recorded_at)
                    for e in session.exec(select(MoodEntry))
                ),
                key=repr,  # some fields are None
            ),
            "checkins": sorted(
                (
                    (c.id, c.status, c.step, c.mood, c.answered_at, c.goal_id)
                    for c in session.exec(select(Checkin))
                ),
                key=repr,
            ),
            "alerts": sorted((a.kind, a.student_id) for a in session.exec(select(Alert))),
            "outbox": sorted(o.dedupe_key for o in session.exec(select(Outbox))),
            "events": sorted(e.event_id for e in session.exec(select(ProcessedEvent))),
        }


def copy_of(path: Path, folder: Path, name: str) -> Database:
    target = folder / name
    shutil.copy(path, target)
    return Database(f"sqlite:///{target}")


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_batch_equals_the_same_events_one_by_one(template, data) -> None:
    """Replies and stored rows are the same whether a burst is handled in bulk or singly."""
    path, ids = template
    batch = data.draw(events(ids))
    with tempfile.TemporaryDirectory() as folder:
        one_by_one = copy_of(path, Path(folder), "single.db")
        together = copy_of(path, Path(folder), "batch.db")
        try:
            clock = FixedClock(START)
            single = MentorBot(one_by_one, CoreSettings(), clock, registry=REGISTRY)
            bulk = MentorBot(together, CoreSettings(), clock, registry=REGISTRY)
            expected = [single.handle(inbound) for inbound in batch]
            got = bulk.handle_batch(batch)
            assert got == expected
            assert rows(together) == rows(one_by_one)
        finally:
            one_by_one.dispose()
            together.dispose()


def test_the_plain_case_is_answered_in_bulk(template) -> None:
    """First answers on own open check-ins go the bulk way, in one batch."""
    path, ids = template
    batch = [
        Inbound(
            Actor("slack", "T1", uid),
            "action",
            "checkin.mood",
            {"checkin": str(ids[uid][0]), "score": "4"},
        )
        for uid in ("U1", "U2", "U3")
    ]
    assert [p.index for p in mood_presses(batch)] == [0, 1, 2]
    with tempfile.TemporaryDirectory() as folder:
        db = copy_of(path, Path(folder), "db.db")
        try:
            replies = MentorBot(
                db, CoreSettings(), FixedClock(START), registry=REGISTRY
            ).handle_batch(batch)
            assert all(isinstance(r, Reply) and r.update is not None for r in replies)
            assert all("Anything on your mind?" in r.update.text for r in replies if r.update)
            with db.session() as session:
                opened = [session.get(Checkin, ids[uid][0]) for uid in ("U1", "U2", "U3")]
                assert [(c.status, c.step, c.mood) for c in opened if c] == [
                    ("answered", "note", 4)
                ] * 3
                assert session.get(CheckinSchedule, opened[0].schedule_id) is not None  # type: ignore[union-attr]
        finally:
            db.dispose()


def test_someone_acting_twice_in_a_batch_is_not_taken_in_bulk() -> None:
    """A press and a note by one person keep their order on the general path."""
    press = Inbound(
        Actor("slack", "T1", "U1"), "action", "checkin.mood", {"checkin": "1", "score": "4"}
    )
    note = Inbound(Actor("slack", "T1", "U1"), "text", "message", {}, "hi")
    other = Inbound(
        Actor("slack", "T1", "U2"), "action", "checkin.mood", {"checkin": "2", "score": "x"}
    )
    assert mood_presses([press, note, other]) == []
