"""Workshop sessions: create, RSVP with a waitlist, cancel, move, attendance, feedback, reports.

A session is created on its own or as a weekly series (all sessions made up front).

Every change happens in the caller's unit of work together with its outbox rows, so a
refused or invalid request (a UserError) stores nothing at all. Pushes are keyed by their
cause, `workshop:{session}:...`:

* `workshop:{id}:announce` - the channel post inviting the group (one per session; a group
  without a channel gets `workshop:{id}:announce:{person}` DMs instead);
* `workshop:{id}:promoted:{person}:{n}` - a waitlisted person got place `n`'s seat;
* `workshop:{id}:cancelled[:{person}]`, `workshop:{id}:moved[:{person}]:{new start}`;
* reminders, the start post and the feedback prompt come from the minute tick
  (`bot.services.workshop_tick`).

Who may do what: the group's mentors and admins create, cancel, move, mark attendance and
read reports (`require_group_mentor`, audited); only the group's members (students) RSVP; only
those going check in; only those who went rate a session.

Feedback is anonymous to the mentor, and small numbers are suppressed: ratings are not mood
figures, but an average of two people's ratings says too much about each of them, so the
report shows the average and the comments only once `MIN_RESPONSES` (the cohort mood rule's
5) people answered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import partial

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.args import record_id, small_number
from bot.config import CoreSettings
from bot.errors import NotAllowed, UserError
from bot.i18n import N_, _, ngettext
from bot.localtime import is_valid_zone, parse_date, to_local, zone
from bot.model import Field, Message
from bot.outbox import Push, push_rows
from bot.people import ADMIN, person_by_email
from bot.services import workshop_messages as msgs
from bot.services.cohort import MIN_STUDENTS
from bot.services.groups import (
    MEMBER,
    channel_address,
    group_named,
    groups_of,
    is_group_mentor,
    member_zones,
    members_of,
    membership,
    require_group_mentor,
)
from bot.services.language import speaking_in_group, speaking_to
from bot.services.occurrences import local_instant, occurrences_between
from bot.services.schedules import ScheduleRule, format_days, parse_days, parse_local_time
from storage.enums import OutboxKind, OutboxStatus, RsvpStatus, WorkshopStatus
from storage.tables import (
    Group,
    Outbox,
    Person,
    Rsvp,
    WorkshopFeedback,
    WorkshopSeries,
    WorkshopSession,
)

MAX_DURATION_MINUTES = 12 * 60
MAX_CAPACITY = 1000
MAX_SERIES = 52
MAX_TITLE, MAX_DESCRIPTION, MAX_LOCATION = 200, 2000, 500
# "I'm here" works from shortly before the start (people arrive early) to the end.
CHECKIN_OPENS_MINUTES = 15
# Ratings are taken for a week after the session; later ones would be memories, not feedback.
FEEDBACK_OPEN_DAYS = 7
# A comment is awaited as the next free text for a day after the rating, no longer: a
# message days later is about something else.
COMMENT_WAIT = timedelta(days=1)
# Small-number suppression, as for cohort mood (see the module docstring).
MIN_RESPONSES = MIN_STUDENTS
UPCOMING_SHOWN = 10

# Outbox status of a queued post withdrawn because its session was moved or cancelled.

# A change notice for a DM (the reader's zone) or the channel (None, and the members' zones).
Render = Callable[[str | None, Sequence[str]], Message]


@dataclass(frozen=True)
class WorkshopSpec:
    """What a mentor asked for, as typed (chat, form or CLI), before validation."""

    group: str
    title: str
    date: str
    time: str
    duration: str
    timezone: str | None = None
    capacity: str | None = None
    location: str = ""
    description: str = ""
    # More than 1: a weekly series of this many sessions (on `days`, default the date's).
    count: str | None = None
    days: str | None = None


@dataclass(frozen=True)
class Plan:
    """A validated spec: everything needed to store the session(s)."""

    group: Group
    title: str
    description: str
    location: str
    timezone: str
    duration: int
    capacity: int | None
    starts: tuple[datetime, ...]
    days: str
    local_time: str


def timezone_of(person: Person, settings: CoreSettings) -> str:
    """A person's zone for showing times (the programme default when unknown or broken)."""
    tz = person.timezone or settings.default_timezone
    return tz if is_valid_zone(tz) else settings.default_timezone


def stamp(when: datetime) -> str:
    """A start time as it appears in dedupe keys (a moved session gets new keys)."""
    return when.strftime("%Y%m%dT%H%M")


# No duration, capacity or count is anywhere near this; a bigger one would overflow a column.
MAX_WHOLE_NUMBER = 100_000


