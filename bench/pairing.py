"""Benchmark: group N students for a pairing round (the algorithm alone, no database).

    python -m bench pairing [--students 2000] [--rounds 3] [--avoiders 0.1]

Realistic: five time zones (London, New York, Tokyo, Auckland, UTC), `--rounds` earlier
rounds to avoid repeating, a tenth of the students with a "don't pair me with" list of
five, and a few pairs that never met. Adversarial: every pair costs something (nothing is
free, so the greedy pass scans the whole pool for each person and every group is a
candidate for swaps): the quadratic worst case. Each at N/4, N/2 and N, so the growth shows.

Prints JSON: seconds per size and scenario, the cost of the grouping found, the avoided
pairs broken (always 0), the students left out by their own lists, and the growth ratio
between N/2 and N (4.0 would be exactly quadratic).
"""

from __future__ import annotations

import argparse
import itertools
import random
import time

from bench.harness import emit
from bot.services import pairing

BENCHMARK = True

# UTC offsets in minutes in late November (London, New York, Tokyo, Auckland, UTC).
OFFSETS = (0, -300, 540, 780, 0)


def realistic(n: int, rounds: int, avoiders: float, seed: int) -> dict[str, object]:
    """Group n students with history, zones, avoid lists and never-met pairs; timed."""
    rng = random.Random(seed)
    people = list(range(n))
    offsets = {p: rng.choice(OFFSETS) for p in people}
    penalty = pairing.far_apart_penalty(offsets, 5)
    history: list[list[list[int]]] = []
    for _ in range(rounds):
        groups = pairing.make_groups(people, pairing.pair_costs(history), rng, penalty=penalty)
        history.append([list(g) for g in groups])
    costs = pairing.pair_costs(history)
    for members in history[0][: max(1, n // 20)]:
        for a, b in itertools.combinations(members, 2):
            costs[frozenset((a, b))] += pairing.NEVER_MET
    avoids = {
        p: frozenset(rng.sample(people, min(5, n - 1))) - {p}
        for p in rng.sample(people, int(n * avoiders))
    }
    started = time.perf_counter()
    plan = pairing.plan_round(people, costs, rng, avoids=avoids, penalty=penalty)
    seconds = time.perf_counter() - started
    broken = sum(
        1
        for members in plan.groups
        for a, b in itertools.combinations(members, 2)
        if b in avoids.get(a, frozenset()) or a in avoids.get(b, frozenset())
    )
    far = sum(1 for g in plan.groups if pairing.hours_apart(offsets, g) > 5)
    return {
        "seconds": round(seconds, 4),
        "repeats": pairing.grouping_cost(plan.groups, pairing.pair_costs(history)),
        "far_pairs": far,
        "avoids_broken": broken,
        "left_out": len(plan.avoiders_left_out) + len(plan.unplaced),
        "placed": sum(len(g) for g in plan.groups),
    }


def adversarial(n: int, seed: int) -> dict[str, object]:
    """Every pair costs 1-7: no free partner anywhere; timed."""
    rng = random.Random(seed)

    def penalty(a: int, b: int) -> int:
        return 1 + (a * 7919 + b * 7919) % 7

    started = time.perf_counter()
    groups = pairing.make_groups(list(range(n)), {}, rng, penalty=penalty)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 4),
        "cost": pairing.grouping_cost(groups, {}, penalty),
        "placed": sum(len(g) for g in groups),
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark; prints its JSON as the last line and returns it."""
    parser = argparse.ArgumentParser(prog="python -m bench pairing", description=__doc__)
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=pairing.RECENT_ROUNDS)
    parser.add_argument("--avoiders", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    sizes = sorted({max(4, args.students // 4), max(4, args.students // 2), args.students})
    result: dict[str, object] = {"students": args.students}
    real = {n: realistic(n, args.rounds, args.avoiders, args.seed) for n in sizes}
    hard = {n: adversarial(n, args.seed) for n in sizes}
    result["realistic"] = {str(n): r for n, r in real.items()}
    result["adversarial"] = {str(n): r for n, r in hard.items()}
    half, full = sizes[-2] if len(sizes) > 1 else sizes[0], sizes[-1]
    for name, runs in (("realistic", real), ("adversarial", hard)):
        before, after = float(str(runs[half]["seconds"])), float(str(runs[full]["seconds"]))
        result[f"{name}_growth_half_to_full"] = round(after / before, 2) if before > 0 else None
    emit(result)
    return result
