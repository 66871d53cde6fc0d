"""Peer pairing: a group's students meet in random pairs every few weeks, and say if they did.

```
/pairing on GROUP every N weeks     rounds every N weeks (1-12), the first at the next tick
/pairing off GROUP                  no more rounds (past ones stay for the report)
/pairing run GROUP                  a round now (the cadence counts from it)
/pairing report GROUP               rounds, pairs and how many met
/pairing                            the pairing status of your groups (a student: their own)
```

Only the group's mentors and admins configure it (`groups.require_group_mentor`, audited).
Students have a say (`bot.services.pairing_prefs`): `/pairing skip`, `/pairing pause until
DATE`, `/pairing resume`, and a private "don't pair me with" list (`/pairing avoid EMAIL`).

A round pairs the group's active students (not mentors; not those who paused check-ins,
skip this round or paused pairing) by cost, lowest first (`plan_round`, `make_groups`):
* an avoid list is never broken (`FORBIDDEN`). When no grouping honours every list, the
  student who asked is left out of this round and told so privately, without a name; the
  person avoided is never told or affected, and the mentor only sees how many sat out;
* a pair that answered "Did you meet?" with no and never yes, in any earlier round, costs
  `NEVER_MET`: not put together again while any other grouping exists;
* partners more than `PAIRING_MAX_HOURS_APART` hours apart (UTC offsets at round time, so
  daylight saving counts) cost `FAR_APART`, more than any repeat of the recent rounds;
  when nothing closer works, their introduction says how far apart they are;
* each pair from the group's last `RECENT_ROUNDS` rounds costs 1 per round.
`make_groups` runs a greedy pass with capped scans and swaps (linear in practice, quadratic at
worst: `python -m bench pairing`), then, for groups of at most `EXACT_UP_TO` whose grouping
still costs something, an exact branch-and-bound search (cut off after `SEARCH_BUDGET`
steps, keeping the best found). With an odd number of students one group is a trio.

Each pair (or the trio) is introduced together, with a suggested conversation starter:
* all on Slack: a multi-party DM of the pair and the bot (conversations.open with their ids);
* all on Discord, and the group bound to a Discord channel: a private thread in that channel
  with the pair added (bots cannot open group DMs on Discord);
* otherwise (mixed platforms, the console, a Discord group without a channel): a DM to each
  member naming their partner(s).
The outbox carries the first two as one row whose address lists the members
(`Recipient.member_ids`); the adapters' messengers open the conversation and post.

Halfway to the next round each member gets a DM "Did you meet?" with Yes / Not yet buttons;
answers are stored per member (`PairingMember.met`) and counted by `pairing_summary`.

Repeats can't happen: a round is numbered per group and `(group, number)` is unique, so two
ticks (or a tick and `/pairing run`) racing for the same round open it once; every push is
keyed by round and pairing (`pairing:{round}:{pairing}:intro`,
`pairing:{round}:checkin:{person}`) and the check-back is claimed by a conditional UPDATE.
"""

from __future__ import annotations

import itertools
import logging
import random
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from bot.args import record_id, small_number, split_words, take_name
from bot.auth import require_owner
from bot.config import CoreSettings
from bot.errors import UserError
from bot.i18n import N_, _, ngettext, speaking
from bot.i18n.dates import DAY, DAY_TIME, local_format
from bot.localtime import is_valid_zone, to_local
from bot.model import Choice, Field, Message, Recipient
from bot.outbox import Push, push_rows
from bot.outcome_lines import nonzero_counts
from bot.people import ADMIN, STUDENT
from bot.services import pairing_prefs as prefs
from bot.services.breaks import is_paused
from bot.services.groups import (
    GROUP_MENTOR,
    MEMBER,
    group_named,
    groups_of,
    list_groups,
    members_of,
    require_group_mentor,
)
from bot.services.language import language_of, speaking_in_group, speaking_to
from storage.enums import OutboxKind
from storage.insert import insert_ignore
from storage.tables import (
    Group,
    Identity,
    Pairing,
    PairingMember,
    PairingRound,
    PairingSkip,
    Person,
)

log = logging.getLogger(__name__)

# Pairs from this many of the group's latest rounds are avoided in the next one.
RECENT_ROUNDS = 3
DEFAULT_WEEKS = 2
MAX_WEEKS = 12
# Search steps before `make_groups` settles for the best grouping found (only very large
# groups with a dense history ever get near it; a step is one partial grouping).
SEARCH_BUDGET = 20_000
MET_ACTION = "pairing.met"
# Marked only: shown with `_(...)` in the reader's language.
NOT_YOURS = N_("I can't find that pairing. Type /help for what I can do.")
USAGE = N_(
    "Use /pairing on GROUP every N weeks, /pairing off GROUP, /pairing run GROUP, "
    "/pairing report GROUP, or /pairing alone for your groups."
)
# Stored nowhere: a round picks one and each introduction shows it translated.
STARTERS = (
    N_("What's one thing you learned this week that surprised you?"),
    N_("What's a study habit that works for you, and one that doesn't?"),
    N_("What are you looking forward to this month?"),
    N_("Which module or topic do you find hardest right now, and why?"),
    N_("What's something you're proud of from this term?"),
    N_("If you could change one thing about how you study, what would it be?"),
    N_("What do you do to recharge after a long week?"),
    N_("What's a goal you're working towards, and what's the next small step?"),
)
# The report's "Last round" date: English keeps its weekday-and-year form.
REPORT_DATE = ("yMMMEd", "%a %d %b %Y")
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}


# ---------------------------------------------------------------- the algorithm

Costs = Mapping[frozenset[int], int]
# The cost of putting two people together beyond `Costs` (time zones, a "don't pair" list).
Penalty = Callable[[int, int], int]

# A pair someone asked never to be in: dearer than anything else, so a grouping holds one
# only when no other grouping exists, and `plan_round` then leaves the person out instead.
FORBIDDEN = 10**6
# A pair that said they didn't meet: not repeated unless nothing else is possible.
NEVER_MET = 100
# A pair whose working hours barely overlap: worse than any repeat of the recent rounds,
# far better than a pair that didn't meet.
FAR_APART = RECENT_ROUNDS + 1
# Up to this many people, a grouping that still costs something after the quick search is
# improved by the exact branch-and-bound search (its steps grow with the square of the size).
EXACT_UP_TO = 16
# How many other groups a costly group tries to swap a member with, per pass (see `_improve`).
SWAP_WINDOW = 32
# How many people left a person looks at for a free partner before taking the cheapest seen
# (the swaps after the greedy pass repair a rare miss: two Aucklanders each paired with a
# Londoner swap into one pair).
SCAN_LIMIT = 256


