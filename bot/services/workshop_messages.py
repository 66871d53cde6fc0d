"""What workshop posts and DMs say: pure functions of the stored rows, no database access.

Times are always shown in the reader's own zone: a DM in the recipient's zone, a channel post
(read by everyone in the group) in each of the zones the group's members live in, the
session's own zone first. The same messages render on Slack (Block Kit), Discord (embeds and
buttons) and the console (numbered choices).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.i18n import DEFAULT_LANGUAGE, _, current_language, ngettext
from bot.i18n.dates import DAY, local_format, local_time
from bot.localtime import to_local
from bot.model import Choice, Field, Link, Message
from storage.enums import RsvpStatus, WorkshopStatus
from storage.tables import Group, WorkshopSession

RSVP_ACTION = "workshop.rsvp"
CHECKIN_ACTION = "workshop.checkin"
FEEDBACK_ACTION = "workshop.feedback"
FEEDBACK_SKIP_ACTION = "workshop.feedback.skip"
# A channel post lists at most this many zones; more would bury the rest of the post.
MAX_ZONES_SHOWN = 4
RATING_LABELS = {1: "1 😞", 2: "2 🙁", 3: "3 😐", 4: "4 🙂", 5: "5 😄"}


def ends_at(workshop: WorkshopSession) -> datetime:
    """When the session ends."""
    return workshop.starts_at + timedelta(minutes=workshop.duration_minutes)


def _day(local: datetime) -> str:
    if current_language() == DEFAULT_LANGUAGE:
        return f"{local:%a} {local.day} {local:%b}"  # "Tue 1 Dec", as English always had it
    return local_format(local, DAY)


def _day_time(local: datetime) -> str:
    return _("{day} {time}").format(day=_day(local), time=local_time(local))


def when_in(workshop: WorkshopSession, tz: str) -> str:
    """`Tue 1 Dec, 16:00-17:00 (Europe/London)`: the session's time in one zone."""
    start = to_local(workshop.starts_at, tz)
    end = to_local(ends_at(workshop), tz)
    until = local_time(end) if end.date() == start.date() else _day_time(end)
    return _("{day}, {start}–{end} ({zone})").format(
        day=_day(start), start=local_time(start), end=until, zone=tz
    )


def when_for_all(workshop: WorkshopSession, zones: Sequence[str]) -> str:
    """The session's time in its own zone, then in the other zones of the group's members."""
    shown = [workshop.timezone, *(z for z in zones if z != workshop.timezone)]
    lines = [when_in(workshop, tz) for tz in shown[:MAX_ZONES_SHOWN]]
    if len(shown) > MAX_ZONES_SHOWN:
        lines.append(_("(other members: the time in your DM reminder is in your own zone)"))
    return "\n".join(lines)


def is_link(location: str) -> bool:
    """True when the location is a video link rather than a room."""
    return location.strip().lower().startswith(("https://", "http://"))


def _where(workshop: WorkshopSession) -> tuple[tuple[Field, ...], tuple[Link, ...]]:
    location = workshop.location.strip()
    if not location:
        return (), ()
    if is_link(location):
        return (), (Link(_("Join the session"), location),)
    return (Field(_("Where"), location),), ()


def places_text(workshop: WorkshopSession, going: int, waiting: int = 0) -> str:
    """`5 of 12 places taken (2 waiting)`, or the head count when there is no limit."""
    if workshop.capacity is None:
        return ngettext("{n} going (no limit)", "{n} going (no limit)", going).format(n=going)
    text = ngettext(
        "{going} of {n} places taken", "{going} of {n} places taken", workshop.capacity
    ).format(going=going, n=workshop.capacity)
    if waiting:
        text += " " + ngettext("({n} waiting)", "({n} waiting)", waiting).format(n=waiting)
    return text


def rsvp_choices(workshop_id: int) -> tuple[Choice, ...]:
    """The Going / Not going buttons of a session."""
    args = (("session", str(workshop_id)),)
    return (
        Choice(_("Going"), RSVP_ACTION, (*args, ("answer", RsvpStatus.GOING)), style="primary"),
        Choice(_("Not going"), RSVP_ACTION, (*args, ("answer", RsvpStatus.NOT_GOING))),
    )


