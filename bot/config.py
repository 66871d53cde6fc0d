"""The core's own settings: plain values handed in by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.crisis_lines import CrisisLine as CrisisLine
from bot.crisis_lines import default_crisis_lines

# Crisis lines come from bot/crisis_lines.yaml: every line there names the page it
# was confirmed from and the date, and every country has an emergency number. The file is
# read and checked here, at import, so a broken file stops the bot before it talks to anyone.
DEFAULT_CRISIS_LINES: dict[str, tuple[CrisisLine, ...]] = default_crisis_lines()


@dataclass(frozen=True)
class EscalationRules:
    """When a student's answers raise an alert for their mentor."""

    low_mood_threshold: int = 2
    drop_points: float = 2.0
    drop_window_days: int = 14
    missed_checkins: int = 3
    # Meetings a student didn't come to, in a row, that raise a missed alert like check-ins do.
    missed_meetings: int = 2
    help_requests: bool = True
    # A second alert of the same kind for the same student within this window is folded in.
    repeat_window_hours: int = 24


@dataclass(frozen=True)
class SchedulingRules:
    """When scheduled work happens: catch-up, reminders, cut-offs, goal nudges."""

    # After downtime, occurrences at most this old are still sent; older ones are recorded
    # as not sent.
    catchup_grace_minutes: int = 120
    # Catch-up never looks further back than this (a long outage records nothing older).
    catchup_max_days: int = 7
    # An unanswered scheduled check-in closes as missed this long after it opened (or when
    # the next one opens, whichever comes first).
    checkin_cutoff_hours: int = 24
    # A student's own check-in time (/settings checkin) lies within this many hours of the
    # schedule's time, on the same local day.
    checkin_window_hours: int = 3
    # Open goals get a nudge this often, at the student's check-in time...
    goal_nudge_days: int = 7
    # ...and one extra nudge this many days before the due date.
    goal_due_soon_days: int = 2
    # The mentor gets a "stuck" alert after this many weeks without progress on a goal.
    goal_stuck_weeks: int = 3
    # Local time for goal nudges of students no schedule applies to.
    default_nudge_time: str = "09:00"


@dataclass(frozen=True)
class CoreSettings:
    """Everything the core needs to know about the programme's policies."""

    escalation: EscalationRules = field(default_factory=EscalationRules)
    scheduling: SchedulingRules = field(default_factory=SchedulingRules)
    default_timezone: str = "UTC"
    default_country: str = "INTL"
    # The language of people who chose none and whose platform says none (bot.i18n.LANGUAGES).
    default_language: str = "en"
    max_text_length: int = 4000
    resource_suggestions: int = 3
    crisis_lines: dict[str, tuple[CrisisLine, ...]] = field(
        default_factory=lambda: dict(DEFAULT_CRISIS_LINES)
    )
    # A crisis alert not acknowledged within this many minutes goes to the backup mentor.
    crisis_ack_minutes: int = 10
    # A normal alert not acknowledged within this many minutes is re-escalated.
    alert_ack_minutes: int = 24 * 60
    staff_channel: str | None = None  # "platform:channel_id" for on-call staff
    # "I'll follow up" brings that mentor a reminder this many hours later, and again every
    # as many hours, until the alert is resolved.
    follow_up_reminder_hours: int = 24
    # Tell the student once, gently, that a person has seen their message (first acknowledgement).
    tell_student_when_seen: bool = True
    # An urgent alert not delivered to someone who can act within this long sounds the alarm.
    urgent_delivery_deadline_seconds: int = 120
    # Urgent alert rows retry without a cap while unacknowledged, at most this far apart.
    urgent_retry_max_seconds: float = 300.0
    outbox_lease_seconds: int = 60
    outbox_max_attempts: int = 8
    outbox_backoff_seconds: float = 2.0
    retention_days: int = 365
    # No figure about fewer people than this is shown (reports, digests, anonymous summaries,
    # pulse distributions): a small group's average or answers point at individuals.
    min_group_size: int = 5
    # Peer pairing prefers partners whose UTC offsets (at round time) are at most this many
    # hours apart; farther pairs happen only when nothing else works, with a note.
    pairing_max_hours_apart: int = 5
    # The weekly digest (bot/services/reporting/digest.py): day ("mon".."sun", or "off") and
    # local time (HH:MM, in `default_timezone`) it goes to the staff channel and each mentor.
    # Off unless configured: the app's settings default to Monday (DIGEST_DAY), so a bare
    # CoreSettings (tests, tools) never sends digests it was not asked for.
    digest_day: str = "off"
    digest_time: str = "08:00"
