"""Fixtures for the safety corpus tests: the corpus folder and its files."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"
TEST_SET = CORPUS / "test.jsonl"
DEV_SETS = CORPUS / "dev"


def corpus_files() -> list[Path]:
    """Every corpus file in the project: the test set (when written) and each dev set."""
    files = sorted(DEV_SETS.glob("*.jsonl"))
    return [TEST_SET, *files] if TEST_SET.exists() else files


@pytest.fixture(scope="session")
def test_set() -> Path:
    """The held-out test set; the test using it is skipped until the file exists."""
    if not TEST_SET.exists():
        pytest.skip("tests/safety/corpus/test.jsonl is not written yet")
    return TEST_SET
