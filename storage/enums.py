"""The closed sets of values stored in string columns (statuses and kinds), by table.

Each is a `StrEnum` whose values are exactly the strings stored before the enums existed:
a member *is* its string (`OutboxStatus.SENT == "sent"`), binds as that string on SQLite
and PostgreSQL, and compares equal to what a query reads back, so no migration was needed.
Code names members; the database keeps plain text (no database enum type to migrate when a
value is added).
"""

from __future__ import annotations

from enum import StrEnum


class CheckinStatus(StrEnum):
    """`checkin.status`: opened, then answered, skipped or closed."""

    OPEN = "open"
    ANSWERED = "answered"
    SKIPPED = "skipped"
    MISSED = "missed"
    NOT_SENT = "not_sent"
    # Closed while the student was paused or the programme on a break.
    EXCUSED = "excused"


class CheckinStep(StrEnum):
    """`checkin.step`: the question an open check-in waits for."""

    MOOD = "mood"
    NOTE = "note"
    GOAL = "goal"
    DONE = "done"


class GoalStatus(StrEnum):
    """`goal.status`."""

    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class AlertStatus(StrEnum):
    """`alert.status`: open -> acknowledged -> following up -> resolved (or erased)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    FOLLOWING_UP = "following"
    RESOLVED = "resolved"
    # The student's data was erased: nobody deals with the alert any more.
    ERASED = "erased"


class AlertKind(StrEnum):
    """`alert.kind`: what raised the alert."""

    LOW_MOOD = "low_mood"
    DROP = "drop"
    MISSED = "missed"
    HELP = "help"
    CONCERN = "concern"
    CRISIS = "crisis"
    STUCK = "stuck"


class AlertSeverity(StrEnum):
    """`alert.severity`."""

    NORMAL = "normal"
    URGENT = "urgent"


class OutboxStatus(StrEnum):
    """`outbox.status`: pending -> sending (leased) -> sent or failed."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # Its copy went to someone else instead (nobody of theirs runs here).
    REROUTED = "rerouted"
    # Withdrawn before it went out: its cause went away (a closed check-in, a moved workshop).
    SKIPPED = "skipped"


class OutboxKind(StrEnum):
    """`outbox.kind`: what a pushed message is (delivery and `delivery status` tell them apart)."""

    MESSAGE = "message"
    CHECKIN = "checkin"
    REMINDER = "reminder"
    NUDGE = "nudge"
    # An alert's chat copy, its email and its webhook call.
    ALERT = "alert"
    ALERT_EMAIL = "alert_email"
    ALERT_WEBHOOK = "alert_webhook"
    # Edits a posted copy of an alert in place (`Outbox.edit_of`) instead of posting anew.
    ALERT_UPDATE = "alert_update"
    ALERT_REMINDER = "alert_reminder"
    ALERT_SEEN = "alert_seen"
    # The watchdog's alarm about an urgent alert nobody received.
    ALARM = "alarm"
    PLATFORM_NOTICE = "platform_notice"
    DELIVERY_NOTICE = "delivery_notice"
    PROMPT = "prompt"
    PAIRING_INTRO = "pairing_intro"
    PAIRING_CHECKIN = "pairing_checkin"
    WORKSHOP = "workshop"
    WORKSHOP_REMINDER = "workshop_reminder"
    WORKSHOP_FEEDBACK = "workshop_feedback"
    # A meeting's invite (with its ICS), reminders, questions and nudges.
    MEETING = "meeting"
    MEETING_REMINDER = "meeting_reminder"
    # Erasure: delete or edit a message delivered earlier (`platform_message_id` names it).
    COPY_DELETE = "copy_delete"
    COPY_EDIT = "copy_edit"


class RsvpStatus(StrEnum):
    """`rsvp.status`: a person's answer to a workshop invitation."""

    GOING = "going"
    NOT_GOING = "not_going"
    WAITLIST = "waitlist"


class WorkshopStatus(StrEnum):
    """`workshop_session.status`."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class MeetingStatus(StrEnum):
    """`meeting.status`: proposed -> booked -> held | no_show | rescheduled; or cancelled."""

    PROPOSED = "proposed"
    BOOKED = "booked"
    HELD = "held"
    NO_SHOW = "no_show"
    # The mentor answered "Did it happen?" with "rescheduled": closed, a new one is proposed.
    RESCHEDULED = "rescheduled"
    DECLINED = "declined"
    # A proposal the student never answered before its time.
    EXPIRED = "expired"
    CANCELLED = "cancelled"


# Live meetings hold their slot (the partial unique index on meeting names these two).
LIVE_MEETING = (MeetingStatus.PROPOSED, MeetingStatus.BOOKED)
