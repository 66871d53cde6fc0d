"""Command, action, form and text handlers: thin glue from an Inbound to the services."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlmodel import col, func, select

from bot.auth import (
    EVERYONE,
    STAFF,
    allow,
    audit_reads,
    authorize,
    group_ids_visible_to,
    require_group,
    require_role,
    require_view,
)
from bot.core import Context, Handler
from bot.errors import NotAllowed, UserError
from bot.localtime import parse_date, to_local
from bot.model import Attachment, Choice, Field, Message, Reply
from bot.people import ADMIN, MENTOR, STUDENT, person_by_email
from bot.services import alerts as alert_service
from bot.services import checkins as checkin_service
from bot.services import goals as goal_service
from bot.services import groups as group_service
from bot.services import mood as mood_service
from bot.services import pairing as pairing_service
from bot.services import privacy, workshop_chat, workshop_messages
from bot.services import prompts as prompt_service
from bot.services import resources as resource_service
from bot.services import schedules as schedule_service
from bot.services import workshops as workshop_service
from bot.services.caseload import caseload, render_caseload
from bot.services.cohort import cohort_mood_summary, render_cohort
from bot.services.escalation import evaluate_mood, request_help
from bot.services.export import export_json
from bot.services.home import home_sections
from storage.tables import Group, MentorNote, Person, StudentMessage

# A cohort report covers the same two weeks as a student's own mood trend.
COHORT_DAYS = 14
MAX_NOTES_SHOWN = 20

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
    ("/mydata", "see, export or delete your data"),
    ("/workshop", "upcoming workshops of your groups, with Going / Not going buttons"),
)
MENTOR_HELP = (
    ("/mentees", "your students: last check-in, mood trend, alerts, goals"),
    ("/alerts", "open alerts you can acknowledge"),
    ("/note EMAIL TEXT", "a confidential note only the student's mentors can read"),
    ("/notes EMAIL", "read the notes about one of your students"),
    ("/cohort [GROUP]", "average mood of your groups (hidden below 5 students)"),
    ("/resources [words]", "search the resource library"),
    (
        "/workshop add|cancel|move|attend|report",
        'workshops of your groups, e.g. /workshop add "Exam stress" 2026-12-01 16:00 '
        "Europe/London 60 cap 12 LINK; /workshop alone lists them",
    ),
    ("/group list|members|bind|add", "your groups, their members and channel"),
    (
        "/prompt add GROUP DAYS HH:MM TEXT",
        "a recurring question in the group's channel, e.g. /prompt add Study skills fri 15:00 "
        "Share one win from this week; also list, remove ID",
    ),
    (
        "/pairing on|off|run|report GROUP",
        "peer pairing rounds, e.g. /pairing on Study skills every 2 weeks",
    ),
)


def _words(ctx: Context) -> list[str]:
    return ctx.inbound.text.split()


def _arg(ctx: Context, name: str) -> str:
    value = ctx.inbound.args.get(name)
    if value is None:
        raise UserError("That button is missing something. Please try again from a new message.")
    return value


# ---------------------------------------------------------------- commands


@allow(*EVERYONE)
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


@allow(STUDENT)
def cmd_checkin(ctx: Context) -> Reply:
    """Start (or re-show) a check-in."""
    require_role(ctx.person, STUDENT)
    checkin = checkin_service.start_adhoc(ctx.session, ctx.person, ctx.now)
    return Reply(messages=(checkin_service.render_checkin(checkin, ctx.person),))


@allow(STUDENT)
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


@allow(STUDENT)
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


@allow(*EVERYONE)
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


@allow(STUDENT)
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


@allow(STUDENT)
def cmd_resume(ctx: Context) -> Reply:
    """Resume check-ins."""
    ctx.inbound = replace(ctx.inbound, kind="command", name="pause", text="off", args={})
    return cmd_pause(ctx)


@allow(*STAFF)
def cmd_mentees(ctx: Context) -> Reply:
    """A mentor's caseload."""
    require_role(ctx.person, MENTOR, ADMIN)
    lines = caseload(ctx.session, ctx.person, ctx.now, ctx.settings.default_timezone)
    return Reply(messages=(render_caseload(lines, ctx.timezone),))


