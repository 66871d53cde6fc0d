"""`mentorbot group ...` and `mentorbot workshop ...`: groups, channels and workshop sessions.

```
mentorbot group add NAME [--slack-channel C0123ABCD | --discord-channel 1234...]
mentorbot group list
mentorbot group bind NAME (--slack-channel ... | --discord-channel ...)
mentorbot group unbind NAME
mentorbot group members add|remove NAME EMAIL...
mentorbot group members list NAME
mentorbot workshop add --group NAME --title TITLE --start 2026-12-01T16:00
                       --timezone Europe/London --duration 60 [--capacity 12]
                       [--location URL] [--description TEXT] [--weekly N [--days tue,thu]]
mentorbot workshop list [--all]
mentorbot workshop cancel ID | move ID --start 2026-12-08T16:00 | report ID
```

The CLI acts as the programme (no person): it may manage every group, and its changes are
audited without an actor. Bad input is a UserError: `mentorbot.cli.main` prints it and exits
with 1, and nothing is stored because the unit of work rolls back. Announcements and change
notices are queued in the outbox; a running bot delivers them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sqlmodel import col, select

from bot.audit import audit
from bot.errors import UserError
from bot.services import groups as group_service
from bot.services import workshop_messages
from bot.services import workshops as workshop_service
from mentorbot.app import App, build_app
from storage.enums import RsvpStatus, WorkshopStatus
from storage.tables import Group, WorkshopSession

AddCommand = Callable[..., argparse.ArgumentParser]


def _app() -> App:
    # Seeding is for the demo run only; an admin command must not invent people.
    return build_app(seed=False)


def _channel(args: argparse.Namespace) -> tuple[str | None, str | None]:
    if args.slack_channel:
        return "slack", args.slack_channel
    if args.discord_channel:
        return "discord", args.discord_channel
    return None, None


def cmd_group_add(args: argparse.Namespace) -> int:
    """Create a group, optionally bound to a channel."""
    app = _app()
    platform, channel = _channel(args)
    now = app.clock.now()
    with app.db.session() as session:
        group = group_service.add_group(
            session, args.name, now, platform=platform, channel_id=channel
        )
        audit(session, now, None, "group.create", None, detail=f"group {group.id} via cli")
        line = group_service.describe_group(session, group)
    print(f"Added {line}")
    return 0


def cmd_group_list(args: argparse.Namespace) -> int:
    """List every group with its channel and head counts."""
    app = _app()
    with app.db.session() as session:
        lines = [
            group_service.describe_group(session, g) for g in group_service.list_groups(session)
        ]
    print("\n".join(lines) if lines else "No groups.")
    return 0


def cmd_group_bind(args: argparse.Namespace) -> int:
    """Bind a group to a Slack or Discord channel."""
    app = _app()
    platform, channel = _channel(args)
    if platform is None or channel is None:
        raise UserError("Give --slack-channel C0123ABCD or --discord-channel 1234567890123456.")
    now = app.clock.now()
    with app.db.session() as session:
        group = group_service.group_named(session, args.name)
        group_service.bind_channel(session, group, platform, channel)
        audit(session, now, None, "group.bind", None, detail=f"group {group.id} via cli")
        text = group_service.channel_text(group)
    print(f"{args.name} now posts to the {text}. Make sure the bot is in that channel.")
    return 0


def cmd_group_unbind(args: argparse.Namespace) -> int:
    """Forget a group's channel (its posts go to members by DM)."""
    app = _app()
    now = app.clock.now()
    with app.db.session() as session:
        group = group_service.group_named(session, args.name)
        group_service.unbind_channel(session, group)
        audit(session, now, None, "group.unbind", None, detail=f"group {group.id} via cli")
    print(f"{args.name} has no channel now: its workshop posts go to members by DM.")
    return 0


def cmd_group_members_add(args: argparse.Namespace) -> int:
    """Add enrolled people to a group, all or nothing."""
    app = _app()
    now = app.clock.now()
    with app.db.session() as session:
        group = group_service.group_named(session, args.name)
        change = group_service.add_members(session, group, args.emails)
        audit(session, now, None, "group.add", None, detail=f"group {group.id} via cli")
        added = [p.email for p in change.changed]
        already = [p.email for p in change.unchanged]
    print(f"Added to {args.name}: {', '.join(added) or 'nobody'}.")
    if already:
        print(f"Already in it: {', '.join(already)}.")
    return 0


