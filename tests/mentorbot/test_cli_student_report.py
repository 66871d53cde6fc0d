"""`mentorbot report student EMAIL --from --to --format pdf|md --output PATH`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import CoreSettings
from mentorbot.cli import main
from storage.db import Database
from storage.tables import AuditLog
from tests.bot.features.casefile_world import GOAL_TITLE, NOTE_TEXT, seed_term
from tests.mentorbot.conftest import stored
from tests.scheduling.world import utc

SAM = ["report", "student", "sam@example.edu", "--from", "2026-09-01", "--to", "2026-11-23"]


@pytest.fixture
def env(demo_cli: str) -> str:
    """The CLI on the demo programme with Sam's term of records."""
    db = Database(demo_cli)
    seed_term(db, CoreSettings(), utc(2026, 11, 23, 10, 0))
    db.dispose()
    return demo_cli


def test_pdf_report_is_written_and_audited(env: str, tmp_path: Path, capsys) -> None:
    """A PDF goes to --output with its page count said, and the read is audited (no actor)."""
    out = tmp_path / "sam.pdf"
    assert main([*SAM, "--format", "pdf", "--output", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF-")
    assert f"Wrote {out} (1 page(s))." in capsys.readouterr().out
    [row] = [r for r in stored(env, AuditLog) if r.action == "report.student.cli"]
    assert row.actor_id is None and row.detail == "2026-09-01..2026-11-23"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_markdown_report_is_written_with_its_chart(env: str, tmp_path: Path, capsys) -> None:
    """Markdown goes to --output with the chart PNG beside it, linked by name; no notes."""
    out = tmp_path / "sam.md"
    assert main([*SAM, "--format", "md", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Progress report: Sam Student")
    assert "(sam-mood.png)" in text and GOAL_TITLE in text
    assert NOTE_TEXT not in text  # the report may be shared: mentors' notes stay out
    assert (tmp_path / "sam-mood.png").read_bytes().startswith(b"\x89PNG")


def test_markdown_without_output_prints(env: str, capsys) -> None:
    """Markdown without --output is printed to the terminal."""
    assert main([*SAM, "--format", "md"]) == 0
    assert "## Agreed actions" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            [
                "report",
                "student",
                "nobody@example.edu",
                "--from",
                "2026-09-01",
                "--to",
                "2026-11-23",
                "-o",
                "x.pdf",
            ],
            "I can't find a student 'nobody@example.edu'",
        ),
        (
            [
                "report",
                "student",
                "maya@example.edu",
                "--from",
                "2026-09-01",
                "--to",
                "2026-11-23",
                "-o",
                "x.pdf",
            ],
            "I can't find a student 'maya@example.edu'",
        ),
        (
            [
                "report",
                "student",
                "sam@example.edu",
                "--from",
                "2026-11-23",
                "--to",
                "2026-09-01",
                "-o",
                "x.pdf",
            ],
            "before it starts",
        ),
        (
            [
                "report",
                "student",
                "sam@example.edu",
                "--from",
                "2026-02-30",
                "--to",
                "2026-09-01",
                "-o",
                "x.pdf",
            ],
            "isn't a date",
        ),
        ([*SAM, "--format", "docx", "-o", "x.docx"], "use --format pdf or --format md"),
        ([*SAM, "--format", "pdf"], "A PDF needs a file"),
        ([*SAM, "-o", "no/such/folder/x.pdf"], "doesn't exist"),
        ([*SAM, "-o", "."], "is a folder"),
    ],
)
def test_refusals_write_nothing(env: str, tmp_path: Path, capsys, argv, message) -> None:
    """Unknown student, reversed or bad dates, bad format or path: a message, no file, no audit."""
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(argv) == 1
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert [r for r in stored(env, AuditLog) if r.action.startswith("report.")] == []
