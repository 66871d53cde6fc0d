"""The outbox delivery loop: due rows go to the platform's Messenger, outcomes are recorded.

Each row ends sent (with the platform's ids), pending with a retry time, or failed with a
notice to staff.

A row is claimed with a lease; a crash while sending leaves the lease to expire and the row is
claimed again after restart. Nothing is pushed to a platform inside a database transaction.

At a platform's rate limit the loop keeps the pacer busy: the next claim is made while the
current one still has about a second of sends queued (prefetch), and sent rows are recorded
in batches a few tens of milliseconds apart (`SentRecorder`), not one transaction each.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import inspect
import logging
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, or_, update
from sqlmodel import Session, col, select

from bot.clock import Clock
from bot.config import CoreSettings
from bot.model import (
    CopyRemover,
    DirectMessagesClosed,
    Message,
    MessageEditor,
    Messenger,
    PermanentDeliveryError,
    PlatformDeliveryError,
    PostedCopy,
    Recipient,
    SendResult,
    TransientDeliveryError,
)
from bot.outbox import COPY_KINDS
from bot.pacing import HoldReporter, Pacer
from storage.db import Database
from storage.enums import OutboxKind, OutboxStatus
from storage.tables import Identity, Outbox

log = logging.getLogger(__name__)

# A platform that cannot send at all is tried again this often (seconds).
PLATFORM_RETRY_SECONDS = 60.0


@dataclass(frozen=True)
class Claimed:
    """A claimed outbox row, detached from its session."""

    id: int
    dedupe_key: str
    platform: str
    person_id: int | None
    user_id: str | None
    channel_id: str | None
    payload: str
    kind: str
    alert_id: int | None
    attempts: int
    member_ids: str | None = None  # a group conversation (see `Outbox.member_ids`)
    # COPY_KINDS rows: the delivered message they delete or edit.
    target_message_id: str | None = None
    urgent: bool = False


@dataclass
class DeliveryStats:
    """Counts from one delivery pass."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # put back unsent: the channel's pace would outlast the lease


class DeliveryObserver:
    """Hooks the entrance uses to count deliveries (metrics); every hook does nothing here.

    The core knows no metrics library: the composition root passes a subclass.
    """

    def sent(self, platform: str) -> None:
        """A message the platform accepted."""

    def retried(self, platform: str, *, rate_limited: bool) -> None:
        """A send that will be tried again (`rate_limited`: the platform said 429)."""

    def failed(self, platform: str) -> None:
        """A message given up on."""

    def pass_done(self, stats: DeliveryStats, seconds: float) -> None:
        """A delivery pass ended."""


class DeliveryEvents(Protocol):
    """What the services do about what the delivery loop saw; the loop keeps to transport.

    Who hears of a failure, which alert a delivered copy completes, where an urgent alert
    goes next when a route fails, which stranded rows move: those are the services' calls
    (`bot.services.delivery_events`), injected by the composition root. Each method runs in
    the loop's own transaction (`session`), committed with the row's outcome.
    """

    def reroute(self, session: Session, now: datetime, running: AbstractSet[str]) -> None:
        """Re-address pending rows stranded on platforms that do not run here."""
        ...

    def watch(self, session: Session, now: datetime, running: AbstractSet[str]) -> None:
        """Look for urgent alerts nobody has received in time (and sound the alarm)."""
        ...

    def delivered(self, session: Session, row: Claimed, at: datetime) -> None:
        """A row reached its platform at `at` (an alert's copy: the alert was delivered)."""
        ...

    def holds_urgent_alert(self, session: Session, row: Claimed) -> bool:
        """True when the row is an urgent alert still waiting for someone (it is locked).

        Such a row is retried however often it failed, and sooner.
        """
        ...

    def urgent_retry(
        self,
        session: Session,
        row: Claimed,
        error: str,
        now: datetime,
        *,
        platform_wide: bool,
        running: AbstractSet[str],
    ) -> None:
        """An urgent alert's copy failed and will be retried: try it another way meanwhile."""
        ...

    def delivery_failed(self, session: Session, row: Claimed, error: str, now: datetime) -> None:
        """A row was given up on: tell whoever can act on it."""
        ...

    def dms_closed(self, session: Session, row: Claimed, error: str, now: datetime) -> None:
        """The row's person takes no DMs from the bot there: mark it once, say so once."""
        ...

    def platform_down(
        self,
        session: Session,
        now: datetime,
        platform: str,
        error: str,
        running: AbstractSet[str],
    ) -> None:
        """A platform cannot send at all: report it on the other routes."""
        ...