def announcement(workshop: WorkshopSession, group: Group, zones: Sequence[str]) -> Message:
    """The post that invites the group: what, when (in members' zones), where, places."""
    assert workshop.id is not None
    fields, links = _where(workshop)
    places = (
        ngettext(
            "{n} places; when it's full you can join the waitlist",
            "{n} places; when it's full you can join the waitlist",
            workshop.capacity,
        ).format(n=workshop.capacity)
        if workshop.capacity is not None
        else _("No limit")
    )
    text = _("New workshop for {group}: “{title}”").format(group=group.name, title=workshop.title)
    if workshop.description:
        text += f"\n{workshop.description}"
    return Message(
        title=_("Workshop: {title}").format(title=workshop.title),
        text=text,
        fields=(
            Field(_("When"), when_for_all(workshop, zones)),
            *fields,
            Field(_("Places"), places),
        ),
        links=links,
        choices=rsvp_choices(workshop.id),
        private=False,
    )


def invitation(workshop: WorkshopSession, group: Group, tz: str) -> Message:
    """The announcement as a DM, for a group with no channel (and on the console)."""
    assert workshop.id is not None
    fields, links = _where(workshop)
    text = _("New workshop for {group}: “{title}”").format(group=group.name, title=workshop.title)
    if workshop.description:
        text += f"\n{workshop.description}"
    return Message(
        title=_("Workshop: {title}").format(title=workshop.title),
        text=text,
        fields=(Field(_("When"), when_in(workshop, tz)), *fields),
        links=links,
        choices=rsvp_choices(workshop.id),
    )


def rsvp_answer(workshop: WorkshopSession, status: str, tz: str, going: int) -> Message:
    """The private answer to an RSVP button."""
    assert workshop.id is not None
    when = when_in(workshop, tz)
    if status == RsvpStatus.GOING:
        text = _("You're going to “{title}”, {when}. I'll remind you the day before.").format(
            title=workshop.title, when=when
        )
        if workshop.capacity is not None:
            text += f" {places_text(workshop, going)}."
        return Message(text=text, choices=(rsvp_choices(workshop.id)[1],))
    if status == RsvpStatus.WAITLIST:
        return Message(
            text=_(
                "“{title}” is full, so you're on the waitlist. If a place opens "
                "up you get it automatically and I'll send you a message."
            ).format(title=workshop.title),
            choices=(
                Choice(_("Leave the waitlist"), RSVP_ACTION, rsvp_choices(workshop.id)[1].args),
            ),
        )
    return Message(
        text=_("Thanks for letting me know: you're not going to “{title}”, {when}.").format(
            title=workshop.title, when=when
        ),
        choices=(rsvp_choices(workshop.id)[0],),
    )


def promoted(workshop: WorkshopSession, tz: str) -> Message:
    """The DM to the person a dropped place went to."""
    assert workshop.id is not None
    fields, links = _where(workshop)
    return Message(
        title=_("You've got a place"),
        text=_(
            "A place opened up: you're now going to “{title}”, "
            "{when}. Can't make it any more? Press Not going so the next "
            "person gets it."
        ).format(title=workshop.title, when=when_in(workshop, tz)),
        fields=fields,
        links=links,
        choices=(rsvp_choices(workshop.id)[1],),
    )


def reminder(workshop: WorkshopSession, tz: str, *, hour: bool) -> Message:
    """The day-before or hour-before reminder to someone going, in their zone."""
    assert workshop.id is not None
    fields, links = _where(workshop)
    # Not "in an hour" or "tomorrow": quiet hours may hold a reminder back a while.
    soon = (
        _(
            "“{title}” starts soon: {when}. Can't make it? "
            "Press Not going so someone on the waitlist gets your place."
        )
        if hour
        else _(
            "“{title}” is coming up: {when}. Can't make it? "
            "Press Not going so someone on the waitlist gets your place."
        )
    )
    return Message(
        title=_("Workshop reminder"),
        text=soon.format(title=workshop.title, when=when_in(workshop, tz)),
        fields=fields,
        links=links,
        choices=(rsvp_choices(workshop.id)[1],),
    )


