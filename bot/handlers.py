"""Command, action, form and text handlers: thin glue from an Inbound to the services."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.auth import require_role, require_view
from bot.core import Context, Handler
from bot.errors import UserError
from bot.localtime import parse_date, to_local
from bot.model import Attachment, Choice, Field, Message, Reply
from bot.people import ADMIN, MENTOR, STUDENT, person_by_email
from bot.services import alerts as alert_service
from bot.services import checkins as checkin_service
from bot.services import goals as goal_service
from bot.services import mood as mood_service
from bot.services import resources as resource_service
from bot.services.caseload import caseload, render_caseload
from bot.services.escalation import evaluate_mood, request_help
from bot.services.export import export_json
from storage.tables import MentorNote, StudentMessage

STUDENT_HELP = (
    ("/checkin", "start a check-in now"),
    ("/mood 1-5 [note]", "log how you feel; /mood alone shows your 14-day trend"),
    (
        "/goal add TITLE [by YYYY-MM-DD]",
        "set a goal; also list, progress ID 0-100, done ID, drop ID",
    ),
    ("/resources [words]", "find help: study skills, stress, money, health"),
    ("/help MESSAGE", "ask your mentor to get in touch"),
    ("/pause until YYYY-MM-DD", "pause check-ins (exams, illness); /pause off to resume"),
    ("/mydata", "see or export your data"),
)
MENTOR_HELP = (
    ("/mentees", "your students: last check-in, mood trend, alerts, goals"),
    ("/alerts", "open alerts you can acknowledge"),
    ("/note EMAIL TEXT", "a confidential note only the student's mentors can read"),
    ("/resources [words]", "search the resource library"),
)


def _words(ctx: Context) -> list[str]:
    return ctx.inbound.text.split()


def _arg(ctx: Context, name: str) -> str:
    value = ctx.inbound.args.get(name)
    if value is None:
        raise UserError("That button is missing something. Please try again from a new message.")
    return value


# ---------------------------------------------------------------- commands


def cmd_help(ctx: Context) -> Reply:
    """Show what the actor can do; a student's `/help MESSAGE` asks their mentor for help."""
    text = ctx.inbound.text.strip()
    if ctx.person.role == STUDENT and text:
        return _help_request(ctx, text)
    rows = STUDENT_HELP if ctx.person.role == STUDENT else MENTOR_HELP
    choices: tuple[Choice, ...] = ()
    if ctx.person.role == STUDENT:
        choices = (Choice("Ask my mentor to get in touch", "help.request", style="primary"),)
    return Reply(
        messages=(
            Message(
                title="What I can do",
                text="Here's what you can ask me:",
                fields=tuple(Field(cmd, what) for cmd, what in rows),
                choices=choices,
            ),
        )
    )


def _help_request(ctx: Context, text: str) -> Reply:
    if not ctx.settings.escalation.help_requests:
        raise UserError("Please contact your mentor directly.")
    request_help(ctx.session, ctx.settings, ctx.now, ctx.person, text)
    return Reply.say(
        "I've asked your mentor to get in touch with you. If it's urgent or you feel unsafe, "
        "please contact emergency services or a crisis line now (type /resources crisis)."
    )


def cmd_checkin(ctx: Context) -> Reply:
    """Start (or re-show) a check-in."""
    require_role(ctx.person, STUDENT)
    checkin = checkin_service.start_adhoc(ctx.session, ctx.person, ctx.now)
    return Reply(messages=(checkin_service.render_checkin(checkin, ctx.person),))


def cmd_mood(ctx: Context) -> Reply:
    """`/mood 1-5 [note]` logs a mood; `/mood` alone shows history and the 14-day trend."""
    require_role(ctx.person, STUDENT)
    words = _words(ctx)
    score_raw = ctx.inbound.args.get("score") or (words[0] if words else "")
    note = ctx.inbound.args.get("note") or " ".join(words[1:])
    if not score_raw:
        return Reply(messages=(_mood_history(ctx),))
    score = mood_service.parse_score(score_raw)
    entry = mood_service.log_mood(ctx.session, ctx.person, score, note.strip() or None, ctx.now)
    evaluate_mood(ctx.session, ctx.settings, ctx.now, ctx.person, entry)
    low = score <= ctx.settings.escalation.low_mood_threshold
    links = resource_service.as_links(
        resource_service.suggest(ctx.session, note, low, ctx.settings.resource_suggestions)
    )
    spark = mood_service.trend(ctx.session, ctx.person, ctx.now, ctx.timezone)
    text = f"Logged your mood: {mood_service.MOOD_FACES[score]} {score}/5."
    if low:
        text += " I'm sorry it's a hard day. Your mentor will see this and can check in."
    if links:
        text += "\nThese might help:"
    return Reply(
        messages=(Message(text=text, fields=(Field("Last 14 days", spark),), links=links),)
    )


