"""Occurrences of check-in schedules, and opening the check-ins of one occurrence in bulk.

An occurrence is a schedule firing on one *local date* in one time zone. The local date names
it (`checkin:{schedule}:{person}:{YYYY-MM-DD}`), so every local day fires at most once however
the wall clock jumps: on a spring-forward day a time inside the gap (02:30) fires once, at the
instant it would have been (03:30 new time); on a fall-back day a repeated time fires once, at
its first occurrence. A retried tick, a restart or a second process only hits the unique keys
of `checkin (person_id, occurrence_key)` and `outbox.dedupe_key`: it changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, or_
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.errors import UserError
from bot.localtime import quiet_hours_end, to_local, zone
from bot.outbox import Push, push_rows
from bot.people import STUDENT
from bot.services.breaks import break_on, breaks_around, is_paused
from bot.services.checkins import CheckinPromptJson
from bot.services.language import languages_of
from bot.services.reminders import chunked, close_as_missed
from bot.services.schedules import TARGET_GROUP, TARGET_PERSON, ScheduleRule, active_schedules
from bot.services.settings import window_of
from storage.bulk import insert_ignoring_conflicts
from storage.db import Database
from storage.enums import CheckinStatus, CheckinStep, OutboxKind
from storage.tables import (
    Checkin,
    CheckinSchedule,
    Group,
    GroupMember,
    Identity,
    Person,
    StudentSettings,
)

log = logging.getLogger(__name__)

# Rows per insert call: bounds memory and keeps every batch well under bind-parameter limits.
INSERT_CHUNK = 1000
# Ids per IN (...) list, for the same reason.
IN_CHUNK = 5000


class StudentRow(NamedTuple):
    """The columns of a student that opening a check-in needs.

    Plain rows, not ORM objects: an occurrence reads 10,000 of them.
    """

    id: int
    name: str
    email: str
    timezone: str | None
    quiet_start: str
    quiet_end: str
    preferred_platform: str | None
    paused_until: date | None


class IdentityRow(NamedTuple):
    """The columns of a platform identity that choosing an address needs."""

    person_id: int
    platform: str
    user_id: str
    dm_channel_id: str | None


class Occurrence(NamedTuple):
    """A schedule firing on one local date, at one UTC instant."""

    local_date: date
    at: datetime


def local_instant(local_date: date, local_time: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a local date.

    `fold=0` does the right thing for both DST transitions (PEP 495): a time in a
    spring-forward gap takes the offset from before the gap, i.e. it lands as far after the
    gap as it was into it (02:30 becomes 03:30 new time), and a time repeated by a fall-back
    is taken at its first occurrence. Either way each local date yields exactly one instant.
    """
    return datetime.combine(local_date, local_time, tzinfo=tz).replace(fold=0).astimezone(UTC)


def occurrences_between(
    rule: ScheduleRule, tz: str, start: datetime, end: datetime
) -> list[Occurrence]:
    """Occurrences of the rule in zone `tz` with `start < at <= end`, earliest first."""
    zone_info = zone(tz)
    first = to_local(start, tz).date() - timedelta(days=1)
    last = to_local(end, tz).date() + timedelta(days=1)
    found: list[Occurrence] = []
    day = first
    while day <= last:
        if rule.occurs_on(day):
            at = local_instant(day, rule.local_time, zone_info)
            if start < at <= end:
                found.append(Occurrence(day, at))
        day += timedelta(days=1)
    return found


def occurrence_key(schedule_id: int, local_date: date) -> str:
    """The check-in's occurrence key: unique per person."""
    return f"{schedule_id}:{local_date.isoformat()}"


def checkin_dedupe_key(schedule_id: int, person_id: int, local_date: date) -> str:
    """The outbox key of a scheduled check-in prompt."""
    return f"checkin:{schedule_id}:{person_id}:{local_date.isoformat()}"


@dataclass
class OccurrenceOutcome:
    """What happened to one occurrence in one zone; the scheduler logs these."""

    schedule_id: int
    schedule_name: str
    zone: str
    local_date: date
    at: datetime
    sent: bool
    created: int = 0
    existing: int = 0
    paused: int = 0
    superseded: int = 0
    skipped_reason: str | None = None
    not_sent_reason: str | None = None

    def describe(self) -> str:
        """One log line."""
        local = to_local(self.at, self.zone).strftime("%Y-%m-%d %H:%M")
        head = f"schedule #{self.schedule_id} '{self.schedule_name}' {local} {self.zone}"
        if self.skipped_reason:
            return f"{head}: skipped ({self.skipped_reason})"
        verb = "opened" if self.sent else "recorded as not sent"
        text = f"{head}: {self.created} check-in(s) {verb}"
        if self.existing:
            text += f", {self.existing} already done"
        if self.paused:
            text += f", {self.paused} paused"
        if self.not_sent_reason:
            text += f" ({self.not_sent_reason})"
        return text


