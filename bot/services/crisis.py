"""Crisis response: help shown at once, the mentor and on-call told at once."""

from __future__ import annotations

import functools
import logging
import zoneinfo
from collections.abc import Iterable
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.config import CoreSettings, CrisisLine
from bot.crisis_lines import CARD_ORDER, FALLBACK, LineKind
from bot.i18n import N_, _, current_language
from bot.model import Actor, Field, Message
from bot.safety import Assessment
from bot.safety.taxonomy import alert_reason
from bot.services.alerts import raise_alert, record_event, who_is_told
from bot.services.language import speaking_to
from bot.services.routing import alert_is_queued
from bot.services.unrostered import provisional_person
from storage.enums import AlertKind, AlertSeverity
from storage.tables import Alert, Person

# Used only when no zone table can be read (a slim container without tzdata): the zones of
# the countries whose crisis lines ship by default (bot/crisis_lines.yaml).
FALLBACK_ZONE_COUNTRIES: dict[str, str] = {
    "Europe/London": "GB",
    "Europe/Belfast": "GB",
    "GB": "GB",
    "America/New_York": "US",
    "America/Chicago": "US",
    "America/Denver": "US",
    "America/Phoenix": "US",
    "America/Los_Angeles": "US",
    "America/Anchorage": "US",
    "Pacific/Honolulu": "US",
    "America/Toronto": "CA",
    "America/Vancouver": "CA",
    "America/Edmonton": "CA",
    "America/Winnipeg": "CA",
    "America/Halifax": "CA",
    "America/St_Johns": "CA",
    "America/Regina": "CA",
    "Europe/Dublin": "IE",
    "Asia/Kolkata": "IN",
    "Asia/Calcutta": "IN",
    "Pacific/Auckland": "NZ",
    "Pacific/Chatham": "NZ",
    "Europe/Berlin": "DE",
    "Europe/Paris": "FR",
    "Europe/Amsterdam": "NL",
    "Europe/Madrid": "ES",
    "Atlantic/Canary": "ES",
    "Europe/Rome": "IT",
    "Europe/Stockholm": "SE",
    "Asia/Tokyo": "JP",
    "Asia/Seoul": "KR",
    "Asia/Shanghai": "CN",
    "Asia/Urumqi": "CN",
    "Africa/Lagos": "NG",
    "America/Sao_Paulo": "BR",
    "America/Manaus": "BR",
    "America/Fortaleza": "BR",
    "America/Recife": "BR",
    "America/Bahia": "BR",
    "America/Belem": "BR",
    "America/Mexico_City": "MX",
    "America/Monterrey": "MX",
    "America/Tijuana": "MX",
    "America/Cancun": "MX",
    "Asia/Karachi": "PK",
    "Asia/Manila": "PH",
    "Asia/Dubai": "AE",
    "Asia/Riyadh": "SA",
    "Asia/Jakarta": "ID",
    "Asia/Makassar": "ID",
    "Asia/Jayapura": "ID",
    "America/Bogota": "CO",
    "Asia/Kuala_Lumpur": "MY",
    "Asia/Kuching": "MY",
    "Asia/Singapore": "SG",
    "Asia/Hong_Kong": "HK",
    "Europe/Istanbul": "TR",
    "Asia/Ho_Chi_Minh": "VN",
    "Asia/Saigon": "VN",
    "Asia/Dhaka": "BD",
}

log = logging.getLogger(__name__)

# Old zone names that tzdata now links to a zone in another country: the link's target
# would name the wrong country (and the wrong helplines), so these keep their own.
CROSS_COUNTRY_LINKS: dict[str, str] = {"Atlantic/Jan_Mayen": "SJ"}


def country_for(settings: CoreSettings, country: str | None, timezone: str | None) -> str:
    """The country whose lines a person is shown (upper case; FALLBACK when none is known).

    The one on record (their own choice with /settings country, else the roster's), else the
    country of their time zone, else the programme's `DEFAULT_COUNTRY`.
    """
    code = country or country_of_zone(timezone) or settings.default_country or FALLBACK
    return code.strip().upper()


def serves(line: CrisisLine, language: str | None) -> bool:
    """True when the line answers in `language` (one of bot.i18n.LANGUAGES: 'zh_Hans' is 'zh')."""
    if not language:
        return False
    return language.split("_", 1)[0].lower() in line.languages


