"""A person's own settings: time zone, quiet hours, check-in time, platform, language, country.

Quiet hours and the preferred platform are columns of `Person`, which every push already
reads (`bot.outbox.push_rows` holds non-urgent pushes until quiet hours end and
`choose_address` prefers the preferred platform), so setting them here is all it takes.
`StudentSettings` keeps what the person row can't say: that the student chose their zone
(a platform profile only fills a zone nobody set, `bot.people`), that they chose their language
or country (a roster re-import never replaces them), and their own check-in time.

Language and country are for every role (mentors and staff read alerts in their own language):
`Person.language` and `Person.country` hold the roster's value or the person's own choice; the
choice wins (`LANGUAGE_FROM_PERSON`, `COUNTRY_FROM_PERSON`).

A check-in time moves the student's scheduled check-in within the schedule's window: the
schedule's local time +- `CHECKIN_WINDOW_HOURS`, on the same local day, so the occurrence
(and its key, `schedule:date`) stays the same and a change of time never opens two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlmodel import Session, col, select

from bot.config import CoreSettings
from bot.errors import UserError
from bot.i18n import LANGUAGES, PSEUDO_LANGUAGE, _, babel_locale, current_language
from bot.i18n.translations import pseudo_translate
from bot.localtime import in_quiet_hours, parse_hhmm
from bot.people import group_ids_of
from bot.services.crisis import country_for, country_of_zone
from bot.services.language import language_choices, language_named, language_of, need_language
from bot.services.schedules import active_schedules, applies_to, parse_local_time
from storage.tables import CheckinSchedule, Group, Identity, Person, StudentSettings

# Where a person's zone came from when they set it themselves.
ZONE_FROM_STUDENT = "student"
# Where a person's language and country came from when they chose them with /settings.
LANGUAGE_FROM_PERSON = "person"
COUNTRY_FROM_PERSON = "person"
# The platforms a student can prefer for their DMs.
DM_PLATFORMS = ("slack", "discord")
# Quiet hours that start and end at the same minute are off (`bot.localtime.in_quiet_hours`).
QUIET_OFF = ("00:00", "00:00")
OFF_WORDS = ("off", "none", "clear", "reset", "default")


def hhmm(value: time) -> str:
    """A time of day as HH:MM (how times are stored and compared in SQL)."""
    return f"{value.hour:02d}:{value.minute:02d}"


def parse_clock(raw: str) -> time:
    """A typed HH:MM (24-hour clock), refused with a friendly message when impossible."""
    text = raw.strip()
    hours, sep, minutes = text.partition(":")
    if (
        not sep
        or not hours.isascii()
        or not minutes.isascii()
        or not hours.isdigit()
        or not minutes.isdigit()
        or len(minutes) != 2
        or len(hours) > 2
    ):
        raise UserError(
            _("'{text}' isn't a time of day. Use HH:MM on a 24-hour clock, e.g. 18:30.").format(
                text=text
            )
        )
    if int(hours) > 23 or int(minutes) > 59:
        raise UserError(
            _("'{text}' isn't a time of day. Use HH:MM between 00:00 and 23:59.").format(text=text)
        )
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class CheckinWindow:
    """The local times a student may move a schedule's check-in to (inclusive, HH:MM)."""

    earliest: str
    latest: str

    def holds(self, value: str) -> bool:
        """True when the HH:MM `value` lies within the window."""
        return self.earliest <= value <= self.latest