def _mood_history(ctx: Context) -> Message:
    assert ctx.person.id is not None
    entries = mood_service.entries_since(ctx.session, ctx.person.id, ctx.now - timedelta(days=14))
    spark = mood_service.trend(ctx.session, ctx.person, ctx.now, ctx.timezone)
    lines = [
        f"{to_local(e.recorded_at, ctx.timezone).strftime('%a %d %b %H:%M')}: "
        f"{mood_service.MOOD_FACES[e.score]} {e.score}/5" + (f" ({e.note})" if e.note else "")
        for e in entries[-10:]
    ]
    return Message(
        title="Your mood",
        text="\n".join(lines) if lines else "No moods logged in the last 14 days. Try /mood 4",
        fields=(Field("Last 14 days", spark),),
        choices=tuple(
            Choice(f"{mood_service.MOOD_FACES[s]} {s}", "mood.log", (("score", str(s)),))
            for s in range(1, 6)
        ),
    )


def cmd_goal(ctx: Context) -> Reply:
    """Goals: add, list, progress, done, drop, milestone, tick."""
    require_role(ctx.person, STUDENT)
    words = _words(ctx)
    sub = words[0].lower() if words else "list"
    rest = words[1:]
    if sub == "list":
        return Reply(messages=(goal_service.render_goals(ctx.session, ctx.person),))
    if sub == "add":
        title, due = goal_service.parse_add(" ".join(rest))
        return _goal_added(ctx, title, due)
    if sub == "progress":
        if len(rest) != 2:
            raise UserError("Use /goal progress ID 0-100, for example: /goal progress 3 50")
        goal = goal_service.set_progress(ctx.session, ctx.person, rest[0], rest[1], ctx.now)
        return Reply.say(f'"{goal.title}" is now at {goal.progress}%.')
    if sub in ("done", "complete"):
        if len(rest) != 1:
            raise UserError("Use /goal done ID. Your goal ids are in /goal list.")
        goal = goal_service.complete(ctx.session, ctx.person, rest[0], ctx.now)
        return Reply.say(f'🎉 Well done! "{goal.title}" is complete.')
    if sub == "drop":
        if len(rest) != 1:
            raise UserError("Use /goal drop ID. Your goal ids are in /goal list.")
        goal = goal_service.drop(ctx.session, ctx.person, rest[0], ctx.now)
        return Reply.say(f'Dropped "{goal.title}". No more nudges about it.')
    if sub == "milestone":
        if len(rest) < 2:
            raise UserError(
                "Use /goal milestone ID TITLE, e.g. /goal milestone 3 Write the outline"
            )
        milestone = goal_service.add_milestone(ctx.session, ctx.person, rest[0], " ".join(rest[1:]))
        return Reply.say(f'Added milestone "{milestone.title}".')
    if sub == "tick":
        if len(rest) != 2:
            raise UserError("Use /goal tick GOAL_ID MILESTONE_NUMBER, e.g. /goal tick 3 1")
        goal = goal_service.milestone_done(ctx.session, ctx.person, rest[0], rest[1], ctx.now)
        return Reply.say(f'Milestone done. "{goal.title}" is at {goal.progress}%.')
    raise UserError(
        f"I don't know '/goal {sub}'. Try /goal add, list, progress, done, drop, milestone or tick."
    )


def _goal_added(ctx: Context, title: str, due: str | None) -> Reply:
    today = to_local(ctx.now, ctx.timezone).date()
    goal = goal_service.add_goal(ctx.session, ctx.person, title, due, ctx.now, today)
    due_text = f", due {goal.due_date.isoformat()}" if goal.due_date else ""
    return Reply.say(f'New goal #{goal.id}: "{goal.title}"{due_text}. I\'ll check in weekly.')


def cmd_resources(ctx: Context) -> Reply:
    """Search the resource library."""
    query = ctx.inbound.args.get("words") or ctx.inbound.text
    found = resource_service.search(ctx.session, query, limit=8)
    if not found:
        return Reply.say(
            f"I found nothing for '{query.strip()}'. Try other words, or /resources for everything."
        )
    heading = f"Resources for '{query.strip()}':" if query.strip() else "The resource library:"
    return Reply(messages=(Message(text=heading, links=resource_service.as_links(found)),))