@allow(*STAFF)
def cmd_alerts(ctx: Context) -> Reply:
    """Open alerts the mentor can act on."""
    require_role(ctx.person, MENTOR, ADMIN)
    rows = alert_service.open_alerts_for(ctx.session, ctx.person)
    if not rows:
        return Reply.say("No open alerts. 🎉")
    shown = rows[:10]
    audit_reads(ctx.session, ctx.person, (student for _, student in shown), ctx.now, "view.alerts")
    messages = tuple(
        alert_service.render_alert(alert, student, ctx.person) for alert, student in shown
    )
    return Reply(messages=(Message(text=f"{len(rows)} open alert(s):"), *messages))


@allow(*EVERYONE)
def cmd_mydata(ctx: Context) -> Reply:
    """See or export your own data."""
    words = _words(ctx)
    sub = words[0].lower() if words else ""
    if sub == "export":
        # Self-service export leaves mentor notes out (see EXPORT_NOTICE); the staff export
        # (`mentorbot export`) includes them after a safeguarding review.
        data = export_json(ctx.session, ctx.person)
        return Reply(
            messages=(
                Message(
                    text="Here is everything the programme bot stores about you. "
                    "Notes your mentor wrote about you are not in it; you can ask your "
                    "programme lead for them.",
                    attachment=Attachment(filename="mentorbot-my-data.json", content=data),
                ),
            )
        )
    if sub == "delete":
        return _delete_prompt(ctx)
    choices = [Choice("Export my data", "mydata.export")]
    if ctx.person.role == STUDENT:
        choices.append(Choice("Delete my data", "mydata.delete", style="danger"))
    return Reply(
        messages=(
            Message(
                title="Your data",
                text="I store your check-ins, moods, goals and anything you write to me. "
                "Your mentor and programme staff can see it; nobody else can. I'm a bot, "
                "so I can't promise to keep things secret: if you might be in danger, your "
                "mentor is told so they can help. Your notes are encrypted when stored, and "
                f"free text is deleted after {ctx.settings.retention_days} days.",
                choices=tuple(choices),
            ),
        )
    )


def _delete_prompt(ctx: Context) -> Reply:
    if ctx.person.role != STUDENT:
        # Staff records belong to the roster; the programme lead removes them.
        raise NotAllowed("Staff accounts are removed by the programme lead: please ask them.")
    if privacy.open_crisis_alert(ctx.session, ctx.person) is not None:
        # Safeguarding first: erasing now would take the student's name off an alert that
        # nobody has answered yet.
        raise UserError(
            "I can't delete your data while your mentor hasn't yet responded to an urgent "
            "message you sent. Once they have, you can delete it; your programme lead can "
            "help too."
        )
    assert ctx.person.id is not None
    token = privacy.deletion_token(ctx.person.id, ctx.now)
    return Reply(
        messages=(
            Message(
                title="Delete your data?",
                text="This permanently deletes your check-ins, moods, goals, messages and your "
                "mentor's notes about you, and removes you from the programme bot. It can't "
                "be undone. A record that alerts were raised stays, with nothing that "
                "identifies you. Want a copy first? Type /mydata export.\n"
                f"The button below works for {privacy.CONFIRM_MINUTES} minutes.",
                choices=(
                    Choice(
                        "Yes, delete everything",
                        "mydata.delete.confirm",
                        (("token", token),),
                        style="danger",
                    ),
                    Choice("Cancel", "mydata.delete.cancel"),
                ),
            ),
        )
    )


@allow(*STAFF)
def cmd_notes(ctx: Context) -> Reply:
    """`/notes EMAIL`: the notes about a student, for their mentors and admins (audited)."""
    words = _words(ctx)
    if len(words) != 1:
        raise UserError("Use /notes EMAIL, e.g. /notes sam@example.edu")
    student = _student(ctx, words[0])
    require_view(ctx.session, ctx.person, student, ctx.now, "notes.read")
    notes = ctx.session.exec(
        select(MentorNote, Person)
        .join(Person, col(Person.id) == MentorNote.author_id)
        .where(MentorNote.student_id == student.id)
        .order_by(col(MentorNote.created_at).desc(), col(MentorNote.id).desc())
        .limit(MAX_NOTES_SHOWN)
    ).all()
    if not notes:
        return Reply.say(f"No notes about {student.name} yet. Add one with /note EMAIL TEXT.")
    return Reply(
        messages=(
            Message(
                title=f"Notes about {student.name}",
                text="Confidential: only this student's mentors and programme staff can read "
                "these. Newest first.",
                fields=tuple(
                    Field(
                        f"{to_local(note.created_at, ctx.timezone).strftime('%d %b %Y %H:%M')} "
                        f"· {author.name}",
                        note.text,
                    )
                    for note, author in notes
                ),
            ),
        )
    )


