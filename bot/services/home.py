"""A person's home page (Slack's App Home, a Discord panel): neutral messages, read-only.

A student sees their mood trend, open goals and resources suggested for them; a mentor (or
admin) sees their open alerts first, with one-click actions, then their caseload.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot.config import CoreSettings
from bot.i18n import _
from bot.i18n.dates import DAY, local_format
from bot.localtime import to_local
from bot.model import Choice, Message
from bot.people import STUDENT
from bot.services import alerts as alert_service
from bot.services import goals as goal_service
from bot.services import mood as mood_service
from bot.services import resources as resource_service
from bot.services.caseload import caseload, render_caseload
from bot.services.language import speaking_to
from storage.tables import Person

# A home page is glanced at: ten alerts with buttons is already a lot to act on.
MAX_HOME_ALERTS = 10


def home_sections(
    session: Session, settings: CoreSettings, now: datetime, person: Person
) -> tuple[Message, ...]:
    """The sections of the person's home page, most important first, in their language.

    Their own page, whoever asks for it to be refreshed: always the person's language.
    """
    with speaking_to(person, settings):
        if person.role == STUDENT:
            return _student_home(session, settings, now, person)
        return _mentor_home(session, settings, now, person)


def _student_home(
    session: Session, settings: CoreSettings, now: datetime, person: Person
) -> tuple[Message, ...]:
    assert person.id is not None
    tz = person.timezone or settings.default_timezone
    trend = mood_service.trend_with_words(session, person, now, tz)
    entries = mood_service.entries_since(session, person.id, now - timedelta(days=14))
    if entries:
        last = entries[-1]
        when = local_format(to_local(last.recorded_at, tz), DAY)
        mood_text = _("Last logged: {face} {score}/5 on {when}.").format(
            face=mood_service.MOOD_FACES[last.score], score=last.score, when=when
        )
    else:
        mood_text = _("No moods logged in the last 14 days. How are you today?")
    mood = Message(
        title=_("Your mood"),
        text=mood_text,
        fields=trend.as_fields(),
        choices=tuple(
            Choice(f"{mood_service.MOOD_FACES[s]} {s}", "mood.log", (("score", str(s)),))
            for s in range(1, 6)
        ),
    )
    goals = goal_service.render_goals(session, person)
    latest = entries[-1] if entries else None
    low = latest is not None and latest.score <= settings.escalation.low_mood_threshold
    found = resource_service.suggest(
        session, latest.note if latest else None, low, settings.resource_suggestions
    )
    if not found:
        found = resource_service.search(session, "", limit=settings.resource_suggestions)
    resources = Message(
        title=_("Suggested for you"),
        text=_("Help from the programme's resource library:")
        if found
        else _("The resource library is empty for now."),
        links=resource_service.as_links(found),
    )
    return (mood, goals, resources)


def _mentor_home(
    session: Session, settings: CoreSettings, now: datetime, person: Person
) -> tuple[Message, ...]:
    open_alerts = alert_service.open_alerts_for(session, person)
    heading = Message(
        title=_("Open alerts ({n})").format(n=len(open_alerts)),
        text=_(
            "Acknowledge an alert to stop it escalating, say you'll follow up, and resolve "
            "it with how it went."
        )
        if open_alerts
        else _("No open alerts. 🎉"),
    )
    alerts = tuple(
        alert_service.render_alert(alert, student, person, settings)
        for alert, student in open_alerts[:MAX_HOME_ALERTS]
    )
    lines = caseload(session, person, now, settings.default_timezone)
    tz = person.timezone or settings.default_timezone
    return (heading, *alerts, render_caseload(lines, tz))
