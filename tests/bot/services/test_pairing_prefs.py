"""Pairing preferences: skip, pause, resume, the private avoid list, time zones, never met.

Through the core (the console's way in), with real rounds from `/pairing run` and the tick,
on SQLite and (with MENTORBOT_TEST_DATABASE_URL) PostgreSQL.
"""

from __future__ import annotations

import itertools
import random
import time
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlmodel import col, select

from bot.clock import FixedClock
from bot.config import CoreSettings
from bot.core import MentorBot
from bot.model import Message
from bot.people import person_by_email
from bot.services import pairing
from bot.services.export import export_person
from bot.services.groups import group_named
from bot.services.privacy import erase_person
from bot.services.roster import import_roster, parse_roster
from mentorbot.settings import Settings
from storage.tables import Outbox, PairingAvoid, PairingMember, PairingSkip, Person
from tests.conftest import Chat, text_of
from tests.dbdump import snapshot
from tests.tick import PERSONAL_DATA, run_due_work

GROUP = "Peer group"
LONDON = ["l1", "l2", "l3", "l4"]
AUCKLAND = ["a1", "a2"]
ZONES = {
    **{n: "Europe/London" for n in [*LONDON, "skip", "pause"]},
    **{n: "Pacific/Auckland" for n in AUCKLAND},
}


def email(name: str) -> str:
    return f"{name}@example.edu"


@pytest.fixture
def group(core: MentorBot, clock: FixedClock) -> MentorBot:
    """'Peer group': four Londoners, two more who will sit out, two in Auckland; Maya mentors."""
    rows = "".join(
        f"{email(n)},Student {n.upper()},student,{tz},maya@example.edu,,{GROUP},,\n"
        for n, tz in ZONES.items()
    )
    rows += f"maya@example.edu,Maya Mentor,mentor,Europe/London,,,Study skills;{GROUP},,\n"
    header = (
        "email,name,role,timezone,mentor_email,backup_mentor_email,groups,slack_user_id,"
        "discord_user_id\n"
    )
    with core.db.session() as session:
        import_roster(session, parse_roster(header + rows), clock.now())
    return core


def ids(core: MentorBot) -> dict[str, int]:
    """Short name -> person id."""
    with core.db.session() as session:
        found = {n: person_by_email(session, email(n)) for n in ZONES}
        return {n: p.id for n, p in found.items() if p is not None and p.id is not None}


def latest_round(core: MentorBot) -> list[frozenset[int]]:
    """The member ids of each pairing of the group's newest round."""
    with core.db.session() as session:
        group_id = group_named(session, GROUP).id
        rows = session.exec(
            select(pairing.Pairing.id, PairingMember.person_id)
            .join(pairing.PairingRound, col(pairing.PairingRound.id) == pairing.Pairing.round_id)
            .join(PairingMember, col(PairingMember.pairing_id) == pairing.Pairing.id)
            .where(pairing.PairingRound.group_id == group_id)
            .order_by(col(pairing.PairingRound.number).desc())
        ).all()
        newest = max(
            session.exec(
                select(pairing.PairingRound.id).where(pairing.PairingRound.group_id == group_id)
            ).all()
            or [0]
        )
        by_pairing: dict[int, set[int]] = {}
        for pairing_id, person_id in rows:
            p = session.get(pairing.Pairing, pairing_id)
            if p is not None and p.round_id == newest:
                by_pairing.setdefault(pairing_id, set()).add(person_id)
        return [frozenset(m) for m in by_pairing.values()]


def together(round_: list[frozenset[int]], a: int, b: int) -> bool:
    return any(a in g and b in g for g in round_)


def payloads_for(core: MentorBot, person_id: int) -> list[Message]:
    """Every message queued to this person (DMs, and shared intros they are a member of)."""
    with core.db.session() as session:
        rows = session.exec(select(Outbox).order_by(col(Outbox.id))).all()
        return [Message.from_json(r.payload) for r in rows if r.person_id == person_id]


# ---------------------------------------------------------------- skip, pause, resume


