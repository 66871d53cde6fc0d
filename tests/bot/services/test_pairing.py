"""Peer pairing: the grouping algorithm, rounds, check-backs, the report and bad input."""

from __future__ import annotations

import io
import itertools
import random
import re
from collections.abc import Iterator, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from adapters.console.chat import ConsoleChat, ConsoleMessenger
from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.delivery import OutboxDelivery
from bot.model import Message
from bot.people import person_by_email
from bot.services import pairing
from bot.services.delivery_events import ServiceDeliveryEvents
from bot.services.groups import group_named
from bot.services.privacy import erase_person
from bot.services.roster import import_roster, parse_roster
from storage.db import Database
from storage.tables import Group, Outbox, Pairing, PairingMember, PairingRound
from tests.conftest import Chat, find_choice, text_of
from tests.dbdump import snapshot
from tests.tick import PERSONAL_DATA, run_due_work

GROUP = "Peer group"
STUDENTS = [f"s{i}@example.edu" for i in range(1, 8)]


# ---------------------------------------------------------------- the algorithm


def partitions(people: Sequence[int]) -> Iterator[list[tuple[int, ...]]]:
    """Every split into pairs, with one trio when the count is odd (brute force)."""
    if not people:
        yield []
        return
    if len(people) == 3:
        yield [tuple(people)]
        return
    head, rest = people[0], list(people[1:])
    sizes = (1, 2) if len(people) % 2 == 1 else (1,)
    for size in sizes:
        for partners in itertools.combinations(rest, size):
            left = [p for p in rest if p not in partners]
            if len(left) == 1:
                continue
            for tail in partitions(left):
                yield [(head, *partners), *tail]


def best_cost(people: Sequence[int], costs: pairing.Costs) -> int:
    """The fewest repeats any grouping can have."""
    return min(pairing.grouping_cost(g, costs) for g in partitions(list(people)))


def assert_valid(groups: Sequence[Sequence[int]], people: Sequence[int]) -> None:
    """Everyone in exactly one group; groups of two, one of three when the count is odd."""
    flat = [p for g in groups for p in g]
    assert sorted(flat) == sorted(people)
    sizes = sorted(len(g) for g in groups)
    if len(people) % 2 == 0:
        assert set(sizes) == {2}
    else:
        assert sizes.count(3) == 1 and set(sizes) <= {2, 3}


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[int], list[list[list[int]]]]:
    """A group of 2-10 people and up to three earlier rounds among (some of) them."""
    n = draw(st.integers(min_value=2, max_value=10))
    people = list(range(100, 100 + n))
    rounds: list[list[list[int]]] = []
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        # Earlier rounds may have had other members (people left, people joined).
        present = draw(st.permutations([*people, 900, 901]))[: draw(st.integers(2, n + 2))]
        groups = [list(present[i : i + 2]) for i in range(0, len(present) - 1, 2)]
        if len(present) % 2 == 1:
            groups[-1].append(present[-1])
        rounds.append(groups)
    return people, rounds


@settings(max_examples=150, deadline=None)
@given(histories(), st.integers(min_value=0, max_value=2**32))
def test_every_member_in_one_group_and_no_repeats_when_avoidable(history, seed) -> None:
    """Property: a valid split, with exactly the fewest repeats possible (zero when avoidable)."""
    people, rounds = history
    costs = pairing.pair_costs(rounds)
    groups = pairing.make_groups(people, costs, random.Random(seed))
    assert_valid(groups, people)
    assert pairing.grouping_cost(groups, costs) == best_cost(people, costs)


def test_seven_members_make_two_pairs_and_a_trio() -> None:
    """An odd group gets one trio: 7 members are two pairs and three."""
    groups = pairing.make_groups(list(range(7)), {}, random.Random(1))
    assert sorted(len(g) for g in groups) == [2, 2, 3]


def test_the_same_seed_pairs_the_same_way_and_seeds_vary_the_pairs() -> None:
    """The injected RNG decides: reproducible for a seed, different across seeds."""
    people = list(range(10))
    first = pairing.make_groups(people, {}, random.Random(7))
    assert pairing.make_groups(people, {}, random.Random(7)) == first
    others = {
        frozenset(frozenset(g) for g in pairing.make_groups(people, {}, random.Random(s)))
        for s in range(20)
    }
    assert len(others) > 5


