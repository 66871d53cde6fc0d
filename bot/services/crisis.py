"""Crisis response: help shown at once, the mentor and on-call told at once."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.config import CoreSettings, CrisisLine
from bot.model import Field, Message
from bot.safety import Assessment
from bot.services.alerts import URGENT, raise_alert, record_event
from storage.tables import Alert, Person


def crisis_lines_for(settings: CoreSettings, country: str | None) -> tuple[CrisisLine, ...]:
    """Crisis services for the student's country, falling back to the international list."""
    code = (country or settings.default_country or "INTL").upper()
    return settings.crisis_lines.get(code) or settings.crisis_lines.get("INTL", ())


def render_crisis_reply(settings: CoreSettings, student: Person) -> Message:
    """A calm, safe-messaging reply: help now, and who is being told (no false promises)."""
    lines = crisis_lines_for(settings, student.country)
    return Message(
        title="You don't have to face this alone",
        text=(
            "Thank you for telling me. It sounds like you're going through something really "
            "hard, and you deserve support right now.\n"
            "If you are in danger or might act on these thoughts, please contact one of these "
            "now, they are there to talk any time:\n"
            "I've let your mentor know so a real person can check in with you soon. "
            "I'm a bot, so I can't keep this just between us: keeping you safe comes first."
        ),
        fields=tuple(Field(line.name, line.contact) for line in lines),
        urgent=True,
        private=True,
    )


def respond_to_crisis(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    student: Person,
    text: str,
    assessment: Assessment,
) -> tuple[Message, Alert | None]:
    """Raise the urgent alert and build the reply shown in the same turn."""
    reasons = ", ".join(assessment.reasons) or "crisis language"
    alert = raise_alert(
        session,
        settings,
        now,
        student,
        "crisis",
        f"Crisis language detected ({reasons})",
        excerpt=text,
        severity=URGENT,
    )
    if alert is not None:
        alert.shown_to_student_at = now
        session.add(alert)
        record_event(session, alert, now, "shown_to_student", student.id)
    return render_crisis_reply(settings, student), alert


def respond_to_concern(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    student: Person,
    text: str,
    assessment: Assessment,
) -> Alert | None:
    """Concern-level text raises a normal alert for the mentor."""
    reasons = ", ".join(assessment.reasons) or "worrying language"
    return raise_alert(
        session, settings, now, student, "concern", f"Worrying message ({reasons})", excerpt=text
    )