def test_a_skip_sits_out_one_round_then_the_student_is_back(
    group: MentorBot, maya: Chat, clock: FixedClock
) -> None:
    """`/pairing skip`: not in the next round, shown in status, used up; paired the round after."""
    who = ids(group)
    maya.send(f"/pairing on {GROUP} every 2 weeks")
    student = Chat(group, email("skip"))
    answer = student.send("/pairing skip")
    assert answer.error is None and "sit out the next round of Peer group" in text_of(answer)
    assert "You'll sit that one out" in text_of(student.send("/pairing"))
    assert "already sitting out" in text_of(student.send("/pairing skip"))

    reply = maya.send(f"/pairing run {GROUP}")
    assert "1 student(s) sit this round out" in text_of(reply)
    assert all(who["skip"] not in g for g in latest_round(group))
    assert "You'll sit that one out" not in text_of(student.send("/pairing"))

    clock.advance(days=14)
    maya.send(f"/pairing run {GROUP}")
    assert any(who["skip"] in g for g in latest_round(group))


def test_a_pause_sits_out_every_round_until_its_date(
    group: MentorBot, maya: Chat, clock: FixedClock
) -> None:
    """`/pairing pause until DATE`: out of every round before DATE, back on DATE itself."""
    who = ids(group)
    student = Chat(group, email("pause"))
    answer = student.send("/pairing pause until 2026-12-10")
    assert answer.error is None and "until 2026-12-10" in text_of(answer)
    assert "sitting out every round until 2026-12-10" in text_of(student.send("/pairing"))
    maya.send(f"/pairing run {GROUP}")
    assert all(who["pause"] not in g for g in latest_round(group))
    clock.set(datetime(2026, 12, 9, 23, 0, tzinfo=UTC))  # still the 9th in London
    maya.send(f"/pairing run {GROUP}")
    assert all(who["pause"] not in g for g in latest_round(group))
    clock.set(datetime(2026, 12, 10, 9, 0, tzinfo=UTC))
    maya.send(f"/pairing run {GROUP}")
    assert any(who["pause"] in g for g in latest_round(group))


def test_resume_clears_a_skip_and_a_pause(group: MentorBot, maya: Chat) -> None:
    """`/pairing resume`: the next round pairs them again; resuming twice says nothing's on."""
    who = ids(group)
    maya.send(f"/pairing on {GROUP} every 2 weeks")
    student = Chat(group, email("skip"))
    student.send("/pairing skip")
    student.send("/pairing pause until 2026-12-20")
    assert "Welcome back" in text_of(student.send("/pairing resume"))
    assert "not sitting out any round" in text_of(student.send("/pairing resume"))
    maya.send(f"/pairing run {GROUP}")
    assert any(who["skip"] in g for g in latest_round(group))


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("/pairing pause until 2026-11-01", "isn't after today"),
        ("/pairing pause until 2026-11-23", "isn't after today"),
        ("/pairing pause until 2028-01-01", "up to a year"),
        ("/pairing pause until someday", "YYYY-MM-DD"),
        ("/pairing pause", "Use /pairing pause until"),
        ("/pairing pause until 2026-12-01 2026-12-02", "Use /pairing pause until"),
        ("/pairing skip", "no round to skip"),  # pairing is off in every group of theirs
        ("/pairing avoid nobody@example.edu", "can't find anyone"),
        ("/pairing avoid l1@example.edu", "your own email"),
        ("/pairing avoid L1@Example.edu", "your own email"),
        ("/pairing avoid not-an-email", "doesn't look like an email"),
        ("/pairing avoid a@example.edu b@example.edu", "Use /pairing avoid EMAIL"),
        ("/pairing unavoid l2@example.edu", "isn't on your list"),
        ("/pairing unavoid", "Use /pairing skip"),
        ("/pairing skip now", "Use /pairing skip"),
        ("/pairing run Peer group", "only for mentors"),
    ],
)
def test_bad_input_is_refused_clearly_and_changes_nothing(
    group: MentorBot, line: str, says: str
) -> None:
    """Past or far dates, unknown or own emails, nonsense: a clear answer, nothing changed."""
    student = Chat(group, email("l1"))
    student.send("/help")  # first contact links the account; that is not what is tested
    before = snapshot(group.db)
    reply = student.send(line)
    assert reply.error is not None, text_of(reply)
    assert says in reply.error
    assert snapshot(group.db) == before


def test_mentors_may_not_set_a_students_preferences(group: MentorBot, maya: Chat) -> None:
    """The preference commands are a student's own: a mentor is refused, nothing stored."""
    maya.send("/help")
    before = snapshot(group.db)
    for line in (
        "/pairing skip",
        "/pairing avoid l1@example.edu",
        "/pairing pause until 2027-01-01",
    ):
        assert maya.send(line).error is not None
    assert snapshot(group.db) == before


# ---------------------------------------------------------------- the avoid list


