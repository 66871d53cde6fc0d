"""The image's install steps, run for real: the Dockerfile's pip commands in a fresh venv.

No container engine is reachable here and the base image can't be pulled, so this runs the
Dockerfile's own RUN lines (those that make the venv and pip install) with bash, in a build
context holding only what the Dockerfile COPYs, then starts the installed `mentorbot` on a
SQLite database. It proves the lock is complete and consistent (`--no-deps` + `pip check`),
the COPY list is enough, and the package data (migrations, safety rules) is installed.
Slow (about half a minute, from pip's cache): it runs once, not per database.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.deploy.conftest import ROOT
from tests.deploy.test_dockerfile import args_of

IMAGE_VENV = "/opt/mentorbot"


def build_context(tmp_path: Path) -> Path:
    """A directory with exactly what the Dockerfile copies."""
    context = tmp_path / "context"
    context.mkdir()
    for spec in args_of("COPY"):
        *sources, _target = shlex.split(spec)
        for source in sources:
            path = ROOT / source
            if path.is_dir():
                shutil.copytree(
                    path, context / source, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy(path, context / source)
    return context


def install_steps(venv: Path) -> list[str]:
    """The Dockerfile's RUN lines that build the venv, pointed at `venv`."""
    steps = [run for run in args_of("RUN") if "pip" in run or "venv" in run]
    assert len(steps) == 2, steps
    python = shlex.quote(Path(sys.executable).resolve().as_posix())
    return [
        step.replace(IMAGE_VENV, str(venv)).replace("python -m venv", f"{python} -m venv")
        for step in steps
    ]


def test_image_install_steps_work_from_the_lock(tmp_path: Path) -> None:
    """Fresh venv, lock with --no-deps, project with --no-deps, pip check; then it runs."""
    context = build_context(tmp_path)
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # Byte-compiling every installed module is most of the time and proves nothing here.
    env["PIP_NO_COMPILE"] = "1"
    for step in install_steps(venv):
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", step],
            cwd=context,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"{step}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    mentorbot = venv / "bin" / "mentorbot"
    data = tmp_path / "data"
    data.mkdir()
    # As in the image: settings from the environment, run from the data folder, no .env.
    run_env = {
        **{k: v for k, v in env.items() if not k.startswith(("SLACK_", "DISCORD_"))},
        "DATABASE_URL": f"sqlite:///{data / 'mentorbot.db'}",
        "HEALTH_PORT": "1",  # nothing listens there
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(mentorbot), *args],
            cwd=data,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    upgraded = cli("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    seeded = cli("demo", "seed")
    assert seeded.returncode == 0 and "sam@example.edu" in seeded.stdout, seeded.stderr
    # The Dockerfile's HEALTHCHECK command, with no bot running: a clear failure, exit 1.
    health = cli("health", "--timeout", "2")
    assert health.returncode == 1 and "No health endpoint" in health.stderr
    assert "Traceback" not in health.stderr
    # Installed, not imported from the source tree: the context has no tests or bench.
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import mentorbot, bot; print(mentorbot.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(venv) in where.stdout
