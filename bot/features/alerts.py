"""The alerts feature.

Alerts: a mentor's open alerts, acknowledging, following up and resolving them (by button,
form or command), and the jobs that re-escalate unanswered ones and remind promised follow-ups.
"""

from __future__ import annotations

from bot.auth import STAFF, allow, audit_reads, require_role
from bot.config import CoreSettings
from bot.i18n import N_, _, ngettext
from bot.model import Message, Reply
from bot.people import ADMIN, MENTOR
from bot.personal_data import Erase, PersonalData
from bot.registry import Arg, ArgKind, Command, Context, Count, Feature, Job, JobOutcome, Window
from bot.services import alert_lifecycle
from bot.services import alerts as alert_service
from bot.services.reescalation import reescalate_due_alerts
from storage.db import Database
from storage.tables import Alert, AlertEvent

MAX_SHOWN = 10
ALERT_ID = Arg(
    "alert",
    ArgKind.ID,
    N_("The alert's number (see /alerts)"),
    invalid=N_("'{raw}' isn't an alert number. The numbers are in /alerts."),
    shown="ID",
)


def show_transition(transition: alert_lifecycle.Transition) -> Reply:
    """Show the alert's new state in place, and in every other delivered copy of it."""
    return Reply(update=transition.update, also_update=transition.copies)


@allow(*STAFF)
def cmd_alerts(ctx: Context) -> Reply:
    """`/alerts`: the unresolved alerts the actor may act on (reads are audited)."""
    require_role(ctx.person, MENTOR, ADMIN)
    rows = alert_service.open_alerts_for(ctx.session, ctx.person)
    if not rows:
        return Reply.say(_("No open alerts. 🎉"))
    shown = rows[:MAX_SHOWN]
    audit_reads(
        ctx.session, ctx.person, (student for _alert, student in shown), ctx.now, "view.alerts"
    )
    messages = tuple(
        alert_service.render_alert(alert, student, ctx.person) for alert, student in shown
    )
    count = ngettext("{n} open alert:", "{n} open alerts:", len(rows)).format(n=len(rows))
    return Reply(messages=(Message(text=count), *messages))


def acknowledge(ctx: Context, raw_id: str, *, follow_up: bool) -> Reply:
    """Acknowledge an alert, or promise to follow up; every copy updates in place."""
    require_role(ctx.person, MENTOR, ADMIN)
    return show_transition(
        alert_lifecycle.acknowledge_alert(
            ctx.session, ctx.settings, ctx.now, ctx.person, raw_id, follow_up=follow_up
        )
    )


@allow(*STAFF)
def cmd_alerts_ack(ctx: Context) -> Reply:
    """`/alerts ack ID`."""
    return acknowledge(ctx, str(ctx.args.need("alert", int)), follow_up=False)


@allow(*STAFF)
def cmd_alerts_followup(ctx: Context) -> Reply:
    """`/alerts followup ID`: you'll follow up (a reminder comes if it stays open)."""
    return acknowledge(ctx, str(ctx.args.need("alert", int)), follow_up=True)


@allow(*STAFF)
def cmd_alerts_resolve(ctx: Context) -> Reply:
    """`/alerts resolve ID OUTCOME NOTE`."""
    require_role(ctx.person, MENTOR, ADMIN)
    return show_transition(
        alert_lifecycle.resolve_alert(
            ctx.session,
            ctx.settings,
            ctx.now,
            ctx.person,
            str(ctx.args.need("alert", int)),
            ctx.args.text("outcome"),
            ctx.args.text("note"),
        )
    )


@allow(*STAFF)
def act_alert_ack(ctx: Context) -> Reply:
    """The Acknowledge button."""
    return acknowledge(ctx, ctx.button("alert"), follow_up=False)


@allow(*STAFF)
def act_alert_followup(ctx: Context) -> Reply:
    """The "I'll follow up" button."""
    return acknowledge(ctx, ctx.button("alert"), follow_up=True)