def _students_query_filters(schedule: CheckinSchedule) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = [
        col(Person.role) == STUDENT,
        col(Person.active) == True,  # noqa: E712
        col(Person.deleted_at).is_(None),
    ]
    if schedule.target == TARGET_PERSON:
        filters.append(col(Person.email) == schedule.target_ref)
    if schedule.target == TARGET_GROUP:
        members = (
            select(GroupMember.person_id)
            .join(Group, col(Group.id) == GroupMember.group_id)
            .where(Group.name == schedule.target_ref)
        )
        filters.append(col(Person.id).in_(members))
    return filters


def target_zones(
    session: Session, schedule: CheckinSchedule, default_tz: str
) -> dict[str, list[str | None]]:
    """The effective time zones of the schedule's students, each with the stored values behind it.

    A student with no (or an unusable) zone gets the programme default, so nobody is left out.
    """
    rows = session.exec(
        select(Person.timezone).distinct().where(*_students_query_filters(schedule))
    ).all()
    if schedule.timezone:
        return {schedule.timezone: list(rows)} if rows else {}
    zones: dict[str, list[str | None]] = {}
    for raw in rows:
        effective = raw or default_tz
        try:
            zone(effective)
        except UserError:
            log.warning("unknown time zone %r on a person; using %s", raw, default_tz)
            effective = default_tz
        zones.setdefault(effective, []).append(raw)
    return zones


_STUDENT_COLUMNS = (
    col(Person.id),
    col(Person.name),
    col(Person.email),
    col(Person.timezone),
    col(Person.quiet_start),
    col(Person.quiet_end),
    col(Person.preferred_platform),
    col(Person.paused_until),
)


def _zone_filter(raw_zones: Sequence[str | None]) -> ColumnElement[bool]:
    named = [z for z in raw_zones if z is not None]
    return or_(
        col(Person.timezone).in_(named) if named else col(Person.id).is_(None),
        col(Person.timezone).is_(None) if None in raw_zones else col(Person.id).is_(None),
    )


def own_time_filter(
    schedule: CheckinSchedule, settings: CoreSettings, own_time: str | None
) -> ColumnElement[bool] | None:
    """Which students an occurrence at `own_time` is for (None: at the schedule's time).

    A student whose own check-in time (/settings checkin) lies in the schedule's window is
    opened at that time instead, so the schedule's own run leaves them out. One uncorrelated
    subquery on an indexed column: the bulk path stays a single keyset scan.
    """
    if own_time is not None:
        return col(Person.id).in_(
            select(StudentSettings.person_id).where(StudentSettings.checkin_time == own_time)
        )
    window = window_of(schedule, settings)
    if window is None:
        return None
    return col(Person.id).not_in(
        select(StudentSettings.person_id).where(
            col(StudentSettings.checkin_time).between(window.earliest, window.latest)
        )
    )


def own_times(session: Session, schedule: CheckinSchedule, settings: CoreSettings) -> list[str]:
    """The students' own check-in times within the schedule's window (each opens on its own)."""
    window = window_of(schedule, settings)
    if window is None:
        return []
    found = session.exec(
        select(StudentSettings.checkin_time)
        .distinct()
        .where(col(StudentSettings.checkin_time).between(window.earliest, window.latest))
    ).all()
    return sorted(t for t in found if t is not None)


def students_in_zone(
    session: Session, schedule: CheckinSchedule, raw_zones: Sequence[str | None]
) -> list[StudentRow]:
    """The schedule's active students whose stored zone is one of `raw_zones`, by id."""
    return [
        student
        for page in students_in_zone_pages(session, schedule, raw_zones, page_size=None)
        for student in page
    ]


