"""The prompts feature.

Group prompts: a recurring question posted in a group's channel, the answers students give
through the bot (Answer button and form, or 1-5 buttons for a pulse question), the job that
posts the due ones and the job that closes rounds and shares one summary each.
"""

from __future__ import annotations

from bot.auth import STAFF, allow
from bot.config import CoreSettings
from bot.i18n import N_, _
from bot.model import Message, Reply
from bot.people import STUDENT
from bot.personal_data import PersonalData
from bot.registry import (
    Context,
    Feature,
    Job,
    JobOutcome,
    Sub,
    Window,
    typed_words,
    word_family,
)
from bot.services import prompt_answers as answers
from bot.services import prompts as prompt_service
from storage.db import Database
from storage.tables import PromptAnswer


@allow(*STAFF)
def cmd_prompt(ctx: Context) -> Reply:
    """`/prompt add|list|remove|export`: recurring prompts in a group's channel (its mentors)."""
    words = typed_words(ctx)
    sub, _sep, rest = words.partition(" ")
    if sub == "export":
        return Reply(messages=(prompt_service.run_export(ctx.session, ctx.person, rest, ctx.now),))
    return Reply.say(
        prompt_service.run_chat_command(ctx.session, ctx.settings, ctx.person, words, ctx.now)
    )


@allow(STUDENT)
def act_answer(ctx: Context) -> Reply:
    """The Answer (or Edit) button where no form opens: whether and how to answer.

    Slack and Discord open a form for this button and the console reads the next line; they
    submit `form_answer`. The check here is the one the adapters wait for before opening it.
    """
    opened = answers.check_can_answer(ctx.session, ctx.person, ctx.button("round"), ctx.now)
    # Seen only where the form could not open in time (a slow core on Discord).
    question = opened.prompt.text.strip().splitlines()[0]
    hint = Message(
        text=_("Press Answer again to open the form for “{question}”.").format(question=question)
    )
    # Edit opens the form with the answer so far: only this student receives it.
    so_far = answers.current_answer(ctx.session, opened, ctx.person)
    return Reply(messages=(hint,), form_values=(("answer", so_far),) if so_far else ())


@allow(STUDENT)
def form_answer(ctx: Context) -> Reply:
    """The answer form: stored with the safety screen's verdict, acknowledged privately.

    The core screened the words before this runs: a crisis answer already brought the
    crisis card and the alert, and nothing cheerful is said after it (`after_safety`).
    """
    args = ctx.inbound.args
    thanks = answers.save_answer(
        ctx.session,
        ctx.person,
        args.get("round", ""),
        args.get("answer", ""),
        ctx.assessment.level,
        ctx.now,
    )
    return Reply(messages=(thanks,))


@allow(STUDENT)
def act_pulse(ctx: Context) -> Reply:
    """A 1-5 button of a pulse question."""
    thanks = answers.save_pulse(
        ctx.session, ctx.person, ctx.button("round"), ctx.button("score"), ctx.now
    )
    return Reply(messages=(thanks,))


@allow(STUDENT)
def act_withdraw(ctx: Context) -> Reply:
    """The Withdraw button of the acknowledgement: the answer goes, until the close."""
    text = answers.withdraw_answer(ctx.session, ctx.person, ctx.button("round"), ctx.now)
    return Reply(messages=(Message(text=text),))


def post_due(db: Database, settings: CoreSettings, window: Window) -> JobOutcome:
    """Post the prompts due in the window (the same occurrence window as check-ins)."""
    with db.session() as session:
        return prompt_service.post_due_prompts(session, settings, window.start, window.end)


def close_rounds(db: Database, settings: CoreSettings, window: Window) -> JobOutcome:
    """Close the rounds due and share one summary each (or the count, to the mentors)."""
    with db.session() as session:
        return answers.close_due_rounds(session, settings, window.end)


FEATURE = Feature(
    name="prompts",
    summary=N_("Recurring questions in a group's channel, answered through the bot"),
    commands=word_family(
        "prompt",
        cmd_prompt,
        (
            Sub("list", N_("the group prompts"), default=True, other_names=("prompts",)),
            Sub(
                "add",
                N_(
                    "a recurring question: GROUP DAYS HH:MM [anonymous] [pulse] "
                    "[close_hours=N] TEXT"
                ),
                "/prompt add Study skills fri 15:00 Share one win from this week",
            ),
            Sub("remove", N_("stop a prompt"), "/prompt remove 4", ("delete", "rm", "off")),
            Sub("export", N_("a prompt's answers as CSV: ID [YYYY-MM-DD]"), "/prompt export 4"),
        ),
    ),
    actions={
        answers.ANSWER_ACTION: act_answer,
        answers.PULSE_ACTION: act_pulse,
        answers.WITHDRAW_ACTION: act_withdraw,
    },
    forms={answers.ANSWER_FORM: form_answer},
    jobs=(
        Job("post_due_prompts", post_due, window=True),
        Job("close_prompt_rounds", close_rounds),
    ),
    personal_data=(
        PersonalData(
            "prompt answers",
            PromptAnswer,
            "person_id",
            free_text=("text",),
            dated_by="answered_at",
            export_as="prompt_answers",
        ),
    ),
)