@allow(*STAFF)
def act_alert_resolve(ctx: Context) -> Reply:
    """The Resolve button where no form opens: how to resolve it by command.

    Slack and Discord open a form for this button and the console asks for the outcome and
    the note; both submit `form_alert_resolve`.
    """
    require_role(ctx.person, MENTOR, ADMIN)
    alert_id = ctx.button("alert")
    alert_lifecycle.check_can_resolve(ctx.session, ctx.now, ctx.person, alert_id)
    return Reply.say(
        _(
            "To resolve alert #{id}, type /alerts resolve {id} OUTCOME NOTE, where "
            "OUTCOME is {outcomes}."
        ).format(id=alert_id, outcomes=_(alert_lifecycle.OUTCOME_HELP))
    )


@allow(*STAFF)
def form_alert_resolve(ctx: Context) -> Reply:
    """The resolve form (Slack and Discord modals, console prompts): outcome and note."""
    require_role(ctx.person, MENTOR, ADMIN)
    args = ctx.inbound.args
    return show_transition(
        alert_lifecycle.resolve_alert(
            ctx.session,
            ctx.settings,
            ctx.now,
            ctx.person,
            args.get("alert", ""),
            args.get("outcome", ""),
            args.get("note", ""),
        )
    )


def reescalate(db: Database, settings: CoreSettings, window: Window) -> JobOutcome:
    """Re-escalate alerts nobody acknowledged in time."""
    with db.session() as session:
        return Count("alert re-escalations", reescalate_due_alerts(session, settings, window.end))


def remind_follow_ups(db: Database, settings: CoreSettings, window: Window) -> JobOutcome:
    """Remind mentors of the alerts they promised to follow up, still unresolved."""
    with db.session() as session:
        return Count(
            "follow-up reminders",
            alert_lifecycle.send_due_follow_up_reminders(session, settings, window.end),
        )


FEATURE = Feature(
    name="alerts",
    summary=N_("Alerts to mentors and their outcomes"),
    commands=(
        Command(
            "alerts",
            N_("open alerts: acknowledge, follow up, resolve"),
            cmd_alerts,
            sub="list",
            default=True,
        ),
        Command(
            "alerts",
            N_("acknowledge an alert"),
            cmd_alerts_ack,
            sub="ack",
            args=(ALERT_ID,),
            aliases=("acknowledge",),
            example="/alerts ack 12",
        ),
        Command(
            "alerts",
            N_("say you'll follow up an alert"),
            cmd_alerts_followup,
            sub="followup",
            args=(ALERT_ID,),
            aliases=("follow-up", "follow"),
            example="/alerts followup 12",
        ),
        Command(
            "alerts",
            # OUTCOME's words: alert_lifecycle.OUTCOME_HELP (typed in English; "or" translates).
            N_("close an alert; OUTCOME is spoke, counselling, emergency or none"),
            cmd_alerts_resolve,
            sub="resolve",
            args=(
                ALERT_ID,
                Arg("outcome", ArgKind.WORD, alert_lifecycle.OUTCOME_HELP, optional=True),
                Arg("note", ArgKind.TEXT, N_("What happened, and what's next"), optional=True),
            ),
            example="/alerts resolve 12 spoke Called Sam, feeling safer",
        ),
    ),
    actions={
        "alert.ack": act_alert_ack,
        "alert.followup": act_alert_followup,
        alert_service.RESOLVE_ACTION: act_alert_resolve,
    },
    forms={alert_service.RESOLVE_FORM: form_alert_resolve},
    jobs=(
        Job("reescalate_due_alerts", reescalate),
        Job("send_due_follow_up_reminders", remind_follow_ups),
    ),
    personal_data=(
        # Kept on erasure, de-identified: the programme must show how fast it answered alerts.
        PersonalData(
            "alerts de-identified",
            Alert,
            "student_id",
            erase=Erase.KEEP,
            free_text=("excerpt", "latest_excerpt", "resolution_note"),
            dated_by="created_at",
            export_as="alerts",
        ),
        PersonalData(
            "alert events",
            AlertEvent,
            "alert_id",
            through=(Alert, "student_id"),
            erase=Erase.KEEP,
            export_as="alert_events",
        ),
    ),
)