def cmd_group_members_remove(args: argparse.Namespace) -> int:
    """Take people out of a group."""
    app = _app()
    now = app.clock.now()
    with app.db.session() as session:
        group = group_service.group_named(session, args.name)
        change = group_service.remove_members(session, group, args.emails)
        audit(session, now, None, "group.remove", None, detail=f"group {group.id} via cli")
        removed = [p.email for p in change.changed]
    print(f"Removed from {args.name}: {', '.join(removed) or 'nobody'}.")
    return 0


def cmd_group_members_list(args: argparse.Namespace) -> int:
    """List a group's members."""
    app = _app()
    with app.db.session() as session:
        group = group_service.group_named(session, args.name)
        assert group.id is not None
        rows = group_service.members_of(session, group.id)
        lines = [f"{r.person.email} {r.person.name} ({r.role})" for r in rows]
    print("\n".join(lines) if lines else f"{args.name} has no members yet.")
    return 0


def _split_start(value: str) -> tuple[str, str]:
    date, sep, at = value.strip().replace(" ", "T").partition("T")
    if not sep:
        raise UserError(f"'{value}' isn't a start. Use YYYY-MM-DDTHH:MM, e.g. 2026-12-01T16:00.")
    return date, at


def cmd_workshop_add(args: argparse.Namespace) -> int:
    """Create a workshop session (or a weekly series) and queue its announcement(s)."""
    app = _app()
    date, at = _split_start(args.start)
    spec = workshop_service.WorkshopSpec(
        group=args.group,
        title=args.title,
        date=date,
        time=at,
        timezone=args.timezone,
        duration=str(args.duration),
        capacity=args.capacity,
        location=args.location or "",
        description=args.description or "",
        count=str(args.weekly) if args.weekly else None,
        days=args.days,
    )
    now = app.clock.now()
    with app.db.session() as session:
        created = workshop_service.create_workshops(session, app.core_settings, now, None, spec)
        group = session.get(Group, created[0].group_id)
        assert group is not None
        lines = workshop_service.describe(created, group, created[0].timezone)
    print(f"Added:\n{lines}")
    print("A running bot delivers the announcement(s).")
    return 0


def cmd_workshop_list(args: argparse.Namespace) -> int:
    """List upcoming sessions (with --all, past and cancelled ones too)."""
    app = _app()
    now = app.clock.now()
    with app.db.session() as session:
        query = (
            select(WorkshopSession, Group)
            .join(Group, col(Group.id) == WorkshopSession.group_id)
            .order_by(col(WorkshopSession.starts_at), col(WorkshopSession.id))
        )
        rows = session.exec(query).all()
        lines = []
        for workshop, group in rows:
            assert workshop.id is not None
            upcoming = workshop.status == WorkshopStatus.SCHEDULED and (
                workshop_messages.ends_at(workshop) > now
            )
            if not (upcoming or args.all):
                continue
            going = workshop_service.count_status(session, workshop.id, RsvpStatus.GOING)
            waiting = workshop_service.count_status(session, workshop.id, RsvpStatus.WAITLIST)
            lines.append(
                f"{workshop_messages.session_line(workshop, group, workshop.timezone)}; "
                f"{workshop_messages.places_text(workshop, going, waiting)}"
            )
    print("\n".join(lines) if lines else "No upcoming workshops.")
    return 0


def cmd_workshop_cancel(args: argparse.Namespace) -> int:
    """Cancel a session; those going are told."""
    app = _app()
    with app.db.session() as session:
        workshop = workshop_service.cancel_workshop(
            session, app.core_settings, app.clock.now(), None, args.id
        )
        title = workshop.title
    print(f"Cancelled #{args.id} {title}. Everyone going will be told.")
    return 0