def pair_costs(rounds: Sequence[Sequence[Sequence[int]]]) -> Counter[frozenset[int]]:
    """How many of these rounds put each two people in the same group."""
    costs: Counter[frozenset[int]] = Counter()
    for groups in rounds:
        for members in groups:
            for a, b in itertools.combinations(members, 2):
                costs[frozenset((a, b))] += 1
    return costs


def grouping_cost(
    groups: Sequence[Sequence[int]], costs: Costs, penalty: Penalty | None = None
) -> int:
    """Repeats in a grouping: every two people in one group who were together before.

    With a `penalty`, its cost for every two people in one group is added.
    """
    return sum(
        costs.get(frozenset((a, b)), 0) + (penalty(a, b) if penalty is not None else 0)
        for members in groups
        for a, b in itertools.combinations(members, 2)
    )


def make_groups(
    people: Sequence[int],
    costs: Costs,
    rng: random.Random,
    *,
    budget: int = SEARCH_BUDGET,
    penalty: Penalty | None = None,
) -> list[tuple[int, ...]]:
    """Split `people` into pairs (one trio when their number is odd) at the lowest cost.

    The cost of two people together is their `costs` entry plus `penalty(a, b)`. A quick
    greedy pass with swaps (at most quadratic in the number of people) finds a grouping; when
    it still costs something and the group has at most `EXACT_UP_TO` people, an exact
    branch-and-bound search improves it (the optimum unless it runs out of `budget` steps).
    Ties are broken by `rng`, so rounds vary.
    """
    if len(set(people)) != len(people):
        raise ValueError("people must be distinct")
    if len(people) < 2:
        raise ValueError("pairing needs at least two people")
    order = list(people)
    rng.shuffle(order)
    if len(order) <= 3:
        return [tuple(order)]

    # Person -> partner -> cost: two dict lookups per pair instead of building a frozenset.
    adjacent: dict[int, dict[int, int]] = {}
    for pair, spent in costs.items():
        if spent and len(pair) == 2:
            a, b = tuple(pair)
            adjacent.setdefault(a, {})[b] = spent
            adjacent.setdefault(b, {})[a] = spent
    free: dict[int, int] = {}

    def cost(a: int, b: int) -> int:
        found = adjacent.get(a, free).get(b, 0)
        return found + penalty(a, b) if penalty is not None else found

    quick = _quick_groups(order, cost)
    if len(order) > EXACT_UP_TO or _cost_of(quick, cost) == 0:
        return quick
    return _exact_groups(order, cost, budget, quick)


def _cost_of(groups: Sequence[Sequence[int]], cost: Penalty) -> int:
    return sum(_group_cost(g, cost) for g in groups)


def _group_cost(members: Sequence[int], cost: Penalty) -> int:
    return sum(cost(a, b) for a, b in itertools.combinations(members, 2))


def _quick_groups(order: list[int], cost: Penalty) -> list[tuple[int, ...]]:
    """Greedy pairs in `order` (each takes its cheapest free partner), then swaps that help.

    Each person scans the people left until a free (zero-cost) partner, at most
    `SCAN_LIMIT` of them, so the pass is linear in the number of people times a constant.
    """
    pool = order[::-1]  # popped from the end: `order` front first
    groups: list[tuple[int, ...]] = []
    while len(pool) >= 2:
        head = pool.pop()
        best_at, best = len(pool) - 1, cost(head, pool[-1])
        for at in range(len(pool) - 2, max(-1, len(pool) - 2 - SCAN_LIMIT), -1):
            if best == 0:
                break
            spent = cost(head, pool[at])
            if spent < best:
                best_at, best = at, spent
        groups.append((head, pool.pop(best_at)))
    if pool:
        # The odd one out joins the pair it costs least to join.
        lone = pool[0]
        at = min(
            range(len(groups)), key=lambda i: cost(lone, groups[i][0]) + cost(lone, groups[i][1])
        )
        groups[at] = (*groups[at], lone)
    _improve(groups, cost)
    return groups


def _improve(groups: list[tuple[int, ...]], cost: Penalty, passes: int = 3) -> None:
    """Swap one member of a costly group with one of another group while it lowers the cost.

    Each costly group tries the other costly groups first (two Aucklanders each paired with a
    Londoner swap into one pair) and then the `SWAP_WINDOW` groups after it, at most
    `SWAP_WINDOW` of each, so a pass is linear in the number of groups times a constant.
    """
    costs = [_group_cost(g, cost) for g in groups]
    count = len(groups)
    for _pass in range(passes):
        improved = False
        costly = [i for i in range(count) if costs[i]]
        for i in costly:
            window = [(i + step) % count for step in range(1, min(SWAP_WINDOW, count - 1) + 1)]
            candidates = dict.fromkeys([j for j in costly if j != i][:SWAP_WINDOW] + window)
            for j in candidates:
                if not costs[i]:
                    break
                best: tuple[int, tuple[int, ...], tuple[int, ...], int, int] | None = None
                for x in groups[i]:
                    for y in groups[j]:
                        gi = tuple(y if m == x else m for m in groups[i])
                        gj = tuple(x if m == y else m for m in groups[j])
                        ci, cj = _group_cost(gi, cost), _group_cost(gj, cost)
                        delta = ci + cj - costs[i] - costs[j]
                        if delta < 0 and (best is None or delta < best[0]):
                            best = (delta, gi, gj, ci, cj)
                if best is not None:
                    _delta, groups[i], groups[j], costs[i], costs[j] = best
                    improved = True
        if not improved:
            return


def _exact_groups(
    order: list[int], cost: Penalty, budget: int, incumbent: list[tuple[int, ...]]
) -> list[tuple[int, ...]]:
    """Branch and bound over groupings of a small group, starting from a known grouping.

    People are indices into `order` (already shuffled, so index order breaks ties at random)
    and costs are read from a matrix, so each step is cheap.
    """
    n = len(order)
    matrix = [[0 if i == j else cost(order[i], order[j]) for j in range(n)] for i in range(n)]
    index = {person: i for i, person in enumerate(order)}
    best: list[tuple[int, ...]] = [tuple(index[m] for m in g) for g in incumbent]
    best_cost = sum(matrix[a][b] for g in best for a, b in itertools.combinations(g, 2))
    steps = 0

    def lower_bound(remaining: Sequence[int]) -> int:
        # Everyone pays at least their cheapest partner, and each pair is paid by two.
        total = sum(min(matrix[x][y] for y in remaining if y != x) for x in remaining)
        return (total + 1) // 2

    def search(remaining: list[int], chosen: list[tuple[int, ...]], spent: int, trio: bool) -> bool:
        """Depth first over groupings; True once a perfect (zero-cost) grouping is found."""
        nonlocal best, best_cost, steps
        if not remaining:
            if spent < best_cost:
                best, best_cost = list(chosen), spent
            return best_cost == 0
        steps += 1
        if steps > budget or spent + lower_bound(remaining) >= best_cost:
            return False
        # The person with the fewest free partners left goes first: dead ends show early.
        head = min(
            remaining, key=lambda x: (sum(1 for y in remaining if y != x and matrix[x][y] == 0), x)
        )
        others = [y for y in remaining if y != head]
        options: list[tuple[int, int, tuple[int, ...]]] = []
        if not trio or len(remaining) > 3:
            options += [(matrix[head][y], 0, (head, y)) for y in others]
        if trio:
            options += [
                (matrix[head][y] + matrix[head][z] + matrix[y][z], 1, (head, y, z))
                for y, z in itertools.combinations(others, 2)
            ]
        # Cheapest first; pairs before trios at equal cost; the shuffled order breaks ties.
        options.sort(key=lambda o: (o[0], o[1], o[2]))
        for extra, _kind, members in options:
            rest = [x for x in remaining if x not in members]
            chosen.append(members)
            done = search(rest, chosen, spent + extra, trio and len(members) == 2)
            chosen.pop()
            if done:
                return True
        return False

    search(list(range(n)), [], 0, n % 2 == 1)
    return [tuple(order[i] for i in g) for g in best]


