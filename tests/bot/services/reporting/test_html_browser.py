"""The HTML report in a real browser: headless Chromium loads it offline, without errors.

Chromium is Debian's `chromium` (.ci/run installs it). Without it the test is skipped with
the reason, except in CI (CI=true), where a missing browser fails the run.
"""

from __future__ import annotations

import asyncio
import os
from datetime import date
from pathlib import Path

import pytest

from bot.config import CoreSettings
from bot.services.reporting.figures import ReportBuilder
from bot.services.reporting.html import render_html
from bot.services.reporting.suppression import Scope
from storage.db import Database
from tests.bot.services.reporting.browser import check_page, chromium_path
from tests.bot.services.reporting.test_figures import NOW, WEEK1, WEEK2
from tests.bot.services.reporting.world import add_alert, add_group, log_week, students

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def chromium() -> str:
    """The Chromium binary; skipped (locally only) when it is not installed."""
    path = chromium_path()
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is missing in CI: .ci/run installs Debian's chromium")
        pytest.skip("chromium is not installed (apt-get install chromium); CI always runs this")
    return path


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite only: the page is the same whatever database the figures came from."""
    template: Path = request.getfixturevalue("sqlite_template")
    target = tmp_path / "test.db"
    target.write_bytes(template.read_bytes())
    return f"sqlite:///{target}"


async def test_html_report_loads_without_errors_and_charts_have_a_size(
    chromium: str, db: Database, tmp_path: Path
) -> None:
    """No console error or exception, 4 charts with a real size, and a screenshot to look at."""
    with db.session() as session:
        people = students(session, "b", 12, NOW)
        add_group(session, "Year 10", people[:6], NOW)
        add_group(session, "Year 11", people[6:], NOW)
        log_week(session, people, WEEK1, 3)
        log_week(session, people, WEEK2, 4)
        for person in people[:6]:
            add_alert(session, person, "low_mood", WEEK1, 30)
    with db.session() as session:
        report = ReportBuilder(session, CoreSettings(), NOW).build(
            Scope("All students"), date(2026, 10, 5), date(2026, 11, 29), per_group=True
        )
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    # Kept where REPORT_SCREENSHOT says, to look at (str_replace_based_edit_tool view, an eye).
    shot = Path(os.environ.get("REPORT_SCREENSHOT", tmp_path / "report.png"))

    result = await check_page(page.as_uri(), tmp_path / "profile")

    assert result.errors == []
    assert result.title == "Programme report: All students"
    assert len(result.chart_sizes) == 4
    assert all(width > 300 and height > 150 for width, height in result.chart_sizes)
    assert result.screenshot.startswith(PNG)
    await asyncio.to_thread(shot.write_bytes, result.screenshot)