def cmd_workshop_move(args: argparse.Namespace) -> int:
    """Move a session to a new start (in its own time zone)."""
    app = _app()
    date, at = _split_start(args.start)
    with app.db.session() as session:
        workshop, _old = workshop_service.move_workshop(
            session, app.core_settings, app.clock.now(), None, args.id, date, at
        )
        group = session.get(Group, workshop.group_id)
        assert group is not None
        line = workshop_service.describe([workshop], group, workshop.timezone)
    print(f"Moved: {line}. Everyone going will be told.")
    return 0


def cmd_workshop_report(args: argparse.Namespace) -> int:
    """Print a session's RSVPs, attendance and feedback summary."""
    app = _app()
    with app.db.session() as session:
        message = workshop_service.workshop_report(
            session, app.core_settings, app.clock.now(), None, args.id
        )
    print(message.title)
    print(message.text)
    for field in message.fields:
        print(f"  {field.label}: {field.value}")
    return 0


def _add_channel_options(parser: argparse.ArgumentParser) -> None:
    channel = parser.add_mutually_exclusive_group()
    channel.add_argument("--slack-channel", metavar="ID", help="a Slack channel id, e.g. C0123ABCD")
    channel.add_argument("--discord-channel", metavar="ID", help="a Discord channel id (a number)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], add: AddCommand) -> None:
    """Add the `group` and `workshop` command groups to the CLI."""
    group = sub.add_parser("group", help="mentoring groups and their channels")
    group_sub = group.add_subparsers(dest="group_command", metavar="ACTION", required=True)
    p = add("add", cmd_group_add, "create a group", group_sub)
    p.add_argument("name", help='e.g. "Study skills"')
    _add_channel_options(p)
    add("list", cmd_group_list, "list groups", group_sub)
    p = add("bind", cmd_group_bind, "post a group's workshops in a channel", group_sub)
    p.add_argument("name")
    _add_channel_options(p)
    p = add("unbind", cmd_group_unbind, "forget a group's channel (members get DMs)", group_sub)
    p.add_argument("name")
    members = group_sub.add_parser("members", help="a group's members")
    members_sub = members.add_subparsers(dest="members_command", metavar="ACTION", required=True)
    p = add("add", cmd_group_members_add, "add enrolled people to a group", members_sub)
    p.add_argument("name")
    p.add_argument("emails", nargs="+", metavar="EMAIL")
    p = add("remove", cmd_group_members_remove, "take people out of a group", members_sub)
    p.add_argument("name")
    p.add_argument("emails", nargs="+", metavar="EMAIL")
    p = add("list", cmd_group_members_list, "list a group's members", members_sub)
    p.add_argument("name")

    workshop = sub.add_parser("workshop", help="workshop sessions")
    workshop_sub = workshop.add_subparsers(dest="workshop_command", metavar="ACTION", required=True)
    p = add("add", cmd_workshop_add, "create a session (or a weekly series)", workshop_sub)
    p.add_argument("--group", required=True, help="the group it is for")
    p.add_argument("--title", required=True)
    p.add_argument("--start", required=True, metavar="YYYY-MM-DDTHH:MM", help="local start time")
    p.add_argument("--timezone", metavar="ZONE", help="e.g. Europe/London (default: programme's)")
    p.add_argument("--duration", required=True, metavar="MINUTES")
    p.add_argument("--capacity", metavar="N", help="places (default: no limit)")
    p.add_argument("--location", metavar="URL_OR_ROOM", help="a video link or a room")
    p.add_argument("--description")
    p.add_argument("--weekly", metavar="N", help="a series of N weekly sessions")
    p.add_argument("--days", metavar="DAYS", help="series days, e.g. tue,thu (default: --start's)")
    p = add("list", cmd_workshop_list, "list upcoming sessions", workshop_sub)
    p.add_argument("--all", action="store_true", help="include past and cancelled sessions")
    p = add("cancel", cmd_workshop_cancel, "cancel a session", workshop_sub)
    p.add_argument("id")
    p = add("move", cmd_workshop_move, "move a session to a new start", workshop_sub)
    p.add_argument("id")
    p.add_argument("--start", required=True, metavar="YYYY-MM-DDTHH:MM")
    p = add("report", cmd_workshop_report, "RSVPs, attendance and feedback", workshop_sub)
    p.add_argument("id")