@dataclass
class RoundPlan:
    """Who meets whom in a round, and who couldn't be placed."""

    groups: list[tuple[int, ...]]
    # Left out rather than paired with someone on their own "don't pair me with" list.
    avoiders_left_out: list[int] = field(default_factory=list)
    # Left without anyone to pair with once those were out (told nothing about why).
    unplaced: list[int] = field(default_factory=list)


def plan_round(
    people: Sequence[int],
    costs: Costs,
    rng: random.Random,
    *,
    avoids: Mapping[int, frozenset[int]] | None = None,
    penalty: Penalty | None = None,
) -> RoundPlan:
    """Group `people` at the lowest cost, never putting anyone with someone they avoid.

    `avoids` maps a person to the people they asked not to be paired with. When no grouping
    respects every list, the person who asked (never the person avoided: being avoided must
    cost them nothing, or they could guess) is left out of this round, and the rest are
    grouped again; the one who asked avoiding the most people present goes first.
    """
    avoids = avoids or {}

    def avoided(a: int, b: int) -> bool:
        return b in avoids.get(a, frozenset()) or a in avoids.get(b, frozenset())

    def full_penalty(a: int, b: int) -> int:
        extra = penalty(a, b) if penalty is not None else 0
        return extra + FORBIDDEN if avoided(a, b) else extra

    pool = list(people)
    plan = RoundPlan([])
    while len(pool) >= 2:
        groups = make_groups(pool, costs, rng, penalty=full_penalty if avoids else penalty)
        clashes = [
            (a, b)
            for members in groups
            for a, b in itertools.combinations(members, 2)
            if avoided(a, b)
        ]
        if not clashes:
            plan.groups = groups
            return plan
        present = set(pool)
        askers = {p for a, b in clashes for p in (a, b) if avoids.get(p, frozenset()) & {a, b}}
        drop = max(sorted(askers), key=lambda p: len(avoids[p] & present))
        pool.remove(drop)
        plan.avoiders_left_out.append(drop)
    plan.unplaced = pool
    return plan


# ---------------------------------------------------------------- rounds


def recent_groupings(
    session: Session, group_id: int, limit: int = RECENT_ROUNDS
) -> list[list[list[int]]]:
    """The member ids of each pairing in the group's latest `limit` rounds, newest first."""
    rounds = session.exec(
        select(PairingRound.id)
        .where(PairingRound.group_id == group_id)
        .order_by(col(PairingRound.number).desc())
        .limit(limit)
    ).all()
    found: dict[int, dict[int, list[int]]] = {r: {} for r in rounds if r is not None}
    if not found:
        return []
    rows = session.exec(
        select(Pairing.round_id, PairingMember.pairing_id, PairingMember.person_id)
        .join(PairingMember, col(PairingMember.pairing_id) == Pairing.id)
        .where(col(Pairing.round_id).in_(list(found)))
    ).all()
    for round_id, pairing_id, person_id in rows:
        found[round_id].setdefault(pairing_id, []).append(person_id)
    return [list(pairings.values()) for pairings in found.values()]


def never_met(session: Session, group_id: int) -> set[frozenset[int]]:
    """Pairs of the group's past pairings that answered "Did you meet?" and never said yes.

    Every round counts, not only the recent ones: a pair that didn't meet once is not put
    together again while any other grouping exists.
    """
    answers: dict[int, list[tuple[int, bool | None]]] = {}
    for pairing_id, person_id, met in session.exec(
        select(Pairing.id, PairingMember.person_id, PairingMember.met)
        .join(PairingRound, col(PairingRound.id) == Pairing.round_id)
        .join(PairingMember, col(PairingMember.pairing_id) == Pairing.id)
        .where(PairingRound.group_id == group_id)
    ).all():
        if pairing_id is not None:
            answers.setdefault(pairing_id, []).append((person_id, met))
    pairs: set[frozenset[int]] = set()
    for said in answers.values():
        if any(m is False for _who, m in said) and not any(m is True for _who, m in said):
            pairs.update(frozenset(p) for p in itertools.combinations([w for w, _m in said], 2))
    return pairs


def round_costs(
    session: Session, group_id: int
) -> tuple[Counter[frozenset[int]], Counter[frozenset[int]]]:
    """(recent repeats, full costs): the repeats plus `NEVER_MET` per pair that didn't meet."""
    recent = pair_costs(recent_groupings(session, group_id))
    costs = Counter(recent)
    for pair in never_met(session, group_id):
        costs[pair] += NEVER_MET
    return recent, costs


def utc_offset_minutes(person: Person, settings: CoreSettings, now: datetime) -> int:
    """The person's UTC offset at `now`, in minutes (daylight saving included)."""
    tz = person.timezone if person.timezone and is_valid_zone(person.timezone) else None
    offset = to_local(now, tz or settings.default_timezone).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


def hours_apart(offsets: Mapping[int, int], members: Sequence[int]) -> float:
    """The widest gap between the members' UTC offsets, in hours.

    The plain difference, not around the clock: Auckland (+13) and Honolulu (-10) are 23
    hours apart, since one's Monday afternoon is the other's Tuesday morning.
    """
    values = [offsets.get(m, 0) for m in members]
    return (max(values) - min(values)) / 60 if values else 0.0


def far_apart_penalty(offsets: Mapping[int, int], max_hours: int) -> Penalty:
    """`FAR_APART` for two people whose UTC offsets differ by more than `max_hours`."""
    limit = max_hours * 60

    def penalty(a: int, b: int) -> int:
        return FAR_APART if abs(offsets.get(a, 0) - offsets.get(b, 0)) > limit else 0

    return penalty