@dataclass(frozen=True)
class SentRow:
    """A row the platform accepted, waiting to be recorded as sent."""

    row: Claimed
    result: SendResult
    at: datetime  # when the platform answered (stored as sent_at)


class SentRecorder:
    """Records sent rows in batches: one transaction per batch, off the send path.

    A row the platform accepted must be recorded soon: until then a crash leaves it
    `sending`, and it is sent again once its lease runs out. So a batch is written as soon as
    one is waiting and the previous write is `interval` seconds old: at most one transaction
    per interval, and a row waits at most about `interval` plus one write. Rows are never
    dropped on a failed write: the batch is retried row by row (one bad row cannot hold up the
    others), and a row whose write keeps failing is retried up to `max_failures` times before
    it is left to its lease (and logged).
    """

    def __init__(
        self,
        write: Callable[[Sequence[SentRow]], None],
        *,
        interval: float = 0.05,
        max_rows: int = 200,
        max_failures: int = 3,
    ) -> None:
        self._write = write
        self.interval = interval
        self.max_rows = max_rows
        self.max_failures = max_failures
        self._waiting: list[SentRow] = []
        self._retry: list[SentRow] = []  # failed writes, for the next round
        self._failures: dict[int, int] = {}  # row id -> failed writes
        self._ready = asyncio.Event()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # transactions written (for tests and benchmarks)

    def start(self) -> None:
        """Start the writer task (in the running loop)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    def add(self, sent: SentRow) -> None:
        """Queue a sent row for the next batch."""
        self._waiting.append(sent)
        self._ready.set()

    async def close(self) -> None:
        """Write everything queued (at once, not waiting for the interval), then stop."""
        self._closing.set()
        self._ready.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        await self._task

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._waiting:
                batch = self._waiting[: self.max_rows]
                del self._waiting[: len(batch)]
                await self._write_batch(batch)
            if self._retry:
                # A failed write is tried again in the next round, never straight away.
                self._waiting[:0] = self._retry
                self._retry.clear()
                self._ready.set()
                await asyncio.sleep(self.interval)
                continue
            if self._closing.is_set():
                return
            # At most one transaction per interval: what is sent meanwhile joins the next
            # batch. close() cuts the wait short.
            try:
                await asyncio.wait_for(self._closing.wait(), self.interval)
            except TimeoutError:
                pass

    async def _write_batch(self, batch: list[SentRow]) -> None:
        try:
            await asyncio.to_thread(self._write, batch)
            self.batches += 1
            return
        except Exception:
            if len(batch) == 1:
                self._failed(batch[0])
                return
            log.exception("recording %d sent rows failed; recording them one by one", len(batch))
        for sent in batch:
            try:
                await asyncio.to_thread(self._write, [sent])
                self.batches += 1
            except Exception:
                self._failed(sent)

    def _failed(self, sent: SentRow) -> None:
        failures = self._failures.get(sent.row.id, 0) + 1
        if failures < self.max_failures:
            self._failures[sent.row.id] = failures
            log.warning("recording sent outbox row %s failed; trying again", sent.row.id)
            self._retry.append(sent)
            return
        self._failures.pop(sent.row.id, None)
        # Nothing more can be done here: the row stays `sending` and is sent again when its
        # lease runs out (at least once, as after a crash).
        log.error(
            "outbox row %s was sent but could not be recorded after %d tries",
            sent.row.id,
            failures,
            exc_info=True,
        )


class _ClaimProgress:
    """Counts a claim's rows not yet handed to the platform; tells when few are left."""

    def __init__(self, rows: int, lead: int) -> None:
        self.unsent = rows
        self.lead = lead
        self.nearly_sent = asyncio.Event()
        self._check()

    def sent(self, rows: int = 1) -> None:
        """`rows` went out (or were handed back)."""
        self.unsent -= rows
        self._check()

    def finish(self) -> None:
        """The claim is over, however it ended."""
        self.unsent = 0
        self.nearly_sent.set()

    def _check(self) -> None:
        if self.unsent <= self.lead:
            self.nearly_sent.set()


def _forget_tail(tails: dict[str, asyncio.Task[None]], key: str, done: asyncio.Task[None]) -> None:
    """Drop a channel's finished task, unless a later claim's task has replaced it."""
    if tails.get(key) is done:
        del tails[key]


def channel_key(row: Claimed) -> str:
    """The platform channel a row goes to: its DM or channel id, else the user (one DM each).

    A Slack group DM has no channel id until it is opened: its members name it.
    """
    if row.member_ids and not row.channel_id:
        return f"group:{row.member_ids}"
    return row.channel_id or f"user:{row.user_id}"