# Whole sentences per number asked for (a translation may need the noun's gender or case).
_NOT_POSITIVE = {
    "capacity": N_("The capacity must be more than 0, not '{text}'."),
    "duration (minutes)": N_("The duration (minutes) must be more than 0, not '{text}'."),
    "number of sessions": N_("The number of sessions must be more than 0, not '{text}'."),
}
_NOT_WHOLE = {
    "capacity": N_("The capacity must be a whole number from 1 to {max}, not '{text}'."),
    "duration (minutes)": N_(
        "The duration (minutes) must be a whole number from 1 to {max}, not '{text}'."
    ),
    "number of sessions": N_(
        "The number of sessions must be a whole number from 1 to {max}, not '{text}'."
    ),
}


def _whole_number(raw: str | int | None, what: str) -> int:
    text = str(raw if raw is not None else "").strip()
    value = small_number(text, MAX_WHOLE_NUMBER)
    if value is None:
        if text.startswith("-") and small_number(text[1:], MAX_WHOLE_NUMBER) is not None:
            raise UserError(_(_NOT_POSITIVE[what]).format(text=text))
        raise UserError(_(_NOT_WHOLE[what]).format(max=f"{MAX_WHOLE_NUMBER:,}", text=text))
    return value


def _capacity(raw: str | None) -> int | None:
    text = (raw or "").strip().lower()
    if text in ("", "none", "unlimited", "-"):
        return None
    capacity = _whole_number(text, "capacity")
    if capacity < 1:
        raise UserError(
            _("The capacity must be at least 1 place. Leave it out for a session with no limit.")
        )
    if capacity > MAX_CAPACITY:
        raise UserError(_("The capacity can be at most {max}.").format(max=MAX_CAPACITY))
    return capacity


def _duration(raw: str) -> int:
    minutes = _whole_number(raw, "duration (minutes)")
    if minutes <= 0:
        raise UserError(
            _("The duration must be more than 0 minutes: a session can't end before it starts.")
        )
    if minutes > MAX_DURATION_MINUTES:
        hours = MAX_DURATION_MINUTES // 60
        raise UserError(
            ngettext(
                "A session can last at most {n} hours.",
                "A session can last at most {n} hours.",
                hours,
            ).format(n=hours)
        )
    return minutes


_TOO_LONG = {
    "title": N_("Please keep the title under {limit} characters."),
    "description": N_("Please keep the description under {limit} characters."),
    "location": N_("Please keep the location under {limit} characters."),
}


def _text(value: str, what: str, limit: int, *, required: bool = False) -> str:
    clean = " ".join(value.split()) if what != "description" else value.strip()
    if required and not clean:
        # Only the title is required.
        raise UserError(_('A workshop needs a title, e.g. "Exam stress".'))
    if len(clean) > limit:
        raise UserError(_(_TOO_LONG[what]).format(limit=limit))
    return clean


def plan_workshops(session: Session, spec: WorkshopSpec, now: datetime, default_tz: str) -> Plan:
    """Validate a spec completely; a UserError names the first problem (nothing is stored).

    The start is a wall-clock time in the session's zone. A weekly series uses the check-in
    schedules' rule and DST-safe occurrence computation, so "every Tuesday 16:00" stays at
    16:00 local time across a clock change.
    """
    group = group_named(session, spec.group)
    title = _text(spec.title, "title", MAX_TITLE, required=True)
    description = _text(spec.description, "description", MAX_DESCRIPTION)
    location = _text(spec.location, "location", MAX_LOCATION)
    tz = (spec.timezone or "").strip() or default_tz
    zone(tz)  # a UserError naming an unknown zone
    first_date = parse_date(spec.date)
    local_time = parse_local_time(spec.time)
    duration = _duration(spec.duration)
    capacity = _capacity(spec.capacity)
    count = 1 if spec.count in (None, "") else _whole_number(spec.count, "number of sessions")
    if not 1 <= count <= MAX_SERIES:
        raise UserError(_("A series has between 1 and {max} sessions.").format(max=MAX_SERIES))
    days = parse_days(spec.days) if spec.days else frozenset({first_date.weekday()})
    starts: tuple[datetime, ...]
    if count == 1 and not spec.days:
        starts = (local_instant(first_date, local_time, zone(tz)),)
    else:
        rule = ScheduleRule(days=days, local_time=local_time, start_date=first_date)
        since = local_instant(first_date, time(0, 0), zone(tz)) - timedelta(seconds=1)
        # Every matching weekday occurs at least once a week, so count+1 weeks holds them all.
        found = occurrences_between(rule, tz, since, since + timedelta(weeks=count + 1))
        starts = tuple(o.at for o in found[:count])
    if starts[0] <= now:
        local = to_local(starts[0], tz)
        raise UserError(
            _("{when} {zone} is in the past. Pick a start time that's still ahead.").format(
                when=f"{local:%Y-%m-%d %H:%M}", zone=tz
            )
        )
    return Plan(
        group=group,
        title=title,
        description=description,
        location=location,
        timezone=tz,
        duration=duration,
        capacity=capacity,
        starts=starts,
        days=format_days(days),
        local_time=local_time.strftime("%H:%M"),
    )