@dataclass
class Candidates:
    """The group's students for a round: who can be paired and who sits it out by choice."""

    students: list[Person]
    sitting_out: list[Person] = field(default_factory=list)
    skips: list[PairingSkip] = field(default_factory=list)  # used up by this round


def candidates(session: Session, settings: CoreSettings, group: Group, now: datetime) -> Candidates:
    """The group's active students, less those who paused check-ins or pairing, or skip it."""
    assert group.id is not None
    rows = [r.person for r in members_of(session, group.id, role=MEMBER)]
    people = [p for p in rows if p.role == STUDENT and p.id is not None]
    pauses = prefs.pauses_of(session, [p.id for p in people if p.id is not None])
    skips = prefs.pending_skips(session, group.id)
    found = Candidates([])
    for person in people:
        tz = person.timezone if person.timezone and is_valid_zone(person.timezone) else None
        today = to_local(now, tz or settings.default_timezone).date()
        if is_paused(person, today):
            continue  # check-ins paused (exams, illness): not counted as a choice about pairing
        skip = skips.get(person.id or 0)
        if skip is not None:
            found.skips.append(skip)
            found.sitting_out.append(person)
        elif prefs.is_sitting_out(pauses.get(person.id or 0), today):
            found.sitting_out.append(person)
        else:
            found.students.append(person)
    return found


def eligible_students(
    session: Session, settings: CoreSettings, group: Group, now: datetime
) -> list[Person]:
    """The group's active students who can be paired now (not mentors, not paused, no skip)."""
    return candidates(session, settings, group, now).students


def _too_few(group: Group, count: int) -> UserError:
    return UserError(
        ngettext(
            "{group} has {count} student who can be paired right now; pairing needs at "
            "least 2. Add students first (/group add), or wait until paused students are back.",
            "{group} has {count} students who can be paired right now; pairing needs at "
            "least 2. Add students first (/group add), or wait until paused students are back.",
            count,
        ).format(group=group.name, count=count)
    )


def period(group: Group) -> timedelta:
    """Time between two rounds of the group (its setting, else the default)."""
    return timedelta(weeks=group.pairing_weeks or DEFAULT_WEEKS)


@dataclass
class RoundOutcome:
    """What opening one round did."""

    round: PairingRound
    groups: list[list[Person]]
    repeats: int
    intros: int
    sat_out: int = 0  # by choice (skip, pause) or left out by their own avoid list
    far_apart: int = 0  # pairings wider apart than the setting: nothing closer was possible


def _insert_round(session: Session, values: dict[str, object]) -> int | None:
    """Insert a round unless its (group, number) exists; its id, or None when it existed."""
    inserted = insert_ignore(
        session, PairingRound, values, index_elements=["group_id", "number"], returning=["id"]
    )
    return int(inserted[0][0]) if inserted else None


def open_round(
    session: Session,
    settings: CoreSettings,
    group: Group,
    now: datetime,
    *,
    actor: Person | None = None,
    rng: random.Random | None = None,
) -> RoundOutcome | None:
    """Pair the group's students now and queue the introductions.

    Honours skips and pauses (those students sit out; a skip is used up), the avoid lists
    (never broken: the student who asked is left out instead and told privately), time
    zones (far pairs only when nothing closer works, with a note) and "never met" answers.

    Returns None when the round was opened meanwhile by someone else (a racing scheduler).
    Raises UserError, storing nothing, when fewer than two students can be paired.
    """
    assert group.id is not None
    rng = rng or random.Random()
    found = candidates(session, settings, group, now)
    students = found.students
    if len(students) < 2:
        raise _too_few(group, len(students))
    by_id = {p.id: p for p in students if p.id is not None}
    offsets = {pid: utc_offset_minutes(p, settings, now) for pid, p in by_id.items()}
    recent, costs = round_costs(session, group.id)
    plan = plan_round(
        list(by_id),
        costs,
        rng,
        avoids=prefs.avoid_lists(session, list(by_id)),
        penalty=far_apart_penalty(offsets, settings.pairing_max_hours_apart),
    )
    if not plan.groups:
        raise UserError(
            _(
                "Nobody in {group} can be paired this round: too few students are free to "
                "meet each other. Try again after the next students join or come back."
            ).format(group=group.name)
        )
    last = session.exec(
        select(func.max(PairingRound.number)).where(PairingRound.group_id == group.id)
    ).one()
    round_id = _insert_round(
        session,
        {
            "group_id": group.id,
            "number": int(last or 0) + 1,
            "started_at": now,
            "checkin_at": now + period(group) / 2,
            "checkin_sent_at": None,
            "started_by": actor.id if actor is not None else None,
        },
    )
    if round_id is None:
        return None
    pairing_round = session.get(PairingRound, round_id)
    assert pairing_round is not None
    for skip in found.skips:
        skip.round_id = round_id  # used: the next round after this one pairs them again
        session.add(skip)
    outcome = RoundOutcome(
        pairing_round,
        [],
        grouping_cost(plan.groups, recent),
        0,
        sat_out=len(found.sitting_out) + len(plan.avoiders_left_out) + len(plan.unplaced),
    )
    identities = _identities(session, list(by_id))
    max_hours = settings.pairing_max_hours_apart
    for members in plan.groups:
        pairing = Pairing(round_id=round_id)
        session.add(pairing)
        session.flush()
        assert pairing.id is not None
        session.add_all(PairingMember(pairing_id=pairing.id, person_id=m) for m in members)
        people = [by_id[m] for m in members]
        outcome.groups.append(people)
        apart = hours_apart(offsets, members)
        outcome.far_apart += int(apart > max_hours)
        starter = rng.choice(STARTERS)
        pushes = intro_pushes(
            settings,
            group,
            pairing_round,
            pairing.id,
            people,
            identities,
            starter,
            apart if apart > max_hours else None,
        )
        outcome.intros += push_rows(session, pushes, now, settings.default_timezone)
    # Only the student who asked hears why they sit out; the person avoided hears nothing.
    left_out = []
    for pid in plan.avoiders_left_out:
        with speaking_to(by_id[pid], settings):
            left_out.append(
                Push(
                    dedupe_key=f"pairing:{round_id}:sitout:{pid}",
                    message=left_out_message(group),
                    person=by_id[pid],
                    kind=OutboxKind.PAIRING_INTRO,
                )
            )
    outcome.intros += push_rows(session, left_out, now, settings.default_timezone)
    session.flush()
    return outcome


