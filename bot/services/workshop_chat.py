"""The `/workshop` chat command and the "workshop.add" form, as words and fields to services.

```
/workshop                                  upcoming sessions of your groups (RSVP buttons)
/workshop add "TITLE" DATE HH:MM [ZONE] MINUTES [cap N] [weekly N] [days mon,thu]
              [LOCATION or LINK] [about "DESCRIPTION"] [group GROUP NAME]
/workshop cancel ID | move ID DATE HH:MM | attend|absent ID EMAIL... | report ID
```

e.g. `/workshop add "Exam stress" 2026-12-01 16:00 Europe/London 60 cap 12
https://meet.example/abc`. `weekly 6` makes a series of six weekly sessions. Without
`group`, a mentor's only group is used. Quotes keep a title (or a description) together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlmodel import Session

from bot.args import split_words as words_of
from bot.config import CoreSettings
from bot.errors import NotAllowed, UserError
from bot.i18n import N_, _, ngettext
from bot.localtime import is_valid_zone
from bot.model import Message, Reply
from bot.people import ADMIN, STUDENT
from bot.services import workshops as service
from bot.services.groups import (
    GROUP_MENTOR,
    NOT_GROUP_MENTOR,
    groups_of,
    list_groups,
    members_of,
)
from storage.tables import Group, Person, WorkshopSession

ADD_USAGE = N_(
    'Use /workshop add "TITLE" YYYY-MM-DD HH:MM [TIME ZONE] MINUTES [cap N] [weekly N] '
    '[LOCATION or LINK] [group GROUP], e.g. /workshop add "Exam stress" 2026-12-01 16:00 '
    "Europe/London 60 cap 12 https://meet.example/abc"
)
USAGE = N_(
    "Use /workshop (upcoming sessions), /workshop add ..., /workshop cancel ID, "
    "/workshop move ID YYYY-MM-DD HH:MM, /workshop attend|absent ID EMAIL..., "
    "/workshop report ID."
)
_OPTION_WORDS = {"cap", "capacity", "weekly", "weeks", "days", "about", "group"}


def split_words(text: str) -> list[str]:
    """The command's words, with "quoted parts" kept together (curly quotes too)."""
    words = words_of(text)
    if words.unbalanced:
        raise UserError(_('A quote is missing its partner. Put titles in "double quotes".'))
    return list(words.items)


def _own_group(session: Session, actor: Person) -> str:
    """The one group a mentor runs, for commands that leave the group out."""
    if actor.role == STUDENT:
        raise NotAllowed(_(NOT_GROUP_MENTOR))
    if actor.role == ADMIN:
        mine = list(list_groups(session))
    else:
        ids = groups_of(session, actor)
        mine = [
            g
            for g in list_groups(session, ids)
            if g.id is not None
            and any(r.person.id == actor.id for r in members_of(session, g.id, role=GROUP_MENTOR))
        ]
    if len(mine) == 1:
        return mine[0].name
    names = ", ".join(g.name for g in mine) or _("none yet")
    raise UserError(
        _("Which group is it for? Add 'group NAME' at the end (your groups: {names}).").format(
            names=names
        )
    )


def parse_add(session: Session, actor: Person, words: Sequence[str]) -> service.WorkshopSpec:
    """The words after `/workshop add` as a spec (validated later, all at once)."""
    if len(words) < 4:
        raise UserError(_(ADD_USAGE))
    title, date, at = words[0], words[1], words[2]
    rest = list(words[3:])
    zone_name: str | None = None
    if rest and not rest[0].isdigit() and is_valid_zone(rest[0]):
        zone_name = rest.pop(0)
    if not rest or not rest[0].lstrip("-").isdigit():
        raise UserError(
            _("After the date, time (and time zone) comes the length in minutes.")
            + " "
            + _(ADD_USAGE)
        )
    duration = rest.pop(0)
    options: dict[str, str] = {}
    location: list[str] = []
    while rest:
        word = rest.pop(0)
        key = word.lower()
        if key == "group":
            options["group"] = " ".join(rest)
            rest = []
        elif key in _OPTION_WORDS and rest:
            options[key] = rest.pop(0)
        else:
            location.append(word)
    return service.WorkshopSpec(
        group=options.get("group") or _own_group(session, actor),
        title=title,
        date=date,
        time=at,
        timezone=zone_name,
        duration=duration,
        capacity=options.get("cap") or options.get("capacity"),
        location=" ".join(location),
        description=options.get("about", ""),
        count=options.get("weekly") or options.get("weeks"),
        days=options.get("days"),
    )