def cmd_pause(ctx: Context) -> Reply:
    """Pause check-ins until a date, or resume them."""
    require_role(ctx.person, STUDENT)
    words = [w for w in _words(ctx) if w.lower() != "until"]
    raw = ctx.inbound.args.get("until") or (words[0] if words else "")
    if raw.lower() in ("off", "resume", "stop", "end"):
        ctx.person.paused_until = None
        ctx.session.add(ctx.person)
        return Reply.say("Welcome back! Check-ins are on again.")
    if not raw:
        if ctx.person.paused_until:
            return Reply.say(
                f"Check-ins are paused until {ctx.person.paused_until.isoformat()}. "
                "Type /pause off to resume now."
            )
        raise UserError("Use /pause until YYYY-MM-DD (for exams or illness), or /pause off.")
    until = parse_date(raw)
    today = to_local(ctx.now, ctx.timezone).date()
    if until <= today:
        raise UserError("Pick a date after today, e.g. /pause until 2026-12-20.")
    if until > today + timedelta(days=366):
        raise UserError("A pause can last up to a year. Pick an earlier date.")
    ctx.person.paused_until = until
    ctx.session.add(ctx.person)
    return Reply.say(
        f"Check-ins paused until {until.isoformat()} (they restart that day). Missed check-ins "
        "won't count while you're paused. Good luck!"
    )


def cmd_resume(ctx: Context) -> Reply:
    """Resume check-ins."""
    ctx.inbound = replace(ctx.inbound, kind="command", name="pause", text="off", args={})
    return cmd_pause(ctx)


def cmd_mentees(ctx: Context) -> Reply:
    """A mentor's caseload."""
    require_role(ctx.person, MENTOR, ADMIN)
    lines = caseload(ctx.session, ctx.person, ctx.now, ctx.settings.default_timezone)
    return Reply(messages=(render_caseload(lines, ctx.timezone),))


def cmd_alerts(ctx: Context) -> Reply:
    """Open alerts the mentor can act on."""
    require_role(ctx.person, MENTOR, ADMIN)
    rows = alert_service.open_alerts_for(ctx.session, ctx.person)
    if not rows:
        return Reply.say("No open alerts. 🎉")
    messages = tuple(
        alert_service.render_alert(alert, student, ctx.person) for alert, student in rows[:10]
    )
    return Reply(messages=(Message(text=f"{len(rows)} open alert(s):"), *messages))


def cmd_mydata(ctx: Context) -> Reply:
    """See or export your own data."""
    words = _words(ctx)
    sub = words[0].lower() if words else ""
    if sub == "export":
        data = export_json(ctx.session, ctx.person)
        return Reply(
            messages=(
                Message(
                    text="Here is everything the programme bot stores about you.",
                    attachment=Attachment(filename="mentorbot-my-data.json", content=data),
                ),
            )
        )
    if sub == "delete":
        raise UserError(
            "To delete your data, please ask your programme lead for now; "
            "self-service deletion is coming."
        )
    return Reply(
        messages=(
            Message(
                title="Your data",
                text="I store your check-ins, moods, goals and anything you write to me. "
                "Your mentor and programme staff can see it; nobody else can.",
                choices=(Choice("Export my data", "mydata.export"),),
            ),
        )
    )


def cmd_note(ctx: Context) -> Reply:
    """A confidential note about a student, readable only by that student's mentors."""
    require_role(ctx.person, MENTOR, ADMIN)
    words = _words(ctx)
    if len(words) < 2:
        raise UserError("Use /note EMAIL TEXT, e.g. /note sam@example.edu talked about exams")
    student = person_by_email(ctx.session, words[0])
    if student is None or student.role != STUDENT:
        raise UserError(f"I can't find a student '{words[0]}'.")
    require_view(ctx.session, ctx.person, student, ctx.now, "note.add")
    assert student.id is not None and ctx.person.id is not None
    ctx.session.add(
        MentorNote(
            student_id=student.id,
            author_id=ctx.person.id,
            text=" ".join(words[1:]),
            created_at=ctx.now,
        )
    )
    return Reply.say(f"Note saved for {student.name}. Only their mentors can read it.")


COMMANDS: dict[str, Handler] = {
    "help": cmd_help,
    "start": cmd_help,
    "checkin": cmd_checkin,
    "mood": cmd_mood,
    "goal": cmd_goal,
    "goals": cmd_goal,
    "resources": cmd_resources,
    "pause": cmd_pause,
    "resume": cmd_resume,
    "mentees": cmd_mentees,
    "alerts": cmd_alerts,
    "mydata": cmd_mydata,
    "note": cmd_note,
}

# ---------------------------------------------------------------- actions


def _turn_reply(turn: checkin_service.CheckinTurn) -> Reply:
    return Reply(update=turn.update, messages=(turn.next,) if turn.next else ())


