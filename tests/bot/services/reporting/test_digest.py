"""The weekly digest job: due at the set local time, once a week, mentors spread over ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from bot.config import CoreSettings
from bot.model import Message
from bot.services.reporting import digest
from bot.services.reporting.digest import digest_due, send_weekly_digests
from storage.db import Database
from storage.tables import Outbox
from tests.bot.services.reporting.world import add_person, assign, log_week, students

# Monday 30 Nov 2026; in Europe/London (UTC+0 in winter) the digest is due at 08:00.
MONDAY = datetime(2026, 11, 30, tzinfo=UTC)
SETTINGS = CoreSettings(
    staff_channel="slack:C0STAFF01",
    default_timezone="Europe/London",
    digest_day="mon",
    digest_time="08:00",
)


def keys(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.exec(select(Outbox.dedupe_key).order_by(col(Outbox.dedupe_key))).all())


def test_due_only_after_the_digest_time_of_the_digest_day() -> None:
    """Before Monday 08:00 local nothing is due; from then on the week's key is the same."""
    assert digest_due(SETTINGS, MONDAY + timedelta(hours=7, minutes=59)) is None
    due = digest_due(SETTINGS, MONDAY + timedelta(hours=8))
    assert due is not None and due[0] == "digest:2026-W49"
    later = digest_due(SETTINGS, MONDAY + timedelta(days=3))
    assert later is not None and later[0] == "digest:2026-W49"
    assert digest_due(CoreSettings(), MONDAY + timedelta(hours=9)) is None  # off by default


def test_digest_is_queued_once_and_mentors_follow_over_ticks(db: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Staff and the first mentors on one tick, the rest on the next; a third tick adds nothing."""
    monkeypatch.setattr(digest, "MENTORS_PER_TICK", 2)
    with db.session() as session:
        people = students(session, "d", 9, MONDAY)
        mentors = [add_person(session, f"m{i}@example.edu", "mentor", MONDAY) for i in range(3)]
        for i, mentor in enumerate(mentors):
            assign(session, mentor, people[i * 3 : i * 3 + 3])
        log_week(session, people, MONDAY - timedelta(weeks=1), 3)
    at = MONDAY + timedelta(hours=8, minutes=1)
    with db.session() as session:
        assert send_weekly_digests(session, SETTINGS, at - timedelta(minutes=2)).queued is False
        first = send_weekly_digests(session, SETTINGS, at)
    assert (first.staff, first.mentors) == (1, 2)
    with db.session() as session:
        second = send_weekly_digests(session, SETTINGS, at + timedelta(minutes=1))
    assert (second.staff, second.mentors) == (0, 1)
    with db.session() as session:
        third = send_weekly_digests(session, SETTINGS, at + timedelta(minutes=2))
    assert third.queued is False
    sent = keys(db)
    assert sum(1 for k in sent if k.startswith("digest:2026-W49:staff:")) == 5  # text + 4 charts
    mentor_firsts = [
        k for k in sent if k.startswith("digest:2026-W49:mentor:") and k.endswith(":0")
    ]
    assert len(mentor_firsts) == 3
    # Three students each: below the minimum, so a mentor's digest withholds the figures.
    with db.session() as session:
        row = session.exec(select(Outbox).where(Outbox.dedupe_key == mentor_firsts[0])).one()
        message = Message.from_json(row.payload)
    assert "fewer than 5 students" in message.text and message.attachment is None