def students_in_zone_pages(
    session: Session,
    schedule: CheckinSchedule,
    raw_zones: Sequence[str | None],
    *,
    page_size: int | None = INSERT_CHUNK,
    only: ColumnElement[bool] | None = None,
) -> Iterator[list[StudentRow]]:
    """`students_in_zone` a page of `page_size` students at a time, by id (None: one page).

    Keyset pages (`id > last`): a 10,000-student occurrence holds one page of rows at a time.
    """
    query = (
        select_columns(*_STUDENT_COLUMNS)
        .where(*_students_query_filters(schedule))
        .where(_zone_filter(raw_zones))
        .order_by(col(Person.id))
    )
    if only is not None:
        query = query.where(only)
    last_id: int | None = None
    while True:
        page_query = query if last_id is None else query.where(col(Person.id) > last_id)
        if page_size is not None:
            page_query = page_query.limit(page_size)
        page = [StudentRow(*row) for row in session.execute(page_query).all()]
        if page:
            yield page
        if page_size is None or len(page) < page_size:
            return
        last_id = page[-1].id


def students_by_id(session: Session, person_ids: Sequence[int]) -> dict[int, StudentRow]:
    """The opening columns of these people, whatever their status, by id."""
    found: dict[int, StudentRow] = {}
    for chunk in chunked(person_ids, IN_CHUNK):
        for row in session.execute(
            select_columns(*_STUDENT_COLUMNS).where(col(Person.id).in_(chunk))
        ).all():
            student = StudentRow(*row)
            found[student.id] = student
    return found


def insert_ignoring_duplicates(
    session: Session, rows: Sequence[Mapping[str, object]]
) -> list[tuple[int, int]]:
    """Insert check-in rows in bulk; rows whose (person, occurrence) exists are skipped.

    Returns (check-in id, person id) of the rows actually inserted, so only their prompts are
    queued: a repeated occurrence queues nothing.
    """
    # Only SQLite and PostgreSQL are supported; both know ON CONFLICT DO NOTHING ... RETURNING.
    # On the Core table, executed with a list of rows: SQLAlchemy batches it into a few
    # multi-row INSERTs ("insertmanyvalues") with one cached compilation; on SQLite the bind
    # values are processed up front, once per distinct datetime (storage.bulk).
    table = Checkin.__table__  # type: ignore[attr-defined]
    inserted: list[tuple[int, int]] = []
    for chunk in chunked(rows, INSERT_CHUNK):
        found = insert_ignoring_conflicts(
            session,
            table,
            list(chunk),
            conflict=["person_id", "occurrence_key"],
            returning=["id", "person_id"],
        )
        inserted.extend((int(r[0]), int(r[1])) for r in found)
    return inserted


def identities_of(session: Session, person_ids: Sequence[int]) -> dict[int, list[IdentityRow]]:
    """Every platform identity of these people, in one query per chunk."""
    found: dict[int, list[IdentityRow]] = {}
    for chunk in chunked(person_ids, IN_CHUNK):
        rows = session.execute(
            select_columns(
                col(Identity.person_id),
                col(Identity.platform),
                col(Identity.user_id),
                col(Identity.dm_channel_id),
            )
            .where(col(Identity.person_id).in_(chunk))
            .order_by(col(Identity.id))
        ).all()
        for row in rows:
            identity = IdentityRow(*row)
            found.setdefault(identity.person_id, []).append(identity)
    return found