def test_avoid_is_honoured_in_every_round_and_never_told(
    group: MentorBot, maya: Chat, clock: FixedClock
) -> None:
    """L1 avoids L2: six rounds never pair them, and nothing sent to L2 hints at it."""
    who = ids(group)
    l1 = Chat(group, email("l1"))
    answer = l1.send("/pairing avoid l2@example.edu")
    assert "won't be paired with Student L2" in text_of(answer)
    assert "already on your list" in text_of(l1.send("/pairing avoid l2@example.edu"))
    assert "Student L2 (l2@example.edu)" in text_of(l1.send("/pairing"))
    assert "Student L2" in text_of(l1.send("/pairing avoid"))
    for _ in range(6):
        assert maya.send(f"/pairing run {GROUP}").error is None
        assert not together(latest_round(group), who["l1"], who["l2"])
        clock.advance(days=14)
    for message in payloads_for(group, who["l2"]):
        assert "list" not in message.text and "avoid" not in message.text.lower()
    l2 = Chat(group, email("l2"))
    assert "Student L1" not in text_of(l2.send("/pairing"))
    with group.db.session() as session:
        mine = session.exec(select(PairingAvoid)).all()
    assert [(r.person_id, r.avoided_id) for r in mine] == [(who["l1"], who["l2"])]


def test_unavoid_takes_them_off_the_list(group: MentorBot) -> None:
    """`/pairing unavoid EMAIL`: the entry goes and the list says so."""
    l1 = Chat(group, email("l1"))
    l1.send("/pairing avoid l2@example.edu")
    assert "off your list" in text_of(l1.send("/pairing unavoid l2@example.edu"))
    assert "list is empty" in text_of(l1.send("/pairing avoid"))


def test_the_list_is_capped(group: MentorBot, clock: FixedClock) -> None:
    """Past MAX_AVOIDS entries a student is refused (a list can't steer a whole group)."""
    l1 = Chat(group, email("l1"))
    extra = "".join(
        f"x{i}@example.edu,X {i},student,,,,,,\n" for i in range(pairing.prefs.MAX_AVOIDS)
    )
    with group.db.session() as session:
        import_roster(
            session,
            parse_roster(
                "email,name,role,timezone,mentor_email,backup_mentor_email,groups,"
                "slack_user_id,discord_user_id\n" + extra
            ),
            clock.now(),
        )
    for i in range(pairing.prefs.MAX_AVOIDS):
        assert l1.send(f"/pairing avoid x{i}@example.edu").error is None
    before = snapshot(group.db)
    reply = l1.send("/pairing avoid l2@example.edu")
    assert reply.error is not None and "the most it can hold" in reply.error
    assert snapshot(group.db) == before


def test_when_the_list_makes_pairing_impossible_the_one_who_asked_sits_out(
    core: MentorBot, clock: FixedClock, maya: Chat
) -> None:
    """Three students, T1 avoids T2: T1 sits out (told privately, no name); T2 and T3 meet."""
    rows = "".join(f"t{i}@example.edu,Trio {i},student,Europe/London,,,Trio,,\n" for i in (1, 2, 3))
    rows += "maya@example.edu,Maya Mentor,mentor,Europe/London,,,Study skills;Trio,,\n"
    with core.db.session() as session:
        import_roster(
            session,
            parse_roster(
                "email,name,role,timezone,mentor_email,backup_mentor_email,groups,"
                "slack_user_id,discord_user_id\n" + rows
            ),
            clock.now(),
        )
        t = {i: person_by_email(session, f"t{i}@example.edu").id for i in (1, 2, 3)}
    Chat(core, "t1@example.edu").send("/pairing avoid t2@example.edu")
    reply = maya.send("/pairing run Trio")
    assert reply.error is None and "1 student(s) sit this round out" in text_of(reply)
    assert "Trio 1" not in text_of(reply)  # neither among the pairs nor named as sitting out
    with core.db.session() as session:
        members = set(session.exec(select(PairingMember.person_id)).all())
    assert members == {t[2], t[3]}
    [told] = [m for m in payloads_for(core, t[1])]
    assert "sitting this one out" in told.text and "Trio 2" not in told.text
    for other in (t[2], t[3]):
        for message in payloads_for(core, other):
            assert "list" not in message.text and "Trio 1" not in message.text


