"""The checkins feature.

Check-ins: the scheduled DM (mood, note, goal progress), `/checkin`, its buttons, the note
typed in reply, and the jobs that open, remind and close check-ins.
"""

from __future__ import annotations

from bot.auth import allow, require_role
from bot.config import CoreSettings
from bot.i18n import N_
from bot.model import Reply
from bot.people import STUDENT
from bot.personal_data import PersonalData
from bot.registry import Command, Context, Feature, Job, JobOutcome, Window
from bot.services import checkins as checkin_service
from bot.services.occurrences import OccurrencesOutcome, open_occurrences
from bot.services.reminders import close_expired_checkins, send_due_reminders
from storage.db import Database
from storage.enums import CheckinStep
from storage.tables import Checkin


def turn_reply(turn: checkin_service.CheckinTurn) -> Reply:
    """A check-in step's answer: the pressed message updated, the next question if any."""
    return Reply(update=turn.update, messages=(turn.next,) if turn.next else ())


@allow(STUDENT)
def cmd_checkin(ctx: Context) -> Reply:
    """Start (or re-show) a check-in."""
    require_role(ctx.person, STUDENT)
    checkin = checkin_service.start_adhoc(ctx.session, ctx.person, ctx.now)
    return Reply(messages=(checkin_service.render_checkin(checkin, ctx.person),))


@allow(STUDENT)
def act_checkin_mood(ctx: Context) -> Reply:
    """A mood button on a check-in."""
    return turn_reply(
        checkin_service.answer_mood(
            ctx.session,
            ctx.settings,
            ctx.now,
            ctx.person,
            ctx.button("checkin"),
            ctx.button("score"),
        )
    )


@allow(STUDENT)
def act_checkin_skip(ctx: Context) -> Reply:
    """Skip a check-in."""
    return turn_reply(checkin_service.skip(ctx.session, ctx.now, ctx.person, ctx.button("checkin")))


@allow(STUDENT)
def act_checkin_note_skip(ctx: Context) -> Reply:
    """No note for this check-in."""
    return turn_reply(checkin_service.skip_note(ctx.session, ctx.person, ctx.button("checkin")))


@allow(STUDENT)
def act_checkin_goal(ctx: Context) -> Reply:
    """Goal progress from a check-in."""
    return turn_reply(
        checkin_service.answer_goal(
            ctx.session,
            ctx.now,
            ctx.person,
            ctx.button("checkin"),
            ctx.button("goal"),
            ctx.button("progress"),
        )
    )


def claim_note(ctx: Context, text: str) -> Reply | None:
    """Text typed while a check-in waits for its note is that note."""
    if ctx.person.role != STUDENT:
        return None
    assert ctx.person.id is not None
    checkin = checkin_service.open_checkin_of(ctx.session, ctx.person.id)
    if checkin is None or checkin.step != CheckinStep.NOTE:
        return None
    return turn_reply(
        checkin_service.add_note(ctx.session, ctx.settings, ctx.person, checkin, text)
    )


def open_due(db: Database, settings: CoreSettings, window: Window) -> JobOutcome:
    """Open (or record as not sent) the check-ins of every occurrence in the window."""
    return OccurrencesOutcome(open_occurrences(db, settings, window.start, window.end))


def close_expired(db: Database, settings: CoreSettings, window: Window) -> JobOutcome:
    """Close check-ins past their cut-off (missed or excused)."""
    with db.session() as session:
        return close_expired_checkins(session, settings, window.end)


def remind(db: Database, settings: CoreSettings, window: Window) -> JobOutcome:
    """Queue the reminders now due."""
    with db.session() as session:
        return send_due_reminders(session, settings, window.end)


FEATURE = Feature(
    name="checkins",
    summary=N_("The scheduled check-in: mood, a note and goal progress"),
    commands=(Command("checkin", N_("start a check-in now"), cmd_checkin),),
    actions={
        "checkin.mood": act_checkin_mood,
        "checkin.skip": act_checkin_skip,
        "checkin.note_skip": act_checkin_note_skip,
        "checkin.goal": act_checkin_goal,
    },
    text_claims=(claim_note,),
    jobs=(
        Job("open_due_checkins", open_due, window=True),
        Job("close_expired_checkins", close_expired),
        Job("send_due_reminders", remind),
    ),
    personal_data=(
        PersonalData(
            "check-ins",
            Checkin,
            "person_id",
            free_text=("note",),
            dated_by="opened_at",
            export_as="checkins",
        ),
    ),
)