def open_due_checkins(
    session: Session,
    settings: CoreSettings,
    schedule: CheckinSchedule,
    zone_name: str,
    occurrence: Occurrence,
    now: datetime,
    *,
    raw_zones: Sequence[str | None] | None = None,
    late_reason: str | None = None,
    own_time: str | None = None,
) -> OccurrenceOutcome:
    """Open the check-ins of one occurrence for every student due in one zone, in bulk.

    Paused students and programme breaks are skipped without a row (nothing to miss). With
    `late_reason` (catch-up beyond the grace window) the check-ins are recorded as not sent,
    with the reason, and nothing is queued. Otherwise each new check-in gets its prompt in the
    outbox (quiet hours defer it), and the student's older unanswered check-in closes as missed.

    With `own_time` the occurrence is that of the students who moved their check-in to that
    time (/settings checkin); without it, of everyone else (`own_time_filter`).
    """
    assert schedule.id is not None
    outcome = OccurrenceOutcome(
        schedule_id=schedule.id,
        schedule_name=schedule.name,
        zone=zone_name,
        local_date=occurrence.local_date,
        at=occurrence.at,
        sent=late_reason is None,
        not_sent_reason=late_reason,
    )
    programme_break = break_on(
        breaks_around(session, occurrence.local_date, occurrence.local_date), occurrence.local_date
    )
    if programme_break is not None:
        outcome.skipped_reason = f"programme break: {programme_break.title}"
        return outcome
    if raw_zones is None:
        raw_zones = target_zones(session, schedule, settings.default_timezone).get(zone_name, [])
    # The occurrence goes a page of students at a time, in three passes that keep the order of
    # the writes (all check-ins, then the superseded ones closed, then all prompts): a
    # 10,000-student occurrence never holds every student's rows, identities or prompts at
    # once. Its transient peak is what the allocators keep after it (bench/memory.py).
    inserted: list[tuple[int, int]] = []
    due_count = 0
    only = own_time_filter(schedule, settings, own_time)
    for students in students_in_zone_pages(session, schedule, raw_zones, only=only):
        due = [p for p in students if not is_paused(p, occurrence.local_date)]
        outcome.paused += len(students) - len(due)
        due_count += len(due)
        if due:
            rows = _checkin_rows(settings, schedule, occurrence, now, due, late_reason)
            inserted.extend(insert_ignoring_duplicates(session, rows))
    if not due_count:
        return outcome
    outcome.created = len(inserted)
    outcome.existing = due_count - len(inserted)
    if late_reason is not None or not inserted:
        return outcome
    outcome.superseded = _close_superseded(session, settings, now, occurrence, inserted)
    # One prompt serialised per language for the occurrence, filled in per student
    # (CheckinPromptJson): each student reads it in their own language.
    prompt = CheckinPromptJson()
    # Looked up once: an enum member costs a class-attribute lookup (~1 µs on 3.11) per use.
    kind = OutboxKind.CHECKIN
    for chunk in chunked(inserted, INSERT_CHUNK):
        # Read again by id (same transaction), not by the schedule's filters: every check-in
        # just opened gets its prompt.
        person_ids = [person_id for _checkin, person_id in chunk]
        by_id = students_by_id(session, person_ids)
        identities = identities_of(session, person_ids)
        languages = languages_of(session, person_ids, settings)
        pushes = [
            Push(
                dedupe_key=checkin_dedupe_key(schedule.id, person_id, occurrence.local_date),
                message=prompt.render(checkin_id, by_id[person_id].name, languages[person_id]),
                person=by_id[person_id],
                kind=kind,
                checkin_id=checkin_id,
            )
            for checkin_id, person_id in chunk
        ]
        push_rows(session, pushes, now, settings.default_timezone, identities)
    return outcome


def _checkin_rows(
    settings: CoreSettings,
    schedule: CheckinSchedule,
    occurrence: Occurrence,
    now: datetime,
    due: Sequence[StudentRow],
    late_reason: str | None,
) -> list[dict[str, object]]:
    assert schedule.id is not None
    key = occurrence_key(schedule.id, occurrence.local_date)
    closes_at = occurrence.at + timedelta(hours=settings.scheduling.checkin_cutoff_hours)
    delay = timedelta(minutes=schedule.reminder_delay_minutes)
    rows: list[dict[str, object]] = []
    # Students share zones and hours: one delivery time (and one reminder time object, which
    # the bulk insert then formats once, storage.bulk) per distinct (zone, quiet hours).
    delivered_at: dict[tuple[str, str, str], datetime] = {}
    remind_at: dict[tuple[str, str, str], datetime | None] = {}
    # Plain strings, looked up once for every row (see storage.bulk on binding enum members).
    not_sent, done = CheckinStatus.NOT_SENT.value, CheckinStep.DONE.value
    opened, first_step = CheckinStatus.OPEN.value, CheckinStep.MOOD.value
    for person in due:
        row: dict[str, object] = {
            "person_id": person.id,
            "schedule_id": schedule.id,
            "occurrence_key": key,
            "opened_at": now,
            "due_at": occurrence.at,
        }
        if late_reason is not None:
            row.update(
                status=not_sent,
                step=done,
                closed_reason=late_reason[:200],
                remind_at=None,
                closes_at=None,
            )
        else:
            # The reminder counts from when the prompt really goes out: quiet hours defer it.
            tz = person.timezone or settings.default_timezone
            hours = (tz, person.quiet_start, person.quiet_end)
            if hours not in delivered_at:
                try:
                    delivered_at[hours] = quiet_hours_end(now, *hours) or now
                except UserError:
                    delivered_at[hours] = now  # broken quiet hours must not block a check-in
                remind_at[hours] = delivered_at[hours] + delay if delay else None
            row.update(
                status=opened,
                step=first_step,
                closed_reason=None,
                remind_at=remind_at[hours],
                closes_at=closes_at,
            )
        rows.append(row)
    return rows


