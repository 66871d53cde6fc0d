"""The Dockerfile: slim Python base, non-root user, the lock, `mentorbot run`, a health check."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from tests.deploy.conftest import ROOT


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n\s*", " ", text)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def args_of(keyword: str) -> list[str]:
    return [rest for kw, rest in instructions() if kw == keyword]


def test_base_is_slim_python_of_a_supported_version() -> None:
    """One stage, `python:3.X-slim`, with 3.X allowed by requires-python."""
    [base] = args_of("FROM")
    match = re.fullmatch(r"python:(3\.\d+)-slim", base)
    assert match, base
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    minimum = project["requires-python"].removeprefix(">=")
    assert tuple(map(int, match.group(1).split("."))) >= tuple(map(int, minimum.split(".")))


def test_runs_as_a_non_root_user_with_the_bot_as_entry() -> None:
    """USER is a named, non-root account; the entry is `mentorbot run`, stopped by SIGTERM."""
    [user] = args_of("USER")
    assert user.split(":")[0] not in ("root", "0")
    assert any("useradd" in run and "--system" in run for run in args_of("RUN"))
    assert args_of("ENTRYPOINT") == ['["mentorbot"]'] and args_of("CMD") == ['["run"]']
    assert args_of("STOPSIGNAL") == ["SIGTERM"]


def test_installs_exactly_the_lock_then_the_project_without_resolving() -> None:
    """Pip installs requirements.lock with --no-deps, then the project with --no-deps."""
    runs = " ".join(args_of("RUN"))
    assert "pip install --no-deps -r requirements.lock" in runs
    assert "pip install --no-deps ." in runs
    assert "pip check" in runs
    assert runs.index("requirements.lock") < runs.index("--no-deps .")


def test_every_copied_path_exists_and_covers_the_runtime_packages() -> None:
    """COPY sources exist; the packages copied are the ones the bot imports at run time."""
    copied: set[str] = set()
    for spec in args_of("COPY"):
        *sources, _target = shlex.split(spec)
        for source in sources:
            assert (ROOT / source).exists(), source
            copied.add(source)
    assert {"mentorbot", "bot", "adapters", "scheduling", "storage"} <= copied
    assert {"requirements.lock", "pyproject.toml", "README.md"} <= copied


def test_health_check_asks_the_health_endpoint() -> None:
    """HEALTHCHECK runs `mentorbot health`, which exits 1 on a 503."""
    [check] = args_of("HEALTHCHECK")
    assert '["mentorbot", "health"' in check
    env = " ".join(args_of("ENV"))
    assert "HEALTH_HOST=0.0.0.0" in env and "HEALTH_PORT=8080" in env
    assert "8080" in " ".join(args_of("EXPOSE"))


def test_dockerignore_keeps_secrets_and_data_out_of_the_image() -> None:
    """.env and the data folder never reach the build context."""
    ignored = Path(ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and "data" in ignored and ".git" in ignored
