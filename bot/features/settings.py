"""Settings: a student sees and changes their time zone, quiet hours, check-in time and platform.

`/settings` shows them; `/settings zone|quiet|checkin|platform ...` changes one. Every
refusal (a zone nobody knows, 25:00, a time outside the check-in window, a platform they
have no account on) is a friendly message and changes nothing: the service checks before
it writes, and a `UserError` rolls the unit of work back.
"""

from __future__ import annotations

from bot.auth import allow, require_role
from bot.model import Reply
from bot.people import STUDENT
from bot.personal_data import PersonalData
from bot.registry import Arg, ArgKind, Command, Context, Feature
from bot.services import settings as settings_service
from storage.tables import StudentSettings


@allow(STUDENT)
def cmd_settings_show(ctx: Context) -> Reply:
    """`/settings`: every setting with how to change it."""
    require_role(ctx.person, STUDENT)
    schedules = settings_service.schedules_of(ctx.session, ctx.person)
    return Reply.say(settings_service.render(ctx.session, ctx.settings, ctx.person, schedules))


@allow(STUDENT)
def cmd_settings_zone(ctx: Context) -> Reply:
    """`/settings zone Europe/Berlin`: the student's own zone (the registry validated it)."""
    require_role(ctx.person, STUDENT)
    zone = ctx.args.need("zone", str)
    settings_service.set_zone(ctx.session, ctx.person, zone, ctx.now)
    return Reply.say(
        f"Your time zone is now {zone}. Check-ins, quiet hours and reminders follow it."
    )


@allow(STUDENT)
def cmd_settings_quiet(ctx: Context) -> Reply:
    """`/settings quiet 22:00-07:00` or `/settings quiet off`."""
    require_role(ctx.person, STUDENT)
    start, end = settings_service.parse_quiet(ctx.args.need("hours", str))
    settings_service.set_quiet(ctx.session, ctx.person, start, end)
    if (start, end) == settings_service.QUIET_OFF:
        return Reply.say("Quiet hours are off: messages come whenever they're sent.")
    return Reply.say(
        f"Quiet hours set to {start}-{end} your time. I'll hold messages until they end "
        "(urgent safety messages still come through)."
    )


@allow(STUDENT)
def cmd_settings_checkin(ctx: Context) -> Reply:
    """`/settings checkin 18:30` (within the schedule's window) or `/settings checkin off`."""
    require_role(ctx.person, STUDENT)
    value, moved = settings_service.set_checkin_time(
        ctx.session, ctx.settings, ctx.person, ctx.args.need("time", str), ctx.now
    )
    if value is None:
        return Reply.say("Your check-ins are back at their scheduled times.")
    names = ", ".join(f"'{s.name}'" for s in moved)
    return Reply.say(f"Your check-ins ({names}) now come at {value} your time.")


@allow(STUDENT)
def cmd_settings_platform(ctx: Context) -> Reply:
    """`/settings platform slack|discord`: where direct messages go when both are linked."""
    require_role(ctx.person, STUDENT)
    platform = ctx.args.need("platform", str)
    settings_service.set_platform(ctx.session, ctx.person, platform)
    return Reply.say(f"I'll send your messages on {platform.capitalize()} from now on.")


FEATURE = Feature(
    name="settings",
    summary="A student's own time zone, quiet hours, check-in time and platform",
    commands=(
        Command(
            "settings",
            "your time zone, quiet hours, check-in time and platform",
            cmd_settings_show,
            sub="show",
            default=True,
        ),
        Command(
            "settings",
            "set your time zone",
            cmd_settings_zone,
            sub="zone",
            aliases=("timezone", "tz"),
            args=(Arg("zone", ArgKind.ZONE, "An IANA time zone, e.g. Europe/Berlin"),),
            example="/settings zone Europe/Berlin",
        ),
        Command(
            "settings",
            "set your quiet hours (or turn them off)",
            cmd_settings_quiet,
            sub="quiet",
            args=(
                Arg(
                    "hours",
                    ArgKind.WORD,
                    "HH:MM-HH:MM in your time, or 'off'",
                    shown="HH:MM-HH:MM|off",
                ),
            ),
            example="/settings quiet 22:00-07:00",
        ),
        Command(
            "settings",
            "move your check-in within your schedule's window (or back)",
            cmd_settings_checkin,
            sub="checkin",
            aliases=("check-in",),
            args=(
                Arg(
                    "time",
                    ArgKind.WORD,
                    "HH:MM in your time, or 'off' for the schedule's time",
                    shown="HH:MM|off",
                ),
            ),
            example="/settings checkin 18:30",
        ),
        Command(
            "settings",
            "choose where direct messages go when you have both",
            cmd_settings_platform,
            sub="platform",
            args=(
                Arg(
                    "platform",
                    ArgKind.CHOICE,
                    "Where your direct messages go",
                    choices=settings_service.DM_PLATFORMS,
                    invalid="Pick slack or discord, e.g. /settings platform slack.",
                ),
            ),
            example="/settings platform slack",
        ),
    ),
    personal_data=(
        PersonalData("settings", StudentSettings, owner="person_id", export_as="settings"),
    ),
)
