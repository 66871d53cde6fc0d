"""requirements.lock pins every runtime dependency of pyproject.toml, each version allowed."""

from __future__ import annotations

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.conftest import ROOT


def locked() -> dict[str, str]:
    """Name -> exact version of every line of the lock."""
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and version and " " not in version, f"not an exact pin: {line}"
        pins[canonicalize_name(name)] = version
    return pins


def test_every_dependency_is_pinned_to_an_allowed_version() -> None:
    """Each [project] dependency (and extra) is in the lock at a version its specifier allows."""
    pins = locked()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements.lock (make lock)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} does not satisfy {requirement.specifier} (make lock)"
        )
        for extra in requirement.extras:
            assert canonicalize_name(f"{requirement.name}-{extra}") in pins


def test_the_project_itself_is_not_in_the_lock() -> None:
    """The image installs the project from its source, not a pinned release."""
    assert "mentorbot" not in locked()
