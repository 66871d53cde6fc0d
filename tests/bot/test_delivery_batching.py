"""Sent rows are recorded in batches: one transaction per batch, nothing lost on a failure."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import pytest
from sqlmodel import select

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.delivery import Claimed, OutboxDelivery, SentRecorder, SentRow
from bot.model import SendResult
from bot.services.delivery_events import ServiceDeliveryEvents
from storage.db import Database
from storage.tables import Outbox
from tests.bot.test_pacing import NOW, TimedMessenger, VirtualTime, queue


def claimed(row_id: int) -> Claimed:
    """A claimed row as the recorder sees it (only the id matters to it)."""
    return Claimed(
        id=row_id,
        dedupe_key=f"test:{row_id}",
        platform="slack",
        person_id=None,
        user_id=f"U{row_id}",
        channel_id=f"D{row_id}",
        payload="{}",
        kind="message",
        alert_id=None,
        attempts=1,
    )


def sent_row(row_id: int) -> SentRow:
    """A row the platform accepted."""
    return SentRow(claimed(row_id), SendResult(f"m{row_id}", f"D{row_id}"), NOW)


class Writes:
    """A write function that records each batch and fails as told."""

    def __init__(self, fail_first: int = 0, poison: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail_first = fail_first  # fail this many writes first
        self.poison = poison  # fail every write containing this row id
        self.calls = 0

    def __call__(self, batch: Sequence[SentRow]) -> None:
        """Write one batch (or fail)."""
        self.calls += 1
        ids = [s.row.id for s in batch]
        if self.calls <= self.fail_first or self.poison in ids:
            raise RuntimeError("database is locked")
        self.batches.append(ids)


async def test_rows_sent_together_are_written_in_one_transaction() -> None:
    """Ten rows queued at once are one write, in the order they were sent."""
    writes = Writes()
    recorder = SentRecorder(writes, interval=0.001)
    recorder.start()
    for row_id in range(1, 11):
        recorder.add(sent_row(row_id))
    await recorder.close()
    assert writes.batches == [list(range(1, 11))]


async def test_a_batch_is_at_most_max_rows() -> None:
    """Five rows with a two-row cap are written as 2 + 2 + 1."""
    writes = Writes()
    recorder = SentRecorder(writes, interval=0.001, max_rows=2)
    for row_id in range(1, 6):
        recorder.add(sent_row(row_id))
    await recorder.close()
    assert writes.batches == [[1, 2], [3, 4], [5]]


async def test_a_failed_batch_write_loses_no_row() -> None:
    """The batch's transaction fails once: every row is still written, none twice."""
    writes = Writes(fail_first=1)
    recorder = SentRecorder(writes, interval=0.001)
    for row_id in range(1, 6):
        recorder.add(sent_row(row_id))
    await recorder.close()
    assert sorted(i for batch in writes.batches for i in batch) == [1, 2, 3, 4, 5]


async def test_a_row_that_cannot_be_written_holds_up_no_other(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One row always fails: the others are written; it is tried max_failures times, logged."""
    writes = Writes(poison=3)
    recorder = SentRecorder(writes, interval=0.001, max_failures=3)
    for row_id in range(1, 6):
        recorder.add(sent_row(row_id))
    with caplog.at_level(logging.WARNING, logger="bot.delivery"):
        await recorder.close()
    assert sorted(i for batch in writes.batches for i in batch) == [1, 2, 4, 5]
    # The batch, then row 3 alone in this and two more rounds.
    assert writes.calls == 1 + 5 + 2
    assert any(
        "outbox row 3 was sent but could not be recorded" in r.message for r in caplog.records
    )


class FlakyDelivery(OutboxDelivery):
    """A delivery loop whose first batch of sent rows fails to commit."""

    failed = False

    def _record_sent_batch(self, batch: Sequence[SentRow]) -> None:
        """Fail the first write, then record as usual."""
        if not self.failed:
            self.failed = True
            raise RuntimeError("database is locked")
        super()._record_sent_batch(batch)


async def test_delivery_records_every_sent_row_despite_a_failed_write(db: Database) -> None:
    """30 rows, the first record transaction fails: all end sent with their ids, each sent once."""
    clock = VirtualTime()
    messenger = TimedMessenger(clock)
    queue(db, [f"D{i}" for i in range(30)])
    settings = CoreSettings()
    delivery = FlakyDelivery(
        db, {"slack": messenger}, FixedClock(NOW), settings, ServiceDeliveryEvents(settings)
    )
    stats = await clock.run(delivery.deliver_once(["slack"]))
    assert delivery.failed and stats.sent == 30
    assert sorted(c for _, c in messenger.sent) == sorted(f"D{i}" for i in range(30))
    with db.session() as session:
        rows = session.exec(select(Outbox)).all()
    assert {r.status for r in rows} == {"sent"}
    assert all(r.platform_channel_id == r.channel_id and r.platform_message_id for r in rows)
    assert all(isinstance(r.sent_at, datetime) and r.claimed_until is None for r in rows)