@allow(*STAFF)
def cmd_cohort(ctx: Context) -> Reply:
    """`/cohort [GROUP]`: average mood per group over 14 days, hidden below 5 students."""
    name = ctx.inbound.text.strip()
    since = ctx.now - timedelta(days=COHORT_DAYS)
    visible = group_ids_visible_to(ctx.session, ctx.person)
    if name:
        group = ctx.session.exec(
            select(Group).where(func.lower(Group.name) == name.lower())
        ).first()
        if group is None or group.id is None:
            raise UserError(f"I can't find a group '{name}'.")
        require_group(ctx.session, ctx.person, group.id, ctx.now, "view.cohort")
        summaries = [cohort_mood_summary(ctx.session, group.id, since)]
    else:
        query = select(Group).order_by(col(Group.name))
        if visible is not None:
            query = query.where(col(Group.id).in_(visible))
        groups = ctx.session.exec(query).all()
        summaries = [cohort_mood_summary(ctx.session, None, since)] if visible is None else []
        for group in groups:
            assert group.id is not None
            require_group(ctx.session, ctx.person, group.id, ctx.now, "view.cohort")
            summaries.append(cohort_mood_summary(ctx.session, group.id, since))
        if not summaries:
            return Reply.say("You aren't in any group yet.")
    return Reply(messages=(render_cohort(summaries, COHORT_DAYS),))


def _student(ctx: Context, email: str) -> Person:
    student = person_by_email(ctx.session, email)
    if student is None or student.role != STUDENT or not student.active:
        raise UserError(f"I can't find a student '{email}'.")
    return student


@allow(*STAFF)
def cmd_note(ctx: Context) -> Reply:
    """A confidential note about a student, readable only by that student's mentors."""
    require_role(ctx.person, MENTOR, ADMIN)
    words = _words(ctx)
    if len(words) < 2:
        raise UserError("Use /note EMAIL TEXT, e.g. /note sam@example.edu talked about exams")
    student = _student(ctx, words[0])
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


@allow(ADMIN)
def cmd_schedule(ctx: Context) -> Reply:
    """Admins: list, add or remove check-in schedules (`/schedule add mon-fri 09:00`)."""
    require_role(ctx.person, ADMIN)
    today = to_local(ctx.now, ctx.settings.default_timezone).date()
    text = schedule_service.run_chat_command(
        ctx.session, _words(ctx), ctx.now, today, ctx.person.id
    )
    return Reply.say(text)


@allow(*EVERYONE)
def cmd_workshop(ctx: Context) -> Reply:
    """`/workshop`: members list and RSVP; the group's mentors add, cancel, move, report."""
    return workshop_chat.run_chat_command(
        ctx.session, ctx.settings, ctx.now, ctx.person, ctx.inbound.text
    )


@allow(*STAFF)
def cmd_group(ctx: Context) -> Reply:
    """`/group`: groups, members and the channel a group's workshop posts go to."""
    return Reply.say(group_service.run_chat_command(ctx.session, ctx.person, _words(ctx), ctx.now))


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
    "notes": cmd_notes,
    "cohort": cmd_cohort,
    "schedule": cmd_schedule,
    "workshop": cmd_workshop,
    "workshops": cmd_workshop,
    "group": cmd_group,
}

# ---------------------------------------------------------------- actions


def _turn_reply(turn: checkin_service.CheckinTurn) -> Reply:
    return Reply(update=turn.update, messages=(turn.next,) if turn.next else ())


@allow(STUDENT)
def act_checkin_mood(ctx: Context) -> Reply:
    """A mood button on a check-in."""
    return _turn_reply(
        checkin_service.answer_mood(
            ctx.session, ctx.settings, ctx.now, ctx.person, _arg(ctx, "checkin"), _arg(ctx, "score")
        )
    )


@allow(STUDENT)
def act_checkin_skip(ctx: Context) -> Reply:
    """Skip a check-in."""
    return _turn_reply(checkin_service.skip(ctx.session, ctx.now, ctx.person, _arg(ctx, "checkin")))