def checkin_window(schedule_time: time, hours: int) -> CheckinWindow:
    """The schedule's time +- `hours`, kept within its local day (never past midnight)."""
    minutes = schedule_time.hour * 60 + schedule_time.minute
    low = max(0, minutes - hours * 60)
    high = min(23 * 60 + 59, minutes + hours * 60)
    return CheckinWindow(hhmm(time(low // 60, low % 60)), hhmm(time(high // 60, high % 60)))


def window_of(schedule: CheckinSchedule, settings: CoreSettings) -> CheckinWindow | None:
    """The schedule's check-in window, or None when its stored time is unreadable."""
    try:
        local = parse_local_time(schedule.local_time)
    except UserError:
        return None
    return checkin_window(local, settings.scheduling.checkin_window_hours)


def settings_row(session: Session, person_id: int) -> StudentSettings | None:
    """The student's settings row, if they ever changed a setting that lives there."""
    return session.get(StudentSettings, person_id)


def _row_for_update(session: Session, person: Person, now: datetime) -> StudentSettings:
    assert person.id is not None
    row = settings_row(session, person.id)
    if row is None:
        row = StudentSettings(person_id=person.id, updated_at=now)
    row.updated_at = now
    session.add(row)
    return row


def schedules_of(session: Session, person: Person) -> list[CheckinSchedule]:
    """The active check-in schedules that apply to this student."""
    assert person.id is not None
    group_ids = group_ids_of(session, person.id)
    names = (
        session.exec(select(Group.name).where(col(Group.id).in_(group_ids))).all()
        if group_ids
        else []
    )
    return [s for s in active_schedules(session) if applies_to(s, person, names)]


def platforms_of(session: Session, person: Person) -> list[str]:
    """The chat platforms the person has an account on (by first link)."""
    assert person.id is not None
    found = session.exec(
        select(Identity.platform).where(Identity.person_id == person.id).order_by(col(Identity.id))
    ).all()
    return list(dict.fromkeys(found))


# ---------------------------------------------------------------------- changes


def set_zone(session: Session, person: Person, zone: str, now: datetime) -> None:
    """Store a validated IANA zone as the student's own (a platform profile won't replace it)."""
    person.timezone = zone
    session.add(person)
    _row_for_update(session, person, now).zone_source = ZONE_FROM_STUDENT


def parse_quiet(raw: str) -> tuple[str, str]:
    """`22:00-07:00` (or `off`) as (start, end) HH:MM; a friendly refusal otherwise."""
    text = raw.strip()
    if text.lower() in OFF_WORDS:
        return QUIET_OFF
    start, sep, end = text.replace("–", "-").partition("-")
    if not sep:
        raise UserError(
            _(
                "'{text}' isn't a range of hours. Use /settings quiet 22:00-07:00, or "
                "/settings quiet off."
            ).format(text=text)
        )
    begin, finish = parse_clock(start), parse_clock(end)
    if begin == finish:
        raise UserError(
            _(
                "Quiet hours need a start and an end that differ, e.g. 22:00-07:00 "
                "(or /settings quiet off)."
            )
        )
    return hhmm(begin), hhmm(finish)


def set_quiet(session: Session, person: Person, start: str, end: str) -> None:
    """Set the person's quiet hours (equal start and end turn them off)."""
    person.quiet_start, person.quiet_end = start, end
    session.add(person)


def set_checkin_time(
    session: Session, settings: CoreSettings, person: Person, raw: str, now: datetime
) -> tuple[str | None, list[CheckinSchedule]]:
    """Set (or with `off` clear) the student's check-in time; returns it and what it moves.

    The time must lie within the window of at least one of their schedules; it moves the
    check-ins of every schedule whose window holds it, and leaves the others on time.
    """
    text = raw.strip()
    if text.lower() in OFF_WORDS:
        row = settings_row(session, person.id or 0)
        if row is not None:
            row.checkin_time = None
            row.updated_at = now
            session.add(row)
        return None, []
    value = hhmm(parse_clock(text))
    schedules = schedules_of(session, person)
    if not schedules:
        raise UserError(
            _(
                "You have no check-in schedule yet, so there's no check-in to move. "
                "Your mentor or the programme team sets schedules."
            )
        )
    moved = [s for s in schedules if (w := window_of(s, settings)) is not None and w.holds(value)]
    if not moved:
        windows = "; ".join(_describe_window(s, settings) for s in schedules)
        raise UserError(
            _("{value} is outside your check-in window ({windows}). Pick a time in it.").format(
                value=value, windows=windows
            )
        )
    _row_for_update(session, person, now).checkin_time = value
    return value, moved


def _describe_window(schedule: CheckinSchedule, settings: CoreSettings) -> str:
    window = window_of(schedule, settings)
    if window is None:
        return _("'{name}' can't be moved").format(name=schedule.name)
    return _("'{name}' at {time}: {earliest}-{latest}").format(
        name=schedule.name, time=schedule.local_time, earliest=window.earliest, latest=window.latest
    )


def set_platform(session: Session, person: Person, platform: str) -> None:
    """Prefer this platform for DMs; refused when the student has no account there."""
    choice = platform.strip().lower()
    if choice not in DM_PLATFORMS:
        raise UserError(_("Pick one of: {choices}.").format(choices=", ".join(DM_PLATFORMS)))
    if choice not in platforms_of(session, person):
        raise UserError(
            _(
                "You don't have a {platform} account linked here yet, so I can't "
                "message you there. Write to me from {platform} once, then try again."
            ).format(platform=choice.capitalize())
        )
    person.preferred_platform = choice
    session.add(person)


def set_language(session: Session, person: Person, raw: str, now: datetime) -> str:
    """The person's own language (a code or a name); a roster re-import won't replace it.

    Returns the language's code; a language we don't speak is a friendly refusal.
    """
    chosen = need_language(raw)
    person.language = chosen
    session.add(person)
    _row_for_update(session, person, now).language_source = LANGUAGE_FROM_PERSON
    return chosen


def country_named(raw: str) -> str | None:
    """The ISO code of a country typed as a code ("es", "GB") or a name; None if unknown."""
    text = raw.strip()
    names = babel_locale(current_language()).territories
    english = babel_locale("en").territories
    code = text.upper()
    if len(code) == 2 and code.isascii() and code.isalpha() and code in english:
        return code
    wanted = text.casefold()
    for table in (names, english):
        for key, name in table.items():
            if len(key) == 2 and key.isalpha() and name.casefold() == wanted:
                return str(key)
    return None


def country_name(code: str) -> str:
    """A country's name in the language being spoken ("España" in Spanish), else its code."""
    language = current_language()
    name = str(babel_locale(language).territories.get(code, code))
    # The pseudo-language reads Babel's English names: marked so, like every translated word.
    return pseudo_translate(name) if language == PSEUDO_LANGUAGE else name


def set_country(session: Session, person: Person, raw: str, now: datetime) -> str:
    """The person's own country (for their crisis lines); a roster re-import won't replace it."""
    code = country_named(raw)
    if code is None:
        raise UserError(
            _(
                "I don't know the country '{value}'. Use its two-letter code, "
                "e.g. /settings country ES for Spain or /settings country IN for India."
            ).format(value=raw.strip())
        )
    person.country = code
    session.add(person)
    _row_for_update(session, person, now).country_source = COUNTRY_FROM_PERSON
    return code


def roster_language(raw: str) -> tuple[str | None, str | None]:
    """A roster's `language` cell: (the language's code or None when empty, a problem or None)."""
    if not raw.strip():
        return None, None
    chosen = language_named(raw)
    if chosen is None:
        problem = _("language '{value}' isn't one I speak ({codes})").format(
            value=raw.strip(), codes=", ".join(LANGUAGES)
        )
        return None, problem
    return chosen, None


def roster_country(raw: str) -> tuple[str | None, str | None]:
    """A roster's `country` cell: (the two-letter code or None when empty, a problem or None)."""
    if not raw.strip():
        return None, None
    code = raw.strip().upper()
    if len(code) != 2 or not code.isalpha() or code not in babel_locale("en").territories:
        return None, _("country '{value}' isn't a two-letter country code such as ES").format(
            value=raw.strip()
        )
    return code, None


def apply_roster_language_and_country(
    session: Session, person: Person, language: str | None, country: str | None
) -> None:
    """A roster's language and country for a person, unless they chose their own with /settings.

    Their choice outranks the roster's, as for the time zone: the roster was typed once.
    An empty cell keeps what is there.
    """
    row = settings_row(session, person.id) if person.id is not None else None
    if language and (row is None or row.language_source != LANGUAGE_FROM_PERSON):
        person.language = language
    if country and (row is None or row.country_source != COUNTRY_FROM_PERSON):
        person.country = country


def language_text(session: Session, settings: CoreSettings, person: Person) -> str:
    """The person's language as read back to them, with where it came from."""
    language = language_of(person, settings)
    row = settings_row(session, person.id) if person.id is not None else None
    if person.language and row is not None and row.language_source == LANGUAGE_FROM_PERSON:
        source = _("you chose it")
    elif person.language:
        source = _("from the roster")
    elif person.platform_language:
        source = _("from your chat app")
    else:
        source = _("the programme's language")
    # The pseudo-language (tests) has no name of its own: its code stands in.
    name = LANGUAGES.get(language, language)
    return _("{language} ({source})").format(language=name, source=source)


def country_text(session: Session, settings: CoreSettings, person: Person) -> str:
    """The person's country (whose crisis lines they see), with where it came from."""
    code = country_for(settings, person.country, person.timezone)
    row = settings_row(session, person.id) if person.id is not None else None
    if person.country and row is not None and row.country_source == COUNTRY_FROM_PERSON:
        source = _("you chose it")
    elif person.country:
        source = _("from the roster")
    elif country_of_zone(person.timezone):
        source = _("from your time zone")
    else:
        source = _("the programme's default")
    if len(code) != 2:
        return _("not set ({source})").format(source=source)
    return _("{country} ({source})").format(country=f"{country_name(code)} ({code})", source=source)


def render_language_choices(session: Session, settings: CoreSettings, person: Person) -> str:
    """`/settings language` with no value: the person's language and every one to choose from."""
    return _(
        "Your language: {current}.\nI can write in:\n{languages}\n"
        "Change it with /settings language es (a code or a name)."
    ).format(current=language_text(session, settings, person), languages=language_choices())


def render_country(session: Session, settings: CoreSettings, person: Person) -> str:
    """`/settings country` with no value: the person's country and how to change it."""
    return _(
        "Your country: {current}. The crisis lines I show come from it.\n"
        "Change it with /settings country ES (a two-letter code)."
    ).format(current=country_text(session, settings, person))


# ---------------------------------------------------------------------- showing


def quiet_text(person: Person) -> str:
    """The person's quiet hours as read back to them."""
    try:
        in_quiet_hours(datetime(2000, 1, 1), person.quiet_start, person.quiet_end)
    except UserError:
        return _("unreadable (set them again)")
    if parse_hhmm(person.quiet_start) == parse_hhmm(person.quiet_end):
        return _("off")
    return f"{person.quiet_start}-{person.quiet_end}"


def render(
    session: Session, settings: CoreSettings, person: Person, schedules: Sequence[CheckinSchedule]
) -> str:
    """The student's settings, each with how to change it."""
    assert person.id is not None
    row = settings_row(session, person.id)
    if person.timezone:
        if row and row.zone_source == ZONE_FROM_STUDENT:
            zone_line = _("{zone} (you set it)").format(zone=person.timezone)
        else:
            zone_line = person.timezone
    else:
        zone_line = _("not set (using the programme's {zone})").format(
            zone=settings.default_timezone
        )
    own = row.checkin_time if row is not None else None
    if schedules:
        times = ", ".join(f"{s.local_time} ('{s.name}')" for s in schedules)
        checkin = (
            _("{time} (yours; schedules at {times})").format(time=own, times=times)
            if own
            else _("as scheduled: {times}").format(times=times)
        )
    else:
        checkin = (
            _("{time} (yours; no schedule applies yet)").format(time=own)
            if own
            else _("no schedule applies yet")
        )
    linked = platforms_of(session, person)
    preferred = person.preferred_platform or (
        _("none (the one you last wrote from: {platform})").format(platform=person.last_platform)
        if person.last_platform
        else _("none")
    )
    return "\n".join(
        [
            _("Your settings:"),
            _("• Time zone: {zone} - change with /settings zone Europe/Berlin").format(
                zone=zone_line
            ),
            _(
                "• Quiet hours: {quiet} - change with /settings quiet 22:00-07:00 "
                "or /settings quiet off (urgent safety messages still come through)"
            ).format(quiet=quiet_text(person)),
            _(
                "• Check-in time: {checkin} - change with /settings checkin 18:30 "
                "(within {hours} h of the schedule's time) or /settings checkin off"
            ).format(checkin=checkin, hours=settings.scheduling.checkin_window_hours),
            _(
                "• Preferred platform: {preferred} (linked: {linked}) - "
                "change with /settings platform slack|discord"
            ).format(preferred=preferred, linked=", ".join(linked) or _("none")),
            _("• Language: {language} - change with /settings language es").format(
                language=language_text(session, settings, person)
            ),
            _("• Country: {country} - change with /settings country ES").format(
                country=country_text(session, settings, person)
            ),
        ]
    )
