"""The pairing feature.

Peer pairing: rounds that pair a group's students, the "Did you meet?" answers, and the
job that opens due rounds and their check-backs. Mentors and admins configure and run it;
students have a say (skip, pause, resume, a private avoid list); `/pairing` alone shows
each their own side.
"""

from __future__ import annotations

from bot.auth import EVERYONE, STAFF, allow
from bot.config import CoreSettings
from bot.i18n import N_
from bot.model import Reply
from bot.people import STUDENT
from bot.personal_data import PersonalData
from bot.registry import Context, Feature, Job, JobOutcome, Sub, Window, typed_words, word_family
from bot.services import pairing as pairing_service
from storage.db import Database
from storage.tables import PairingAvoid, PairingMember, PairingPause, PairingSkip


@allow(*STAFF)
def cmd_pairing(ctx: Context) -> Reply:
    """`/pairing on|off|run|report GROUP`: peer pairing rounds (the group's mentors, admins)."""
    return Reply(
        messages=(
            pairing_service.run_chat_command(
                ctx.session, ctx.settings, ctx.person, typed_words(ctx), ctx.now
            ),
        )
    )


@allow(*EVERYONE)
def cmd_pairing_status(ctx: Context) -> Reply:
    """`/pairing`: a student's own pairing (groups, skips, pause, list); staff's groups."""
    if ctx.person.role == STUDENT:
        text = pairing_service.student_status(ctx.session, ctx.settings, ctx.person, ctx.now)
        return Reply.say(text)
    return cmd_pairing(ctx)


@allow(STUDENT)
def cmd_pairing_prefs(ctx: Context) -> Reply:
    """`/pairing skip|pause|resume|avoid|unavoid`: a student's say in their pairing."""
    return Reply(
        messages=(
            pairing_service.run_student_command(
                ctx.session, ctx.settings, ctx.person, typed_words(ctx), ctx.now
            ),
        )
    )


@allow(STUDENT)
def act_pairing_met(ctx: Context) -> Reply:
    """The Yes / Not yet buttons of a pairing check-back; the message updates in place."""
    return Reply(
        update=pairing_service.record_answer(
            ctx.session, ctx.person, ctx.button("member"), ctx.button("met"), ctx.now
        )
    )


def run_due(db: Database, settings: CoreSettings, window: Window) -> JobOutcome:
    """Open due pairing rounds and send their check-backs."""
    with db.session() as session:
        return pairing_service.run_due_pairing(session, settings, window.end)


FEATURE = Feature(
    name="pairing",
    summary=N_("Peer pairing rounds within a group"),
    commands=word_family(
        "pairing",
        cmd_pairing_status,
        (Sub("status", N_("pairing in your groups"), default=True, aliases=("list",)),),
    )
    + word_family(
        "pairing",
        cmd_pairing,
        (
            Sub(
                "on",
                N_("pair a group's students regularly"),
                "/pairing on Study skills every 2 weeks",
                ("start", "every"),
            ),
            Sub("off", N_("stop pairing a group"), "/pairing off Study skills", ("stop",)),
            Sub("run", N_("a round now"), "/pairing run Study skills", ("now",)),
            Sub("report", N_("who met, round by round"), "/pairing report Study skills"),
        ),
    )
    + word_family(
        "pairing",
        cmd_pairing_prefs,
        (
            Sub("skip", N_("sit out the next round"), "/pairing skip"),
            Sub("pause", N_("sit out rounds until a date"), "/pairing pause until 2027-01-10"),
            Sub("resume", N_("back in the next round"), "/pairing resume"),
            Sub(
                "avoid",
                N_("never pair me with someone (private)"),
                "/pairing avoid sam@example.edu",
            ),
            Sub("unavoid", N_("take someone off that list"), "/pairing unavoid sam@example.edu"),
        ),
    ),
    actions={pairing_service.MET_ACTION: act_pairing_met},
    jobs=(Job("run_due_pairing", run_due),),
    personal_data=(
        # Peer pairings they were in, with their "Did you meet?" answers.
        PersonalData("peer pairings", PairingMember, "person_id", export_as="pairings"),
        # Rounds they chose to sit out, and their pause.
        PersonalData("pairing skips", PairingSkip, "person_id", export_as="pairing_skips"),
        PersonalData("pairing pause", PairingPause, "person_id", export_as="pairing_pause"),
        # Their private "don't pair me with" list: theirs alone (not in the export of the
        # person avoided); erasing either person removes the entry.
        PersonalData(
            "pairing avoid list",
            PairingAvoid,
            "person_id",
            export_as="pairing_avoid",
            also_erase=("avoided_id",),
        ),
    ),
)
