"""The goals feature.

Goals: add, list, progress, done, drop, milestones and ticks; the add-goal form; weekly
nudges and the stuck-goal alert.
"""

from __future__ import annotations

from bot.auth import allow, require_role
from bot.config import CoreSettings
from bot.i18n import N_, _
from bot.localtime import to_local
from bot.model import Reply
from bot.people import STUDENT
from bot.personal_data import PersonalData
from bot.registry import (
    Arg,
    ArgKind,
    Command,
    Context,
    Feature,
    Job,
    JobOutcome,
    Window,
    session_job,
)
from bot.services import goals as goal_service
from bot.services.nudges import flag_stuck_goals, send_goal_nudges
from storage.db import Database
from storage.tables import Goal, GoalUpdate, Milestone

GOAL_ID = Arg(
    "goal",
    ArgKind.ID,
    N_("The goal's number (see /goal list)"),
    invalid=N_("I can't find your goal '{raw}'. See your goals with /goal list."),
    shown="ID",
)


def _goal(ctx: Context) -> str:
    return str(ctx.args.need("goal", int))


@allow(STUDENT)
def cmd_goal_list(ctx: Context) -> Reply:
    """Your open goals with their progress and milestones."""
    require_role(ctx.person, STUDENT)
    return Reply(messages=(goal_service.render_goals(ctx.session, ctx.person),))


@allow(STUDENT)
def cmd_goal_add(ctx: Context) -> Reply:
    """`/goal add TITLE [by YYYY-MM-DD]`."""
    require_role(ctx.person, STUDENT)
    title, due = goal_service.parse_add(ctx.args.text("title"))
    return add_goal(ctx, title, due)


def add_goal(ctx: Context, title: str, due: str | None) -> Reply:
    """Create the goal and say so (the command and the form share this)."""
    today = to_local(ctx.now, ctx.timezone).date()
    goal = goal_service.add_goal(ctx.session, ctx.person, title, due, ctx.now, today)
    if goal.due_date:
        return Reply.say(
            _('New goal #{id}: "{title}", due {due}. I\'ll check in weekly.').format(
                id=goal.id, title=goal.title, due=goal.due_date.isoformat()
            )
        )
    return Reply.say(
        _('New goal #{id}: "{title}". I\'ll check in weekly.').format(id=goal.id, title=goal.title)
    )


@allow(STUDENT)
def cmd_goal_progress(ctx: Context) -> Reply:
    """`/goal progress ID 0-100`; 100 completes the goal."""
    require_role(ctx.person, STUDENT)
    goal = goal_service.set_progress(
        ctx.session, ctx.person, _goal(ctx), ctx.args.text("percent"), ctx.now
    )
    if goal.status == "done":
        return celebrate(goal.title)
    return Reply.say(
        _('"{title}" is now at {progress}%.').format(title=goal.title, progress=goal.progress)
    )


def celebrate(title: str) -> Reply:
    """The answer when a goal is complete, however it got there."""
    return Reply.say(_('🎉 Well done! "{title}" is complete.').format(title=title))


@allow(STUDENT)
def cmd_goal_done(ctx: Context) -> Reply:
    """`/goal done ID`."""
    require_role(ctx.person, STUDENT)
    goal = goal_service.complete(ctx.session, ctx.person, _goal(ctx), ctx.now)
    return celebrate(goal.title)


@allow(STUDENT)
def cmd_goal_drop(ctx: Context) -> Reply:
    """`/goal drop ID`: no more nudges about it."""
    require_role(ctx.person, STUDENT)
    goal = goal_service.drop(ctx.session, ctx.person, _goal(ctx), ctx.now)
    return Reply.say(_('Dropped "{title}". No more nudges about it.').format(title=goal.title))


@allow(STUDENT)
def cmd_goal_milestone(ctx: Context) -> Reply:
    """`/goal milestone ID TITLE`: a step towards a goal."""
    require_role(ctx.person, STUDENT)
    milestone = goal_service.add_milestone(
        ctx.session, ctx.person, _goal(ctx), ctx.args.text("title")
    )
    return Reply.say(_('Added milestone "{title}".').format(title=milestone.title))


