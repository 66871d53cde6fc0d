"""Benchmark: the crisis screen's recall, false alarms and speed on the labelled corpus.

    python -m bench safety                 # the test set (tests/safety/corpus/test.jsonl)
    python -m bench safety --corpus dev    # every development set (tests/safety/corpus/dev/)
    python -m bench safety --corpus PATH   # any corpus file
    python -m bench safety --rules-only    # the rules without the learned model

Prints JSON: crisis recall (crisis items flagged crisis) and concern recall (concern items
flagged concern or crisis), per category and per language; the benign false-crisis and
false-concern rates; and p50/p99 microseconds per message (wall clock and CPU) for messages
of 280 and 4,000 characters built from the corpus's own text: from all of it, from its hard
negatives, and from its everyday items. `--misses` lists the dev items the screen gets wrong
on stderr, for tuning; it refuses on the test set, which rules are never tuned against.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.harness import emit
from bot.safety import Screen, assess, default_screen, load_rules, set_default_screen
from bot.safety.corpus import CorpusItem, evaluate, load_folder
from bot.safety.features import features_of_model_text, model_text
from bot.safety.model import default_model
from bot.safety.normalise import variants

BENCHMARK = True
CORPUS = Path(__file__).resolve().parent.parent / "tests" / "safety" / "corpus"
TEST_SET = CORPUS / "test.jsonl"
DEV_SETS = CORPUS / "dev"
SIZES = (280, 4000)


def corpus_files(choice: str | None) -> tuple[str, list[Path]]:
    """The corpus name and files for `--corpus` (None: the test set, else the dev sets)."""
    if choice is None:
        if TEST_SET.exists():
            return "test", [TEST_SET]
        choice = "dev"  # the test set is not written yet
    if choice == "test":
        return "test", [TEST_SET]
    if choice == "dev":
        return "dev", sorted(DEV_SETS.glob("*.jsonl"))
    return choice, [Path(choice)]


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark; prints its JSON as the last line and returns it."""
    parser = argparse.ArgumentParser(prog="python -m bench safety", description=__doc__)
    parser.add_argument("--corpus", help="test (default when present), dev, or a JSONL path")
    parser.add_argument("--lang", action="append", help="only these languages (repeatable)")
    parser.add_argument("--limit", type=int, default=0, help="at most N items (0: all)")
    parser.add_argument("--samples", type=int, default=2000, help="timed messages per size")
    parser.add_argument("--misses", action="store_true", help="list dev misses on stderr")
    parser.add_argument(
        "--rules-only", action="store_true", help="without the learned model (for before/after)"
    )
    args = parser.parse_args(argv)
    if args.rules_only:
        set_default_screen(Screen(load_rules(), learned=False))
    name, files = corpus_files(args.corpus)
    items = load_folder(files)
    if args.lang:
        items = [item for item in items if item.lang in args.lang]
    if args.limit:
        items = items[: args.limit]
    default_screen()  # compile once, outside the timings
    figures = evaluate(items, assess)
    result: dict[str, Any] = {
        "benchmark": "safety",
        "corpus": name,
        "files": [
            str(path.relative_to(CORPUS)) if path.is_relative_to(CORPUS) else str(path)
            for path in files
        ],
        **figures.as_dict(),
        # Messages built from the whole corpus (over half of it risky: a worst case), from
        # its hard negatives (risk words in benign frames), and from its everyday items (the
        # closest to ordinary traffic).
        "timing_us": {
            f"{kind}{size}_chars": time_messages(pool, size, args.samples)
            for kind, pool in (
                ("", items),
                ("hard_negative_", [i for i in items if i.label == "none"]),
                ("everyday_", [i for i in items if i.category == "everyday"]),
            )
            for size in SIZES
        },
        # What the learned model adds to each call: its features and both heads over every
        # sentence (the normalised variants it reads are the rules' own, computed once).
        "model_added_us": {
            f"{size}_chars": time_model(items, size, args.samples) for size in SIZES
        },
    }
    if args.misses:
        if name == "test":
            print("not listing test-set misses: rules are never tuned against it", file=sys.stderr)
        else:
            for item, level in figures.misses:
                print(
                    f"{item.where}\t{item.label}/{item.category}\tgot {level}\t{item.text}",
                    file=sys.stderr,
                )
    result["learned_model"] = not args.rules_only
    if args.rules_only:
        set_default_screen(None)
    return emit(result)


def messages_of(items: list[CorpusItem], size: int, count: int) -> list[str]:
    """`count` messages of `size` characters, each corpus text after corpus text at random."""
    rng = random.Random(size)
    texts = [item.text for item in items] or ["an ordinary message about the week"]
    built: list[str] = []
    for _ in range(count):
        parts: list[str] = []
        length = 0
        while length < size:
            part = rng.choice(texts)
            parts.append(part)
            length += len(part) + 2
        built.append(". ".join(parts)[:size])
    return built


def time_messages(items: list[CorpusItem], size: int, samples: int) -> dict[str, float | int]:
    """p50/p99/max microseconds per `assess` call on messages of `size` characters.

    Wall-clock figures, and the thread's CPU time per call too: on a shared machine a
    preempted call inflates the wall-clock tail, which the CPU figures leave out.
    """
    count = max(1, samples if size <= 280 else samples // 4)
    messages = messages_of(items, size, count)
    for text in messages[: min(50, count)]:
        assess(text)  # warm caches (character maps, regex internals)
    wall: list[float] = []
    cpu: list[float] = []
    for text in messages:
        started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
        assess(text)
        cpu.append((time.thread_time_ns() - started_cpu) / 1000)
        wall.append((time.perf_counter_ns() - started) / 1000)
    return {"n": len(wall), **_percentiles("", wall), **_percentiles("cpu_", cpu)}


def time_model(items: list[CorpusItem], size: int, samples: int) -> dict[str, float | int]:
    """p50/p99/max microseconds (wall and CPU) of the learned model's share of a call."""
    model = default_model()
    count = max(1, samples if size <= 280 else samples // 4)
    prepared = [(text, variants(text)) for text in messages_of(items, size, count)]
    for text, forms in prepared[: min(50, count)]:
        model.scores_of(features_of_model_text(model_text(text, forms)))
    wall: list[float] = []
    cpu: list[float] = []
    for text, forms in prepared:
        started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
        model.scores_of(features_of_model_text(model_text(text, forms)))
        cpu.append((time.thread_time_ns() - started_cpu) / 1000)
        wall.append((time.perf_counter_ns() - started) / 1000)
    return {"n": len(wall), **_percentiles("", wall), **_percentiles("cpu_", cpu)}


def _percentiles(prefix: str, values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        f"{prefix}p50": round(statistics.median(values), 1),
        f"{prefix}p99": round(values[min(len(values) - 1, int(len(values) * 0.99))], 1),
        f"{prefix}max": round(values[-1], 1),
    }