def create_workshops(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    actor: Person | None,
    spec: WorkshopSpec,
) -> list[WorkshopSession]:
    """Create one session or a weekly series and announce each; `actor=None` is the CLI."""
    group = group_named(session, spec.group)
    # Refuse before validating the rest: a refusal must not depend on (or reveal) details.
    require_group_mentor(session, actor, group, now, "workshop.add")
    plan = plan_workshops(session, spec, now, settings.default_timezone)
    assert plan.group.id is not None
    duplicate = session.exec(
        select(WorkshopSession).where(
            WorkshopSession.group_id == plan.group.id,
            WorkshopSession.title == plan.title,
            col(WorkshopSession.starts_at).in_(plan.starts),
            WorkshopSession.status == WorkshopStatus.SCHEDULED,
        )
    ).first()
    if duplicate is not None:
        # A form submitted twice, or a command repeated: the first one stands.
        raise UserError(
            _(
                '"{title}" at that time already exists (#{id}). Use /workshop list to see it.'
            ).format(title=plan.title, id=duplicate.id)
        )
    series_id: int | None = None
    creator = actor.id if actor is not None else None
    if len(plan.starts) > 1:
        series = WorkshopSeries(
            group_id=plan.group.id,
            title=plan.title,
            days=plan.days,
            local_time=plan.local_time,
            timezone=plan.timezone,
            count=len(plan.starts),
            created_by=creator,
            created_at=now,
        )
        session.add(series)
        session.flush()
        series_id = series.id
    workshops = [
        WorkshopSession(
            group_id=plan.group.id,
            series_id=series_id,
            title=plan.title,
            description=plan.description,
            starts_at=start,
            timezone=plan.timezone,
            duration_minutes=plan.duration,
            location=plan.location,
            capacity=plan.capacity,
            status=WorkshopStatus.SCHEDULED,
            created_by=creator,
            created_at=now,
        )
        for start in plan.starts
    ]
    session.add_all(workshops)
    session.flush()
    announce(session, settings, now, workshops, plan.group)
    return workshops


def announce(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    workshops: Sequence[WorkshopSession],
    group: Group,
) -> int:
    """Queue the announcement of each session: to the group's channel, else to each member."""
    assert group.id is not None
    address = channel_address(group)
    pushes: list[Push] = []
    if address is not None:
        zones = member_zones(session, group.id, settings.default_timezone)
        with speaking_in_group(group, settings):
            pushes = [
                Push(
                    dedupe_key=f"workshop:{w.id}:announce",
                    message=msgs.announcement(w, group, zones),
                    address=address,
                    kind=OutboxKind.WORKSHOP,
                )
                for w in workshops
            ]
    else:
        members = [row.person for row in members_of(session, group.id, role=MEMBER)]
        for p in members:
            with speaking_to(p, settings):
                pushes += [
                    Push(
                        dedupe_key=f"workshop:{w.id}:announce:{p.id}",
                        message=msgs.invitation(w, group, timezone_of(p, settings)),
                        person=p,
                        kind=OutboxKind.WORKSHOP,
                    )
                    for w in workshops
                ]
    return push_rows(session, pushes, now, settings.default_timezone)


# ---------------------------------------------------------------- loading


def load_workshop(session: Session, raw_id: str | int, *, lock: bool = False) -> WorkshopSession:
    """A session by id (`12` or `#12`); `lock` takes a row lock on PostgreSQL.

    RSVPs lock their session, so two people pressing Going for the last place at the same
    moment are counted one after the other (SQLite serialises writers anyway).
    """
    text = str(raw_id).strip().lstrip("#")
    workshop: WorkshopSession | None = None
    workshop_id = record_id(text)
    if workshop_id is not None:
        query = select(WorkshopSession).where(WorkshopSession.id == workshop_id)
        if lock:
            query = query.with_for_update()
        workshop = session.exec(query).first()
    if workshop is None:
        raise UserError(
            _("There is no workshop session #{id}. See /workshop list.").format(id=text)
        )
    return workshop


def _group(session: Session, workshop: WorkshopSession) -> Group:
    group = session.get(Group, workshop.group_id)
    assert group is not None
    return group


def rsvp_of(session: Session, workshop_id: int, person_id: int) -> Rsvp | None:
    """A person's RSVP row for a session."""
    return session.exec(
        select(Rsvp).where(Rsvp.session_id == workshop_id, Rsvp.person_id == person_id)
    ).first()