def crisis_lines_for(
    settings: CoreSettings,
    country: str | None,
    timezone: str | None = None,
    language: str | None = None,
) -> tuple[CrisisLine, ...]:
    """Crisis services for the student's country, then the international list if it adds some.

    The country is `country_for`'s. Its own lines come first: the lines to talk to someone
    (crisis line, text line) before the emergency number, and among them the ones that
    answer in the student's `language` (default: the one being spoken) first, then card
    order (crisis line, text line). The international list follows only for a kind of help
    the country has no line for (say, a country with only an emergency number gets the
    helpline directory too). A country with no lines gets the international list: never
    another country's lines.
    """
    code = country_for(settings, country, timezone)
    language = language if language is not None else current_language()
    fallback = settings.crisis_lines.get(FALLBACK, ())
    own = () if code == FALLBACK else settings.crisis_lines.get(code, ())
    if not own:
        return fallback

    def card_place(line: CrisisLine) -> tuple[bool, bool, int]:
        emergency = line.kind is LineKind.EMERGENCY
        return (
            emergency,
            not emergency and not serves(line, language),
            CARD_ORDER.index(line.kind),
        )

    ordered = tuple(sorted(own, key=card_place))
    covered = {line.kind for line in own}
    return ordered + tuple(line for line in fallback if line.kind not in covered)


def country_of_zone(zone: str | None) -> str | None:
    """The ISO country code of an IANA time zone (aliases too), or None (e.g. UTC)."""
    if not zone:
        return None
    countries = _zone_countries()
    if zone in countries:
        return countries[zone]
    if zone.startswith("Australia/"):
        return "AU"
    return None


@functools.cache
def _zone_countries() -> dict[str, str]:
    return load_zone_countries(_zoneinfo_folders())


def load_zone_countries(folders: Iterable[Traversable]) -> dict[str, str]:
    """Map zone -> country from the first folder's zone.tab, plus the aliases of tzdata.zi.

    With no readable zone.tab anywhere, a small built-in map of the default countries.
    """
    for folder in folders:
        try:
            zone_tab = (folder / "zone.tab").read_text(encoding="utf-8")
        except OSError:
            continue
        countries: dict[str, str] = {}
        for line in zone_tab.splitlines():
            if line and not line.startswith("#"):
                parts = line.split("\t")
                if len(parts) >= 3:
                    countries[parts[2]] = parts[0]
        try:
            compiled = (folder / "tzdata.zi").read_text(encoding="utf-8")
        except OSError:
            compiled = ""
        for line in compiled.splitlines():
            # "L Europe/London Europe/Belfast": an old name that now means the same zone.
            if line.startswith("L "):
                _link, target, alias = line.split()[:3]
                if target in countries and alias not in countries:
                    countries[alias] = CROSS_COUNTRY_LINKS.get(alias, countries[target])
        if countries:
            return countries
    return dict(FALLBACK_ZONE_COUNTRIES)


def _zoneinfo_folders() -> list[Traversable]:
    """Where zone tables may live: the tzdata package first, then the system's TZPATH."""
    folders: list[Traversable] = []
    try:
        folders.append(resources.files("tzdata") / "zoneinfo")
    except ModuleNotFoundError:
        pass
    folders.extend(Path(path) for path in zoneinfo.TZPATH)
    return folders


CARD_TITLE = N_("You don't have to face this alone")
CARD_TEXT = N_(
    "Thank you for telling me. It sounds like you're going through something really "
    "hard, and you deserve support right now.\n"
    "If you are in danger or might act on these thoughts, please contact one of "
    "these now:\n"
    "I've let {told} know so a real person can check in with you soon. "
    "I'm a bot, so I can't keep this just between us: keeping you safe comes first."
)


def render_crisis_reply(
    settings: CoreSettings, student: Person, told: str | None = None
) -> Message:
    """A calm, safe-messaging reply: help now, and who is being told (no false promises).

    `told` names who the alert reaches (`who_is_told`): "your mentor", or the programme staff
    for a student who has none. The card is written in the student's language whoever's
    event it answers; the lines of their country come first, those answering in their
    language before the others; a line's proper name and numbers are kept as the service wrote them.
    """
    with speaking_to(student, settings):
        lines = crisis_lines_for(settings, student.country, student.timezone, current_language())
        return Message(
            title=_(CARD_TITLE),
            text=_(CARD_TEXT).format(told=told if told is not None else _("your mentor")),
            # Names and instructions from bot/crisis_lines.yaml are in the catalogs (area
            # crisis_lines, each translation checked to keep every number and address); a
            # service's proper name and an operator's own lines have no entry and read as written.
            fields=tuple(Field(_(line.name), _(line.contact)) for line in lines),
            urgent=True,
            private=True,
        )


STRANGER_CARD_TEXT = N_(
    "Thank you for telling me. It sounds like you're going through something really "
    "hard, and you deserve support right now.\n"
    "You're not enrolled in the mentoring programme yet, so I can't reach a mentor for "
    "you. If you are in danger or might act on these thoughts, please contact one of "
    "these now:"
)
STRANGER_TOLD_CARD_TEXT = N_(
    "Thank you for telling me. It sounds like you're going through something really "
    "hard, and you deserve support right now.\n"
    "You're not enrolled in the mentoring programme yet, but I've let the programme staff "
    "know so a real person can check in with you soon. If you are in danger or might act "
    "on these thoughts, please contact one of these now:"
)


