"""`mentorbot schedule add|list|remove` and `mentorbot breaks add|list|remove`.

Bad input (an unknown group, an impossible time, an end date in the past, overlapping breaks)
is a UserError: `mentorbot.cli.main` prints it and exits with code 1, and nothing is stored
because the unit of work rolls back.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from bot.args import small_number
from bot.localtime import parse_date, to_local
from bot.services import breaks as break_service
from bot.services import schedules as schedule_service
from mentorbot.app import App, build_app

AddCommand = Callable[..., argparse.ArgumentParser]


def _app() -> App:
    # Seeding is for the demo run only; an admin command must not invent people.
    return build_app(seed=False)


def cmd_schedule_add(args: argparse.Namespace) -> int:
    """Add a check-in schedule."""
    app = _app()
    spec = schedule_service.ScheduleSpec(
        name=args.name,
        days=args.days,
        local_time=args.time,
        group=args.group,
        person=args.person,
        every_n_days=args.every_n_days,
        reminder_minutes=args.reminder_minutes,
        questions=args.questions,
        start=args.start,
        end=args.end,
        timezone=args.timezone,
    )
    now = app.clock.now()
    with app.db.session() as session:
        schedule = schedule_service.add_schedule(
            session, spec, now, to_local(now, app.core_settings.default_timezone).date()
        )
        line = schedule_service.describe(schedule)
    print(f"Added {line}")
    print("A running bot picks it up at its next minute tick.")
    return 0


def cmd_schedule_list(args: argparse.Namespace) -> int:
    """List check-in schedules."""
    app = _app()
    with app.db.session() as session:
        rows = schedule_service.list_schedules(session, include_inactive=args.all)
        lines = [schedule_service.describe(s) for s in rows]
    print("\n".join(lines) if lines else "No check-in schedules.")
    return 0


def cmd_schedule_remove(args: argparse.Namespace) -> int:
    """Switch a schedule off."""
    app = _app()
    with app.db.session() as session:
        schedule = schedule_service.remove_schedule(session, args.id)
        name = schedule.name
    print(f'Removed schedule #{args.id} "{name}".')
    return 0


def cmd_breaks_add(args: argparse.Namespace) -> int:
    """Add a programme-wide break."""
    app = _app()
    starts_on, ends_on = parse_date(args.start), parse_date(args.end)
    now = app.clock.now()
    with app.db.session() as session:
        programme_break = break_service.add_break(
            session,
            starts_on,
            ends_on,
            args.title,
            to_local(now, app.core_settings.default_timezone).date(),
        )
        line = break_service.describe_break(programme_break)
    print(f"Added break {line}. No check-ins or reminders on these days.")
    return 0


def cmd_breaks_list(args: argparse.Namespace) -> int:
    """List programme breaks."""
    app = _app()
    with app.db.session() as session:
        lines = [break_service.describe_break(b) for b in break_service.list_breaks(session)]
    print("\n".join(lines) if lines else "No breaks.")
    return 0


def cmd_breaks_remove(args: argparse.Namespace) -> int:
    """Remove a programme break."""
    app = _app()
    with app.db.session() as session:
        programme_break = break_service.remove_break(session, args.id)
        title = programme_break.title
    print(f'Removed break #{args.id} "{title}".')
    return 0


# No reminder (minutes) or interval (days) comes near this; a bigger one overflows its column.
MAX_MINUTES = 100_000


def _positive_int(value: str) -> int:
    if value.strip().startswith("-"):
        raise argparse.ArgumentTypeError(f"'{value}' must not be negative")
    number = small_number(value, MAX_MINUTES)
    if number is None:
        raise argparse.ArgumentTypeError(
            f"'{value}' isn't a whole number of minutes up to {MAX_MINUTES:,}"
        )
    return number


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], add: AddCommand) -> None:
    """Add the `schedule` and `breaks` command groups to the CLI."""
    schedule = sub.add_parser("schedule", help="check-in schedules")
    schedule_sub = schedule.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    p = add("add", cmd_schedule_add, "add a check-in schedule", schedule_sub)
    p.add_argument("--name", required=True, help="a name admins recognise")
    p.add_argument(
        "--days",
        default="mon-fri",
        help="cron-style days: mon-fri, mon,wed,fri, sat-sun or * (default mon-fri)",
    )
    p.add_argument("--time", required=True, help="local time of day HH:MM, e.g. 09:00")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--group", help="only this group (default: every student)")
    target.add_argument("--person", metavar="EMAIL", help="only this student")
    p.add_argument(
        "--every-n-days",
        type=_positive_int,
        metavar="N",
        help="every N days counted from --start (default today)",
    )
    p.add_argument(
        "--reminder-minutes",
        type=_positive_int,
        default=120,
        metavar="M",
        help="one reminder after M minutes if unanswered; 0 for none (default 120)",
    )
    p.add_argument(
        "--questions",
        default="mood,note,goal",
        help="which questions: mood,note,goal (mood is required)",
    )
    p.add_argument("--start", metavar="YYYY-MM-DD", help="first day (default: now)")
    p.add_argument("--end", metavar="YYYY-MM-DD", help="last day (default: no end)")
    p.add_argument(
        "--timezone",
        metavar="ZONE",
        help="fire at this zone's local time for everyone (default: each student's own time zone)",
    )
    p = add("list", cmd_schedule_list, "list check-in schedules", schedule_sub)
    p.add_argument("--all", action="store_true", help="include removed schedules")
    p = add("remove", cmd_schedule_remove, "switch a schedule off", schedule_sub)
    p.add_argument("id", help="the schedule id from `schedule list`")

    breaks = sub.add_parser("breaks", help="programme-wide breaks (no check-ins)")
    breaks_sub = breaks.add_subparsers(dest="breaks_command", metavar="ACTION", required=True)
    p = add("add", cmd_breaks_add, "add a break: both dates included", breaks_sub)
    p.add_argument("start", help="first day YYYY-MM-DD")
    p.add_argument("end", help="last day YYYY-MM-DD")
    p.add_argument("title", help='e.g. "Winter break"')
    add("list", cmd_breaks_list, "list breaks", breaks_sub)
    p = add("remove", cmd_breaks_remove, "remove a break", breaks_sub)
    p.add_argument("id", help="the break id from `breaks list`")
