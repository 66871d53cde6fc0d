"""`mentorbot report`: CSV, HTML and PNG files; bad input refused before anything is written."""

from __future__ import annotations

import csv
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from bot.people import person_by_email
from mentorbot.cli import main
from storage.db import Database
from storage.tables import AuditLog
from tests.bot.services.reporting.world import SECRET_NOTE, assign, log_week, monday, students
from tests.dbdump import snapshot
from tests.mentorbot.conftest import stored
from tests.scheduling.world import utc

RANGE = ["--from", "2026-11-02", "--to", "2026-11-22"]


@pytest.fixture
def env(demo_cli: str) -> str:
    """The demo programme plus six more of Maya's students who logged three weeks."""
    db = Database(demo_cli)
    with db.session() as session:
        people = students(session, "cli", 6, utc(2026, 11, 1, 9, 0))
        maya = person_by_email(session, "maya@example.edu")
        assert maya is not None
        assign(session, maya, people)
        for back in (1, 2, 3):
            log_week(
                session, people, monday(utc(2026, 11, 23, 9, 0).date()) - timedelta(weeks=back), 3
            )
    db.dispose()
    return demo_cli


def everything(url: str) -> dict:  # type: ignore[type-arg]
    db = Database(url)
    try:
        return snapshot(db)
    finally:
        db.dispose()


def test_csv_into_a_folder_and_a_zip_one_file_per_table(env: str, tmp_path: Path, capsys) -> None:
    """CSV: one file per table (plus about.csv), in a folder or a zip; the read is audited."""
    folder = tmp_path / "csv"
    assert main(["report", *RANGE, "--format", "csv", "--output", str(folder)]) == 0
    names = sorted(p.name for p in folder.iterdir())
    assert {"about.csv", "response_rate.csv", "mood_trend.csv", "alerts.csv"} <= set(names)
    rows = list(csv.reader((folder / "response_rate.csv").open(encoding="utf-8")))
    assert rows[0] == ["Week", "Answered"] and ["wk 16 Nov", "100%"] in rows
    assert not any(SECRET_NOTE in (folder / n).read_text(encoding="utf-8") for n in names)
    archive = tmp_path / "report.zip"
    assert main(["report", *RANGE, "--format", "csv", "--output", str(archive)]) == 0
    with zipfile.ZipFile(archive) as zipped:
        assert set(zipped.namelist()) == set(names)
    assert any(a.action == "report.read" for a in stored(env, AuditLog))


def test_html_and_png(env: str, tmp_path: Path) -> None:
    """HTML is one page with inline SVG; PNG is a folder of charts with their words."""
    page = tmp_path / "report.html"
    assert main(["report", *RANGE, "--format", "html", "--output", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert (
        html.count("<svg") == 4 and "<script" not in html and "http://" not in html.split("<svg")[0]
    )
    charts = tmp_path / "png"
    assert main(["report", *RANGE, "--format", "png", "--output", str(charts)]) == 0
    assert len(list(charts.glob("*.png"))) == 4
    assert "mood-trend.png: Average mood" in (charts / "charts.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-22", "--to", "2026-11-02"], "before it starts"),
        ([*RANGE, "--group", "Nope"], "can't find a group 'Nope'"),
        ([*RANGE, "--as", "maya@example.edu", "--mentor", "admin@example.edu"], "you mentor"),
        ([*RANGE, "--group", "Study skills"], "fewer than 5 students"),
        (["--from", "2026-13-01", "--to", "2026-11-02"], "2026-13-01"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    env: str, tmp_path: Path, capsys, args: list[str], message: str
) -> None:
    """Reversed dates, unknown group, another mentor's students, a tiny group: exit 1, no file."""
    before = everything(env)
    out = tmp_path / "out"
    assert main(["report", *args, "--format", "csv", "--output", str(out)]) == 1
    assert message in capsys.readouterr().err
    assert not out.exists()
    assert everything(env) == before