def nonce_for(dedupe_key: str) -> str:
    """A short, stable nonce for a row (Discord accepts at most 25 characters)."""
    return hashlib.sha256(dedupe_key.encode()).hexdigest()[:25]


class OutboxDelivery:
    """Moves due outbox rows to platforms through their Messengers."""

    # Channel tasks started per event-loop iteration when a claim begins.
    START_CHUNK = 50
    # A claimed row is sent only within this share of its lease: the rest leaves time for
    # the send itself and for recording it before another claim may take the row.
    LEASE_SEND_SHARE = 0.8

    def __init__(
        self,
        db: Database,
        messengers: Mapping[str, Messenger],
        clock: Clock,
        settings: CoreSettings,
        events: DeliveryEvents,
        *,
        batch_size: int = 200,
        concurrency: int = 50,
        pacer: Pacer | None = None,
        record_interval: float = 0.05,
        prefetch_seconds: float = 1.0,
        watchdog_seconds: float = 5.0,
        observer: DeliveryObserver | None = None,
    ) -> None:
        self.db = db
        self.messengers = dict(messengers)
        self.clock = clock
        self.settings = settings
        self.events = events
        self.batch_size = batch_size
        self.concurrency = concurrency
        # No limits by default (console, tests); the composition root passes the platforms'.
        self.pacer = pacer or Pacer()
        # Sent rows are recorded at most this long apart, in batches (see SentRecorder).
        self.record_interval = record_interval
        # The next claim is made while the current one has this much of its pace left.
        self.prefetch_seconds = prefetch_seconds
        self._wake = asyncio.Event()
        # Platforms that cannot send at all (a revoked token): reason, and when to try again.
        self.down: dict[str, tuple[str, datetime]] = {}
        # How often a pass looks for stuck urgent alerts (the re-routing of stranded rows
        # runs every pass: it is one indexed query when nothing is stranded).
        self.watchdog_seconds = watchdog_seconds
        self._watched_at: datetime | None = None
        # False on an instance that delivers beside the cluster's owner (PACING_BUDGET=
        # postgres): re-routing and the urgent-alert watchdog stay with the owner, which
        # runs every platform (a standby would see the owner's platforms as stranded).
        self.maintains = True

        self.observer = observer or DeliveryObserver()
        # Set by `run_forever`'s stop: no new claims, and claimed rows not yet handed to a
        # platform go back to pending (sends already in flight finish and are recorded).
        self._stop: asyncio.Event | None = None
        self.released_at_stop = 0
        # When the loop last showed it was alive (time.monotonic via the pacer): the health
        # check reports a loop that stopped moving.
        self.heartbeat = self.pacer.monotonic()
        # The messenger each platform's pacer hold was handed to (see `_hook_holds`).
        self._holds_hooked: dict[str, Messenger] = {}

    @property
    def running(self) -> frozenset[str]:
        """The platforms this loop delivers to: those with a registered Messenger."""
        return frozenset(self.messengers)

    def maintain(self) -> None:
        """Re-route rows stranded on platforms that do not run; sound alarms for stuck alerts.

        Runs at the start of every pass; each step in its own transaction, and a failing
        step is logged without stopping delivery. Not where `maintains` is False.
        """
        if not self.maintains:
            return
        now = self.clock.now()
        try:
            with self.db.session() as session:
                self.events.reroute(session, now, self.running)
        except Exception:
            log.exception("re-routing stranded outbox rows failed")
        if (
            self._watched_at is not None
            and (now - self._watched_at).total_seconds() < self.watchdog_seconds
        ):
            return
        self._watched_at = now
        try:
            with self.db.session() as session:
                self.events.watch(session, now, self.running)
        except Exception:
            log.exception("the urgent-alert watchdog failed")

    @property
    def stopping(self) -> bool:
        """True once the loop was asked to stop."""
        return self._stop is not None and self._stop.is_set()

    async def _unless_stopping(self, waiting: Awaitable[None]) -> bool:
        """Await a pacing wait, cut short by stop; True when it ran to its end."""
        stop = self._stop
        if stop is None:
            await waiting
            return True
        if stop.is_set():
            if inspect.iscoroutine(waiting):
                waiting.close()
            return False
        task = asyncio.ensure_future(waiting)
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if task.done():
            task.result()
            return True
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return False

    def wake(self) -> None:
        """Ask the loop to look for work now (after a core call queued pushes)."""
        self._wake.set()

    def claim_due(
        self, platforms: Sequence[str], limit: int, user_id: str | None = None
    ) -> list[Claimed]:
        """Claim up to `limit` due rows for these platforms; expired leases count as due."""
        now = self.clock.now()
        lease_until = now + timedelta(seconds=self.settings.outbox_lease_seconds)
        with self.db.session() as session:
            query = (
                select(Outbox)
                .where(
                    col(Outbox.platform).in_(platforms),
                    col(Outbox.next_attempt_at) <= now,
                    or_(
                        col(Outbox.status) == OutboxStatus.PENDING,
                        (col(Outbox.status) == OutboxStatus.SENDING)
                        & (col(Outbox.claimed_until) < now),
                    ),
                )
                .order_by(col(Outbox.urgent).desc(), col(Outbox.next_attempt_at), col(Outbox.id))
                .limit(limit)
            )
            if user_id is not None:
                query = query.where(Outbox.user_id == user_id)
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            rows = session.exec(query).all()
            if not rows:
                return []
            ids = [r.id for r in rows]
            session.execute(
                update(Outbox)
                .where(col(Outbox.id).in_(ids))
                .values(
                    status=OutboxStatus.SENDING,
                    claimed_until=lease_until,
                    attempts=Outbox.attempts + 1,
                )
                # The loaded rows keep the values read above (attempts is counted below);
                # synchronising them re-evaluated `attempts + 1` on every loaded row (a third
                # of a large claim's time) and made it count each claim twice.
                .execution_options(synchronize_session=False)
            )
            return [
                Claimed(
                    id=r.id or 0,
                    dedupe_key=r.dedupe_key,
                    platform=r.platform,
                    person_id=r.person_id,
                    user_id=r.user_id,
                    channel_id=r.channel_id,
                    payload=r.payload,
                    kind=r.kind,
                    alert_id=r.alert_id,
                    attempts=r.attempts + 1,
                    member_ids=r.member_ids,
                    target_message_id=r.platform_message_id if r.kind in COPY_KINDS else None,
                    urgent=r.urgent,
                )
                for r in rows
            ]

    async def deliver_once(
        self, platforms: Sequence[str] | None = None, user_id: str | None = None
    ) -> DeliveryStats:
        """One pass: claim due rows (in batches) and send them, paced; returns what happened.

        Platforms are delivered side by side, each at its own pace. Sent rows are recorded
        in batches while the pass runs, and all of them before it returns.
        """
        await asyncio.to_thread(self.maintain)
        now = self.clock.now()
        wanted = [
            p
            for p in (platforms or self.messengers.keys())
            # A platform that cannot send waits for its retry time (then one pass probes it).
            if p not in self.down or self.down[p][1] <= now
        ]
        stats = DeliveryStats()
        recorder = SentRecorder(
            self._record_sent_batch, interval=self.record_interval, max_rows=self.batch_size
        )
        recorder.start()
        try:
            await asyncio.gather(
                *(self._deliver_platform(p, user_id, stats, recorder) for p in wanted)
            )
        finally:
            await recorder.close()
        return stats

    def _claim_limit(self, platform: str) -> int:
        """How many rows to claim at once: what the platform's pace sends in half a lease.

        A claimed row must not wait in memory until its lease runs out: another worker
        would then take it and send it twice.
        """
        rate = self.pacer.overall_rate(platform)
        if rate is None:
            return self.batch_size
        # Not capped at batch_size: every claim ends by waiting for its slowest send, a gap in
        # the pace; at 50/s, 200-row claims cost 1 % of a fan-out (measured: bench/fanout.py).
        return max(1, int(rate * self.settings.outbox_lease_seconds / 2))

    def _prefetch_rows(self, platform: str) -> int:
        """How few unsent rows a claim has left when the next claim is made.

        About `prefetch_seconds` of the pace: enough to cover the next claim's own query, so
        the pace never waits for it; unpaced, one round of sends in flight.
        """
        rate = self.pacer.overall_rate(platform)
        if rate is None:
            return self.concurrency
        return max(1, math.ceil(rate * self.prefetch_seconds))

    def _hook_holds(self, platform: str) -> None:
        """Hand a messenger that reports platform-wide holds the pacer's hold, once.

        Here rather than in __init__: a messenger may be registered after the loop is built.
        """
        messenger = self.messengers.get(platform)
        if messenger is None or self._holds_hooked.get(platform) is messenger:
            return
        self._holds_hooked[platform] = messenger
        if isinstance(messenger, HoldReporter):
            messenger.report_holds(functools.partial(self.pacer.hold, platform))

    async def _deliver_platform(
        self, platform: str, user_id: str | None, stats: DeliveryStats, recorder: SentRecorder
    ) -> None:
        self._hook_holds(platform)
        semaphore = asyncio.Semaphore(self.concurrency)
        limit = self._claim_limit(platform)
        lead = self._prefetch_rows(platform)
        # Paced, the first claim is two leads: the first send goes out after a short query
        # (a full claim's takes 0.1 s and more at 1,455 rows), and the full-size claim is
        # made while it sends.
        size = min(limit, 2 * lead) if self.pacer.overall_rate(platform) is not None else limit
        # Per channel, the task sending its rows of an earlier claim still in flight: a later
        # claim's rows for that channel wait for it, so a channel's rows keep their order.
        tails: dict[str, asyncio.Task[None]] = {}
        claims: list[asyncio.Task[None]] = []
        try:
            while not self.stopping:
                self.heartbeat = claimed_at = self.pacer.monotonic()
                claimed = await asyncio.to_thread(self.claim_due, [platform], size, user_id)
                size = limit
                if not claimed:
                    if not claims:
                        return
                    # What the claims in flight leave due (a failure notice) is claimed after
                    # them, in this pass, as before prefetching.
                    await asyncio.gather(*claims)
                    claims.clear()
                    continue
                progress = _ClaimProgress(len(claimed), lead)
                claims.append(
                    asyncio.create_task(
                        self._deliver_claim(
                            claimed, semaphore, stats, recorder, progress, tails, claimed_at
                        )
                    )
                )
                # Prefetch: claim the next batch while this one still has about a second of
                # sends queued, so the pace never idles between claims (a claim's query, and
                # its slowest send, used to leave a gap each time).
                await progress.nearly_sent.wait()
        except asyncio.CancelledError:
            for task in claims:
                task.cancel()
            raise
        finally:
            # No send may outlive the pass: the pass's recorder records what they send.
            if claims:
                await asyncio.gather(*claims, return_exceptions=True)

    async def _deliver_claim(
        self,
        claimed: list[Claimed],
        semaphore: asyncio.Semaphore,
        stats: DeliveryStats,
        recorder: SentRecorder,
        progress: _ClaimProgress,
        tails: dict[str, asyncio.Task[None]],
        claimed_at: float,
    ) -> None:
        """Send one claim's rows, a task per channel (each after the channel's earlier rows).

        `claimed_at`: the pacer's time just before the claim's query, when its lease began.
        """
        try:
            by_channel: dict[str, list[Claimed]] = {}
            for row in claimed:
                by_channel.setdefault(channel_key(row), []).append(row)
            tasks: list[asyncio.Task[None]] = []
            try:
                for index, (key, rows) in enumerate(by_channel.items()):
                    if index and index % self.START_CHUNK == 0:
                        # Channels start a chunk at a time: each new task's first step runs
                        # at once, and a whole claim's (1,455) in one loop iteration stalled
                        # the pace for as long (bench/fanout.py).
                        await asyncio.sleep(0)
                    task = asyncio.create_task(
                        self._deliver_channel(
                            key,
                            rows,
                            semaphore,
                            stats,
                            claimed_at,
                            recorder,
                            progress,
                            tails.get(key),
                        )
                    )
                    tails[key] = task
                    task.add_done_callback(functools.partial(_forget_tail, tails, key))
                    tasks.append(task)
            except asyncio.CancelledError:
                for task in tasks:
                    task.cancel()
                raise
            # Every channel runs to its end even if one fails (their sends must be recorded
            # by this pass); then the first failure is the claim's.
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
        finally:
            progress.finish()

    async def _deliver_channel(
        self,
        key: str,
        rows: list[Claimed],
        semaphore: asyncio.Semaphore,
        stats: DeliveryStats,
        claimed_at: float,
        recorder: SentRecorder,
        progress: _ClaimProgress,
        after: asyncio.Task[None] | None = None,
    ) -> None:
        """Send one channel's rows in order, paced (after `after`, its earlier rows).

        The channel's own bucket is waited on outside the concurrency limit, so a busy
        channel holds up no other; the platform's bucket last, right before the send.
        """
        if after is not None:
            await asyncio.wait([after])  # its outcome is its own claim's business
        lease = self.settings.outbox_lease_seconds
        horizon = lease / 2
        for index, row in enumerate(rows):
            if self.stopping:
                await self._release_at_stop(rows[index:], progress)
                return
            wait = self.pacer.channel_delay(row.platform, key)
            if self.pacer.monotonic() - claimed_at + wait > horizon:
                # Too far off to hold under this lease: hand the rest back for later.
                stats.deferred += len(rows) - index
                progress.sent(len(rows) - index)
                await asyncio.to_thread(self._put_back, rows[index:], wait)
                return
            if wait > 0 and not await self._unless_stopping(self.pacer.sleep(wait)):
                await self._release_at_stop(rows[index:], progress)
                return
            async with semaphore:
                pacing = self.pacer.wait_overall(row.platform, opens_dm=row.channel_id is None)
                if self.pacer.overall_rate(row.platform) is None:
                    await pacing  # unpaced: returns at once, nothing to cut short
                elif not await self._unless_stopping(pacing):
                    await self._release_at_stop(rows[index:], progress)
                    return
                if self.pacer.monotonic() - claimed_at > self.LEASE_SEND_SHARE * lease:
                    # Held back so long (a starved loop) that the lease is about to run out,
                    # after which another claim may take the rows: sending then could send
                    # them twice (measured: 114 of 10,000 in bench/fanout.py on a busy
                    # machine; Slack has no nonce to catch it). Still ours now: handed back,
                    # due at once (left claimed, they idled until the lease ran out).
                    stats.deferred += len(rows) - index
                    progress.sent(len(rows) - index)
                    await asyncio.to_thread(self._put_back, rows[index:], 0.0)
                    return
                progress.sent()
                # Counted when it goes out; only a Retry-After since the check can make us wait.
                late = self.pacer.take_channel(row.platform, key)
                if late > 0:
                    await self.pacer.sleep(late)
                await self._send_one(row, stats, recorder)

    async def _release_at_stop(self, rows: Sequence[Claimed], progress: _ClaimProgress) -> None:
        """Hand claimed rows back unsent at shutdown: due at once for the next process."""
        progress.sent(len(rows))
        await asyncio.to_thread(self._put_back, rows, 0.0)
        self.released_at_stop += len(rows)

    def _put_back(self, rows: Sequence[Claimed], delay: float) -> None:
        """Release claimed rows unsent, due again in `delay` seconds (not an attempt)."""
        now = self.clock.now()
        with self.db.session() as session:
            session.execute(
                update(Outbox)
                .where(
                    col(Outbox.id).in_([r.id for r in rows]),
                    col(Outbox.status) == OutboxStatus.SENDING,
                )
                .values(
                    status=OutboxStatus.PENDING,
                    claimed_until=None,
                    attempts=Outbox.attempts - 1,
                    next_attempt_at=now + timedelta(seconds=delay),
                )
            )

    async def _send_one(self, row: Claimed, stats: DeliveryStats, recorder: SentRecorder) -> None:
        messenger = self.messengers.get(row.platform)
        if messenger is None:
            return
        recipient = Recipient(
            platform=row.platform,
            user_id=row.user_id or None,
            channel_id=row.channel_id,
            person_id=row.person_id,
            member_ids=tuple(row.member_ids.split(",")) if row.member_ids else (),
        )
        try:
            if row.kind in COPY_KINDS:
                result = await self._remove_copy(messenger, row)
            elif row.kind == OutboxKind.ALERT_UPDATE:
                result = await self._send_edit(messenger, recipient, row)
            else:
                result = await messenger.send(
                    recipient, Message.from_json(row.payload), nonce=nonce_for(row.dedupe_key)
                )
        except PlatformDeliveryError as exc:
            stats.retried += 1
            self.observer.retried(row.platform, rate_limited=False)
            await asyncio.to_thread(self._platform_failed, row, str(exc))
        except PermanentDeliveryError as exc:
            if row.urgent and row.alert_id is not None and row.kind == OutboxKind.ALERT:
                # An urgent alert never ends as failed: retried, and sideways meanwhile.
                stats.retried += 1
                self.observer.retried(row.platform, rate_limited=False)
                await asyncio.to_thread(
                    self._record_retry, row, str(exc), None, platform_wide=False
                )
            else:
                stats.failed += 1
                self.observer.failed(row.platform)
                closed = isinstance(exc, DirectMessagesClosed)
                await asyncio.to_thread(
                    self._record_failure, row, str(exc), permanent=True, closed=closed
                )
        except TransientDeliveryError as exc:
            stats.retried += 1
            self.observer.retried(row.platform, rate_limited=exc.retry_after is not None)
            if exc.retry_after:
                # Honour Retry-After for everything else queued for this channel, too.
                self.pacer.retry_after(row.platform, channel_key(row), exc.retry_after)
            await asyncio.to_thread(self._record_retry, row, str(exc), exc.retry_after)
        except Exception as exc:  # a bug or an unexpected library error: loud, never lost
            log.exception("send failed for outbox row %s", row.id)
            stats.retried += 1
            self.observer.retried(row.platform, rate_limited=False)
            await asyncio.to_thread(
                self._platform_failed, row, f"unexpected error {type(exc).__name__}"
            )
        else:
            stats.sent += 1
            self.observer.sent(row.platform)
            if row.platform in self.down:
                reason, _ = self.down.pop(row.platform)
                log.warning("%s sends again (it failed with: %s)", row.platform, reason)
            if row.alert_id is not None:
                log.info(
                    "alert %s delivered on %s (outbox row %s)", row.alert_id, row.platform, row.id
                )
            recorder.add(SentRow(row, result, self.clock.now()))

    async def _remove_copy(self, messenger: Messenger, row: Claimed) -> SendResult:
        """Delete or edit a delivered message (erasure); the result names the same message."""
        if not isinstance(messenger, CopyRemover):
            raise PermanentDeliveryError(f"{row.platform} messages can't be deleted by the bot")
        if not row.channel_id or not row.target_message_id:
            raise PermanentDeliveryError("no delivered message to delete or edit")
        if row.kind == OutboxKind.COPY_DELETE:
            await messenger.delete_copy(row.channel_id, row.target_message_id)
        else:
            await messenger.edit_copy(
                row.channel_id, row.target_message_id, Message.from_json(row.payload)
            )
        return SendResult(message_id=row.target_message_id, channel_id=row.channel_id)

    async def _send_edit(self, messenger: Messenger, to: Recipient, row: Claimed) -> SendResult:
        """Edit the posted copy an `alert_update` row names; post anew if it can't be edited.

        A copy still on its way is waited for (a retry); a copy that was deleted, failed or
        purged, or a platform that can't edit, gets the new state as a new message, so what
        the edit says (more messages from the student) is never lost.
        """
        message = Message.from_json(row.payload)
        target = await asyncio.to_thread(self._edit_target, row.id)
        if target is not None and target.status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
            raise TransientDeliveryError("the message to update is not posted yet")
        # The console posts without a channel id; Slack and Discord always return one.
        # A copy on another platform (the row was re-routed) can't be edited from here.
        posted = (
            target is not None and target.platform_message_id and target.platform == row.platform
        )
        if posted and isinstance(messenger, MessageEditor):
            assert target is not None
            copy = PostedCopy(
                row.platform, target.platform_channel_id or "", target.platform_message_id or ""
            )
            try:
                await messenger.edit(copy, message)
                return SendResult(message_id=copy.message_id, channel_id=copy.channel_id)
            except PermanentDeliveryError:
                log.info("outbox row %s: the copy to update is gone; posting anew", row.id)
        return await messenger.send(to, message, nonce=nonce_for(row.dedupe_key))

    def _edit_target(self, row_id: int) -> Outbox | None:
        """The outbox row whose posted message an edit row replaces, detached (or None)."""
        with self.db.session() as session:
            edit = session.get(Outbox, row_id)
            if edit is None or edit.edit_of is None:
                return None
            target = session.get(Outbox, edit.edit_of)
            if target is not None:
                session.expunge(target)
            return target

    def _record_sent_batch(self, batch: Sequence[SentRow]) -> None:
        """Mark these rows sent, in one transaction (one UPDATE executed for every row)."""
        outbox = Outbox.__table__  # type: ignore[attr-defined]  # SQLModel's table
        with self.db.session() as session:
            # A Core executemany: no ORM load per row (this runs for every message sent).
            session.execute(
                update(outbox)
                .where(outbox.c.id == bindparam("b_id"))
                .values(
                    status=OutboxStatus.SENT,
                    sent_at=bindparam("b_sent_at"),
                    platform_message_id=bindparam("b_message_id"),
                    platform_channel_id=bindparam("b_channel_id"),
                    claimed_until=None,
                ),
                [
                    {
                        "b_id": sent.row.id,
                        "b_sent_at": sent.at,
                        "b_message_id": sent.result.message_id,
                        "b_channel_id": sent.result.channel_id,
                    }
                    for sent in batch
                ],
            )
            for sent in batch:
                row, result = sent.row, sent.result
                if result.channel_id and row.user_id and result.channel_id != row.channel_id:
                    # Remember the DM channel so the next fan-out skips the lookup; a messenger
                    # that had to reopen a vanished DM returns the new id, replacing the stale
                    # one.
                    identity = session.exec(
                        select(Identity).where(
                            Identity.platform == row.platform, Identity.user_id == row.user_id
                        )
                    ).first()
                    if identity is not None and identity.dm_channel_id != result.channel_id:
                        identity.dm_channel_id = result.channel_id
                        session.add(identity)
                self.events.delivered(session, row, sent.at)

    def _platform_failed(self, row: Claimed, error: str) -> None:
        """The platform cannot send at all: report it once on other routes, keep the row.

        The platform rests for a minute (its rows wait, none is failed for it); then a pass
        tries again, so a fixed token or a recovered service is noticed.
        """
        now = self.clock.now()
        first = row.platform not in self.down
        self.down[row.platform] = (error, now + timedelta(seconds=PLATFORM_RETRY_SECONDS))
        if first:
            log.error("%s can't send (%s): its messages wait", row.platform, error)
            with self.db.session() as session:
                self.events.platform_down(session, now, row.platform, error, self.running)
            self.wake()
        self._record_retry(row, error, PLATFORM_RETRY_SECONDS, platform_wide=True, capped=False)

    def _record_retry(
        self,
        row: Claimed,
        error: str,
        retry_after: float | None,
        *,
        platform_wide: bool = True,
        capped: bool = True,
    ) -> None:
        now = self.clock.now()
        with self.db.session() as session:
            urgent = self.events.holds_urgent_alert(session, row)
            if not urgent and capped and row.attempts >= self.settings.outbox_max_attempts:
                session.rollback()
                self._record_failure(
                    row, f"gave up after {row.attempts} attempts: {error}", permanent=False
                )
                return
            backoff = self.settings.outbox_backoff_seconds * (2 ** min(row.attempts - 1, 30))
            ceiling = self.settings.urgent_retry_max_seconds if row.urgent else 3600.0
            delay = max(retry_after or 0.0, min(backoff, ceiling))
            if urgent:
                delay = min(delay, self.settings.urgent_retry_max_seconds)
            outbox = session.get(Outbox, row.id)
            if outbox is None:
                return
            outbox.status = OutboxStatus.PENDING
            outbox.claimed_until = None
            outbox.next_attempt_at = now + timedelta(seconds=delay)
            outbox.last_error = error[:500]
            session.add(outbox)
            if urgent:
                self.events.urgent_retry(
                    session,
                    row,
                    error,
                    now,
                    platform_wide=platform_wide,
                    running=self.running,
                )

    def _record_failure(
        self, row: Claimed, error: str, *, permanent: bool, closed: bool = False
    ) -> None:
        now = self.clock.now()
        with self.db.session() as session:
            outbox = session.get(Outbox, row.id)
            if outbox is None:
                return
            outbox.status = OutboxStatus.FAILED
            outbox.claimed_until = None
            outbox.last_error = error[:500]
            session.add(outbox)
            # Who hears of it is the services' call (a student's mentors, a group's, the
            # admins; never anyone about a failed notice, which could loop). DMs closed is
            # said once per person, not once per message.
            if closed:
                self.events.dms_closed(session, row, error, now)
            else:
                self.events.delivery_failed(session, row, error, now)
        if row.kind in COPY_KINDS:
            log.warning("erasure copy row %s failed: %s", row.id, error)
        elif row.kind != OutboxKind.DELIVERY_NOTICE:
            log.warning(
                "outbox row %s failed (%s): %s",
                row.id,
                "permanent" if permanent else "exhausted",
                error,
            )

    async def run_forever(self, stop: asyncio.Event, idle_seconds: float = 1.0) -> None:
        """Deliver until `stop` is set; wakes early when `wake()` is called.

        At stop nothing new is claimed, sends already handed to a platform finish and are
        recorded, and claimed rows not yet sent are released (pending, due now), so the
        next start sends them: nothing waits for a lease to run out, nothing is lost.
        """
        self._stop = stop
        while not stop.is_set():
            started = self.pacer.monotonic()
            try:
                stats = await self.deliver_once()
            except Exception:
                log.exception("delivery pass failed; trying again shortly")
            else:
                self.observer.pass_done(stats, self.pacer.monotonic() - started)
                if stats.sent or stats.retried or stats.failed:
                    log.info(
                        "delivery: %d sent, %d to retry, %d failed, %d deferred in %.1f s",
                        stats.sent,
                        stats.retried,
                        stats.failed,
                        stats.deferred,
                        self.pacer.monotonic() - started,
                    )
            self.heartbeat = self.pacer.monotonic()
            if stop.is_set():
                break
            self._wake.clear()
            wake = asyncio.ensure_future(self._wake.wait())
            stopped = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait(
                    {wake, stopped}, timeout=idle_seconds, return_when="FIRST_COMPLETED"
                )
            finally:
                wake.cancel()
                stopped.cancel()
        if self.released_at_stop:
            log.info(
                "delivery stopped: %d claimed message(s) released unsent for the next start",
                self.released_at_stop,
            )
