"""Calendar invites for meetings (RFC 5545 through the `icalendar` package).

Every invite of one meeting carries the meeting's UID; a move bumps SEQUENCE so calendars
replace the earlier event; a cancellation is `METHOD:CANCEL` with `STATUS:CANCELLED`.

The summary, description and the file's alt text are in the language being spoken: callers
build each person's invite inside `speaking_to(person)`, so a calendar shows the meeting in
its owner's language (same UID: it is one meeting).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar, Event, vCalAddress, vText

from bot.i18n import _
from bot.model import Attachment
from storage.tables import Meeting, Person

PRODID = "-//mentorbot//meetings//EN"
FILENAME = "meeting.ics"
MIME = "text/calendar"


def _address(person: Person, role: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["cn"] = vText(person.name)
    address.params["role"] = vText(role)
    return address


def invite_ics(
    meeting: Meeting,
    mentor: Person,
    student: Person,
    now: datetime,
    link: str | None,
    *,
    cancel: bool = False,
) -> str:
    """The ICS text of the meeting's current state (a request, or a cancellation)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancel else "REQUEST")
    event = Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", meeting.starts_at)
    event.add("dtend", meeting.starts_at + timedelta(minutes=meeting.duration_minutes))
    event.add(
        "summary",
        _("Mentoring meeting: {mentor} and {student}").format(
            mentor=mentor.name, student=student.name
        ),
    )
    description = _("Meeting #{id}. See and change your meetings with /meet list.").format(
        id=meeting.id
    )
    if link:
        description += "\n" + _("Join: {link}").format(link=link)
    event.add("description", description)
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    if link:
        event.add("location", link)
        event.add("url", link)
    event.add("organizer", _address(mentor, "CHAIR"))
    event.add("attendee", _address(student, "REQ-PARTICIPANT"))
    calendar.add_component(event)
    ics: bytes = calendar.to_ical()
    return ics.decode("utf-8")


def invite_attachment(ics: str) -> Attachment:
    """The invite as a file for the outbox (Slack uploads it, Discord attaches it)."""
    return Attachment(
        filename=FILENAME,
        content=ics,
        mime_type=MIME,
        alt_text=_("Calendar invite: open it to add the meeting to your calendar."),
    )
