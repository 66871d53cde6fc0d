"""The workshops feature.

Workshops: sessions with RSVPs, reminders, "I'm here", feedback and its comment; mentors
add, cancel, move and report; the job runs reminders, start posts and feedback prompts.
"""

from __future__ import annotations

from bot.auth import EVERYONE, STAFF, allow
from bot.config import CoreSettings
from bot.i18n import N_, _
from bot.model import Message, Reply
from bot.people import STUDENT
from bot.personal_data import PersonalData
from bot.registry import Context, Feature, Job, JobOutcome, Sub, Window, typed_words, word_family
from bot.services import workshop_chat, workshop_messages
from bot.services import workshops as workshop_service
from bot.services.workshop_tick import run_workshop_steps
from storage.db import Database
from storage.tables import Rsvp, WorkshopFeedback


@allow(*EVERYONE)
def cmd_workshop(ctx: Context) -> Reply:
    """`/workshop`: members list and RSVP; the group's mentors add, cancel, move, report."""
    return workshop_chat.run_chat_command(
        ctx.session, ctx.settings, ctx.now, ctx.person, typed_words(ctx)
    )


@allow(*EVERYONE)
def act_workshop_rsvp(ctx: Context) -> Reply:
    """Going / Not going on a workshop; answered privately (the button may be in a channel)."""
    result = workshop_service.rsvp(
        ctx.session, ctx.settings, ctx.now, ctx.person, ctx.button("session"), ctx.button("answer")
    )
    return Reply(messages=(workshop_service.rsvp_reply(ctx.settings, ctx.person, result),))


@allow(*EVERYONE)
def act_workshop_checkin(ctx: Context) -> Reply:
    """The "I'm here" button during a session."""
    workshop = workshop_service.check_in(ctx.session, ctx.now, ctx.person, ctx.button("session"))
    return Reply.say(
        _("Thanks, you're checked in at “{title}”. Enjoy!").format(title=workshop.title)
    )


@allow(*EVERYONE)
def act_workshop_feedback(ctx: Context) -> Reply:
    """A 1-5 rating after a session; the prompt is replaced by the thanks."""
    workshop, feedback = workshop_service.give_feedback(
        ctx.session, ctx.now, ctx.person, ctx.button("session"), ctx.button("rating")
    )
    return Reply(update=workshop_messages.feedback_thanks(workshop, feedback.rating))


@allow(*EVERYONE)
def act_workshop_feedback_skip(ctx: Context) -> Reply:
    """No comment after a rating."""
    workshop_service.skip_comment(ctx.session, ctx.person, ctx.button("session"))
    return Reply(update=Message(text=_("Thanks for your feedback!")))


@allow(*STAFF)
def form_workshop_add(ctx: Context) -> Reply:
    """The add-workshop form: group, title, date, time, timezone, duration, capacity, ..."""
    return workshop_chat.run_form(ctx.session, ctx.settings, ctx.now, ctx.person, ctx.inbound.args)


def claim_comment(ctx: Context, text: str) -> Reply | None:
    """Text right after a workshop rating is its comment (screened like everything else)."""
    if ctx.person.role != STUDENT:
        return None
    assert ctx.person.id is not None
    feedback = workshop_service.awaited_comment(ctx.session, ctx.person.id, ctx.now)
    if feedback is None:
        return None
    workshop_service.add_comment(ctx.session, ctx.now, feedback, text)
    return Reply.say(_("Thanks, I've added that to your feedback. It's shown without your name."))


def run_steps(db: Database, settings: CoreSettings, window: Window) -> JobOutcome:
    """Workshop reminders, start posts and feedback prompts now due."""
    with db.session() as session:
        return run_workshop_steps(session, settings, window.end)


FEATURE = Feature(
    name="workshops",
    summary=N_("Workshop sessions with RSVPs, reminders and feedback"),
    commands=word_family(
        "workshop",
        cmd_workshop,
        (
            Sub(
                "list",
                N_("upcoming workshops of your groups, with Going / Not going buttons"),
                default=True,
                aliases=("upcoming",),
                other_names=("workshops",),
            ),
            Sub(
                "add",
                N_("mentors: a workshop for your group"),
                '/workshop add "Exam stress" 2026-12-01 16:00 Europe/London 60 cap 12 LINK',
                ("new",),
            ),
            Sub(
                "series",
                N_("mentors: a weekly series"),
                '/workshop series "Study hour" 2026-12-01 16:00 Europe/London 60 weekly 6',
            ),
            Sub("cancel", N_("mentors: cancel a session"), "/workshop cancel 3"),
            Sub("move", N_("mentors: move a session"), "/workshop move 3 2026-12-02 16:00"),
            Sub("attend", N_("mentors: mark who came"), "/workshop attend 3 sam@example.edu"),
            Sub(
                "absent", N_("mentors: mark who didn't come"), "/workshop absent 3 sam@example.edu"
            ),
            Sub("report", N_("mentors: RSVPs, attendance and feedback"), "/workshop report 3"),
        ),
    ),
    actions={
        workshop_messages.RSVP_ACTION: act_workshop_rsvp,
        workshop_messages.CHECKIN_ACTION: act_workshop_checkin,
        workshop_messages.FEEDBACK_ACTION: act_workshop_feedback,
        workshop_messages.FEEDBACK_SKIP_ACTION: act_workshop_feedback_skip,
    },
    forms={"workshop.add": form_workshop_add},
    text_claims=(claim_comment,),
    jobs=(Job("run_workshop_steps", run_steps),),
    personal_data=(
        PersonalData("rsvps", Rsvp, "person_id", export_as="rsvps"),
        PersonalData(
            "workshop feedback",
            WorkshopFeedback,
            "person_id",
            free_text=("comment",),
            dated_by="created_at",
            export_as="workshop_feedback",
        ),
    ),
)
