"""End to end on the console: a pairing round honouring skip, pause, avoid, zones, never met.

The real ConsoleChat and ConsoleMessenger over the core: people take turns at the keyboard
(`/as EMAIL`), rounds come from `run_due_work`, and each member's introduction (a DM: the
console has no shared conversations) is printed when they are at the keyboard.
"""

from __future__ import annotations

import io
import re

import pytest
from sqlmodel import col, select

from adapters.console.chat import ConsoleChat, ConsoleMessenger
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.people import person_by_email
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.roster import import_roster, parse_roster
from storage.tables import Pairing, PairingMember
from tests.dbdump import snapshot
from tests.tick import run_due_work

GROUP = "Peer group"
ZONES = {
    **{n: "Europe/London" for n in ("l1", "l2", "l3", "l4", "skip", "pause")},
    "a1": "Pacific/Auckland",
    "a2": "Pacific/Auckland",
}


class Keyboard:
    """One console session; `type` returns what the line printed."""

    def __init__(self, core: MentorBot, clock: FixedClock, settings: CoreSettings) -> None:
        self.out = io.StringIO()
        messenger = ConsoleMessenger(self.out)
        delivery = OutboxDelivery(
            core.db, {"console": messenger}, clock, settings, ServiceDeliveryEvents(settings)
        )
        self.chat = ConsoleChat(core, delivery, messenger, "maya@example.edu", self.out)

    async def type(self, line: str, who: str | None = None) -> str:
        """Type `line` (as `who`, a short name or an email, when given); the new output."""
        if who is not None:
            await self.chat.handle_line(f"/as {who if '@' in who else who + '@example.edu'}")
        start = len(self.out.getvalue())
        await self.chat.handle_line(line)
        return self.out.getvalue()[start:]

    async def inbox(self, who: str) -> str:
        """`who` sits down: what was waiting for them."""
        start = len(self.out.getvalue())
        await self.chat.handle_line(f"/as {who}@example.edu")
        return self.out.getvalue()[start:]


@pytest.fixture
def group(core: MentorBot, clock: FixedClock) -> MentorBot:
    """Eight students in 'Peer group' (six in London, two in Auckland); Maya mentors it."""
    rows = "".join(
        f"{n}@example.edu,Student {n.upper()},student,{tz},maya@example.edu,,{GROUP}\n"
        for n, tz in ZONES.items()
    )
    rows += f"maya@example.edu,Maya Mentor,mentor,Europe/London,,,Study skills;{GROUP}\n"
    with core.db.session() as session:
        import_roster(
            session,
            parse_roster(
                "email,name,role,timezone,mentor_email,backup_mentor_email,groups\n" + rows
            ),
            clock.now(),
        )
    return core


def latest_round(core: MentorBot) -> list[frozenset[str]]:
    """The newest round's pairings, as sets of short names."""
    with core.db.session() as session:
        names = {person_by_email(session, f"{n}@example.edu").id: n for n in ZONES}  # type: ignore[union-attr]
        newest = max(session.exec(select(Pairing.round_id)).all())
        found: dict[int, set[str]] = {}
        for pairing_id, person_id in session.exec(
            select(PairingMember.pairing_id, PairingMember.person_id)
            .join(Pairing, col(Pairing.id) == PairingMember.pairing_id)
            .where(Pairing.round_id == newest)
        ).all():
            found.setdefault(pairing_id, set()).add(names[person_id])
        return [frozenset(m) for m in found.values()]


def together(groups: list[frozenset[str]], a: str, b: str) -> bool:
    return any(a in g and b in g for g in groups)


async def test_a_round_honours_skip_pause_avoid_time_zones_and_never_met(
    group: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """Skip, pause, avoid and zones shape round one; a pair that didn't meet is split next."""
    keys = Keyboard(group, clock, core_settings)
    await keys.type(f"/pairing on {GROUP} every 2 weeks")
    assert "next round" in await keys.type("/pairing skip", "skip")
    assert "until 2026-12-05" in await keys.type("/pairing pause until 2026-12-05", "pause")
    assert "won't be paired with Student L2" in await keys.type(
        "/pairing avoid l2@example.edu", "l1"
    )
    await keys.type("/help", "l3")  # first contact links the account
    before = snapshot(group.db)
    assert "can't find anyone" in await keys.type("/pairing avoid x@example.edu", "l1")
    assert "your own email" in await keys.type("/pairing avoid l1@example.edu", "l1")
    assert "YYYY-MM-DD" in await keys.type("/pairing pause until next week", "l3")
    assert snapshot(group.db) == before

    run_due_work(group.db, core_settings, clock.now())
    first = latest_round(group)
    assert len(first) == 3 and frozenset().union(*first) == {"l1", "l2", "l3", "l4", "a1", "a2"}
    assert together(first, "a1", "a2") and not together(first, "l1", "l2")
    seen = await keys.inbox("l1")
    assert "pairs you with" in seen and "Student L2" not in seen and "hours apart" not in seen

    clock.advance(days=7)
    run_due_work(group.db, core_settings, clock.now())
    # It was 23:00 in Auckland when round one and the check-back were queued: both waited.
    clock.advance(hours=12)
    seen = await keys.inbox("a1")
    assert "pairs you with Student A2" in seen and "hours apart" not in seen
    [number] = re.findall(r"\[(\d+)\] Not yet", seen)
    assert "Not yet" in await keys.type(number)
    assert "1 didn't meet" in await keys.type(f"/pairing report {GROUP}", "maya")

    clock.advance(days=7, hours=-12)
    run_due_work(group.db, core_settings, clock.now())
    second = latest_round(group)
    assert len(second) == 4 and frozenset().union(*second) == set(ZONES)
    assert not together(second, "a1", "a2") and not together(second, "l1", "l2")
    clock.advance(hours=12)  # morning in Auckland
    assert "13 hours apart" in await keys.inbox("a1")
    assert "13 hours apart" in await keys.inbox("a2")
    # L2 is never told: nothing printed for L2 mentions the list or who keeps it.
    l2 = await keys.inbox("l2") + await keys.type("/pairing", "l2")
    assert "pairs you with" in l2 and "list (only" not in l2 and "Student L1 (" not in l2