def render_stranger_crisis_card(
    settings: CoreSettings, timezone: str | None, *, told: bool = False
) -> Message:
    """The crisis card for someone not on the roster, in the language being spoken.

    `told` when their alert was queued for someone (the admins, the staff channel, an email
    or the webhook): the card says the programme staff know. Otherwise it promises no one.
    Its lines are the country of the time zone their platform gave, else the programme's
    default country, else the international list.
    """
    lines = crisis_lines_for(settings, None, timezone, current_language())
    return Message(
        title=_(CARD_TITLE),
        text=_(STRANGER_TOLD_CARD_TEXT) if told else _(STRANGER_CARD_TEXT),
        fields=tuple(Field(_(line.name), _(line.contact)) for line in lines),
        urgent=True,
        private=True,
    )


def _raise_crisis_alert(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    person: Person,
    text: str,
    assessment: Assessment,
) -> Alert | None:
    """The urgent crisis alert for what the person wrote (or the open one it folds into)."""
    alert = raise_alert(
        session,
        settings,
        now,
        person,
        AlertKind.CRISIS,
        alert_reason("crisis", assessment.categories),
        excerpt=assessment.excerpt or text,
        severity=AlertSeverity.URGENT,
    )
    if alert is not None:
        # A crisis folded into an open alert keeps the time help was first shown.
        alert.shown_to_student_at = alert.shown_to_student_at or now
        session.add(alert)
        record_event(session, alert, now, "shown_to_student", person.id)
    return alert


def respond_to_crisis(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    student: Person,
    text: str,
    assessment: Assessment,
) -> tuple[Message, Alert | None]:
    """Raise the urgent alert and build the reply shown in the same turn.

    The alert stores category codes (shown to mentors in plain words by `render_reason`) and
    the risky sentence or sentences, not the whole message.
    """
    alert = _raise_crisis_alert(session, settings, now, student, text, assessment)
    return render_crisis_reply(settings, student, who_is_told(session, student)), alert


def respond_to_stranger_crisis(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    actor: Actor,
    text: str,
    assessment: Assessment,
) -> Message:
    """A crisis from someone not enrolled: an alert for on-call staff, and the card.

    The alert is raised for their provisional person (`bot.services.unrostered`), so it is
    routed, escalated, acknowledged and folded like a student's without a mentor: the admins
    and the staff channel. The card says the staff were told only when a copy is queued for
    someone; when nobody could be (no staff channel, no admin reachable), it promises no one
    and the operators get an ERROR. Logs name the platform user, never the words.
    """
    person: Person | None = None
    alert: Alert | None = None
    failure = ""
    for attempt in (1, 2):
        # In a savepoint: whatever goes wrong, they still get the lines.
        savepoint = session.begin_nested()
        try:
            person = provisional_person(session, actor, now)
            alert = _raise_crisis_alert(session, settings, now, person, text, assessment)
            savepoint.commit()
            break
        except Exception as exc:
            # The type only: a database error's text may quote what was being stored.
            savepoint.rollback()
            person, alert, failure = None, None, type(exc).__name__
            if not isinstance(exc, IntegrityError) or attempt == 2:
                break
            # Two first messages at once: the other created the person; the retry finds it.
    told = alert is not None and alert_is_queued(session, alert)
    if told:
        assert alert is not None and person is not None
        log.warning(
            "someone not on the roster (%s user %s) wrote a message the screen rates as a "
            "crisis: alert %s queued for on-call staff (person %s, unrostered)",
            actor.platform,
            actor.user_id,
            alert.id,
            person.id,
        )
    elif alert is None:
        log.error(
            "someone not on the roster (%s user %s) wrote a message the screen rates as a "
            "crisis: shown the crisis lines; the alert could not be recorded (%s)",
            actor.platform,
            actor.user_id,
            failure,
        )
    else:
        log.error(
            "someone not on the roster (%s user %s) wrote a message the screen rates as a "
            "crisis: shown the crisis lines; nobody could be alerted (no staff channel and no "
            "admin to route alert %s to)",
            actor.platform,
            actor.user_id,
            alert.id,
        )
    zone = person.timezone if person is not None else None
    return render_stranger_crisis_card(settings, zone or actor.timezone, told=told)


def respond_to_concern(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    student: Person,
    text: str,
    assessment: Assessment,
) -> Alert | None:
    """Concern-level text raises a normal alert for the mentor (codes and the worrying sentence)."""
    return raise_alert(
        session,
        settings,
        now,
        student,
        AlertKind.CONCERN,
        alert_reason("concern", assessment.categories),
        excerpt=assessment.excerpt or text,
    )
