"""`python -m bench NAME [options]`: run one benchmark; it prints one JSON object last.

Each benchmark is a module `bench/NAME.py` with `main(argv: list[str] | None) -> dict`
(the figures, also printed as the last line). Benchmarks send traffic only to 127.0.0.1.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def available() -> list[str]:
    """Names of the benchmark modules (every module with a `main`)."""
    names = []
    for info in pkgutil.iter_modules(bench.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "main", None)) and getattr(module, "BENCHMARK", False):
            names.append(info.name)
    return sorted(names)


def run(argv: list[str]) -> int:
    """Dispatch to `bench.NAME.main(rest)`."""
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m bench NAME [options]\nbenchmarks: " + ", ".join(available()))
        return 0
    name, rest = argv[0], argv[1:]
    if name not in available():
        print(f"unknown benchmark {name!r}; choose from: {', '.join(available())}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"bench.{name}")
    module.main(rest)
    return 0


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