def _created(
    session: Session, settings: CoreSettings, actor: Person, workshops: Sequence[WorkshopSession]
) -> Reply:
    group = session.get(Group, workshops[0].group_id)
    assert group is not None
    tz = service.timezone_of(actor, settings)
    count = len(workshops)
    head = (
        _("Created workshop:")
        if count == 1
        else ngettext(
            "Created a series of {n} workshops:", "Created a series of {n} workshops:", count
        ).format(n=count)
    )
    tail = (
        _(
            "I'm announcing it in {platform} channel {channel}. "
            "/workshop report ID shows who is coming."
        ).format(platform=group.platform, channel=group.channel_id)
        if group.channel_id
        else _(
            "I'm announcing it to each member by DM (the group has no channel). "
            "/workshop report ID shows who is coming."
        )
    )
    return Reply(
        messages=(Message(text=f"{head}\n{service.describe(workshops, group, tz)}\n{tail}"),)
    )


def run_chat_command(
    session: Session, settings: CoreSettings, now: datetime, actor: Person, text: str
) -> Reply:
    """`/workshop ...` for anyone: members list and RSVP, the group's mentors manage."""
    words = split_words(text)
    sub = words[0].lower() if words else "list"
    rest = words[1:]
    if sub in ("list", "upcoming"):
        return Reply(messages=service.upcoming_for(session, settings, now, actor))
    if sub in ("add", "new", "series"):
        spec = parse_add(session, actor, rest)
        if sub == "series" and spec.count is None:
            raise UserError(_("A series needs 'weekly N', e.g. weekly 6 for six weeks."))
        created = service.create_workshops(session, settings, now, actor, spec)
        return _created(session, settings, actor, created)
    if sub == "cancel":
        if len(rest) != 1:
            raise UserError(_("Use /workshop cancel ID; the ids are in /workshop list."))
        workshop = service.cancel_workshop(session, settings, now, actor, rest[0])
        return Reply.say(
            _("Cancelled #{id} “{title}”. Everyone going has been told.").format(
                id=workshop.id, title=workshop.title
            )
        )
    if sub == "move":
        if len(rest) != 3:
            raise UserError(
                _("Use /workshop move ID YYYY-MM-DD HH:MM (in the session's time zone).")
            )
        workshop, _old = service.move_workshop(session, settings, now, actor, *rest)
        tz = service.timezone_of(actor, settings)
        group = session.get(Group, workshop.group_id)
        assert group is not None
        return Reply.say(
            _("Moved: {line}. Everyone going has been told.").format(
                line=service.describe([workshop], group, tz)
            )
        )
    if sub in ("attend", "absent"):
        if len(rest) < 2:
            raise UserError(
                _("Use /workshop {sub} ID EMAIL..., e.g. /workshop {sub} 3 sam@example.edu").format(
                    sub=sub
                )
            )
        present = sub == "attend"
        workshop, people = service.mark_attendance(
            session, now, actor, rest[0], rest[1:], present=present
        )
        names = ", ".join(p.name for p in people)
        marked = (
            _("Marked present at “{title}”: {names}.")
            if present
            else _("Marked absent from “{title}”: {names}.")
        )
        return Reply.say(marked.format(title=workshop.title, names=names))
    if sub == "report":
        if len(rest) != 1:
            raise UserError(_("Use /workshop report ID; the ids are in /workshop list."))
        return Reply(messages=(service.workshop_report(session, settings, now, actor, rest[0]),))
    raise UserError(_(USAGE))


def run_form(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    actor: Person,
    fields: Mapping[str, str],
) -> Reply:
    """The "workshop.add" form (named fields; a Slack or Discord modal can submit it)."""

    def get(name: str) -> str:
        return (fields.get(name) or "").strip()

    # One "start" field ("2026-12-01 16:00", as a Discord modal has room for) or two.
    date, at = get("date"), get("time")
    if get("start"):
        date, _sep, at = get("start").replace("T", " ").partition(" ")
    spec = service.WorkshopSpec(
        group=get("group") or _own_group(session, actor),
        title=get("title"),
        date=date,
        time=at.strip(),
        timezone=get("timezone") or None,
        duration=get("duration"),
        capacity=get("capacity") or None,
        location=get("location"),
        description=get("description"),
        count=get("weeks") or None,
        days=get("days") or None,
    )
    created = service.create_workshops(session, settings, now, actor, spec)
    return _created(session, settings, actor, created)
