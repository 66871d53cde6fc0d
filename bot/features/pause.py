"""Pause: a student stops check-ins until a date (exams, illness) and resumes them."""

from __future__ import annotations

from datetime import date, timedelta

from bot.args import parse_day
from bot.auth import allow, require_role
from bot.errors import UserError
from bot.i18n import N_, _
from bot.localtime import to_local
from bot.model import Reply
from bot.people import STUDENT
from bot.registry import Arg, ArgKind, Command, Context, Feature

RESUME_WORDS = ("off", "resume", "stop", "end")
MAX_PAUSE_DAYS = 366


@allow(STUDENT)
def cmd_pause(ctx: Context) -> Reply:
    """`/pause until YYYY-MM-DD` pauses check-ins; `/pause off` resumes; `/pause` shows it."""
    require_role(ctx.person, STUDENT)
    words = [w for w in ctx.args.text("until").split() if w.lower() != "until"]
    raw = words[0] if len(words) == 1 else " ".join(words)
    if raw.lower() in RESUME_WORDS:
        return resume(ctx)
    if not raw:
        if ctx.person.paused_until:
            return Reply.say(
                _("Check-ins are paused until {date}. Type /pause off to resume now.").format(
                    date=ctx.person.paused_until.isoformat()
                )
            )
        raise UserError(_("Use /pause until YYYY-MM-DD (for exams or illness), or /pause off."))
    return pause_until(ctx, parse_day(raw))


def pause_until(ctx: Context, until: date) -> Reply:
    """Pause check-ins until `until` (they restart that day)."""
    today = to_local(ctx.now, ctx.timezone).date()
    if until <= today:
        raise UserError(_("Pick a date after today, e.g. /pause until 2026-12-20."))
    if until > today + timedelta(days=MAX_PAUSE_DAYS):
        raise UserError(_("A pause can last up to a year. Pick an earlier date."))
    ctx.person.paused_until = until
    ctx.session.add(ctx.person)
    return Reply.say(
        _(
            "Check-ins paused until {date} (they restart that day). Missed check-ins "
            "won't count while you're paused. Good luck!"
        ).format(date=until.isoformat())
    )


def resume(ctx: Context) -> Reply:
    """Check-ins on again."""
    ctx.person.paused_until = None
    ctx.session.add(ctx.person)
    return Reply.say(_("Welcome back! Check-ins are on again."))


@allow(STUDENT)
def cmd_resume(ctx: Context) -> Reply:
    """`/resume`: check-ins on again."""
    require_role(ctx.person, STUDENT)
    return resume(ctx)


FEATURE = Feature(
    name="pause",
    summary=N_("Pausing check-ins during exams or illness"),
    commands=(
        Command(
            "pause",
            N_("pause check-ins (exams, illness); /pause off to resume"),
            cmd_pause,
            args=(
                Arg(
                    "until", ArgKind.TEXT, N_("until YYYY-MM-DD, or 'off' to resume"), optional=True
                ),
            ),
            example="/pause until 2026-12-20",
        ),
        Command("resume", N_("check-ins on again after a pause"), cmd_resume),
    ),
)