def act_checkin_mood(ctx: Context) -> Reply:
    """A mood button on a check-in."""
    return _turn_reply(
        checkin_service.answer_mood(
            ctx.session, ctx.settings, ctx.now, ctx.person, _arg(ctx, "checkin"), _arg(ctx, "score")
        )
    )


def act_checkin_skip(ctx: Context) -> Reply:
    """Skip a check-in."""
    return _turn_reply(checkin_service.skip(ctx.session, ctx.now, ctx.person, _arg(ctx, "checkin")))


def act_checkin_note_skip(ctx: Context) -> Reply:
    """No note for this check-in."""
    return _turn_reply(checkin_service.skip_note(ctx.session, ctx.person, _arg(ctx, "checkin")))


def act_checkin_goal(ctx: Context) -> Reply:
    """Goal progress from a check-in."""
    return _turn_reply(
        checkin_service.answer_goal(
            ctx.session,
            ctx.now,
            ctx.person,
            _arg(ctx, "checkin"),
            _arg(ctx, "goal"),
            _arg(ctx, "progress"),
        )
    )


def act_mood_log(ctx: Context) -> Reply:
    """A mood button outside a check-in."""
    ctx.inbound = replace(
        ctx.inbound, kind="command", name="mood", text=_arg(ctx, "score"), args={}
    )
    return cmd_mood(ctx)


def act_alert_ack(ctx: Context, *, follow_up: bool = False) -> Reply:
    """Acknowledge an alert (or promise to follow up); the message updates in place."""
    require_role(ctx.person, MENTOR, ADMIN)
    alert, student = alert_service.acknowledge(
        ctx.session, ctx.now, ctx.person, _arg(ctx, "alert"), follow_up=follow_up
    )
    return Reply(update=alert_service.render_acted(alert, student, ctx.person))


def act_alert_followup(ctx: Context) -> Reply:
    """Say you'll follow up on an alert."""
    return act_alert_ack(ctx, follow_up=True)


def act_help_request(ctx: Context) -> Reply:
    """The 'ask my mentor' button."""
    require_role(ctx.person, STUDENT)
    return _help_request(ctx, "")


def act_mydata_export(ctx: Context) -> Reply:
    """The export button."""
    ctx.inbound = replace(ctx.inbound, kind="command", name="mydata", text="export", args={})
    return cmd_mydata(ctx)


ACTIONS: dict[str, Handler] = {
    "checkin.mood": act_checkin_mood,
    "checkin.skip": act_checkin_skip,
    "checkin.note_skip": act_checkin_note_skip,
    "checkin.goal": act_checkin_goal,
    "mood.log": act_mood_log,
    "alert.ack": act_alert_ack,
    "alert.followup": act_alert_followup,
    "help.request": act_help_request,
    "mydata.export": act_mydata_export,
}

# ---------------------------------------------------------------- forms


def form_goal_add(ctx: Context) -> Reply:
    """The add-goal form (Slack modal, Discord modal)."""
    require_role(ctx.person, STUDENT)
    return _goal_added(
        ctx, ctx.inbound.args.get("title", ""), (ctx.inbound.args.get("due") or "").strip() or None
    )


FORMS: dict[str, Handler] = {"goal.add": form_goal_add}

# ---------------------------------------------------------------- free text


def handle_text(ctx: Context) -> Reply:
    """Free text: a check-in note when one is awaited; otherwise kept and answered."""
    text = ctx.inbound.text.strip()
    if not text:
        return Reply()
    if text.startswith("/"):
        name, _, rest = text[1:].partition(" ")
        ctx.inbound = replace(ctx.inbound, kind="command", name=name, text=rest, args={})
        handler = COMMANDS.get(name.lower())
        if handler is None:
            raise UserError(f"I don't know the command '/{name}'. Type /help to see what I can do.")
        return handler(ctx)
    if ctx.person.role != STUDENT:
        return Reply.say("Type /help to see what I can do for mentors.")
    assert ctx.person.id is not None
    checkin = checkin_service.open_checkin_of(ctx.session, ctx.person.id)
    if checkin is not None and checkin.step == checkin_service.STEP_NOTE:
        return _turn_reply(
            checkin_service.add_note(ctx.session, ctx.settings, ctx.person, checkin, text)
        )
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
                text="Thanks, I've kept your message. If you'd like your mentor to get in touch, "
                "press the button or type /help with a message.",
                links=links,
                choices=(
                    Choice("Ask my mentor to get in touch", "help.request", style="primary"),
                    Choice("Log my mood", "mood.log.menu"),
                ),
            ),
        )
    )


def act_mood_menu(ctx: Context) -> Reply:
    """Show mood buttons."""
    return Reply(messages=(_mood_history(ctx),))


ACTIONS["mood.log.menu"] = act_mood_menu
