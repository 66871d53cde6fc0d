"""The prompts feature.

Group prompts: a recurring question posted in a group's channel, and the job that posts
the due ones.
"""

from __future__ import annotations

from bot.auth import STAFF, allow
from bot.config import CoreSettings
from bot.model import Reply
from bot.registry import Context, Feature, Job, JobOutcome, Sub, Window, typed_words, word_family
from bot.services import prompts as prompt_service
from storage.db import Database


@allow(*STAFF)
def cmd_prompt(ctx: Context) -> Reply:
    """`/prompt add|list|remove`: recurring prompts in a group's channel (its mentors, admins)."""
    return Reply.say(
        prompt_service.run_chat_command(
            ctx.session, ctx.settings, ctx.person, typed_words(ctx), ctx.now
        )
    )


def post_due(db: Database, settings: CoreSettings, window: Window) -> JobOutcome:
    """Post the prompts due in the window (the same occurrence window as check-ins)."""
    with db.session() as session:
        return prompt_service.post_due_prompts(session, settings, window.start, window.end)


FEATURE = Feature(
    name="prompts",
    summary="Recurring questions in a group's channel",
    commands=word_family(
        "prompt",
        cmd_prompt,
        (
            Sub("list", "the group prompts", default=True, other_names=("prompts",)),
            Sub(
                "add",
                "a recurring question: GROUP DAYS HH:MM TEXT",
                "/prompt add Study skills fri 15:00 Share one win from this week",
            ),
            Sub("remove", "stop a prompt", "/prompt remove 4", ("delete", "rm", "off")),
        ),
    ),
    jobs=(Job("post_due_prompts", post_due, window=True),),
)