def _close_superseded(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    occurrence: Occurrence,
    inserted: Sequence[tuple[int, int]],
) -> int:
    """Close each student's older unanswered scheduled check-ins: the next one has opened."""
    new_ids = {checkin_id for checkin_id, _person in inserted}
    person_ids = [person_id for _checkin, person_id in inserted]
    older: list[tuple[int, int]] = []
    for chunk in chunked(person_ids, IN_CHUNK):
        older.extend(
            (int(cid), int(pid))
            for cid, pid in session.exec(
                select(Checkin.id, Checkin.person_id).where(
                    col(Checkin.person_id).in_(chunk),
                    col(Checkin.status) == CheckinStatus.OPEN,
                    col(Checkin.schedule_id).is_not(None),
                    col(Checkin.due_at) < occurrence.at,
                )
            ).all()
            if cid is not None and cid not in new_ids
        )
    if not older:
        return 0
    return close_as_missed(
        session,
        settings,
        now,
        [cid for cid, _pid in older],
        "not answered before the next check-in",
    )


@dataclass
class OccurrencesOutcome:
    """What one pass over the schedules' occurrences did (the checkins feature's window job)."""

    occurrences: list[OccurrenceOutcome] = field(default_factory=list)

    @property
    def opened(self) -> int:
        """Check-ins opened and queued."""
        return sum(o.created for o in self.occurrences if o.sent)

    @property
    def not_sent(self) -> int:
        """Check-ins recorded as not sent (too late to send)."""
        return sum(o.created for o in self.occurrences if not o.sent)

    @property
    def queued(self) -> bool:
        """True when check-ins went to the outbox."""
        return self.opened > 0

    def lines(self) -> list[str]:
        """One log line per occurrence."""
        return [o.describe() for o in self.occurrences]


def open_occurrences(
    db: Database, settings: CoreSettings, start: datetime, now: datetime
) -> list[OccurrenceOutcome]:
    """Open (or record as not sent) every occurrence in `(start, now]`, one transaction each."""
    grace = timedelta(minutes=settings.scheduling.catchup_grace_minutes)
    with db.session() as session:
        schedules = list(active_schedules(session))
        zones = {s.id: target_zones(session, s, settings.default_timezone) for s in schedules}
        own_by = {s.id: own_times(session, s, settings) for s in schedules}
    outcomes: list[OccurrenceOutcome] = []
    for schedule in schedules:
        try:
            rule = ScheduleRule.of(schedule)
        except UserError as exc:  # a row edited by hand into nonsense must not stop the rest
            log.error("schedule #%s is invalid and was skipped: %s", schedule.id, exc.message)
            continue
        # A schedule added while the bot was down must not catch up what predates it.
        since = max(start, schedule.created_at)
        # The schedule's own time, then each time students moved their check-in to.
        timed: list[tuple[ScheduleRule, str | None]] = [(rule, None)]
        timed += [
            (replace(rule, local_time=time.fromisoformat(own)), own) for own in own_by[schedule.id]
        ]
        for zone_name, raw_zones in zones[schedule.id].items():
            for occurrence, own_time in _due(timed, zone_name, since, now):
                late = now - occurrence.at
                reason = None
                if late > grace:
                    local = to_local(occurrence.at, zone_name)
                    reason = (
                        f"not sent: due {local:%Y-%m-%d %H:%M} {zone_name} while the bot was "
                        f"down; {int(late.total_seconds() // 60)} min late is beyond the "
                        f"{int(grace.total_seconds() // 60)}-minute grace window"
                    )
                with db.session() as session:
                    outcomes.append(
                        open_due_checkins(
                            session,
                            settings,
                            schedule,
                            zone_name,
                            occurrence,
                            now,
                            raw_zones=raw_zones,
                            late_reason=reason,
                            own_time=own_time,
                        )
                    )
    return outcomes


def _due(
    timed: Sequence[tuple[ScheduleRule, str | None]], zone_name: str, since: datetime, now: datetime
) -> list[tuple[Occurrence, str | None]]:
    """Every due occurrence of the schedule's time and the students' own times, earliest first."""
    due = [
        (occurrence, own_time)
        for rule, own_time in timed
        for occurrence in occurrences_between(rule, zone_name, since, now)
    ]
    return sorted(due, key=lambda pair: pair[0].at)