def test_two_students_who_cannot_meet_make_no_round(
    core: MentorBot, clock: FixedClock, maya: Chat
) -> None:
    """Two students, one avoids the other: `/pairing run` is refused and nothing is stored."""
    rows = "".join(f"d{i}@example.edu,Duo {i},student,,,,Duo,,\n" for i in (1, 2))
    rows += "maya@example.edu,Maya Mentor,mentor,Europe/London,,,Study skills;Duo,,\n"
    with core.db.session() as session:
        import_roster(
            session,
            parse_roster(
                "email,name,role,timezone,mentor_email,backup_mentor_email,groups,"
                "slack_user_id,discord_user_id\n" + rows
            ),
            clock.now(),
        )
    Chat(core, "d1@example.edu").send("/pairing avoid d2@example.edu")
    maya.send("/help")
    before = snapshot(core.db)
    reply = maya.send("/pairing run Duo")
    assert reply.error is not None and "Nobody in Duo can be paired" in reply.error
    assert "Duo 1" not in reply.error and "list" not in reply.error
    assert snapshot(core.db) == before


def test_erasing_either_person_removes_the_entry(group: MentorBot, clock: FixedClock) -> None:
    """The avoid row goes with the one who asked and with the one avoided; exports differ."""
    Chat(group, email("l1")).send("/pairing avoid l2@example.edu")
    Chat(group, email("l3")).send("/pairing avoid l2@example.edu")
    with group.db.session() as session:
        l2 = person_by_email(session, email("l2"))
        l1 = person_by_email(session, email("l1"))
        assert l2 is not None and l1 is not None
        assert export_person(session, l2, tables=PERSONAL_DATA).get("pairing_avoid") == []
        assert len(export_person(session, l1, tables=PERSONAL_DATA)["pairing_avoid"]) == 1
        erase_person(session, l2, clock.now(), actor_id=None, via="test", tables=PERSONAL_DATA)
    with group.db.session() as session:
        assert session.exec(select(PairingAvoid)).all() == []


# ---------------------------------------------------------------- time zones and never met


def test_partners_share_working_hours_and_far_pairs_get_a_note(
    group: MentorBot, maya: Chat, clock: FixedClock
) -> None:
    """Auckland pairs with Auckland; with one Aucklander left, the intro says 13 hours apart."""
    who = ids(group)
    maya.send(f"/pairing run {GROUP}")
    round_ = latest_round(group)
    assert together(round_, who["a1"], who["a2"])
    assert all("hours apart" not in m.text for m in payloads_for(group, who["a1"]))

    maya.send(f"/pairing on {GROUP} every 2 weeks")
    Chat(group, email("a2")).send("/pairing skip")
    clock.advance(days=14)
    reply = maya.send(f"/pairing run {GROUP}")
    assert "1 pairing(s) are more than 5 hours apart" in text_of(reply)
    notes = [m for m in payloads_for(group, who["a1"]) if "hours apart" in m.text]
    assert len(notes) == 1 and "13 hours apart" in notes[0].text


def test_the_offset_is_taken_at_round_time() -> None:
    """Daylight saving counts: London is UTC+0 in January and UTC+1 in July."""
    settings = CoreSettings()
    london = Person(name="L", email="l@x.edu", role="student", timezone="Europe/London")
    winter = datetime(2027, 1, 15, 12, tzinfo=UTC)
    summer = datetime(2027, 7, 15, 12, tzinfo=UTC)
    assert pairing.utc_offset_minutes(london, settings, winter) == 0
    assert pairing.utc_offset_minutes(london, settings, summer) == 60
    assert pairing.hours_apart({1: 13 * 60, 2: -10 * 60}, [1, 2]) == 23


def test_a_pair_that_never_met_is_not_repeated(
    group: MentorBot, maya: Chat, clock: FixedClock, core_settings: CoreSettings
) -> None:
    """A1 and A2 (same zone) said they didn't meet: next round they are split, far or not."""
    who = ids(group)
    maya.send(f"/pairing on {GROUP} every 2 weeks")
    run_due_work(group.db, core_settings, clock.now())
    assert together(latest_round(group), who["a1"], who["a2"])
    clock.advance(days=7)
    run_due_work(group.db, core_settings, clock.now())
    with group.db.session() as session:
        row = session.exec(
            select(Outbox).where(Outbox.kind == "pairing_checkin", Outbox.person_id == who["a1"])
        ).one()
    a1 = Chat(group, email("a1"))
    question = Message.from_json(row.payload)
    not_yet = next(c for c in question.choices if c.label == "Not yet")
    assert a1.press(not_yet).error is None
    report = text_of(maya.send(f"/pairing report {GROUP}"))
    assert "1 didn't meet" in report and "Didn't meet" in report

    clock.advance(days=7)
    run_due_work(group.db, core_settings, clock.now())
    round_ = latest_round(group)
    assert len(round_) == 4 and not together(round_, who["a1"], who["a2"])


