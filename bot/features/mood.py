"""The mood feature.

Mood: `/mood 1-5 [note]` logs how a student feels, `/mood` alone shows the 14-day trend,
and the mood buttons outside a check-in do the same.
"""

from __future__ import annotations

from datetime import timedelta

from bot.auth import allow, require_role
from bot.i18n import N_, _
from bot.i18n.dates import DAY_TIME, local_format
from bot.localtime import to_local
from bot.model import Choice, Message, Reply
from bot.people import STUDENT
from bot.personal_data import PersonalData
from bot.registry import Arg, ArgKind, Command, Context, Feature
from bot.services import alerts as alert_service
from bot.services import mood as mood_service
from bot.services import resources as resource_service
from bot.services.escalation import evaluate_mood
from storage.tables import MoodEntry

TREND_DAYS = 14


@allow(STUDENT)
def cmd_mood(ctx: Context) -> Reply:
    """`/mood 1-5 [note]` logs a mood; `/mood` alone shows history and the 14-day trend."""
    require_role(ctx.person, STUDENT)
    score = ctx.args.get("score", int)
    if score is None:
        return Reply(messages=(mood_history(ctx),))
    return log_mood(ctx, score, ctx.args.text("note"))


def log_mood(ctx: Context, score: int, note: str) -> Reply:
    """Store a mood, tell the mentor when it is low, and answer with the trend."""
    entry = mood_service.log_mood(ctx.session, ctx.person, score, note.strip() or None, ctx.now)
    evaluate_mood(ctx.session, ctx.settings, ctx.now, ctx.person, entry)
    low = score <= ctx.settings.escalation.low_mood_threshold
    links = resource_service.as_links(
        resource_service.suggest(ctx.session, note, low, ctx.settings.resource_suggestions)
    )
    trend = mood_service.trend_with_words(ctx.session, ctx.person, ctx.now, ctx.timezone)
    text = _("Logged your mood: {face} {score}/5.").format(
        face=mood_service.MOOD_FACES[score], score=score
    )
    if low:
        told = alert_service.who_is_told(ctx.session, ctx.person)
        text += " " + _("I'm sorry it's a hard day. {who} will see this and can check in.").format(
            who=told.capitalize()
        )
    if links:
        text += "\n" + _("These might help:")
    return Reply(messages=(Message(text=text, fields=trend.as_fields(), links=links),))


def mood_history(ctx: Context) -> Message:
    """The last moods, the 14-day sparkline and buttons to log one."""
    assert ctx.person.id is not None
    since = ctx.now - timedelta(days=TREND_DAYS)
    entries = mood_service.entries_since(ctx.session, ctx.person.id, since)
    trend = mood_service.trend_with_words(ctx.session, ctx.person, ctx.now, ctx.timezone)
    lines = [
        f"{local_format(to_local(e.recorded_at, ctx.timezone), DAY_TIME)}: "
        f"{mood_service.MOOD_FACES[e.score]} {e.score}/5" + (f" ({e.note})" if e.note else "")
        for e in entries[-10:]
    ]
    return Message(
        title=_("Your mood"),
        text="\n".join(lines) if lines else _("No moods logged in the last 14 days. Try /mood 4"),
        fields=trend.as_fields(),
        choices=tuple(
            Choice(f"{mood_service.MOOD_FACES[s]} {s}", "mood.log", (("score", str(s)),))
            for s in range(1, 6)
        ),
    )


@allow(STUDENT)
def act_mood_log(ctx: Context) -> Reply:
    """A mood button outside a check-in."""
    require_role(ctx.person, STUDENT)
    score = mood_service.parse_score(ctx.button("score"))
    return log_mood(ctx, score, "")


@allow(STUDENT)
def act_mood_menu(ctx: Context) -> Reply:
    """Show mood buttons."""
    return Reply(messages=(mood_history(ctx),))


FEATURE = Feature(
    name="mood",
    summary=N_("Logging moods and the 14-day trend"),
    commands=(
        Command(
            "mood",
            N_("log how you feel; /mood alone shows your 14-day trend"),
            cmd_mood,
            args=(
                Arg(
                    "score",
                    ArgKind.INT,
                    N_("1 is awful, 5 is great"),
                    optional=True,
                    low=1,
                    high=5,
                    # The same words as mood_service.SCORE_HELP, in one sentence to translate.
                    invalid=N_(
                        "'{raw}' isn't a mood score. Mood is a whole number from 1 (awful) to "
                        "5 (great), for example: /mood 3 tired but ok"
                    ),
                ),
                Arg("note", ArgKind.TEXT, N_("Anything to add (optional)"), optional=True),
            ),
            example="/mood 4 good day",
        ),
    ),
    actions={"mood.log": act_mood_log, "mood.log.menu": act_mood_menu},
    personal_data=(
        PersonalData(
            "moods",
            MoodEntry,
            "person_id",
            free_text=("note",),
            dated_by="recorded_at",
            export_as="moods",
        ),
    ),
)
