"""The help feature.

Help: what each person can do (generated from the registry), asking a mentor for help,
and the answer to free text nobody else claimed (kept, with a way to reach the mentor).
"""

from __future__ import annotations

from bot.auth import EVERYONE, allow, require_role
from bot.errors import UserError
from bot.i18n import N_, _
from bot.model import Choice, Field, Message, Reply
from bot.people import STUDENT
from bot.personal_data import PersonalData
from bot.registry import Arg, ArgKind, Command, Context, Feature
from bot.services import alerts as alert_service
from bot.services import resources as resource_service
from bot.services.crisis import crisis_lines_for
from bot.services.escalation import request_help
from storage.tables import StudentMessage

ASK_MENTOR = N_("Ask my mentor to get in touch")


@allow(*EVERYONE)
def cmd_help(ctx: Context) -> Reply:
    """Show what the actor can do; a student's `/help MESSAGE` asks their mentor for help."""
    text = ctx.args.text("message")
    if ctx.person.role == STUDENT and text:
        return ask_for_help(ctx, text)
    assert ctx.registry is not None
    rows = ctx.registry.help_rows(ctx.person.role)
    choices: tuple[Choice, ...] = ()
    if ctx.person.role == STUDENT:
        choices = (Choice(_(ASK_MENTOR), "help.request", style="primary"),)
    return Reply(
        messages=(
            Message(
                title=_("What I can do"),
                text=_("Here's what you can ask me:"),
                fields=tuple(Field(row.usage, row.summary) for row in rows),
                choices=choices,
            ),
        )
    )


def ask_for_help(ctx: Context, text: str) -> Reply:
    """Tell the student's mentor (and show the crisis lines, in case it is urgent)."""
    if not ctx.settings.escalation.help_requests:
        raise UserError(_("Please contact your mentor directly."))
    screened_as_risk = bool(text) and ctx.assessment.level != "none"
    request_help(
        ctx.session, ctx.settings, ctx.now, ctx.person, text, screened_as_risk=screened_as_risk
    )
    told = alert_service.who_is_told(ctx.session, ctx.person)
    # The crisis lines themselves, not a pointer to a library search that may find nothing.
    lines = crisis_lines_for(ctx.settings, ctx.person.country, ctx.person.timezone)
    return Reply(
        messages=(
            Message(
                text=_(
                    "I've asked {who} to get in touch with you. If it's urgent or you "
                    "feel unsafe, please contact emergency services or one of these now:"
                ).format(who=told),
                fields=tuple(Field(line.name, line.contact) for line in lines),
            ),
        )
    )


@allow(STUDENT)
def act_help_request(ctx: Context) -> Reply:
    """The 'ask my mentor' button."""
    require_role(ctx.person, STUDENT)
    return ask_for_help(ctx, "")


@allow(*EVERYONE)
def keep_text(ctx: Context) -> Reply:
    """Free text nobody claimed: a student's is kept and answered; staff get a pointer."""
    text = ctx.inbound.text.strip()
    if ctx.person.role != STUDENT:
        return Reply.say(_("Type /help to see what I can do for mentors."))
    assert ctx.person.id is not None
    ctx.session.add(
        StudentMessage(
            person_id=ctx.person.id,
            text=text,
            safety_level=ctx.assessment.level,
            received_at=ctx.now,
        )
    )
    if ctx.assessment.level != "none":
        return Reply()  # the safety reply already answered
    links = resource_service.as_links(
        resource_service.suggest(ctx.session, text, False, ctx.settings.resource_suggestions)
    )
    return Reply(
        messages=(
            Message(
                text=_(
                    "Thanks, I've kept your message. If you'd like your mentor to get in touch, "
                    "press the button or type /help with a message."
                ),
                links=links,
                choices=(
                    Choice(_(ASK_MENTOR), "help.request", style="primary"),
                    Choice(_("Log my mood"), "mood.log.menu"),
                ),
            ),
        )
    )


FEATURE = Feature(
    name="help",
    summary=N_("What I can do, asking a mentor for help, and messages kept for the mentor"),
    commands=(
        Command(
            "help",
            N_("what I can do; students: /help MESSAGE asks your mentor to get in touch"),
            cmd_help,
            args=(Arg("message", ArgKind.TEXT, N_("For your mentor (optional)"), optional=True),),
            other_names=("start",),
        ),
    ),
    actions={"help.request": act_help_request},
    text_fallback=keep_text,
    personal_data=(
        PersonalData(
            "messages",
            StudentMessage,
            "person_id",
            free_text=("text",),
            dated_by="received_at",
            export_as="messages",
        ),
    ),
)
