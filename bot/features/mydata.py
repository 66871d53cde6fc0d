"""My data and privacy: what the bot stores, the self-service export and erasure."""

from __future__ import annotations

from bot.auth import EVERYONE, allow
from bot.errors import NotAllowed, UserError
from bot.i18n import N_, _, ngettext
from bot.model import Attachment, Choice, Message, Reply
from bot.people import STUDENT
from bot.registry import Command, Context, Feature
from bot.services import alerts as alert_service
from bot.services import privacy
from bot.services.export import export_json


@allow(*EVERYONE)
def cmd_mydata(ctx: Context) -> Reply:
    """What the bot stores, who sees it, and buttons to export or delete it."""
    choices = [Choice(_("Export my data"), "mydata.export")]
    told = _("your mentor")
    if ctx.person.role == STUDENT:
        choices.append(Choice(_("Delete my data"), "mydata.delete", style="danger"))
        told = alert_service.who_is_told(ctx.session, ctx.person)
    days = ctx.settings.retention_days
    return Reply(
        messages=(
            Message(
                title=_("Your data"),
                text=_(
                    "I store your check-ins, moods, goals and anything you write to me. "
                    "Your mentor and programme staff can see it; nobody else can. I'm a bot, "
                    "so I can't promise to keep things secret: if you might be in danger, "
                    "{who} is told so they can help."
                ).format(who=told)
                + " "
                + ngettext(
                    "Your notes are encrypted when stored, and free text is deleted after {n} day.",
                    "Your notes are encrypted when stored, and free text is deleted after "
                    "{n} days.",
                    days,
                ).format(n=days),
                choices=tuple(choices),
            ),
        )
    )


@allow(*EVERYONE)
def cmd_mydata_export(ctx: Context) -> Reply:
    """Everything stored about the actor, as a JSON file."""
    # Self-service export leaves mentor notes out (see EXPORT_NOTICE); the staff export
    # (`mentorbot export`) includes them after a safeguarding review.
    assert ctx.registry is not None
    data = export_json(ctx.session, ctx.person, tables=ctx.registry.personal_data)
    return Reply(
        messages=(
            Message(
                text=_(
                    "Here is everything the programme bot stores about you. "
                    "Notes your mentor wrote about you are not in it; you can ask your "
                    "programme lead for them."
                ),
                attachment=Attachment(filename="mentorbot-my-data.json", content=data),
            ),
        )
    )


@allow(*EVERYONE)
def cmd_mydata_delete(ctx: Context) -> Reply:
    """Ask a student to confirm erasing their data (staff are removed by the programme lead)."""
    if ctx.person.role != STUDENT:
        # Staff records belong to the roster; the programme lead removes them.
        raise NotAllowed(_("Staff accounts are removed by the programme lead: please ask them."))
    if privacy.open_crisis_alert(ctx.session, ctx.person) is not None:
        # Safeguarding first: erasing now would take the student's name off an alert that
        # nobody has answered yet.
        raise UserError(
            _(
                "I can't delete your data while your mentor hasn't yet responded to an urgent "
                "message you sent. Once they have, you can delete it; your programme lead can "
                "help too."
            )
        )
    assert ctx.person.id is not None
    token = privacy.deletion_token(ctx.person.id, ctx.now)
    minutes = privacy.CONFIRM_MINUTES
    return Reply(
        messages=(
            Message(
                title=_("Delete your data?"),
                text=_(
                    "This permanently deletes your check-ins, moods, goals, messages and your "
                    "mentor's notes about you, and removes you from the programme bot. It can't "
                    "be undone. A record that alerts were raised stays, with nothing that "
                    "identifies you. Want a copy first? Type /mydata export."
                )
                + "\n"
                + ngettext(
                    "The button below works for {n} minute.",
                    "The button below works for {n} minutes.",
                    minutes,
                ).format(n=minutes),
                choices=(
                    Choice(
                        _("Yes, delete everything"),
                        "mydata.delete.confirm",
                        (("token", token),),
                        style="danger",
                    ),
                    Choice(_("Cancel"), "mydata.delete.cancel"),
                ),
            ),
        )
    )


@allow(STUDENT)
def act_mydata_delete_confirm(ctx: Context) -> Reply:
    """Erase the student's data, if the button's token is theirs and still fresh."""
    assert ctx.person.id is not None
    privacy.check_deletion_token(ctx.button("token"), ctx.person.id, ctx.now)
    if privacy.open_crisis_alert(ctx.session, ctx.person) is not None:
        raise UserError(
            _("Your mentor hasn't yet responded to an urgent message, so I kept your data.")
        )
    assert ctx.registry is not None
    report = privacy.erase_person(
        ctx.session,
        ctx.person,
        ctx.now,
        actor_id=ctx.person.id,
        via="self-service",
        tables=ctx.registry.personal_data,
    )
    return Reply(
        update=Message(title=_("Your data has been deleted"), text=privacy.erasure_notice(report))
    )


@allow(STUDENT)
def act_mydata_delete_cancel(ctx: Context) -> Reply:
    """Keep everything."""
    return Reply(update=Message(text=_("Nothing was deleted.")))


@allow(STUDENT)
def act_mydata_delete(ctx: Context) -> Reply:
    """The 'Delete my data' button: asks for confirmation."""
    return cmd_mydata_delete(ctx)


FEATURE = Feature(
    name="mydata",
    summary=N_("Seeing, exporting and deleting your own data"),
    commands=(
        Command(
            "mydata", N_("see what the bot stores about you"), cmd_mydata, sub="show", default=True
        ),
        Command("mydata", N_("a JSON file of all your data"), cmd_mydata_export, sub="export"),
        Command("mydata", N_("delete all your data (students)"), cmd_mydata_delete, sub="delete"),
    ),
    actions={
        "mydata.export": cmd_mydata_export,
        "mydata.delete": act_mydata_delete,
        "mydata.delete.confirm": act_mydata_delete_confirm,
        "mydata.delete.cancel": act_mydata_delete_cancel,
    },
)