def _identities(session: Session, person_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """Person id -> platform -> platform user id."""
    found: dict[int, dict[str, str]] = {}
    if not person_ids:
        return found
    for identity in session.exec(
        select(Identity).where(col(Identity.person_id).in_(list(person_ids)))
    ).all():
        found.setdefault(identity.person_id, {})[identity.platform] = identity.user_id
    return found


def group_address(
    group: Group, people: Sequence[Person], identities: Mapping[int, Mapping[str, str]]
) -> Recipient | None:
    """Where the pair can be introduced together, or None when only separate DMs will do."""
    preferred = [group.platform] if group.platform in ("slack", "discord") else []
    for platform in dict.fromkeys([*preferred, "slack", "discord"]):
        ids = [identities.get(p.id or 0, {}).get(platform) for p in people]
        if not all(ids):
            continue
        member_ids = tuple(i for i in ids if i)
        if platform == "slack":
            return Recipient(platform="slack", user_id="", channel_id=None, member_ids=member_ids)
        if platform == "discord" and group.platform == "discord" and group.channel_id:
            # The private thread lives in the group's channel: no channel, no thread.
            return Recipient(
                platform="discord", user_id="", channel_id=group.channel_id, member_ids=member_ids
            )
    return None


def _joined(names: Sequence[str]) -> str:
    """Names joined as "A", "A and B", "A, B and C" in the language being spoken."""
    if len(names) == 1:
        return names[0]
    return _("{names} and {last}").format(names=", ".join(names[:-1]), last=names[-1])


def _names(people: Sequence[Person]) -> str:
    names = [p.name for p in people]
    if not names:  # a partner who has since erased their data
        return _("your partner")
    return _joined(names)


def _week_count(group: Group) -> int:
    return group.pairing_weeks or DEFAULT_WEEKS


def _every(group: Group) -> str:
    """The cadence, "every week" or "every 2 weeks", in the language being spoken."""
    weeks = _week_count(group)
    return ngettext("every week", "every {n} weeks", weeks).format(n=weeks)


def apart_note(hours: float | None) -> str:
    """The intro's note for a pair wider apart than the setting ("" when they are not)."""
    if hours is None:
        return ""
    return "\n\n" + _(
        "You're {hours} hours apart, so one of you may be early or late in the day: "
        "pick a time that suits you both, or chat in writing at your own pace."
    ).format(hours=f"{hours:g}")


def _closing(starter: str) -> str:
    """The starter and the promise of a check-back that end every introduction."""
    return (
        "\n\n"
        + _("A conversation starter: {starter}").format(starter=_(starter))
        + "\n\n"
        + _("I'll check in halfway to ask if you met.")
    )


def _title(group: Group) -> str:
    return _("🤝 Peer pairing: {group}").format(group=group.name)


def intro_message(
    group: Group, people: Sequence[Person], starter: str, apart: float | None = None
) -> Message:
    """The introduction posted to a pair (or trio) together."""
    if len(people) == 3:
        hello = _("Hi {names}! You're this round's trio in {group}.")
    else:
        hello = _("Hi {names}! You're this round's pair in {group}.")
    weeks = _week_count(group)
    find = ngettext(
        "Find 20 to 30 minutes in the next week for a chat: in person, on a call, or right here.",
        "Find 20 to 30 minutes in the next {n} weeks for a chat: in person, on a call, or "
        "right here.",
        weeks,
    ).format(n=weeks)
    return Message(
        title=_title(group),
        text=hello.format(names=_names(people), group=group.name)
        + " "
        + find
        + apart_note(apart)
        + _closing(starter),
        private=False,
        thread_name=f"{group.name}: {_names(people)}",
    )


def intro_dm(
    group: Group,
    person: Person,
    partners: Sequence[Person],
    starter: str,
    apart: float | None = None,
) -> Message:
    """The introduction for one member, when the pair can't share a conversation."""
    weeks = _week_count(group)
    find = ngettext(
        "Find 20 to 30 minutes in the next week for a chat: say hello at your next session "
        "or message them.",
        "Find 20 to 30 minutes in the next {n} weeks for a chat: say hello at your next "
        "session or message them.",
        weeks,
    ).format(n=weeks)
    hello = _("Hi {name}! This round of peer pairing in {group} pairs you with {partners}.")
    return Message(
        title=_title(group),
        text=hello.format(name=person.name, group=group.name, partners=_names(partners))
        + " "
        + find
        + apart_note(apart)
        + _closing(starter),
    )


def left_out_message(group: Group) -> Message:
    """To a student left out of a round by their own avoid list (and to nobody else)."""
    return Message(
        title=_title(group),
        text=_(
            "This round of peer pairing in {group} couldn't find you a partner who isn't "
            "on your \"don't pair me with\" list, so you're sitting this one out. You'll be in "
            "the next round as usual. Only you get this message. Type /pairing avoid to see or "
            "change your list."
        ).format(group=group.name),
    )


def intro_pushes(
    settings: CoreSettings,
    group: Group,
    pairing_round: PairingRound,
    pairing_id: int,
    people: Sequence[Person],
    identities: Mapping[int, Mapping[str, str]],
    starter: str,
    apart: float | None = None,
) -> list[Push]:
    """The outbox rows introducing one pairing: one shared conversation, or a DM each.

    A DM is in its reader's language; a shared conversation in the members' language when
    they all have the same one, else in the group's.
    """
    key = f"pairing:{pairing_round.id}:{pairing_id}:intro"
    address = group_address(group, people, identities)
    if address is not None:
        with _shared_language(settings, group, people):
            message = intro_message(group, people, starter, apart)
        return [
            Push(
                dedupe_key=key,
                message=message,
                address=address,
                kind=OutboxKind.PAIRING_INTRO,
            )
        ]
    pushes = []
    for person in people:
        with speaking_to(person, settings):
            message = intro_dm(
                group, person, [p for p in people if p.id != person.id], starter, apart
            )
        pushes.append(
            Push(
                dedupe_key=f"{key}:{person.id}",
                message=message,
                person=person,
                kind=OutboxKind.PAIRING_INTRO,
            )
        )
    return pushes


def _shared_language(
    settings: CoreSettings, group: Group, people: Sequence[Person]
) -> AbstractContextManager[str]:
    """Speak the members' common language, else the group's (a shared conversation)."""
    languages = {language_of(p, settings) for p in people}
    if len(languages) == 1:
        return speaking(languages.pop())
    return speaking_in_group(group, settings)


# ---------------------------------------------------------------- the check-back


def checkin_message(member_id: int, partners: Sequence[Person]) -> Message:
    """The halfway DM asking whether the pair met."""
    return Message(
        title=_("🤝 Did you meet?"),
        text=_("Halfway through this pairing round: have you met {names} yet?").format(
            names=_names(partners)
        ),
        choices=(
            Choice(
                _("Yes, we met"),
                MET_ACTION,
                (("member", str(member_id)), ("met", "yes")),
                "primary",
            ),
            Choice(_("Not yet"), MET_ACTION, (("member", str(member_id)), ("met", "no"))),
        ),
    )


def _partners(session: Session, member: PairingMember) -> list[Person]:
    return list(
        session.exec(
            select(Person)
            .join(PairingMember, col(PairingMember.person_id) == Person.id)
            .where(
                PairingMember.pairing_id == member.pairing_id,
                col(PairingMember.person_id) != member.person_id,
            )
            .order_by(col(Person.name))
        ).all()
    )


def send_due_checkins(session: Session, settings: CoreSettings, now: datetime) -> int:
    """Queue "Did you meet?" to every member of each round whose halfway point has come.

    A round superseded by a newer one before its check-back went out gets none (the new
    round's pairs are what matter now).
    """
    queued = 0
    due = session.exec(
        select(PairingRound)
        .where(col(PairingRound.checkin_sent_at).is_(None), col(PairingRound.checkin_at) <= now)
        .order_by(col(PairingRound.checkin_at), col(PairingRound.id))
    ).all()
    for pairing_round in due:
        claimed = session.execute(
            update(PairingRound)
            .where(
                col(PairingRound.id) == pairing_round.id,
                col(PairingRound.checkin_sent_at).is_(None),
            )
            .values(checkin_sent_at=now)
            .execution_options(synchronize_session=False)
        )
        if int(getattr(claimed, "rowcount", 0) or 0) != 1:
            continue  # another scheduler took it
        newer = session.exec(
            select(PairingRound.id).where(
                PairingRound.group_id == pairing_round.group_id,
                PairingRound.number > pairing_round.number,
            )
        ).first()
        if newer is not None:
            continue
        rows = session.exec(
            select(PairingMember, Person)
            .join(Pairing, col(Pairing.id) == PairingMember.pairing_id)
            .join(Person, col(Person.id) == PairingMember.person_id)
            .where(
                Pairing.round_id == pairing_round.id,
                col(Person.active).is_(True),
                col(Person.deleted_at).is_(None),
            )
            .order_by(col(PairingMember.id))
        ).all()
        pushes = []
        for member, person in rows:
            with speaking_to(person, settings):
                message = checkin_message(member.id or 0, _partners(session, member))
            pushes.append(
                Push(
                    dedupe_key=f"pairing:{pairing_round.id}:checkin:{person.id}",
                    message=message,
                    person=person,
                    kind=OutboxKind.PAIRING_CHECKIN,
                )
            )
        queued += push_rows(session, pushes, now, settings.default_timezone)
    return queued


def record_answer(
    session: Session, person: Person, raw_member_id: str, answer: str, now: datetime
) -> Message:
    """Store a member's Yes / Not yet; returns the check-back message as it now reads."""
    member_id = record_id(raw_member_id)
    member = session.get(PairingMember, member_id) if member_id is not None else None
    require_owner(person, member.person_id if member is not None else None, _(NOT_YOURS))
    assert member is not None and member.id is not None
    if answer not in ("yes", "no"):
        raise UserError(_("That button is missing something. Please try again from a new message."))
    member.met = answer == "yes"
    member.answered_at = now
    session.add(member)
    partners = _partners(session, member)
    if member.met:
        return Message(
            title=_("🤝 You met!"),
            text=_("Great, thanks! I've noted that you met {names}.").format(
                names=_names(partners)
            ),
        )
    return Message(
        title=_("🤝 Not yet"),
        text=_(
            "Thanks for saying. There's still time to meet {names} before the "
            "next round. Press the button when you have."
        ).format(names=_names(partners)),
        choices=(
            Choice(
                _("We've met now"),
                MET_ACTION,
                (("member", str(member.id)), ("met", "yes")),
                "primary",
            ),
        ),
    )


# ---------------------------------------------------------------- the report


@dataclass
class PairingSummary:
    """A group's pairing so far, for `/pairing report` and the workshop report."""

    rounds: int = 0
    pairs: int = 0  # pairings, the trios included
    met: int = 0  # pairings where someone said they met
    not_yet: int = 0  # pairings with answers, none of them "yes": they didn't meet
    no_answer: int = 0
    weeks: int | None = None  # the cadence, None when pairing is off
    last_round_at: datetime | None = None

    def line(self) -> str:
        """One sentence for a report."""
        if not self.rounds:
            return _("No pairing rounds yet.")
        return _(
            "{rounds} round(s), {pairs} pair(s): {met} met, "
            "{not_yet} didn't meet, {no_answer} no answer."
        ).format(
            rounds=self.rounds,
            pairs=self.pairs,
            met=self.met,
            not_yet=self.not_yet,
            no_answer=self.no_answer,
        )


def pairing_summary(session: Session, group_id: int) -> PairingSummary:
    """Rounds, pairs and how many met, over all the group's rounds."""
    group = session.get(Group, group_id)
    summary = PairingSummary(weeks=group.pairing_weeks if group is not None else None)
    rounds = session.exec(
        select(func.count(), func.max(PairingRound.started_at)).where(
            PairingRound.group_id == group_id
        )
    ).one()
    summary.rounds, summary.last_round_at = int(rounds[0]), rounds[1]
    answers: dict[int, list[bool | None]] = {}
    for pairing_id, met in session.exec(
        select(Pairing.id, PairingMember.met)
        .join(PairingRound, col(PairingRound.id) == Pairing.round_id)
        .join(PairingMember, col(PairingMember.pairing_id) == Pairing.id, isouter=True)
        .where(PairingRound.group_id == group_id)
    ).all():
        if pairing_id is not None:
            answers.setdefault(pairing_id, []).append(met)
    summary.pairs = len(answers)
    for said in answers.values():
        if any(m is True for m in said):
            summary.met += 1
        elif any(m is False for m in said):
            summary.not_yet += 1
        else:
            summary.no_answer += 1
    return summary


def render_report(group: Group, summary: PairingSummary, tz: str) -> Message:
    """The `/pairing report` answer."""
    if group.pairing_weeks:
        weeks = group.pairing_weeks
        cadence = ngettext("Pairing is every week.", "Pairing is every {n} weeks.", weeks)
        cadence = cadence.format(n=weeks)
    else:
        cadence = _("Pairing is off.")
    fields = [Field(_("Rounds"), str(summary.rounds)), Field(_("Pairs"), str(summary.pairs))]
    fields += [
        Field(_("Met"), str(summary.met)),
        Field(_("Didn't meet"), str(summary.not_yet)),
        Field(_("No answer"), str(summary.no_answer)),
    ]
    if summary.last_round_at is not None:
        last = local_format(to_local(summary.last_round_at, tz), REPORT_DATE)
        fields.append(Field(_("Last round"), last))
    return Message(
        title=_("Peer pairing: {group}").format(group=group.name),
        text=f"{cadence} {summary.line()}",
        fields=tuple(fields),
    )


# ---------------------------------------------------------------- configuration


def parse_weeks(spec: str) -> int:
    """'2 weeks', 'week', 'fortnight', 'two weeks', '3' as weeks; nonsense is a UserError."""
    text = " ".join(spec.lower().split())
    if text in ("week", "weekly"):
        return 1
    if text in ("fortnight", "fortnightly"):
        return 2
    match = re.fullmatch(r"(\S+)(?: weeks?)?", text)
    raw = match.group(1) if match else ""
    weeks = small_number(raw, MAX_WEEKS) if raw.isdigit() else _NUMBER_WORDS.get(raw)
    if weeks is None or not 1 <= weeks <= MAX_WEEKS:
        raise UserError(
            _(
                "'every {spec}' isn't an interval I can use. Say every 1 to {max} "
                "weeks, e.g. /pairing on Study skills every 2 weeks."
            ).format(spec=spec.strip(), max=MAX_WEEKS)
        )
    return weeks


def _split_every(rest: str) -> tuple[str, str | None]:
    """`GROUP [every INTERVAL]` as (group, interval or None); the group may be quoted.

    A quoted name is the name whatever it contains (`"Meet every day" every 2 weeks`);
    unquoted, the name runs up to the last `every`.
    """
    words = split_words(rest.strip())
    if words.items and words.quoted[0]:
        name, after = take_name(words, 0)
        if after >= len(words.items):
            return name, None
        if words.items[after].lower() != "every":
            raise UserError(_(USAGE))
        return name, words.rest_after(after + 1)
    parts = re.split(r"\s+every\s+", rest.strip(), flags=re.I)
    if len(parts) == 1:
        return parts[0], None
    return " every ".join(parts[:-1]), parts[-1]


def turn_on(
    session: Session,
    settings: CoreSettings,
    actor: Person | None,
    rest: str,
    now: datetime,
) -> tuple[Group, datetime]:
    """`/pairing on GROUP every N weeks`; returns the group and when its next round opens."""
    name, interval = _split_every(rest)
    group = group_named(session, name)
    require_group_mentor(session, actor, group, now, "pairing.on")
    weeks = parse_weeks(interval) if interval is not None else DEFAULT_WEEKS
    count = len(eligible_students(session, settings, group, now))
    if count < 2:
        raise _too_few(group, count)
    group.pairing_weeks = weeks
    session.add(group)
    return group, next_round_at(session, group, now) or now


def turn_off(session: Session, actor: Person | None, rest: str, now: datetime) -> Group:
    """`/pairing off GROUP`: no more rounds; the check-back of a running round still goes."""
    group = group_named(session, rest)
    require_group_mentor(session, actor, group, now, "pairing.off")
    group.pairing_weeks = None
    session.add(group)
    return group


def next_round_at(session: Session, group: Group, now: datetime) -> datetime | None:
    """When the group's next scheduled round opens (None when pairing is off)."""
    if not group.pairing_weeks:
        return None
    last = session.exec(
        select(func.max(PairingRound.started_at)).where(PairingRound.group_id == group.id)
    ).one()
    return now if last is None else max(now, last + period(group))


# ---------------------------------------------------------------- the tick


@dataclass
class PairingTickOutcome:
    """What one pass of the tick did for peer pairing."""

    rounds: int = 0
    intros: int = 0
    checkins: int = 0
    # Groups skipped: under 2 students free to pair (sitting out, or avoid lists rule it out).
    too_few: list[str] = field(default_factory=list)

    @property
    def queued(self) -> bool:
        """True when anything went to the outbox."""
        return bool(self.intros or self.checkins)

    def lines(self) -> list[str]:
        """Log lines for what happened."""
        counts = {
            "pairing rounds opened": self.rounds,
            "pairing introductions": self.intros,
            "pairing check-backs": self.checkins,
        }
        lines = nonzero_counts(counts)
        if self.too_few:
            lines.append(
                "pairing skipped (under 2 students who can be paired): " + ", ".join(self.too_few)
            )
        return lines


def run_due_pairing(
    session: Session,
    settings: CoreSettings,
    now: datetime,
    rng: random.Random | None = None,
) -> PairingTickOutcome:
    """Open every round that is due and send every check-back that is due."""
    outcome = PairingTickOutcome()
    groups = session.exec(
        select(Group).where(col(Group.pairing_weeks).is_not(None)).order_by(col(Group.id))
    ).all()
    for group in groups:
        due = next_round_at(session, group, now)
        if due is None or due > now:
            continue
        try:
            opened = open_round(session, settings, group, now, rng=rng)
        except UserError:
            # Tried again at every tick, and quietly: the group may gain students later.
            outcome.too_few.append(group.name)
            continue
        if opened is not None:
            outcome.rounds += 1
            outcome.intros += opened.intros
    outcome.checkins = send_due_checkins(session, settings, now)
    return outcome


# ---------------------------------------------------------------- the chat command


def _mentored_groups(session: Session, actor: Person) -> list[Group]:
    if actor.role == ADMIN:
        return list(list_groups(session))
    return [
        g
        for g in list_groups(session, groups_of(session, actor))
        if g.id is not None
        and any(r.person.id == actor.id for r in members_of(session, g.id, role=GROUP_MENTOR))
    ]


def _status(session: Session, actor: Person, now: datetime, tz: str) -> str:
    lines = []
    for group in _mentored_groups(session, actor):
        assert group.id is not None
        summary = pairing_summary(session, group.id)
        due = next_round_at(session, group, now)
        if due is None:
            state = _("{group}: off.").format(group=group.name)
        else:
            state = _("{group}: {every}, next round {when}.").format(
                group=group.name,
                every=_every(group),
                when=local_format(to_local(due, tz), DAY_TIME),
            )
        lines.append(f"{state} {summary.line()}")
    if not lines:
        return _("You don't run any group yet.") + " " + _(USAGE)
    return _("Peer pairing:") + "\n" + "\n".join(lines) + "\n" + _(USAGE)


def run_chat_command(
    session: Session,
    settings: CoreSettings,
    actor: Person,
    text: str,
    now: datetime,
    *,
    rng: random.Random | None = None,
) -> Message:
    """`/pairing ...` for a group's mentors and admins; returns the answer."""
    sub, _space, rest = text.strip().partition(" ")
    sub, rest = sub.lower(), rest.strip()
    tz = actor.timezone if actor.timezone and is_valid_zone(actor.timezone) else None
    tz = tz or settings.default_timezone
    if not sub or sub in ("status", "list"):
        return Message(text=_status(session, actor, now, tz))
    if sub in ("on", "start", "every") and rest:
        group, due = turn_on(session, settings, actor, rest, now)
        if due <= now:
            when = _("within a minute")
        else:
            when = _("on {when}").format(when=local_format(to_local(due, tz), DAY_TIME))
        weeks = _week_count(group)
        is_on = ngettext(
            "Peer pairing is on for {group}: a round every week, the next one {when}.",
            "Peer pairing is on for {group}: a round every {n} weeks, the next one {when}.",
            weeks,
        ).format(group=group.name, n=weeks, when=when)
        return Message(
            text=is_on
            + " "
            + _(
                "Each pair gets an introduction and a conversation starter, and "
                'a "Did you meet?" halfway through.'
            )
        )
    if sub in ("off", "stop") and rest:
        group = turn_off(session, actor, rest, now)
        return Message(
            text=_("Peer pairing is off for {group}. Past rounds stay in the report.").format(
                group=group.name
            )
        )
    if sub in ("run", "now") and rest:
        group = group_named(session, rest)
        require_group_mentor(session, actor, group, now, "pairing.run")
        opened = open_round(session, settings, group, now, actor=actor, rng=rng)
        if opened is None:
            raise UserError(_("A round for this group was opened a moment ago. See /pairing."))
        lines = [f"• {_names(people)}" for people in opened.groups]
        # English says "pair(s)" for any count; each language has its own plural forms.
        repeats = (
            " "
            + ngettext(
                "{n} pair(s) met in a recent round too: there was no way around it.",
                "{n} pair(s) met in a recent round too: there was no way around it.",
                opened.repeats,
            ).format(n=opened.repeats)
            if opened.repeats
            else ""
        )
        # Counts only: why someone sits out (a skip, a pause, their own list) is theirs.
        sat_out = (
            " "
            + ngettext(
                "{n} student(s) sit this round out.",
                "{n} student(s) sit this round out.",
                opened.sat_out,
            ).format(n=opened.sat_out)
            if opened.sat_out
            else ""
        )
        far = (
            " "
            + ngettext(
                "{n} pairing(s) are more than {hours} hours apart: nobody closer was free. "
                "Their introduction says so.",
                "{n} pairing(s) are more than {hours} hours apart: nobody closer was free. "
                "Their introduction says so.",
                opened.far_apart,
            ).format(n=opened.far_apart, hours=settings.pairing_max_hours_apart)
            if opened.far_apart
            else ""
        )
        return Message(
            title=_("Round {number} of peer pairing: {group}").format(
                number=opened.round.number, group=group.name
            ),
            text="\n".join(lines)
            + "\n\n"
            + _("The introductions are on their way.")
            + f"{repeats}{sat_out}{far}",
        )
    if sub == "report" and rest:
        group = group_named(session, rest)
        require_group_mentor(session, actor, group, now, "pairing.report")
        assert group.id is not None
        return render_report(group, pairing_summary(session, group.id), tz)
    raise UserError(_(USAGE))


# ---------------------------------------------------------------- a student's say


STUDENT_USAGE = N_(
    "Use /pairing skip (sit out the next round), /pairing pause until YYYY-MM-DD, "
    "/pairing resume, /pairing avoid EMAIL (private: they're never told), "
    "/pairing unavoid EMAIL, or /pairing alone for your pairing."
)


def _avoid_list(avoiding: Sequence[Person]) -> str:
    if not avoiding:
        return _('Your "don\'t pair me with" list is empty.')
    names = ", ".join(f"{p.name} ({p.email})" for p in avoiding)
    return _('Your "don\'t pair me with" list (only you can see it): {names}.').format(names=names)


def student_status(session: Session, settings: CoreSettings, actor: Person, now: datetime) -> str:
    """`/pairing` for a student: their groups' rounds, their skips, pause and avoid list."""
    tz = actor.timezone if actor.timezone and is_valid_zone(actor.timezone) else None
    tz = tz or settings.default_timezone
    today = to_local(now, tz).date()
    mine = prefs.preferences(session, actor, today)
    skipping = {g.id for g in mine.skipping}
    lines = []
    for group in prefs.paired_groups(session, actor):
        due = next_round_at(session, group, now)
        if due is not None:
            line = _("{group}: {every}, next round {when}.").format(
                group=group.name, every=_every(group), when=local_format(to_local(due, tz), DAY)
            )
        else:
            line = _("{group}: {every}, off.").format(group=group.name, every=_every(group))
        if group.id in skipping:
            line += " " + _("You'll sit that one out (/pairing skip).")
        lines.append(f"• {line}")
    if not lines:
        lines.append(_("None of your groups has peer pairing on right now."))
    if mine.paused_until is not None:
        lines.append(
            _(
                "You're sitting out every round until {date} (/pairing resume to come back sooner)."
            ).format(date=mine.paused_until.isoformat())
        )
    lines.append(_avoid_list(mine.avoiding))
    return _("Peer pairing:") + "\n" + "\n".join(lines) + "\n" + _(STUDENT_USAGE)


def run_student_command(
    session: Session, settings: CoreSettings, actor: Person, text: str, now: datetime
) -> Message:
    """`/pairing skip|pause|resume|avoid|unavoid ...` for a student; returns the answer."""
    sub, _space, rest = text.strip().partition(" ")
    sub, rest = sub.lower(), rest.strip()
    tz = actor.timezone if actor.timezone and is_valid_zone(actor.timezone) else None
    today = to_local(now, tz or settings.default_timezone).date()
    if sub == "skip" and not rest:
        new, already = prefs.skip_next(session, actor, now)
        names = _group_names(new or already)
        if not new:
            return Message(
                text=_("You're already sitting out the next round of {groups}.").format(
                    groups=names
                )
            )
        return Message(
            text=_(
                "You'll sit out the next round of {groups}, and be paired again the round "
                "after. Changed your mind? Type /pairing resume."
            ).format(groups=names)
        )
    if sub == "pause":
        until = prefs.parse_pause(rest, today)
        prefs.pause_until(session, actor, until, now)
        return Message(
            text=_(
                "You'll sit out every pairing round until {date} (you're back "
                "that day). Type /pairing resume to come back sooner."
            ).format(date=until.isoformat())
        )
    if sub == "resume" and not rest:
        if not prefs.resume(session, actor):
            return Message(text=_("You're not sitting out any round: you'll be paired as usual."))
        return Message(text=_("Welcome back! You'll be in the next pairing round of your groups."))
    if sub == "avoid":
        if not rest:
            return Message(text=_avoid_list(prefs.preferences(session, actor, today).avoiding))
        other, added = prefs.avoid(session, actor, rest, now)
        if not added:
            return Message(
                text=_("{name} is already on your list. Nothing changed.").format(name=other.name)
            )
        return Message(
            text=_(
                "Noted, privately: you won't be paired with {name}. They aren't told, "
                "and nobody else sees your list. Type /pairing unavoid "
                "{email} to undo it."
            ).format(name=other.name, email=other.email)
        )
    if sub == "unavoid" and rest:
        other = prefs.unavoid(session, actor, rest)
        return Message(
            text=_("{name} is off your list: you may be paired again.").format(name=other.name)
        )
    raise UserError(_(STUDENT_USAGE))


def _group_names(groups: Sequence[Group]) -> str:
    return _joined([g.name for g in groups])