def count_status(session: Session, workshop_id: int, status: str) -> int:
    """How many RSVPs of a session have this status."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Rsvp)
            .where(Rsvp.session_id == workshop_id, Rsvp.status == status)
        ).one()
    )


def people_with_status(
    session: Session, workshop_id: int, statuses: Iterable[str]
) -> list[tuple[Rsvp, Person]]:
    """RSVPs with these statuses and their (active) people, in waitlist then answer order."""
    return list(
        session.exec(
            select(Rsvp, Person)
            .join(Person, col(Person.id) == Rsvp.person_id)
            .where(
                Rsvp.session_id == workshop_id,
                col(Rsvp.status).in_(list(statuses)),
                col(Person.active).is_(True),
                col(Person.deleted_at).is_(None),
            )
            .order_by(col(Rsvp.waitlist_no), col(Rsvp.updated_at), col(Rsvp.id))
        ).all()
    )


def _open_or_refuse(workshop: WorkshopSession, now: datetime) -> None:
    """Refuse an RSVP for a session that was cancelled or is over."""
    if workshop.status == WorkshopStatus.CANCELLED:
        raise UserError(
            _("“{title}” was cancelled, so answering is closed.").format(title=workshop.title)
        )
    if now >= msgs.ends_at(workshop):
        raise UserError(_("“{title}” is already over.").format(title=workshop.title))


# ---------------------------------------------------------------- RSVP


@dataclass(frozen=True)
class RsvpResult:
    """What an RSVP did: the person's status now, and anyone promoted off the waitlist."""

    workshop: WorkshopSession
    status: str
    going: int
    promoted: tuple[Person, ...] = ()


def rsvp(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    person: Person,
    raw_id: str,
    answer: str,
) -> RsvpResult:
    """Going or not going; a full session puts the person on the waitlist.

    Someone going who drops out frees their place for the first person waiting, who is
    promoted and told by DM.
    """
    if answer not in (RsvpStatus.GOING, RsvpStatus.NOT_GOING):
        raise UserError(_("That button is missing something. Please try again from a new message."))
    workshop = load_workshop(session, raw_id, lock=True)
    assert workshop.id is not None and person.id is not None
    group = _group(session, workshop)
    member = membership(session, group.id or 0, person.id)
    if member is None:
        raise NotAllowed(
            _("Only members of {group} can answer its workshop invitations.").format(
                group=group.name
            )
        )
    if member.role != MEMBER:
        raise NotAllowed(
            _(
                "You're one of {group}'s mentors, so you don't need to RSVP. "
                "/workshop report shows who is coming."
            ).format(group=group.name)
        )
    _open_or_refuse(workshop, now)
    existing = rsvp_of(session, workshop.id, person.id)
    going = count_status(session, workshop.id, RsvpStatus.GOING)
    # A waitlist number is never reused or cleared: joining the waitlist always takes a new,
    # higher one, so it orders the queue and names each promotion (its DM's key) uniquely.
    waitlist_no = existing.waitlist_no if existing is not None else None
    if answer == RsvpStatus.GOING:
        if existing is not None and existing.status in (RsvpStatus.GOING, RsvpStatus.WAITLIST):
            return RsvpResult(workshop, existing.status, going)
        if workshop.capacity is None or going < workshop.capacity:
            status = RsvpStatus.GOING
            going += 1
        else:
            status, waitlist_no = RsvpStatus.WAITLIST, _next_waitlist_no(session, workshop.id)
    else:
        status = RsvpStatus.NOT_GOING
    was_going = existing is not None and existing.status == RsvpStatus.GOING
    row = existing or Rsvp(
        session_id=workshop.id, person_id=person.id, status=status, updated_at=now
    )
    row.status, row.waitlist_no, row.updated_at = status, waitlist_no, now
    session.add(row)
    session.flush()
    promoted: tuple[Person, ...] = ()
    if was_going and status == RsvpStatus.NOT_GOING:
        going -= 1
        promoted = tuple(promote_waitlist(session, settings, now, workshop))
        going += len(promoted)
    return RsvpResult(workshop, status, going, promoted)


def _next_waitlist_no(session: Session, workshop_id: int) -> int:
    highest = session.exec(
        select(func.max(Rsvp.waitlist_no)).where(Rsvp.session_id == workshop_id)
    ).one()
    return int(highest or 0) + 1


def promote_waitlist(
    session: Session, settings: CoreSettings, now: datetime, workshop: WorkshopSession
) -> list[Person]:
    """Give free places to the people waiting longest, and DM each of them."""
    assert workshop.id is not None
    if workshop.capacity is None:
        return []
    free = workshop.capacity - count_status(session, workshop.id, RsvpStatus.GOING)
    if free <= 0:
        return []
    waiting = people_with_status(session, workshop.id, (RsvpStatus.WAITLIST,))[:free]
    pushes: list[Push] = []
    for row, person in waiting:
        with speaking_to(person, settings):
            message = msgs.promoted(workshop, timezone_of(person, settings))
        pushes.append(
            Push(
                dedupe_key=f"workshop:{workshop.id}:promoted:{person.id}:{row.waitlist_no}",
                message=message,
                person=person,
                kind=OutboxKind.WORKSHOP,
            )
        )
        row.status, row.updated_at = RsvpStatus.GOING, now
        session.add(row)
    push_rows(session, pushes, now, settings.default_timezone)
    return [person for _row, person in waiting]


