"""Settings: a person's time zone, quiet hours, check-in time, platform, language, country.

`/settings` shows a student's; `/settings zone|quiet|checkin|platform ...` changes one.
`/settings language` and `/settings country` are for everyone (mentors and staff read alerts
in their own language). Every refusal (a zone nobody knows, 25:00, a time outside the
check-in window, a platform they have no account on, a language we don't speak) is a
friendly message and changes nothing: the service checks before it writes, and a
`UserError` rolls the unit of work back.
"""

from __future__ import annotations

from bot.auth import EVERYONE, allow, require_role
from bot.i18n import LANGUAGES, N_, _, speaking
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
        _("Your time zone is now {zone}. Check-ins, quiet hours and reminders follow it.").format(
            zone=zone
        )
    )


@allow(STUDENT)
def cmd_settings_quiet(ctx: Context) -> Reply:
    """`/settings quiet 22:00-07:00` or `/settings quiet off`."""
    require_role(ctx.person, STUDENT)
    start, end = settings_service.parse_quiet(ctx.args.need("hours", str))
    settings_service.set_quiet(ctx.session, ctx.person, start, end)
    if (start, end) == settings_service.QUIET_OFF:
        return Reply.say(_("Quiet hours are off: messages come whenever they're sent."))
    return Reply.say(
        _(
            "Quiet hours set to {start}-{end} your time. I'll hold messages until they end "
            "(urgent safety messages still come through)."
        ).format(start=start, end=end)
    )


@allow(STUDENT)
def cmd_settings_checkin(ctx: Context) -> Reply:
    """`/settings checkin 18:30` (within the schedule's window) or `/settings checkin off`."""
    require_role(ctx.person, STUDENT)
    value, moved = settings_service.set_checkin_time(
        ctx.session, ctx.settings, ctx.person, ctx.args.need("time", str), ctx.now
    )
    if value is None:
        return Reply.say(_("Your check-ins are back at their scheduled times."))
    names = ", ".join(f"'{s.name}'" for s in moved)
    return Reply.say(
        _("Your check-ins ({names}) now come at {time} your time.").format(names=names, time=value)
    )


@allow(STUDENT)
def cmd_settings_platform(ctx: Context) -> Reply:
    """`/settings platform slack|discord`: where direct messages go when both are linked."""
    require_role(ctx.person, STUDENT)
    platform = ctx.args.need("platform", str)
    settings_service.set_platform(ctx.session, ctx.person, platform)
    return Reply.say(
        _("I'll send your messages on {platform} from now on.").format(
            platform=platform.capitalize()
        )
    )


@allow(*EVERYONE)
def cmd_settings_language(ctx: Context) -> Reply:
    """`/settings language es` (a code or a name); with no value, the languages to choose from."""
    raw = ctx.args.text("language")
    if not raw.strip():
        return Reply.say(
            settings_service.render_language_choices(ctx.session, ctx.settings, ctx.person)
        )
    chosen = settings_service.set_language(ctx.session, ctx.person, raw, ctx.now)
    # The confirmation is the first thing said in the new language.
    with speaking(chosen):
        return Reply.say(
            _("From now on I'll write to you in {language}.").format(language=LANGUAGES[chosen])
        )


@allow(*EVERYONE)
def cmd_settings_country(ctx: Context) -> Reply:
    """`/settings country ES`: the person's country (their crisis lines come from it)."""
    raw = ctx.args.text("country")
    if not raw.strip():
        return Reply.say(settings_service.render_country(ctx.session, ctx.settings, ctx.person))
    code = settings_service.set_country(ctx.session, ctx.person, raw, ctx.now)
    return Reply.say(
        _("Your country is now {country}. The crisis lines I show come from it.").format(
            country=f"{settings_service.country_name(code)} ({code})"
        )
    )


FEATURE = Feature(
    name="settings",
    summary=N_("A person's own time zone, quiet hours, check-in time, platform and language"),
    commands=(
        Command(
            "settings",
            N_("your time zone, quiet hours, check-in time and platform"),
            cmd_settings_show,
            sub="show",
            default=True,
        ),
        Command(
            "settings",
            N_("set your time zone"),
            cmd_settings_zone,
            sub="zone",
            aliases=("timezone", "tz"),
            args=(Arg("zone", ArgKind.ZONE, N_("An IANA time zone, e.g. Europe/Berlin")),),
            example="/settings zone Europe/Berlin",
        ),
        Command(
            "settings",
            N_("set your quiet hours (or turn them off)"),
            cmd_settings_quiet,
            sub="quiet",
            args=(
                Arg(
                    "hours",
                    ArgKind.WORD,
                    N_("HH:MM-HH:MM in your time, or 'off'"),
                    shown="HH:MM-HH:MM|off",
                ),
            ),
            example="/settings quiet 22:00-07:00",
        ),
        Command(
            "settings",
            N_("move your check-in within your schedule's window (or back)"),
            cmd_settings_checkin,
            sub="checkin",
            aliases=("check-in",),
            args=(
                Arg(
                    "time",
                    ArgKind.WORD,
                    N_("HH:MM in your time, or 'off' for the schedule's time"),
                    shown="HH:MM|off",
                ),
            ),
            example="/settings checkin 18:30",
        ),
        Command(
            "settings",
            N_("choose where direct messages go when you have both"),
            cmd_settings_platform,
            sub="platform",
            args=(
                Arg(
                    "platform",
                    ArgKind.CHOICE,
                    N_("Where your direct messages go"),
                    choices=settings_service.DM_PLATFORMS,
                    invalid=N_("Pick slack or discord, e.g. /settings platform slack."),
                ),
            ),
            example="/settings platform slack",
        ),
        Command(
            "settings",
            N_("choose the language I write to you in"),
            cmd_settings_language,
            sub="language",
            aliases=("lang",),
            args=(
                Arg(
                    "language",
                    ArgKind.TEXT,
                    N_("A language code or name, e.g. es or Español (empty: see them all)"),
                    optional=True,
                ),
            ),
            example="/settings language es",
        ),
        Command(
            "settings",
            N_("set your country (your crisis lines come from it)"),
            cmd_settings_country,
            sub="country",
            args=(
                Arg(
                    "country",
                    ArgKind.TEXT,
                    N_("A two-letter country code, e.g. ES or IN"),
                    optional=True,
                ),
            ),
            example="/settings country ES",
        ),
    ),
    personal_data=(
        PersonalData("settings", StudentSettings, owner="person_id", export_as="settings"),
    ),
)
