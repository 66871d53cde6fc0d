"""Fixtures for the safety corpus tests: the corpus folder and its files."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"
TEST_SET = CORPUS / "test.jsonl"
# A second held-out set, short social-media style posts, written blind like the test set.
SOCIAL_SET = CORPUS / "test_social.jsonl"
DEV_SETS = CORPUS / "dev"


def corpus_files() -> list[Path]:
    """Every corpus file in the project: the held-out sets and each dev set."""
    return [TEST_SET, SOCIAL_SET, *sorted(DEV_SETS.glob("*.jsonl"))]


@pytest.fixture(scope="session")
def test_set() -> Path:
    """The held-out test set."""
    return TEST_SET