def rsvp_reply(settings: CoreSettings, person: Person, result: RsvpResult) -> Message:
    """The private answer to the person who pressed an RSVP button."""
    return msgs.rsvp_answer(
        result.workshop, result.status, timezone_of(person, settings), result.going
    )


# ---------------------------------------------------------------- cancel and move


def _withdraw_pending(
    session: Session, workshop_id: int, reason: str, *, keep_promotions: bool = False
) -> int:
    """Withdraw this session's posts still waiting in the outbox (an old time, a dead link).

    A move keeps the "you've got a place" DMs: the place still stands at the new time.
    """
    query = update(Outbox).where(
        col(Outbox.dedupe_key).startswith(f"workshop:{workshop_id}:"),
        col(Outbox.status) == OutboxStatus.PENDING,
    )
    if keep_promotions:
        query = query.where(~col(Outbox.dedupe_key).contains(":promoted:"))
    result = session.execute(
        query.values(status=OutboxStatus.SKIPPED, last_error=reason[:500]).execution_options(
            synchronize_session=False
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _notify_change(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    workshop: WorkshopSession,
    group: Group,
    key: str,
    render: Render,
) -> int:
    """Tell the people going or waiting by DM, and the group in its channel.

    A group without a channel has no post for the others: they get the DM too.
    """
    assert workshop.id is not None and group.id is not None
    address = channel_address(group)
    people = {
        p.id: p
        for _row, p in people_with_status(
            session, workshop.id, (RsvpStatus.GOING, RsvpStatus.WAITLIST)
        )
    }
    pushes: list[Push] = []
    if address is not None:
        zones = member_zones(session, group.id, settings.default_timezone)
        with speaking_in_group(group, settings):
            post = render(None, zones)
        pushes.append(
            Push(
                dedupe_key=f"workshop:{workshop.id}:{key}",
                message=post,
                address=address,
                kind=OutboxKind.WORKSHOP,
            )
        )
    else:
        for row in members_of(session, group.id, role=MEMBER):
            people.setdefault(row.person.id, row.person)
    head, _sep, tail = key.partition(":")
    for person in people.values():
        suffix = f"{head}:{person.id}" + (f":{tail}" if tail else "")
        with speaking_to(person, settings):
            notice = render(timezone_of(person, settings), ())
        pushes.append(
            Push(
                dedupe_key=f"workshop:{workshop.id}:{suffix}",
                message=notice,
                person=person,
                kind=OutboxKind.WORKSHOP,
            )
        )
    return push_rows(session, pushes, now, settings.default_timezone)


def cancel_workshop(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    actor: Person | None,
    raw_id: str,
) -> WorkshopSession:
    """Cancel a session: withdraw what's queued for it, tell those going and the channel."""
    workshop = load_workshop(session, raw_id, lock=True)
    group = _group(session, workshop)
    require_group_mentor(session, actor, group, now, "workshop.cancel")
    if workshop.status == WorkshopStatus.CANCELLED:
        raise UserError(
            _("“{title}” (#{id}) is already cancelled.").format(
                title=workshop.title, id=workshop.id
            )
        )
    if now >= msgs.ends_at(workshop):
        raise UserError(
            _("“{title}” is already over, so it can't be cancelled.").format(title=workshop.title)
        )
    workshop.status, workshop.cancelled_at = WorkshopStatus.CANCELLED, now
    session.add(workshop)
    assert workshop.id is not None
    _withdraw_pending(session, workshop.id, "workshop cancelled")
    _notify_change(
        session,
        settings,
        now,
        workshop,
        group,
        "cancelled",
        partial(msgs.cancelled, workshop),
    )
    return workshop


def move_workshop(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    actor: Person | None,
    raw_id: str,
    date_text: str,
    time_text: str,
) -> tuple[WorkshopSession, datetime]:
    """Move a session to a new date and time (in its own zone); returns it and the old start.

    Reminders, the start post and the feedback prompt follow the new time: their marks are
    cleared, anything queued for the old time is withdrawn, and the new keys carry the new
    start, so nothing for the old time can still go out. RSVPs stand.
    """
    workshop = load_workshop(session, raw_id, lock=True)
    group = _group(session, workshop)
    require_group_mentor(session, actor, group, now, "workshop.move")
    if workshop.status == WorkshopStatus.CANCELLED:
        raise UserError(
            _("“{title}” was cancelled; create a new session instead.").format(title=workshop.title)
        )
    if now >= workshop.starts_at:
        raise UserError(
            _("“{title}” has already started, so it can't be moved.").format(title=workshop.title)
        )
    new_start = local_instant(
        parse_date(date_text), parse_local_time(time_text), zone(workshop.timezone)
    )
    if new_start <= now:
        raise UserError(_("That new time is in the past. Pick a time that's still ahead."))
    old_start = workshop.starts_at
    if new_start == old_start:
        raise UserError(_("“{title}” is already at that time.").format(title=workshop.title))
    workshop.starts_at = new_start
    workshop.day_reminder_at = workshop.hour_reminder_at = None
    workshop.start_posted_at = workshop.feedback_asked_at = None
    session.add(workshop)
    assert workshop.id is not None
    _withdraw_pending(session, workshop.id, "workshop moved", keep_promotions=True)
    _notify_change(
        session,
        settings,
        now,
        workshop,
        group,
        f"moved:{stamp(new_start)}",
        partial(msgs.moved, workshop, old_start),
    )
    return workshop, old_start


# ---------------------------------------------------------------- attendance


def mark_attendance(
    session: Session,
    now: datetime,
    actor: Person | None,
    raw_id: str,
    emails: Sequence[str],
    *,
    present: bool = True,
) -> tuple[WorkshopSession, list[Person]]:
    """A mentor marks people present (walk-ins without an RSVP too) or absent; all or nothing.

    Someone marked absent is not asked for feedback, even though they had said they'd come.
    """
    workshop = load_workshop(session, raw_id)
    group = _group(session, workshop)
    require_group_mentor(session, actor, group, now, "workshop.attend")
    assert workshop.id is not None and group.id is not None
    if workshop.status == WorkshopStatus.CANCELLED:
        raise UserError(_("“{title}” was cancelled.").format(title=workshop.title))
    if now < workshop.starts_at - timedelta(minutes=CHECKIN_OPENS_MINUTES):
        raise UserError(_("You can mark attendance once the session has started."))
    wanted = [e.strip().lower().strip(",;") for e in emails if e.strip().strip(",;")]
    if not wanted:
        raise UserError(
            _(
                "Use /workshop attend ID EMAIL... (or absent ID EMAIL...), "
                "e.g. /workshop attend 3 sam@example.edu"
            )
        )
    people: list[Person] = []
    problems: list[str] = []
    for email in dict.fromkeys(wanted):
        person = person_by_email(session, email)
        member = membership(session, group.id, person.id) if person is not None else None
        if person is None or member is None or member.role != MEMBER:
            problems.append(email)
        else:
            people.append(person)
    if problems:
        raise UserError(
            _("Nobody was marked. Not members of {group}: {emails}.").format(
                group=group.name, emails=", ".join(problems)
            )
        )
    for person in people:
        assert person.id is not None
        row = rsvp_of(session, workshop.id, person.id)
        if row is None:
            # A walk-in: recorded as going, so they are asked for feedback like the others.
            # (Someone absent without an answer is recorded as not going.)
            status = RsvpStatus.GOING if present else RsvpStatus.NOT_GOING
            row = Rsvp(session_id=workshop.id, person_id=person.id, status=status, updated_at=now)
        row.attended = present
        row.updated_at = now
        session.add(row)
    return workshop, people


def check_in(session: Session, now: datetime, person: Person, raw_id: str) -> WorkshopSession:
    """The "I'm here" button: someone going checks in during the session."""
    workshop = load_workshop(session, raw_id)
    assert workshop.id is not None and person.id is not None
    if workshop.status == WorkshopStatus.CANCELLED:
        raise UserError(_("“{title}” was cancelled.").format(title=workshop.title))
    row = rsvp_of(session, workshop.id, person.id)
    if row is None or row.status != RsvpStatus.GOING:
        raise NotAllowed(
            _(
                "I don't have you down as going to “{title}”. If you're there, ask "
                "the mentor to mark you present."
            ).format(title=workshop.title)
        )
    if now < workshop.starts_at - timedelta(minutes=CHECKIN_OPENS_MINUTES):
        raise UserError(
            ngettext(
                "Check-in opens {n} minutes before the start.",
                "Check-in opens {n} minutes before the start.",
                CHECKIN_OPENS_MINUTES,
            ).format(n=CHECKIN_OPENS_MINUTES)
        )
    if now > msgs.ends_at(workshop):
        raise UserError(_("That session is over. Ask the mentor to mark you present."))
    if row.checked_in_at is None:
        row.checked_in_at = now
    row.attended = True
    row.updated_at = now
    session.add(row)
    return workshop


# ---------------------------------------------------------------- feedback


def went_to(row: Rsvp | None) -> bool:
    """True when an RSVP counts as having been there: marked present, or going and not absent."""
    if row is None or row.attended is False:
        return False
    return row.attended is True or row.status == RsvpStatus.GOING


def give_feedback(
    session: Session, now: datetime, person: Person, raw_id: str, raw_rating: str
) -> tuple[WorkshopSession, WorkshopFeedback]:
    """Record a 1-5 rating (answering again replaces it); a comment is awaited next."""
    rating = small_number(raw_rating, 5) or 0
    if not 1 <= rating <= 5:
        raise UserError(_("A rating is a number from 1 to 5."))
    workshop = load_workshop(session, raw_id)
    assert workshop.id is not None and person.id is not None
    if not went_to(rsvp_of(session, workshop.id, person.id)):
        raise NotAllowed(_("You can only rate sessions you went to."))
    if workshop.status == WorkshopStatus.CANCELLED:
        raise UserError(_("“{title}” was cancelled.").format(title=workshop.title))
    end = msgs.ends_at(workshop)
    if now < end:
        raise UserError(_("You can rate the session once it's over."))
    if now > end + timedelta(days=FEEDBACK_OPEN_DAYS):
        raise UserError(_("Feedback for that session has closed."))
    # One comment awaited at a time: the newest rating is the one a message belongs to.
    session.execute(
        update(WorkshopFeedback)
        .where(
            col(WorkshopFeedback.person_id) == person.id,
            col(WorkshopFeedback.awaiting_comment).is_(True),
        )
        .values(awaiting_comment=False)
        .execution_options(synchronize_session=False)
    )
    feedback = session.exec(
        select(WorkshopFeedback).where(
            WorkshopFeedback.session_id == workshop.id, WorkshopFeedback.person_id == person.id
        )
    ).first()
    if feedback is None:
        feedback = WorkshopFeedback(
            session_id=workshop.id,
            person_id=person.id,
            rating=rating,
            created_at=now,
            updated_at=now,
        )
    feedback.rating, feedback.awaiting_comment, feedback.updated_at = rating, True, now
    session.add(feedback)
    session.flush()
    return workshop, feedback


def awaited_comment(session: Session, person_id: int, now: datetime) -> WorkshopFeedback | None:
    """The rating whose comment the person's next free text is, if one is awaited."""
    return session.exec(
        select(WorkshopFeedback)
        .where(
            WorkshopFeedback.person_id == person_id,
            col(WorkshopFeedback.awaiting_comment).is_(True),
            col(WorkshopFeedback.updated_at) >= now - COMMENT_WAIT,
        )
        .order_by(col(WorkshopFeedback.updated_at).desc())
    ).first()


def add_comment(
    session: Session, now: datetime, feedback: WorkshopFeedback, text: str
) -> WorkshopFeedback:
    """Keep the free text as the rating's comment (sealed at rest, purged with other text)."""
    feedback.comment = text.strip()
    feedback.awaiting_comment = False
    feedback.updated_at = now
    session.add(feedback)
    return feedback


def skip_comment(session: Session, person: Person, raw_id: str) -> None:
    """No comment for this rating."""
    workshop = load_workshop(session, raw_id)
    feedback = session.exec(
        select(WorkshopFeedback).where(
            WorkshopFeedback.session_id == workshop.id, WorkshopFeedback.person_id == person.id
        )
    ).first()
    if feedback is None:
        raise UserError(_("Rate the session first, with the buttons 1 to 5."))
    feedback.awaiting_comment = False
    session.add(feedback)


# ---------------------------------------------------------------- report and lists


@dataclass(frozen=True)
class FeedbackSummary:
    """Ratings of a session; figures and comments only from MIN_RESPONSES answers on."""

    responses: int
    average: float | None
    comments: tuple[str, ...]

    @property
    def suppressed(self) -> bool:
        """True when too few people answered for anything to be shown."""
        return self.responses < MIN_RESPONSES


def feedback_summary(session: Session, workshop_id: int) -> FeedbackSummary:
    """The anonymous feedback of a session, suppressed below MIN_RESPONSES responses."""
    rows = session.exec(
        select(WorkshopFeedback).where(WorkshopFeedback.session_id == workshop_id)
    ).all()
    if len(rows) < MIN_RESPONSES:
        return FeedbackSummary(len(rows), None, ())
    average = sum(r.rating for r in rows) / len(rows)
    # Sorted, not in answer order: the order people answered in could tell who wrote what.
    comments = tuple(sorted(r.comment for r in rows if r.comment))
    return FeedbackSummary(len(rows), average, comments)


def _names(rows: Sequence[tuple[Rsvp, Person]]) -> str:
    return ", ".join(p.name for _row, p in rows) or _("nobody")


def workshop_report(
    session: Session, settings: CoreSettings, now: datetime, actor: Person | None, raw_id: str
) -> Message:
    """RSVPs, attendance and the feedback summary, for the group's mentors and admins."""
    workshop = load_workshop(session, raw_id)
    group = _group(session, workshop)
    require_group_mentor(session, actor, group, now, "workshop.report")
    assert workshop.id is not None
    rows = people_with_status(
        session, workshop.id, (RsvpStatus.GOING, RsvpStatus.WAITLIST, RsvpStatus.NOT_GOING)
    )
    # The waitlist in its order; everyone else by name.
    by_name = sorted(rows, key=lambda r: (r[1].name, r[1].id or 0))
    going = [r for r in by_name if r[0].status == RsvpStatus.GOING]
    waiting = [r for r in rows if r[0].status == RsvpStatus.WAITLIST]
    not_going = [r for r in by_name if r[0].status == RsvpStatus.NOT_GOING]
    present = [r for r in by_name if r[0].attended is True]
    summary = feedback_summary(session, workshop.id)
    tz = timezone_of(actor, settings) if actor is not None else workshop.timezone
    if summary.suppressed:
        rated = ngettext(
            "{n} response(s). Fewer than {min} people rated it, so "
            "no average or comments are shown: with so few, they could tell who said what.",
            "{n} response(s). Fewer than {min} people rated it, so "
            "no average or comments are shown: with so few, they could tell who said what.",
            summary.responses,
        ).format(n=summary.responses, min=MIN_RESPONSES)
    else:
        rated = ngettext(
            "{n} responses, average {average}/5",
            "{n} responses, average {average}/5",
            summary.responses,
        ).format(n=summary.responses, average=f"{summary.average:.1f}")
    places = msgs.places_text(workshop, len(going), len(waiting))
    fields = [
        Field(_("When"), msgs.when_in(workshop, tz)),
        Field(_("Going ({places})").format(places=places), _names(going)),
        Field(_("Waitlist (in order)"), _names(waiting)),
        Field(_("Not going"), _names(not_going)),
        Field(_("Attended ({n})").format(n=len(present)), _names(present)),
        Field(_("Feedback"), rated),
    ]
    if summary.comments:
        # The students' own words, as they wrote them.
        fields.append(Field(_("Comments"), "\n".join(f"“{c}”" for c in summary.comments)))
    title = (
        _("Report: {title} (cancelled)")
        if workshop.status == WorkshopStatus.CANCELLED
        else _("Report: {title}")
    )
    return Message(
        title=title.format(title=workshop.title),
        text=_("Workshop #{id} for {group}.").format(id=workshop.id, group=group.name),
        fields=tuple(fields),
    )


def upcoming_for(
    session: Session, settings: CoreSettings, now: datetime, person: Person
) -> tuple[Message, ...]:
    """The upcoming sessions of the person's groups: members get RSVP buttons, staff counts."""
    visible = None if person.role == ADMIN else groups_of(session, person)
    query = (
        select(WorkshopSession, Group)
        .join(Group, col(Group.id) == WorkshopSession.group_id)
        .where(
            WorkshopSession.status == WorkshopStatus.SCHEDULED,
            # Ends after now; no session lasts longer than MAX_DURATION_MINUTES.
            col(WorkshopSession.starts_at) > now - timedelta(minutes=MAX_DURATION_MINUTES),
        )
        .order_by(col(WorkshopSession.starts_at), col(WorkshopSession.id))
    )
    if visible is not None:
        if not visible:
            return (Message(text=_("You aren't in any group with workshops yet.")),)
        query = query.where(col(WorkshopSession.group_id).in_(visible))
    found = [(w, g) for w, g in session.exec(query).all() if msgs.ends_at(w) > now]
    if not found:
        return (Message(text=_("No upcoming workshops in your groups.")),)
    tz = timezone_of(person, settings)
    shown = found[:UPCOMING_SHOWN]
    head = (
        _("Upcoming workshops (the next {shown} of {n}):").format(
            shown=UPCOMING_SHOWN, n=len(found)
        )
        if len(found) > UPCOMING_SHOWN
        else _("Upcoming workshops:")
    )
    messages = [Message(text=head)]
    for workshop, group in shown:
        assert workshop.id is not None and group.id is not None
        line = msgs.session_line(workshop, group, tz)
        if is_group_mentor(session, person, group.id):
            going = count_status(session, workshop.id, RsvpStatus.GOING)
            waiting = count_status(session, workshop.id, RsvpStatus.WAITLIST)
            messages.append(Message(text=f"{line}\n{msgs.places_text(workshop, going, waiting)}"))
            continue
        row = rsvp_of(session, workshop.id, person.id or 0)
        answers: dict[str, str] = {
            RsvpStatus.GOING: _("You're going."),
            RsvpStatus.WAITLIST: _("You're on the waitlist."),
            RsvpStatus.NOT_GOING: _("You're not going."),
        }
        status = answers.get(row.status if row else "", "") or _("You haven’t answered yet.")
        messages.append(
            Message(
                text=f"{line}\n{status}",
                choices=msgs.rsvp_choices(workshop.id),
            )
        )
    return tuple(messages)


def describe(workshops: Sequence[WorkshopSession], group: Group, tz: str) -> str:
    """Lines about newly created sessions."""
    return "\n".join(msgs.session_line(w, group, tz) for w in workshops)
