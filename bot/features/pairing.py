"""The pairing feature.

Peer pairing: rounds that pair a group's students, the "Did you meet?" answers, and the
job that opens due rounds and their check-backs.
"""

from __future__ import annotations

from bot.auth import STAFF, allow
from bot.config import CoreSettings
from bot.model import Reply
from bot.people import STUDENT
from bot.personal_data import PersonalData
from bot.registry import Context, Feature, Job, JobOutcome, Sub, Window, typed_words, word_family
from bot.services import pairing as pairing_service
from storage.db import Database
from storage.tables import PairingMember


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
    summary="Peer pairing rounds within a group",
    commands=word_family(
        "pairing",
        cmd_pairing,
        (
            Sub("status", "pairing in your groups", default=True, aliases=("list",)),
            Sub(
                "on",
                "pair a group's students regularly",
                "/pairing on Study skills every 2 weeks",
                ("start", "every"),
            ),
            Sub("off", "stop pairing a group", "/pairing off Study skills", ("stop",)),
            Sub("run", "a round now", "/pairing run Study skills", ("now",)),
            Sub("report", "who met, round by round", "/pairing report Study skills"),
        ),
    ),
    actions={pairing_service.MET_ACTION: act_pairing_met},
    jobs=(Job("run_due_pairing", run_due),),
    personal_data=(
        # Peer pairings they were in, with their "Did you meet?" answers.
        PersonalData("peer pairings", PairingMember, "person_id", export_as="pairings"),
    ),
)