def test_a_large_group_avoids_its_last_three_rounds_quickly() -> None:
    """Sixty students after three rounds: a repeat-free round, found well within budget."""
    people = list(range(60))
    rng = random.Random(3)
    rounds: list[list[list[int]]] = []
    for _ in range(3):
        costs = pairing.pair_costs(rounds)
        groups = pairing.make_groups(people, costs, rng)
        assert pairing.grouping_cost(groups, costs) == 0
        rounds.append([list(g) for g in groups])
    assert_valid(pairing.make_groups(people, pairing.pair_costs(rounds), rng), people)


def test_repeats_are_minimised_when_they_cannot_be_avoided() -> None:
    """Four people who all met before: one round still needs two pairs, so two repeats."""
    everyone = [[[1, 2], [3, 4]], [[1, 3], [2, 4]], [[1, 4], [2, 3]]]
    costs = pairing.pair_costs(everyone[:2])  # (1,4) and (2,3) are still new
    groups = pairing.make_groups([1, 2, 3, 4], costs, random.Random(0))
    assert {frozenset(g) for g in groups} == {frozenset((1, 4)), frozenset((2, 3))}
    costs = pairing.pair_costs(everyone)
    assert (
        pairing.grouping_cost(pairing.make_groups([1, 2, 3, 4], costs, random.Random(0)), costs)
        == 2
    )


def test_fewer_than_two_people_cannot_be_paired() -> None:
    """One person is not a pair: the algorithm refuses."""
    with pytest.raises(ValueError):
        pairing.make_groups([1], {}, random.Random(0))


@pytest.mark.parametrize(
    ("spec", "weeks"),
    [("2 weeks", 2), ("1 week", 1), ("week", 1), ("fortnight", 2), ("three weeks", 3), ("4", 4)],
)
def test_intervals_people_write(spec: str, weeks: int) -> None:
    """Plain ways of saying an interval all parse."""
    assert pairing.parse_weeks(spec) == weeks


# ---------------------------------------------------------------- rounds through the core


def roster(rows: str) -> str:
    return (
        "email,name,role,timezone,mentor_email,backup_mentor_email,groups,slack_user_id,"
        "discord_user_id\n" + rows
    )


@pytest.fixture
def peers(core: MentorBot, clock: FixedClock) -> MentorBot:
    """The demo plus 'Peer group': Maya mentors seven students; Olly mentors no group."""
    lines = "".join(
        f"{email},Student {i},student,Europe/London,maya@example.edu,,{GROUP},,\n"
        for i, email in enumerate(STUDENTS, start=1)
    )
    lines += f"maya@example.edu,Maya Mentor,mentor,Europe/London,,,Study skills;{GROUP},,\n"
    lines += "olly@example.edu,Olly Other,mentor,Europe/London,,,,,\n"
    with core.db.session() as session:
        import_roster(session, parse_roster(roster(lines)), clock.now())
    return core


def rounds_of(db: Database, group: str = GROUP) -> list[list[frozenset[int]]]:
    """Each round's pairings as sets of person ids, oldest round first."""
    with db.session() as session:
        group_id = group_named(session, group).id
        found: list[list[frozenset[int]]] = []
        for r in session.exec(
            select(PairingRound)
            .where(PairingRound.group_id == group_id)
            .order_by(col(PairingRound.number))
        ).all():
            members: dict[int, set[int]] = {}
            for pm, p in session.exec(
                select(PairingMember, Pairing)
                .join(Pairing, col(Pairing.id) == PairingMember.pairing_id)
                .where(Pairing.round_id == r.id)
            ).all():
                members.setdefault(p.id, set()).add(pm.person_id)
            found.append([frozenset(m) for m in members.values()])
        return found


def pairs_in(round_: list[frozenset[int]]) -> set[frozenset[int]]:
    return {frozenset(p) for g in round_ for p in itertools.combinations(g, 2)}


