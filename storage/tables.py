"""SQLModel tables: the whole schema of mentorbot.

Times are aware UTC datetimes (SQLModel's UTCDateTime: timestamptz on PostgreSQL, UTC text on
SQLite); local times are derived from each person's IANA time zone when needed.

Free text is health data here. Every column that may hold what a person wrote (notes,
messages, excerpts, goal titles, outbox payloads quoting them) MUST use
`sa_type=SealedText` (storage/crypto.py: encrypted at rest, rotated by `mentorbot keys
rotate`, which finds sealed columns by their type). A table holding personal data is
declared by the feature that owns it (`bot.registry.PersonalData`): export, erasure and the
retention purge of free text (with the column that dates it) read those declarations.
tests/bot/test_personal_data.py fails when a table or a free-text column is missed.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel

from storage.crypto import SealedText
from storage.enums import (
    AlertSeverity,
    AlertStatus,
    CheckinStatus,
    CheckinStep,
    GoalStatus,
    OutboxKind,
    OutboxStatus,
    WorkshopStatus,
)


class Person(SQLModel, table=True):
    """A student, mentor or admin of the programme."""

    __tablename__ = "person"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True, max_length=320)
    name: str = Field(max_length=200)
    role: str = Field(max_length=16, index=True)  # student | mentor | admin
    # None until the roster or the platform profile tells us; then settings' default applies.
    timezone: str | None = Field(default=None, max_length=64)
    quiet_start: str = Field(default="21:00", max_length=5)
    quiet_end: str = Field(default="08:00", max_length=5)
    preferred_platform: str | None = Field(default=None, max_length=16)
    # The platform the person last wrote from: pushes go there when they prefer none.
    last_platform: str | None = Field(default=None, max_length=16)
    country: str | None = Field(default=None, max_length=2)
    # The language they read (a code of bot.i18n.LANGUAGES), from the roster or their own
    # choice; None follows the platform's locale, then the programme's default.
    language: str | None = Field(default=None, max_length=16)
    # The language their Slack or Discord client is set to, as last seen on an event.
    platform_language: str | None = Field(default=None, max_length=16)
    paused_until: date | None = None
    active: bool = True
    created_at: datetime
    deleted_at: datetime | None = None


class StudentSettings(SQLModel, table=True):
    """What a person chose with /settings that the person row can't say by itself.

    Quiet hours and the preferred platform live on `Person` (every push already reads them);
    this row keeps where the zone, language and country came from and the student's own
    check-in time. Mentors and staff have one too once they choose a language or country.
    """

    __tablename__ = "student_settings"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    # "student" when they set their zone with /settings: a platform profile never replaces it.
    zone_source: str | None = Field(default=None, max_length=16)
    # "person" when they chose `Person.language` / `Person.country` with /settings: a roster
    # re-import never replaces a choice of their own.
    language_source: str | None = Field(default=None, max_length=16)
    country_source: str | None = Field(default=None, max_length=16)
    # HH:MM local; None follows the schedule. Kept as text: HH:MM compares in SQL as it reads.
    checkin_time: str | None = Field(default=None, max_length=5, index=True)
    updated_at: datetime


class Identity(SQLModel, table=True):
    """A person's account on one platform; DM channel kept so a fan-out needs no lookups."""

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("platform", "user_id", name="uq_identity_platform_user"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    platform: str = Field(max_length=16)
    workspace: str = Field(default="", max_length=64)
    user_id: str = Field(max_length=64)
    dm_channel_id: str | None = Field(default=None, max_length=64)
    # Set when the platform refused a DM because the person closed them (Discord 50007);
    # nothing is sent to this identity until the person writes to the bot again (issue 16).
    dms_closed_at: datetime | None = None


class MentorAssignment(SQLModel, table=True):
    """Which mentor looks after which student: one primary and at most one backup."""

    __tablename__ = "mentor_assignment"
    __table_args__ = (UniqueConstraint("student_id", "kind", name="uq_assignment_student_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    student_id: int = Field(foreign_key="person.id", index=True)
    mentor_id: int = Field(foreign_key="person.id", index=True)
    kind: str = Field(max_length=8)  # primary | backup


class Group(SQLModel, table=True):
    """A mentoring group, optionally bound to a workshop channel on one platform."""

    __tablename__ = "mentoring_group"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    platform: str | None = Field(default=None, max_length=16)
    channel_id: str | None = Field(default=None, max_length=64)
    pairing_weeks: int | None = None
    # The language posts in the group's channel are written in; None: the programme default.
    language: str | None = Field(default=None, max_length=16)
    created_at: datetime


class GroupMember(SQLModel, table=True):
    """Membership of a person in a group."""

    __tablename__ = "group_member"
    __table_args__ = (UniqueConstraint("group_id", "person_id", name="uq_group_member"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="mentoring_group.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(default="member", max_length=8)  # member | mentor


class CheckinSchedule(SQLModel, table=True):
    """When check-ins open, in each student's local time."""

    __tablename__ = "checkin_schedule"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    target: str = Field(default="all", max_length=8)  # all | group | person
    target_ref: str | None = Field(default=None, max_length=320)
    days: str = Field(default="mon-fri", max_length=64)  # cron day-of-week
    every_n_days: int | None = None
    local_time: str = Field(default="09:00", max_length=5)
    questions: str = Field(default="mood,note,goal", max_length=100)
    reminder_delay_minutes: int = 120
    start_date: date | None = None
    end_date: date | None = None
    # None: each student's own zone. Set: every target fires at this zone's local time.
    timezone: str | None = Field(default=None, max_length=64)
    active: bool = True
    created_at: datetime


class Checkin(SQLModel, table=True):
    """One check-in: opened for a student, answered step by step, or skipped or missed."""

    __tablename__ = "checkin"
    __table_args__ = (
        UniqueConstraint("person_id", "occurrence_key", name="uq_checkin_occurrence"),
        # A person's check-ins by status, and the reports' weekly rates by opening time
        # (person_id IN a population, status closed, opened_at in the range).
        Index("ix_checkin_person_status_opened", "person_id", "status", "opened_at"),
        # The minute tick looks for open check-ins whose reminder or cut-off is due.
        Index("ix_checkin_status_remind", "status", "remind_at"),
        Index("ix_checkin_status_closes", "status", "closes_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id")
    schedule_id: int | None = Field(default=None, foreign_key="checkin_schedule.id")
    occurrence_key: str = Field(max_length=64)
    status: str = Field(default=CheckinStatus.OPEN, max_length=12)  # CheckinStatus
    step: str = Field(default=CheckinStep.MOOD, max_length=8)  # CheckinStep
    mood: int | None = None
    note: str | None = Field(default=None, sa_type=SealedText)
    goal_id: int | None = None
    goal_progress: int | None = None
    opened_at: datetime
    due_at: datetime | None = None
    answered_at: datetime | None = None
    reminder_sent_at: datetime | None = None
    # Scheduled check-ins only: when the one reminder is due, and when it closes as missed.
    remind_at: datetime | None = None
    closes_at: datetime | None = None
    closed_reason: str | None = Field(default=None, max_length=200)


class MoodEntry(SQLModel, table=True):
    """A mood score 1-5, from a check-in or logged any time."""

    __tablename__ = "mood_entry"
    __table_args__ = (Index("ix_mood_person_at", "person_id", "recorded_at"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id")
    score: int
    note: str | None = Field(default=None, sa_type=SealedText)
    source: str = Field(default="command", max_length=12)  # command | checkin | button
    checkin_id: int | None = Field(default=None, foreign_key="checkin.id", unique=True)
    recorded_at: datetime


class Goal(SQLModel, table=True):
    """A student's goal, with what the scheduler needs for nudges."""

    __tablename__ = "goal"
    __table_args__ = (Index("ix_goal_status_nudge", "status", "next_nudge_at"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    # Written by the student (goals can be personal: "see a counsellor"), so sealed too.
    title: str = Field(max_length=200, sa_type=SealedText)
    due_date: date | None = None
    status: str = Field(default=GoalStatus.OPEN, max_length=8)  # GoalStatus
    progress: int = 0
    created_at: datetime
    updated_at: datetime
    last_progress_at: datetime | None = None
    next_nudge_at: datetime | None = None
    # Set once the "due soon" nudge was sent (or found not to apply), so it goes out once.
    due_nudged_at: datetime | None = None
    stuck_alerted_at: datetime | None = None


class Milestone(SQLModel, table=True):
    """A step towards a goal."""

    __tablename__ = "milestone"

    id: int | None = Field(default=None, primary_key=True)
    goal_id: int = Field(foreign_key="goal.id", index=True)
    title: str = Field(max_length=200, sa_type=SealedText)
    done_at: datetime | None = None


class GoalUpdate(SQLModel, table=True):
    """A recorded change of progress on a goal."""

    __tablename__ = "goal_update"

    id: int | None = Field(default=None, primary_key=True)
    goal_id: int = Field(foreign_key="goal.id", index=True)
    progress: int
    note: str | None = Field(default=None, sa_type=SealedText)
    created_at: datetime


class Resource(SQLModel, table=True):
    """An entry of the help library."""

    __tablename__ = "resource"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    url: str = Field(unique=True, max_length=500)
    tags: str = Field(default="", max_length=500)  # comma separated, lower case
    description: str = Field(default="", max_length=2000)
    # The language the resource is written in (a code of bot.i18n.LANGUAGES): search and
    # suggestions prefer the reader's language, then English.
    language: str = Field(default="en", max_length=16, sa_column_kwargs={"server_default": "en"})


class Alert(SQLModel, table=True):
    """An escalation to a student's mentor, with its full life cycle."""

    __tablename__ = "alert"
    __table_args__ = (Index("ix_alert_student_kind", "student_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    student_id: int | None = Field(default=None, foreign_key="person.id")
    mentor_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    kind: str = Field(max_length=16)  # AlertKind
    severity: str = Field(default=AlertSeverity.NORMAL, max_length=8)  # AlertSeverity
    reason: str = Field(max_length=500)
    excerpt: str | None = Field(default=None, sa_type=SealedText)
    status: str = Field(default=AlertStatus.OPEN, max_length=12)  # AlertStatus
    created_at: datetime
    shown_to_student_at: datetime | None = None
    delivered_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: int | None = Field(default=None, foreign_key="person.id")
    follow_up_at: datetime | None = None
    follow_up_by: int | None = Field(default=None, foreign_key="person.id")
    escalation_level: int = 0
    next_escalation_at: datetime | None = None
    # The lifecycle's end (bot/services/alert_lifecycle.py): who resolved it, how, and a note
    # in the mentor's words, sealed like every written column.
    resolved_at: datetime | None = None
    resolved_by: int | None = Field(default=None, foreign_key="person.id")
    outcome: str | None = Field(default=None, max_length=16)
    resolution_note: str | None = Field(default=None, sa_type=SealedText)
    # Repeated crisis or concern messages folded into this alert instead of new alerts, and
    # the newest of them (the mentor's message shows it with "N more messages since").
    folded_count: int = 0
    last_folded_at: datetime | None = None
    latest_excerpt: str | None = Field(default=None, sa_type=SealedText)
    # "I'll follow up": when the next reminder to that mentor is due, and how many went out.
    next_follow_up_at: datetime | None = Field(default=None, index=True)
    follow_up_reminders: int = 0
    # When the student was told (once) that a person has seen their message.
    student_told_at: datetime | None = None


class AlertEvent(SQLModel, table=True):
    """A timestamped step of an alert's life: created, delivered, escalated, acknowledged."""

    __tablename__ = "alert_event"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True)
    at: datetime
    event: str = Field(max_length=32)
    person_id: int | None = None
    detail: str = Field(default="", max_length=500)


class StudentMessage(SQLModel, table=True):
    """Free text a student sent outside a check-in step: kept so nothing sent is lost."""

    __tablename__ = "student_message"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    text: str = Field(sa_type=SealedText)
    safety_level: str = Field(default="none", max_length=8)
    received_at: datetime


class MentorNote(SQLModel, table=True):
    """A confidential note by a mentor about a student."""

    __tablename__ = "mentor_note"

    id: int | None = Field(default=None, primary_key=True)
    student_id: int = Field(foreign_key="person.id", index=True)
    author_id: int = Field(foreign_key="person.id")
    text: str = Field(sa_type=SealedText)
    created_at: datetime


class WorkshopSeries(SQLModel, table=True):
    """A recurring workshop (every Tuesday 16:00 for 6 weeks): its sessions are made up front."""

    __tablename__ = "workshop_series"

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="mentoring_group.id", index=True)
    title: str = Field(max_length=200)
    days: str = Field(max_length=64)  # cron-style day-of-week, as in CheckinSchedule
    local_time: str = Field(max_length=5)
    timezone: str = Field(max_length=64)
    count: int
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime


class WorkshopSession(SQLModel, table=True):
    """A scheduled group session."""

    __tablename__ = "workshop_session"
    # The minute tick looks for scheduled sessions whose next step (reminder, start, feedback)
    # is due.
    __table_args__ = (Index("ix_workshop_status_starts", "status", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="mentoring_group.id", index=True)
    series_id: int | None = Field(default=None, foreign_key="workshop_series.id", index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    starts_at: datetime
    timezone: str = Field(default="UTC", max_length=64)
    duration_minutes: int = 60
    location: str = Field(default="", max_length=500)
    capacity: int | None = None
    status: str = Field(default=WorkshopStatus.SCHEDULED, max_length=12)  # WorkshopStatus
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime
    cancelled_at: datetime | None = None
    # Each step of the tick runs once per start time (a move clears them): the day-before and
    # hour-before reminders, the start post, the feedback prompt. Set even when a step was
    # skipped as too late, so the tick never looks at it again.
    day_reminder_at: datetime | None = None
    hour_reminder_at: datetime | None = None
    start_posted_at: datetime | None = None
    feedback_asked_at: datetime | None = None


class Rsvp(SQLModel, table=True):
    """A person's answer to a workshop invitation."""

    __tablename__ = "rsvp"
    __table_args__ = (
        UniqueConstraint("session_id", "person_id", name="uq_rsvp"),
        Index("ix_rsvp_session_status", "session_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="workshop_session.id", index=True)
    person_id: int = Field(foreign_key="person.id")
    status: str = Field(max_length=12)  # RsvpStatus
    # Place in the waitlist (lowest is promoted first): a new, higher number each time someone
    # joins it, kept afterwards, so a number is never given out twice in a session.
    waitlist_no: int | None = None
    # True: marked present by a mentor or checked in; False: marked absent; None: not recorded.
    attended: bool | None = None
    checked_in_at: datetime | None = None
    updated_at: datetime


class WorkshopFeedback(SQLModel, table=True):
    """One attendee's rating (1-5) of a session, with an optional comment."""

    __tablename__ = "workshop_feedback"
    __table_args__ = (UniqueConstraint("session_id", "person_id", name="uq_workshop_feedback"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="workshop_session.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    rating: int
    # Written by the attendee, so sealed, and purged after the retention period.
    comment: str | None = Field(default=None, sa_type=SealedText)
    # True while the bot waits for the comment as the person's next free text.
    awaiting_comment: bool = False
    created_at: datetime
    updated_at: datetime


class GroupPrompt(SQLModel, table=True):
    """A recurring prompt a group's mentor posts in the group's channel ("Share one win...")."""

    __tablename__ = "group_prompt"

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="mentoring_group.id", index=True)
    # Written by a mentor for the whole group, so sealed like every written column; not
    # declared free text (purged) because it is standing configuration (as goal titles are), and a
    # retention purge would silently stop a prompt that is still wanted.
    text: str = Field(sa_type=SealedText)
    days: str = Field(max_length=64)  # cron-style day-of-week, as in CheckinSchedule
    local_time: str = Field(max_length=5)
    timezone: str = Field(max_length=64)
    active: bool = True
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime
    # Answers are shared without names (and never for fewer than `min_group_size` people).
    anonymous: bool = False
    # A 1-5 scale instead of words; its summary is a distribution.
    pulse: bool = False
    # Each occurrence takes answers for this many hours, then its summary is posted.
    close_hours: int = 24


class PairingRound(SQLModel, table=True):
    """One round of peer pairing in a group, and when its members are asked if they met."""

    __tablename__ = "pairing_round"
    __table_args__ = (
        # Rounds are numbered per group: two ticks opening the same round collide here.
        UniqueConstraint("group_id", "number", name="uq_pairing_round"),
        Index("ix_pairing_round_checkin", "checkin_sent_at", "checkin_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="mentoring_group.id", index=True)
    number: int
    started_at: datetime
    # Halfway to the next round: each member gets a "Did you meet?" DM.
    checkin_at: datetime
    checkin_sent_at: datetime | None = None
    started_by: int | None = Field(default=None, foreign_key="person.id")  # None: scheduler


class Pairing(SQLModel, table=True):
    """A pair (or the round's one trio) of students who are asked to meet."""

    __tablename__ = "pairing"

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="pairing_round.id", index=True)


class PairingMember(SQLModel, table=True):
    """A student in a pairing, with their answer to "Did you meet?" (None: no answer yet)."""

    __tablename__ = "pairing_member"
    __table_args__ = (UniqueConstraint("pairing_id", "person_id", name="uq_pairing_member"),)

    id: int | None = Field(default=None, primary_key=True)
    pairing_id: int = Field(foreign_key="pairing.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    met: bool | None = None
    answered_at: datetime | None = None


class Outbox(SQLModel, table=True):
    """A message to push, written in the same transaction as its cause.

    The unique `dedupe_key` names the cause, so a repeated cause can never send twice.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "platform", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=200)
    platform: str = Field(max_length=16)
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    user_id: str | None = Field(default=None, max_length=64)
    channel_id: str | None = Field(default=None, max_length=64)
    # Several platform user ids, comma-separated: a group conversation (a Slack multi-party
    # DM; a private Discord thread under `channel_id`). None for a DM or a channel post.
    member_ids: str | None = Field(default=None, max_length=400)
    kind: str = Field(default=OutboxKind.MESSAGE, max_length=24)  # OutboxKind
    # The rendered message: it quotes notes and excerpts (alerts), so it is sealed too.
    payload: str = Field(sa_type=SealedText)
    urgent: bool = False
    alert_id: int | None = Field(default=None, foreign_key="alert.id")
    checkin_id: int | None = Field(default=None, foreign_key="checkin.id")
    status: str = Field(default=OutboxStatus.PENDING, max_length=8)  # OutboxStatus
    attempts: int = 0
    next_attempt_at: datetime
    claimed_until: datetime | None = None
    created_at: datetime
    sent_at: datetime | None = None
    platform_message_id: str | None = Field(default=None, max_length=64)
    platform_channel_id: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, max_length=500)
    # Set on a row that edits a message posted earlier (kind "alert_update"): the id of the
    # outbox row that posted it. No foreign key: the posted row may be purged first, and the
    # edit is then posted as a new message instead.
    edit_of: int | None = None


class ProcessedEvent(SQLModel, table=True):
    """Platform event ids already handled, so a retried delivery is processed once."""

    __tablename__ = "processed_event"
    __table_args__ = (UniqueConstraint("platform", "event_id", name="uq_processed_event"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    event_id: str = Field(max_length=128)
    at: datetime


class AuditLog(SQLModel, table=True):
    """Who read or changed whose data, and when."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    action: str = Field(max_length=64)
    subject_id: int | None = Field(default=None, foreign_key="person.id")
    detail: str = Field(default="", max_length=500)


class ProgrammeBreak(SQLModel, table=True):
    """A programme-wide break (winter break, exams) when no check-ins are sent."""

    __tablename__ = "programme_break"

    id: int | None = Field(default=None, primary_key=True)
    starts_on: date
    ends_on: date
    title: str = Field(max_length=200)


class SchedulerState(SQLModel, table=True):
    """A watermark of the scheduler: occurrences up to `processed_until` have been handled.

    Shared by every scheduler process, so a restart knows which occurrences it missed.
    """

    __tablename__ = "scheduler_state"

    name: str = Field(primary_key=True, max_length=32)
    processed_until: datetime


# ---------------------------------------------------------------- group prompt answers
# (issue 20: prompts that listen; the prompts feature declares these as personal data)


class PromptRound(SQLModel, table=True):
    """One posted occurrence of a group prompt: open for answers until `closes_at`."""

    __tablename__ = "prompt_round"
    __table_args__ = (UniqueConstraint("prompt_id", "local_date", name="uq_prompt_round"),)

    id: int | None = Field(default=None, primary_key=True)
    prompt_id: int = Field(foreign_key="group_prompt.id", index=True)
    local_date: date
    opened_at: datetime
    closes_at: datetime = Field(index=True)
    # Set once its summary was queued (or withheld): answers can no longer change.
    closed_at: datetime | None = None
    # posted | withheld | empty (no answers: nothing said in the channel)
    outcome: str | None = Field(default=None, max_length=16)


class PromptAnswer(SQLModel, table=True):
    """A student's answer to one round: words (sealed) or a 1-5 pulse score."""

    __tablename__ = "prompt_answer"
    __table_args__ = (UniqueConstraint("round_id", "person_id", name="uq_prompt_answer"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="prompt_round.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    # Written by the student, so sealed, and purged after the retention period.
    text: str | None = Field(default=None, sa_type=SealedText)
    score: int | None = None
    # The safety screen's verdict: a "crisis" answer is never shared or exported.
    safety_level: str = Field(default="none", max_length=8)
    answered_at: datetime


# ---------------------------------------------------------------- pairing preferences
# (issue 20: /pairing skip, pause, resume, avoid; migration 0007)


class PairingSkip(SQLModel, table=True):
    """A student sitting out the next round of one group's peer pairing (`/pairing skip`).

    `round_id` is None until the round it was for opens; then it names that round, so the
    skip is used once and the round can say who sat out.
    """

    __tablename__ = "pairing_skip"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    group_id: int = Field(foreign_key="mentoring_group.id", index=True)
    created_at: datetime
    round_id: int | None = Field(default=None, foreign_key="pairing_round.id")


class PairingPause(SQLModel, table=True):
    """A student sitting out every pairing round that opens before `until` (their local date)."""

    __tablename__ = "pairing_pause"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    until: date
    created_at: datetime


class PairingAvoid(SQLModel, table=True):
    """One entry of a student's private "don't pair me with" list.

    Only `person_id` (the student who asked) ever sees it: the avoided person is never told,
    and it is not part of their data export.
    """

    __tablename__ = "pairing_avoid"
    __table_args__ = (UniqueConstraint("person_id", "avoided_id", name="uq_pairing_avoid"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    avoided_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime


# ---------------------------------------------------------------- meetings (issue 17)
# A mentor's weekly hours, days off and video link; 1:1 meetings booked in them or proposed;
# the session record of a held meeting; the follow-up cadence and its one nudge.


class MeetingHours(SQLModel, table=True):
    """One weekday span of a mentor's availability, in the mentor's zone when published."""

    __tablename__ = "meeting_hours"
    __table_args__ = (UniqueConstraint("mentor_id", "weekday", name="uq_meeting_hours_day"),)

    id: int | None = Field(default=None, primary_key=True)
    mentor_id: int = Field(foreign_key="person.id", index=True)
    weekday: int  # 0 Monday .. 6 Sunday
    start_time: str = Field(max_length=5)  # HH:MM local
    end_time: str = Field(max_length=5)
    slot_minutes: int
    # Slots are wall-clock times in this zone: a DST change keeps 14:00 at 14:00 for the mentor.
    timezone: str = Field(max_length=64)
    updated_at: datetime


class MeetingOff(SQLModel, table=True):
    """A day a mentor takes no meetings (an exception to the weekly hours)."""

    __tablename__ = "meeting_off"
    __table_args__ = (UniqueConstraint("mentor_id", "day", name="uq_meeting_off_day"),)

    id: int | None = Field(default=None, primary_key=True)
    mentor_id: int = Field(foreign_key="person.id", index=True)
    day: date


class MeetingProfile(SQLModel, table=True):
    """A mentor's meeting settings beyond the hours: the video link (https only)."""

    __tablename__ = "meeting_profile"

    mentor_id: int = Field(foreign_key="person.id", primary_key=True)
    video_link: str | None = Field(default=None, max_length=500)
    updated_at: datetime


class Meeting(SQLModel, table=True):
    """A 1:1 meeting between a mentor and a student: proposed, booked, then held or not.

    A live meeting (proposed or booked) holds its slot: the partial unique index lets only
    one live meeting start at one instant per mentor, so two students pressing the same
    slot at once cannot both get it, on SQLite and PostgreSQL alike.
    """

    __tablename__ = "meeting"
    __table_args__ = (
        Index(
            "uq_meeting_live_slot",
            "mentor_id",
            "starts_at",
            unique=True,
            sqlite_where=sql_text("status IN ('proposed', 'booked')"),
            postgresql_where=sql_text("status IN ('proposed', 'booked')"),
        ),
        # The minute tick looks for live meetings whose reminder or question is due.
        Index("ix_meeting_status_starts", "status", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Stable calendar identity: every invite and update of this meeting carries the same UID.
    uid: str = Field(unique=True, max_length=80)
    mentor_id: int = Field(foreign_key="person.id", index=True)
    student_id: int = Field(foreign_key="person.id", index=True)
    starts_at: datetime
    duration_minutes: int
    # The mentor's zone and wall-clock time the meeting was agreed in (kept across DST).
    mentor_timezone: str = Field(max_length=64)
    status: str = Field(max_length=12)  # MeetingStatus
    # ICS SEQUENCE: bumped on every change so calendars replace the earlier invite.
    sequence: int = 0
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime
    updated_at: datetime
    # Why it was moved or cancelled, in the words of whoever did it: sealed, purged.
    change_reason: str | None = Field(default=None, sa_type=SealedText)
    changed_by: int | None = Field(default=None, foreign_key="person.id")
    # Each timed step once per start time (a move clears them).
    day_reminder_at: datetime | None = None
    hour_reminder_at: datetime | None = None
    outcome_asked_at: datetime | None = None
    outcome_at: datetime | None = None


class SessionRecord(SQLModel, table=True):
    """The mentor's confidential record of a held meeting: sealed, read only by mentors."""

    __tablename__ = "session_record"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", unique=True)
    student_id: int = Field(foreign_key="person.id", index=True)
    author_id: int = Field(foreign_key="person.id")
    topics: str = Field(sa_type=SealedText)
    actions: str = Field(sa_type=SealedText)
    next_step: str = Field(sa_type=SealedText)
    created_at: datetime
    updated_at: datetime
    # Set when the agreed actions became the student's goals (one press, once).
    goals_made_at: datetime | None = None


class MeetingCadence(SQLModel, table=True):
    """A follow-up cadence (meet every N weeks) for one student, or a mentor's group."""

    __tablename__ = "meeting_cadence"

    id: int | None = Field(default=None, primary_key=True)
    mentor_id: int = Field(foreign_key="person.id", index=True)
    student_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    group_id: int | None = Field(default=None, foreign_key="mentoring_group.id")
    weeks: int
    created_at: datetime


class MeetingNudge(SQLModel, table=True):
    """The one nudge a mentor got about a student overdue for a meeting since `since`."""

    __tablename__ = "meeting_nudge"
    __table_args__ = (
        UniqueConstraint("mentor_id", "student_id", "since", name="uq_meeting_nudge"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mentor_id: int = Field(foreign_key="person.id", index=True)
    student_id: int = Field(foreign_key="person.id", index=True)
    since: datetime
    sent_at: datetime


# --------------------------------------------------------------------------- issue 16 (limits)


class PlatformState(SQLModel, table=True):
    """A small key/value record a platform adapter keeps across starts and instances.

    `discord.commands`: the hash of the slash-command tree last synced, so the commands are
    synced only when they change, and once when several instances start together.
    """

    __tablename__ = "platform_state"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=256)
    updated_at: datetime
