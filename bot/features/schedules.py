"""The schedules feature.

Schedules: admins list, add and remove check-in schedules in chat (`/schedule add mon-fri
09:00`); breaks and the CLI verbs live in the service and `mentorbot schedule`.
"""

from __future__ import annotations

from bot.auth import allow, require_role
from bot.i18n import N_
from bot.localtime import to_local
from bot.model import Reply
from bot.people import ADMIN
from bot.registry import Context, Feature, Sub, typed_words, word_family
from bot.services import schedules as schedule_service


@allow(ADMIN)
def cmd_schedule(ctx: Context) -> Reply:
    """Admins: list, add or remove check-in schedules (`/schedule add mon-fri 09:00`)."""
    require_role(ctx.person, ADMIN)
    today = to_local(ctx.now, ctx.settings.default_timezone).date()
    words = typed_words(ctx).split()
    text = schedule_service.run_chat_command(ctx.session, words, ctx.now, today, ctx.person.id)
    return Reply.say(text)


FEATURE = Feature(
    name="schedules",
    summary=N_("Check-in schedules (admins)"),
    commands=word_family(
        "schedule",
        cmd_schedule,
        (
            Sub("list", N_("the check-in schedules"), default=True),
            Sub(
                "add",
                N_(
                    "a check-in schedule: DAYS HH:MM [group NAME | person EMAIL] [until YYYY-MM-DD]"
                ),
                "/schedule add mon-fri 09:00 group Study skills",
            ),
            Sub("remove", N_("stop a check-in schedule"), "/schedule remove 2", ("delete", "rm")),
        ),
    ),
)