@allow(STUDENT)
def cmd_goal_tick(ctx: Context) -> Reply:
    """`/goal tick ID N`: milestone N is done; the last one completes the goal."""
    require_role(ctx.person, STUDENT)
    goal = goal_service.milestone_done(
        ctx.session, ctx.person, _goal(ctx), str(ctx.args.need("milestone", int)), ctx.now
    )
    if goal.status == "done":
        return celebrate(goal.title)
    return Reply.say(
        _('Milestone done. "{title}" is at {progress}%.').format(
            title=goal.title, progress=goal.progress
        )
    )


@allow(STUDENT)
def form_goal_add(ctx: Context) -> Reply:
    """The add-goal form (Slack modal, Discord modal)."""
    require_role(ctx.person, STUDENT)
    args = ctx.inbound.args
    return add_goal(ctx, args.get("title", ""), (args.get("due") or "").strip() or None)


def nudge(db: Database, settings: CoreSettings, window: Window) -> JobOutcome:
    """Weekly and due-soon goal nudges."""
    with db.session() as session:
        return send_goal_nudges(session, settings, window.end)


FEATURE = Feature(
    name="goals",
    summary=N_("Goals with progress, milestones and weekly nudges"),
    commands=(
        Command(
            "goal",
            N_("your open goals and their progress"),
            cmd_goal_list,
            sub="list",
            default=True,
            other_names=("goals",),
        ),
        Command(
            "goal",
            N_("set a goal"),
            cmd_goal_add,
            sub="add",
            args=(Arg("title", ArgKind.TEXT, N_("The goal, optionally ending 'by YYYY-MM-DD'")),),
            example="/goal add Finish my essay by 2026-12-01",
        ),
        Command(
            "goal",
            N_("record progress on a goal (100 completes it)"),
            cmd_goal_progress,
            sub="progress",
            args=(GOAL_ID, Arg("percent", ArgKind.WORD, N_("0 to 100"))),
            example="/goal progress 3 50",
        ),
        Command(
            "goal",
            N_("mark a goal as done"),
            cmd_goal_done,
            sub="done",
            args=(GOAL_ID,),
            aliases=("complete",),
            example="/goal done 3",
        ),
        Command(
            "goal",
            N_("drop a goal: no more nudges"),
            cmd_goal_drop,
            sub="drop",
            args=(GOAL_ID,),
            example="/goal drop 3",
        ),
        Command(
            "goal",
            N_("add a step to a goal"),
            cmd_goal_milestone,
            sub="milestone",
            args=(GOAL_ID, Arg("title", ArgKind.TEXT, N_("The step"))),
            example="/goal milestone 3 Write the outline",
        ),
        Command(
            "goal",
            N_("tick off a goal's step"),
            cmd_goal_tick,
            sub="tick",
            args=(
                GOAL_ID,
                Arg(
                    "milestone",
                    ArgKind.INT,
                    N_("The step's number (see /goal list)"),
                    low=1,
                    high=1000,
                    invalid=N_("I can't find that milestone. Numbers are shown by /goal list."),
                ),
            ),
            example="/goal tick 3 1",
        ),
    ),
    forms={"goal.add": form_goal_add},
    jobs=(
        Job("send_goal_nudges", nudge),
        session_job("flag_stuck_goals", "stuck-goal alerts", flag_stuck_goals),
    ),
    personal_data=(
        # A goal's title is no free text (it stays while the goal is wanted) but erasure looks
        # for copies of it in messages sent about the person.
        PersonalData("goals", Goal, "person_id", quoted=("title",), export_as="goals"),
        PersonalData(
            "milestones", Milestone, "goal_id", through=(Goal, "person_id"), export_as="milestones"
        ),
        PersonalData(
            "goal updates",
            GoalUpdate,
            "goal_id",
            through=(Goal, "person_id"),
            free_text=("note",),
            dated_by="created_at",
            export_as="goal_updates",
        ),
    ),
)