@allow(STUDENT)
def act_checkin_note_skip(ctx: Context) -> Reply:
    """No note for this check-in."""
    return _turn_reply(checkin_service.skip_note(ctx.session, ctx.person, _arg(ctx, "checkin")))


@allow(STUDENT)
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


@allow(STUDENT)
def act_mood_log(ctx: Context) -> Reply:
    """A mood button outside a check-in."""
    ctx.inbound = replace(
        ctx.inbound, kind="command", name="mood", text=_arg(ctx, "score"), args={}
    )
    return cmd_mood(ctx)


@allow(*STAFF)
def act_alert_ack(ctx: Context, *, follow_up: bool = False) -> Reply:
    """Acknowledge an alert (or promise to follow up); the message updates in place."""
    require_role(ctx.person, MENTOR, ADMIN)
    alert, student = alert_service.acknowledge(
        ctx.session, ctx.now, ctx.person, _arg(ctx, "alert"), follow_up=follow_up
    )
    assert alert.id is not None
    return Reply(
        update=alert_service.render_acted(alert, student, ctx.person),
        also_update=alert_service.posted_copies(ctx.session, alert.id),
    )


@allow(*STAFF)
def act_alert_followup(ctx: Context) -> Reply:
    """Say you'll follow up on an alert."""
    return act_alert_ack(ctx, follow_up=True)


@allow(STUDENT)
def act_help_request(ctx: Context) -> Reply:
    """The 'ask my mentor' button."""
    require_role(ctx.person, STUDENT)
    return _help_request(ctx, "")


@allow(*EVERYONE)
def act_mydata_export(ctx: Context) -> Reply:
    """The export button."""
    ctx.inbound = replace(ctx.inbound, kind="command", name="mydata", text="export", args={})
    return cmd_mydata(ctx)


@allow(STUDENT)
def act_mydata_delete(ctx: Context) -> Reply:
    """The 'Delete my data' button: asks for confirmation."""
    return _delete_prompt(ctx)


@allow(STUDENT)
def act_mydata_delete_confirm(ctx: Context) -> Reply:
    """Erase the student's data, if the button's token is theirs and still fresh."""
    assert ctx.person.id is not None
    privacy.check_deletion_token(_arg(ctx, "token"), ctx.person.id, ctx.now)
    if privacy.open_crisis_alert(ctx.session, ctx.person) is not None:
        raise UserError(
            "Your mentor hasn't yet responded to an urgent message, so I kept your data."
        )
    report = privacy.erase_person(
        ctx.session, ctx.person, ctx.now, actor_id=ctx.person.id, via="self-service"
    )
    return Reply(
        update=Message(title="Your data has been deleted", text=privacy.erasure_notice(report))
    )


@allow(STUDENT)
def act_mydata_delete_cancel(ctx: Context) -> Reply:
    """Keep everything."""
    return Reply(update=Message(text="Nothing was deleted."))


@allow(*EVERYONE)
def act_workshop_rsvp(ctx: Context) -> Reply:
    """Going / Not going on a workshop; answered privately (the button may be in a channel)."""
    result = workshop_service.rsvp(
        ctx.session, ctx.settings, ctx.now, ctx.person, _arg(ctx, "session"), _arg(ctx, "answer")
    )
    return Reply(messages=(workshop_service.rsvp_reply(ctx.settings, ctx.person, result),))


@allow(*EVERYONE)
def act_workshop_checkin(ctx: Context) -> Reply:
    """The "I'm here" button during a session."""
    workshop = workshop_service.check_in(ctx.session, ctx.now, ctx.person, _arg(ctx, "session"))
    return Reply.say(f"Thanks, you're checked in at “{workshop.title}”. Enjoy!")


@allow(*EVERYONE)
def act_workshop_feedback(ctx: Context) -> Reply:
    """A 1-5 rating after a session; the prompt is replaced by the thanks."""
    workshop, feedback = workshop_service.give_feedback(
        ctx.session, ctx.now, ctx.person, _arg(ctx, "session"), _arg(ctx, "rating")
    )
    return Reply(update=workshop_messages.feedback_thanks(workshop, feedback.rating))