def outbox(db: Database, kind: str) -> list[Outbox]:
    with db.session() as session:
        rows = session.exec(
            select(Outbox).where(Outbox.kind == kind).order_by(col(Outbox.id))
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def test_a_run_pairs_seven_students_and_introduces_each(peers: MentorBot, maya: Chat) -> None:
    """`/pairing run`: two pairs and a trio of students only; each gets an introduction."""
    reply = maya.send(f"/pairing run {GROUP}")
    assert reply.error is None, text_of(reply)
    assert "Round 1" in text_of(reply)
    [round_] = rounds_of(peers.db)
    assert sorted(len(g) for g in round_) == [2, 2, 3]
    with peers.db.session() as session:
        ids = {person_by_email(session, e).id for e in STUDENTS}
    assert set().union(*round_) == ids  # Maya, the group's mentor, is not paired
    intros = outbox(peers.db, "pairing_intro")
    # Console people share no conversation: one DM each, naming their partner(s).
    assert len(intros) == 7 and all(r.member_ids is None for r in intros)
    message = Message.from_json(intros[0].payload)
    assert "conversation starter" in message.text
    assert any(s in message.text for s in pairing.STARTERS)


def test_the_next_round_repeats_no_pair(peers: MentorBot, maya: Chat) -> None:
    """Round after round, no pair from the last three rounds comes back while avoidable."""
    for _ in range(3):
        assert maya.send(f"/pairing run {GROUP}").error is None
    first, second, third = rounds_of(peers.db)
    assert not pairs_in(second) & pairs_in(first)
    assert not pairs_in(third) & (pairs_in(first) | pairs_in(second))


def test_turned_on_a_round_opens_once_and_checks_back_halfway(
    peers: MentorBot, maya: Chat, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """On every 2 weeks: the tick opens one round (twice is once), asks after a week, records."""
    reply = maya.send(f"/pairing on {GROUP} every 2 weeks")
    assert "every 2 weeks" in text_of(reply)
    run_due_work(peers.db, core_settings, clock.now())
    run_due_work(peers.db, core_settings, clock.now())  # a repeated tick opens nothing
    assert len(rounds_of(peers.db)) == 1
    assert len(outbox(peers.db, "pairing_intro")) == 7
    assert outbox(peers.db, "pairing_checkin") == []

    clock.advance(days=7)
    run_due_work(peers.db, core_settings, clock.now())
    run_due_work(peers.db, core_settings, clock.now())
    checks = outbox(peers.db, "pairing_checkin")
    assert len(checks) == 7
    assert len(rounds_of(peers.db)) == 1  # the next round is a week away

    s1 = Chat(peers, STUDENTS[0])
    with peers.db.session() as session:
        s1_id = person_by_email(session, STUDENTS[0]).id
    [mine] = [Message.from_json(r.payload) for r in checks if r.person_id == s1_id]
    assert "Did you meet?" in mine.title
    answer = s1.press(find_choice_in(mine, "Yes, we met"))
    assert answer.update is not None and "met" in answer.update.text
    with peers.db.session() as session:
        member = session.exec(select(PairingMember).where(PairingMember.person_id == s1_id)).one()
        assert member.met is True and member.answered_at == clock.now()
        summary = pairing.pairing_summary(session, group_named(session, GROUP).id)
    assert (summary.rounds, summary.pairs, summary.met) == (1, 3, 1)
    assert summary.no_answer == 2

    clock.advance(days=7)
    run_due_work(peers.db, core_settings, clock.now())
    assert len(rounds_of(peers.db)) == 2
    assert "1 met" in text_of(maya.send(f"/pairing report {GROUP}"))


def find_choice_in(message: Message, label: str):
    return next(c for c in message.choices if label in c.label)


def test_not_yet_keeps_a_button_to_say_so_later(
    peers: MentorBot, maya: Chat, clock, core_settings
) -> None:
    """'Not yet' is recorded and the message offers "We've met now", which overrides it."""
    maya.send(f"/pairing on {GROUP} every 2 weeks")
    run_due_work(peers.db, core_settings, clock.now())
    clock.advance(days=7)
    run_due_work(peers.db, core_settings, clock.now())
    s2 = Chat(peers, STUDENTS[1])
    with peers.db.session() as session:
        s2_id = person_by_email(session, STUDENTS[1]).id
    [row] = [r for r in outbox(peers.db, "pairing_checkin") if r.person_id == s2_id]
    reply = s2.press(find_choice_in(Message.from_json(row.payload), "Not yet"))
    assert reply.update is not None
    with peers.db.session() as session:
        assert (
            session.exec(select(PairingMember).where(PairingMember.person_id == s2_id)).one().met
            is False
        )
    s2.press(find_choice(reply, "We've met now"))
    with peers.db.session() as session:
        assert (
            session.exec(select(PairingMember).where(PairingMember.person_id == s2_id)).one().met
            is True
        )


def test_someone_elses_check_back_is_refused(
    peers: MentorBot, maya: Chat, clock, core_settings
) -> None:
    """Pressing another member's button changes nothing and says nothing about them."""
    maya.send(f"/pairing run {GROUP}")
    clock.advance(days=7)
    run_due_work(peers.db, core_settings, clock.now())
    row = outbox(peers.db, "pairing_checkin")[0]
    choice = find_choice_in(Message.from_json(row.payload), "Yes")
    with peers.db.session() as session:
        owner = session.get(PairingMember, int(choice.args_dict()["member"])).person_id
        intruder = next(e for e in STUDENTS if person_by_email(session, e).id != owner)
    chat = Chat(peers, intruder)
    chat.send("/help")  # first contact links the account; that is not what is tested
    before = snapshot(peers.db)
    reply = chat.press(choice)
    assert reply.error == pairing.NOT_YOURS
    assert snapshot(peers.db) == before


def test_turning_off_stops_rounds(peers: MentorBot, maya: Chat, clock, core_settings) -> None:
    """`/pairing off`: no further rounds, the report keeps the past ones."""
    maya.send(f"/pairing on {GROUP} every 1 week")
    run_due_work(peers.db, core_settings, clock.now())
    assert "off" in text_of(maya.send(f"/pairing off {GROUP}"))
    clock.advance(days=15)
    run_due_work(peers.db, core_settings, clock.now())
    assert len(rounds_of(peers.db)) == 1
    assert "1 round(s)" in text_of(maya.send(f"/pairing report {GROUP}"))


def test_status_lists_the_mentors_groups(peers: MentorBot, maya: Chat) -> None:
    """`/pairing` alone shows each of the mentor's groups, on or off."""
    maya.send(f"/pairing on {GROUP} every 3 weeks")
    text = text_of(maya.send("/pairing"))
    assert f"{GROUP}: every 3 weeks" in text and "Study skills: off" in text


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (f"/pairing on {GROUP} every 0 weeks", "isn't an interval"),
        (f"/pairing on {GROUP} every 13 weeks", "isn't an interval"),
        (f"/pairing on {GROUP} every banana weeks", "isn't an interval"),
        (f"/pairing on {GROUP} every -2 weeks", "isn't an interval"),
        ("/pairing on Nowhere every 2 weeks", "no group called 'Nowhere'"),
        ("/pairing run Nowhere", "no group called 'Nowhere'"),
        ("/pairing run Lonely", "needs at least 2"),
        ("/pairing on Lonely every 2 weeks", "needs at least 2"),
        ("/pairing sideways", "Try /pairing status, on, off, run, report"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_stored(
    peers: MentorBot, maya: Chat, clock: FixedClock, line: str, says: str
) -> None:
    """Nonsense intervals, unknown groups, a one-student group: a clear message, no change."""
    with peers.db.session() as session:
        lonely = Group(name="Lonely", created_at=clock.now())
        session.add(lonely)
        session.flush()
        import_roster(
            session,
            parse_roster(
                roster(
                    "solo@example.edu,Solo,student,,,,Lonely,,\n"
                    "maya@example.edu,Maya Mentor,mentor,Europe/London,,,"
                    f"Study skills;{GROUP};Lonely,,\n"
                )
            ),
            clock.now(),
        )
    maya.send("/help")  # first contact links the account; that is not what is tested
    before = snapshot(peers.db)
    reply = maya.send(line)
    assert reply.error is not None and says in reply.error
    assert snapshot(peers.db) == before


@pytest.mark.parametrize("email", ["olly@example.edu", STUDENTS[0]])
@pytest.mark.parametrize("sub", ["on {g} every 2 weeks", "off {g}", "run {g}", "report {g}"])
def test_only_the_groups_mentors_and_admins_configure_pairing(
    peers: MentorBot, email: str, sub: str
) -> None:
    """Another group's mentor and the group's own students are refused; nothing changes."""
    chat = Chat(peers, email)
    chat.send("/resources")  # first contact links the account; that is not what is tested
    before = snapshot(peers.db)
    reply = chat.send("/pairing " + sub.format(g=GROUP))
    assert reply.error is not None
    assert snapshot(peers.db) == before


def test_an_admin_outside_the_group_may_run_it(peers: MentorBot, avery: Chat) -> None:
    """Programme staff (admins) manage every group's pairing."""
    assert avery.send(f"/pairing run {GROUP}").error is None
    assert len(rounds_of(peers.db)) == 1


def test_paused_students_sit_a_round_out(peers: MentorBot, maya: Chat, clock) -> None:
    """A student who paused check-ins (exams) isn't paired: six left, three pairs."""
    Chat(peers, STUDENTS[0]).send("/pause until 2026-12-20")
    maya.send(f"/pairing run {GROUP}")
    [round_] = rounds_of(peers.db)
    assert sorted(len(g) for g in round_) == [2, 2, 2]


# ---------------------------------------------------------------- where introductions go


def platform_peers(core: MentorBot, clock: FixedClock, rows: str, channel: tuple[str, str] | None):
    """A fresh group 'Platform peers' of the given roster rows, maybe bound to a channel."""
    with core.db.session() as session:
        import_roster(session, parse_roster(roster(rows)), clock.now())
        group = group_named(session, "Platform peers")
        if channel is not None:
            group.platform, group.channel_id = channel
        return group.id


def test_slack_pair_shares_one_group_dm(core: MentorBot, clock, avery: Chat) -> None:
    """Both on Slack: one outbox row addressed to both Slack ids (a multi-party DM)."""
    platform_peers(
        core,
        clock,
        "pa@example.edu,Pat A,student,,,,Platform peers,U0PA,\n"
        "pb@example.edu,Pat B,student,,,,Platform peers,U0PB,\n",
        None,
    )
    avery.send("/pairing run Platform peers")
    [row] = outbox(core.db, "pairing_intro")
    assert row.platform == "slack" and sorted(row.member_ids.split(",")) == ["U0PA", "U0PB"]
    assert row.channel_id is None and row.dedupe_key.endswith(":intro")


def test_discord_pair_gets_a_private_thread_in_the_group_channel(
    core: MentorBot, clock, avery: Chat
) -> None:
    """Both on Discord and the group bound to a Discord channel: a thread row under it."""
    platform_peers(
        core,
        clock,
        "pa@example.edu,Pat A,student,,,,Platform peers,,301000000000000011\n"
        "pb@example.edu,Pat B,student,,,,Platform peers,,301000000000000012\n",
        ("discord", "401000000000000001"),
    )
    avery.send("/pairing run Platform peers")
    [row] = outbox(core.db, "pairing_intro")
    assert (row.platform, row.channel_id) == ("discord", "401000000000000001")
    assert sorted(row.member_ids.split(",")) == ["301000000000000011", "301000000000000012"]
    assert Message.from_json(row.payload).thread_name.startswith("Platform peers: ")


@pytest.mark.parametrize(
    ("rows", "channel"),
    [
        # Mixed platforms: no conversation both can join.
        (
            "pa@example.edu,Pat A,student,,,,Platform peers,U0PA,\n"
            "pb@example.edu,Pat B,student,,,,Platform peers,,301000000000000012\n",
            None,
        ),
        # Discord without a group channel: nowhere to open the thread.
        (
            "pa@example.edu,Pat A,student,,,,Platform peers,,301000000000000011\n"
            "pb@example.edu,Pat B,student,,,,Platform peers,,301000000000000012\n",
            None,
        ),
    ],
)
def test_otherwise_each_member_gets_a_dm_naming_the_partner(
    core: MentorBot, clock, avery: Chat, rows: str, channel
) -> None:
    """No shared conversation possible: one DM each, naming the other."""
    platform_peers(core, clock, rows, channel)
    avery.send("/pairing run Platform peers")
    intros = outbox(core.db, "pairing_intro")
    assert len(intros) == 2 and all(r.member_ids is None for r in intros)
    texts = " ".join(Message.from_json(r.payload).text for r in intros)
    assert "pairs you with Pat B" in texts and "pairs you with Pat A" in texts


def test_an_erased_student_leaves_their_pairings(peers: MentorBot, maya: Chat, clock) -> None:
    """Erasure removes the student's pairing rows; the partner's check-back still reads well."""
    maya.send(f"/pairing run {GROUP}")
    with peers.db.session() as session:
        person = person_by_email(session, STUDENTS[0])
        erase_person(session, person, clock.now(), actor_id=None, via="test", tables=PERSONAL_DATA)
    with peers.db.session() as session:
        assert (
            session.exec(select(PairingMember).where(PairingMember.person_id == person.id)).all()
            == []
        )
    assert pairing._names([]) == "your partner"


async def test_the_console_gets_introductions_and_answers_by_number(
    peers: MentorBot, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """On the console the same core DMs each member; typing the choice's number answers."""
    out = io.StringIO()
    messenger = ConsoleMessenger(out)
    delivery = OutboxDelivery(
        peers.db, {"console": messenger}, clock, core_settings, ServiceDeliveryEvents(core_settings)
    )
    chat = ConsoleChat(peers, delivery, messenger, "maya@example.edu", out)
    await chat.handle_line(f"/pairing run {GROUP}")
    assert "Round 1 of peer pairing" in out.getvalue()
    await chat.handle_line(f"/as {STUDENTS[0]}")
    assert "📬 == 🤝 Peer pairing: Peer group ==" in out.getvalue()
    assert "pairs you with" in out.getvalue()

    clock.advance(days=7)
    run_due_work(peers.db, core_settings, clock.now())
    await chat.deliver_mine()
    # Every choice shown is numbered (across all the messages delivered for the line).
    [number] = re.findall(r"\[(\d+)\] Yes, we met", out.getvalue())
    await chat.handle_line(number)
    assert "I've noted that you met" in out.getvalue()
    with peers.db.session() as session:
        me = person_by_email(session, STUDENTS[0])
        member = session.exec(select(PairingMember).where(PairingMember.person_id == me.id)).one()
    assert member.met is True


@pytest.mark.parametrize("quoted", [f'"{GROUP}"', f"“{GROUP}”", f"‘{GROUP}’", f"'{GROUP}'"])
def test_a_quoted_group_name_is_the_group(peers: MentorBot, maya: Chat, quoted: str) -> None:
    """`/pairing on|run|report|off "Peer group"`: straight and curly quotes name the group."""
    assert "every 2 weeks" in text_of(maya.send(f"/pairing on {quoted} every 2 weeks"))
    assert maya.send(f"/pairing run {quoted}").error is None
    assert "round" in text_of(maya.send(f"/pairing report {quoted}")).lower()
    assert "off" in text_of(maya.send(f"/pairing off {quoted}"))


def test_a_quoted_name_may_contain_every(peers: MentorBot, maya: Chat) -> None:
    """A quoted name is the name whatever it says; the interval comes after it."""
    reply = maya.send('/pairing on "Peer every group" every 2 weeks')
    assert reply.error is not None and "no group called 'Peer every group'" in reply.error


def test_an_unbalanced_quote_is_part_of_the_name(peers: MentorBot, maya: Chat) -> None:
    """`/pairing report "Peer group` names no group: refused, nothing crashes."""
    reply = maya.send(f'/pairing report "{GROUP}')
    assert reply.error is not None and "no group called" in reply.error