def checkin_choice(workshop_id: int) -> Choice:
    """The "I'm here" button (self check-in during the session)."""
    return Choice(_("I'm here"), CHECKIN_ACTION, (("session", str(workshop_id)),), style="primary")


def start_post(workshop: WorkshopSession, *, channel: bool) -> Message:
    """The post at the start: the link, and a button to check in."""
    assert workshop.id is not None
    fields, links = _where(workshop)
    text = (
        _(
            "“{title}” is starting now. If you're taking part, press I'm here "
            "so your mentor knows you came."
        )
        if channel
        else _("“{title}” is starting now. Press I'm here so your mentor knows you came.")
    )
    return Message(
        title=_("Starting now: {title}").format(title=workshop.title),
        text=text.format(title=workshop.title),
        fields=fields,
        links=links,
        choices=(checkin_choice(workshop.id),),
        private=not channel,
    )


def feedback_prompt(workshop: WorkshopSession) -> Message:
    """The DM after a session: rate it 1-5 (anonymous to the mentor)."""
    assert workshop.id is not None
    args = (("session", str(workshop.id)),)
    return Message(
        title=_("How was it?"),
        text=_(
            "Thanks for coming to “{title}”! How useful was it, from 1 (not at "
            "all) to 5 (very)? Your mentor only sees ratings and comments without names, and only "
            "once at least 5 people have answered."
        ).format(title=workshop.title),
        choices=tuple(
            Choice(label, FEEDBACK_ACTION, (*args, ("rating", str(score))))
            for score, label in RATING_LABELS.items()
        ),
    )


def feedback_thanks(workshop: WorkshopSession, rating: int) -> Message:
    """After a rating: thanks, and the invitation to add a comment as the next message."""
    assert workshop.id is not None
    return Message(
        text=_(
            "Thanks, you rated “{title}” {rating}/5. Anything to add? Type it as "
            "your next message, or press No comment."
        ).format(title=workshop.title, rating=rating),
        choices=(Choice(_("No comment"), FEEDBACK_SKIP_ACTION, (("session", str(workshop.id)),)),),
        expects_text=True,
    )


def cancelled(workshop: WorkshopSession, tz: str | None, zones: Sequence[str]) -> Message:
    """The cancellation notice: a DM (in `tz`) or the channel post (in members' zones)."""
    when = when_in(workshop, tz) if tz else when_for_all(workshop, zones)
    return Message(
        title=_("Cancelled: {title}").format(title=workshop.title),
        text=_("“{title}” ({when}) has been cancelled. Sorry for the change of plans.").format(
            title=workshop.title, when=when
        ),
        private=tz is not None,
    )


def moved(
    workshop: WorkshopSession, old_start: datetime, tz: str | None, zones: Sequence[str]
) -> Message:
    """The new time of a moved session, with the RSVP buttons again."""
    assert workshop.id is not None
    zone = tz or workshop.timezone
    old = to_local(old_start, zone)
    when = when_in(workshop, tz) if tz else when_for_all(workshop, zones)
    text = _("“{title}” has moved from {old} ({zone}) to:\n{when}").format(
        title=workshop.title, old=_day_time(old), zone=zone, when=when
    )
    if tz:
        text += "\n" + _("Your answer still stands; press a button if it changes.")
    return Message(
        title=_("New time: {title}").format(title=workshop.title),
        text=text,
        choices=rsvp_choices(workshop.id),
        private=tz is not None,
    )


def session_line(workshop: WorkshopSession, group: Group, tz: str) -> str:
    """One line about a session for lists."""
    line = (
        _("#{id} {title} for {group}: {when} (cancelled)")
        if workshop.status == WorkshopStatus.CANCELLED
        else _("#{id} {title} for {group}: {when}")
    )
    return line.format(
        id=workshop.id, title=workshop.title, group=group.name, when=when_in(workshop, tz)
    )