@allow(*EVERYONE)
def act_workshop_feedback_skip(ctx: Context) -> Reply:
    """No comment after a rating."""
    workshop_service.skip_comment(ctx.session, ctx.person, _arg(ctx, "session"))
    return Reply(update=Message(text="Thanks for your feedback!"))


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
    "mydata.delete": act_mydata_delete,
    "mydata.delete.confirm": act_mydata_delete_confirm,
    "mydata.delete.cancel": act_mydata_delete_cancel,
    workshop_messages.RSVP_ACTION: act_workshop_rsvp,
    workshop_messages.CHECKIN_ACTION: act_workshop_checkin,
    workshop_messages.FEEDBACK_ACTION: act_workshop_feedback,
    workshop_messages.FEEDBACK_SKIP_ACTION: act_workshop_feedback_skip,
}

# ---------------------------------------------------------------- forms


@allow(STUDENT)
def form_goal_add(ctx: Context) -> Reply:
    """The add-goal form (Slack modal, Discord modal)."""
    require_role(ctx.person, STUDENT)
    return _goal_added(
        ctx, ctx.inbound.args.get("title", ""), (ctx.inbound.args.get("due") or "").strip() or None
    )


@allow(*STAFF)
def form_workshop_add(ctx: Context) -> Reply:
    """The add-workshop form: group, title, date, time, timezone, duration, capacity, ..."""
    return workshop_chat.run_form(ctx.session, ctx.settings, ctx.now, ctx.person, ctx.inbound.args)


FORMS: dict[str, Handler] = {"goal.add": form_goal_add, "workshop.add": form_workshop_add}

# ---------------------------------------------------------------- free text


@allow(*EVERYONE)
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
        authorize(ctx.person, handler, f"command {name}")
        return handler(ctx)
    if ctx.person.role != STUDENT:
        return Reply.say("Type /help to see what I can do for mentors.")
    assert ctx.person.id is not None
    checkin = checkin_service.open_checkin_of(ctx.session, ctx.person.id)
    if checkin is not None and checkin.step == checkin_service.STEP_NOTE:
        return _turn_reply(
            checkin_service.add_note(ctx.session, ctx.settings, ctx.person, checkin, text)
        )
    # A check-in note is awaited first; otherwise text right after a workshop rating is its
    # comment (screened for safety like everything else before it gets here).
    feedback = workshop_service.awaited_comment(ctx.session, ctx.person.id, ctx.now)
    if feedback is not None:
        workshop_service.add_comment(ctx.session, ctx.now, feedback, text)
        return Reply.say("Thanks, I've added that to your feedback. It's shown without your name.")
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


@allow(STUDENT)
def act_mood_menu(ctx: Context) -> Reply:
    """Show mood buttons."""
    return Reply(messages=(_mood_history(ctx),))


ACTIONS["mood.log.menu"] = act_mood_menu


@allow(*EVERYONE)
def act_home_show(ctx: Context) -> Reply:
    """The actor's home page (Slack App Home): one message per section, read-only."""
    return Reply(messages=home_sections(ctx.session, ctx.settings, ctx.now, ctx.person))


ACTIONS["home.show"] = act_home_show


# ---------------------------------------------------------------- group prompts, peer pairing


@allow(*STAFF)
def cmd_prompt(ctx: Context) -> Reply:
    """`/prompt add|list|remove`: recurring prompts in a group's channel (its mentors, admins)."""
    return Reply.say(
        prompt_service.run_chat_command(
            ctx.session, ctx.settings, ctx.person, ctx.inbound.text, ctx.now
        )
    )


@allow(*STAFF)
def cmd_pairing(ctx: Context) -> Reply:
    """`/pairing on|off|run|report GROUP`: peer pairing rounds (the group's mentors, admins)."""
    return Reply(
        messages=(
            pairing_service.run_chat_command(
                ctx.session, ctx.settings, ctx.person, ctx.inbound.text, ctx.now
            ),
        )
    )


@allow(STUDENT)
def act_pairing_met(ctx: Context) -> Reply:
    """The Yes / Not yet buttons of a pairing check-back; the message updates in place."""
    return Reply(
        update=pairing_service.record_answer(
            ctx.session, ctx.person, _arg(ctx, "member"), _arg(ctx, "met"), ctx.now
        )
    )


COMMANDS["prompt"] = cmd_prompt
COMMANDS["prompts"] = cmd_prompt
COMMANDS["pairing"] = cmd_pairing
ACTIONS[pairing_service.MET_ACTION] = act_pairing_met
