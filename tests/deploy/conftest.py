"""Fixtures for the deployment artefacts: the repository root and the files under test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def in_ci() -> bool:
    """True under .ci/run (CI=true): a missing tool fails instead of skipping."""
    return os.environ.get("CI", "").lower() == "true"


def need_tool(found: bool, what: str) -> None:
    """Skip without the tool on a developer's machine; fail in CI, which must install it."""
    if found:
        return
    if in_ci():
        pytest.fail(f"{what} is missing in CI: .ci/run installs it")
    pytest.skip(f"{what} is not installed")


@pytest.fixture
def root() -> Path:
    """The repository root."""
    return ROOT