# ---------------------------------------------------------------- the algorithm


def test_plan_round_never_breaks_a_list_and_drops_only_the_one_who_asked() -> None:
    """Property over seeds: no avoided pair together; anyone left out asked for it."""
    for seed in range(200):
        rng = random.Random(seed)
        people = list(range(rng.randint(2, 12)))
        avoids = {
            p: frozenset(rng.sample(people, rng.randint(0, min(3, len(people))))) - {p}
            for p in people
            if rng.random() < 0.4
        }
        plan = pairing.plan_round(people, {}, rng, avoids=avoids)
        for members in plan.groups:
            for a, b in itertools.combinations(members, 2):
                assert b not in avoids.get(a, frozenset()) and a not in avoids.get(b, frozenset())
        placed = [p for g in plan.groups for p in g]
        assert sorted(placed + plan.avoiders_left_out + plan.unplaced) == people
        assert all(avoids.get(p) for p in plan.avoiders_left_out)
        assert len(plan.unplaced) <= 1 or not plan.groups


def test_five_hundred_students_are_grouped_quickly() -> None:
    """n=500 with three rounds of history, four zones and avoid lists: valid, and fast."""
    rng = random.Random(5)
    people = list(range(500))
    offsets = {p: rng.choice([0, 60, 13 * 60, -10 * 60]) for p in people}
    penalty = pairing.far_apart_penalty(offsets, 5)
    rounds = []
    started = time.perf_counter()
    for _ in range(3):
        groups = pairing.make_groups(people, pairing.pair_costs(rounds), rng, penalty=penalty)
        rounds.append([list(g) for g in groups])
    avoids = {p: frozenset(rng.sample(people, 5)) - {p} for p in people[:50]}
    plan = pairing.plan_round(
        people, pairing.pair_costs(rounds), rng, avoids=avoids, penalty=penalty
    )
    elapsed = time.perf_counter() - started
    assert sorted(p for g in plan.groups for p in g) == people  # nobody had to be left out
    # Four zones of ~125 people: only the odd one out per zone may be far from their partner.
    assert pairing.grouping_cost(plan.groups, {}, penalty) <= 4 * pairing.FAR_APART
    assert pairing.grouping_cost(plan.groups, pairing.pair_costs(rounds)) == 0
    assert elapsed < 60  # generous: a sanity bound on a shared machine, not a benchmark


def test_skip_rows_name_the_round_they_were_used_for(group: MentorBot, maya: Chat) -> None:
    """A used skip points at its round (the record of who sat out which round)."""
    maya.send(f"/pairing on {GROUP} every 2 weeks")
    Chat(group, email("skip")).send("/pairing skip")
    maya.send(f"/pairing run {GROUP}")
    with group.db.session() as session:
        [skip] = session.exec(select(PairingSkip)).all()
        assert skip.round_id is not None
        later = session.exec(select(pairing.PairingRound)).one()
        assert skip.round_id == later.id


def test_the_setting_reaches_the_core_and_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """PAIRING_MAX_HOURS_APART from the environment sets the core's limit; nonsense is refused."""
    monkeypatch.setenv("PAIRING_MAX_HOURS_APART", "3")
    assert Settings(env_file=None).core().pairing_max_hours_apart == 3
    monkeypatch.setenv("PAIRING_MAX_HOURS_APART", "-1")
    with pytest.raises(ValidationError):
        Settings(env_file=None)


def test_a_tighter_limit_splits_zones_a_looser_one_joins() -> None:
    """London and New York (5 hours in November): apart under a 3-hour limit, fine under 5."""
    offsets = {1: 0, 2: 0, 3: -300, 4: -300}
    for limit, far in ((3, True), (5, False)):
        penalty = pairing.far_apart_penalty(offsets, limit)
        assert (penalty(1, 3) > 0) is far and penalty(1, 2) == 0
    groups = pairing.make_groups(
        [1, 2, 3, 4], {}, random.Random(0), penalty=pairing.far_apart_penalty(offsets, 3)
    )
    assert sorted(sorted(g) for g in groups) == [[1, 2], [3, 4]]
