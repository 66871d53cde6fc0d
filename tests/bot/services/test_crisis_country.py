"""Crisis lines by country: the roster has no country, so the time zone decides by default."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import CoreSettings
from bot.services.crisis import (
    FALLBACK_ZONE_COUNTRIES,
    country_of_zone,
    crisis_lines_for,
    load_zone_countries,
    render_crisis_reply,
)
from storage.tables import Person


@pytest.mark.parametrize(
    ("zone", "country"),
    [
        ("Europe/London", "GB"),
        ("America/New_York", "US"),
        ("America/Los_Angeles", "US"),
        ("America/Toronto", "CA"),
        ("America/Vancouver", "CA"),
        ("Australia/Sydney", "AU"),
        ("Australia/Perth", "AU"),
        ("Europe/Berlin", "DE"),
        ("UTC", None),
        ("Etc/GMT+5", None),
        ("Not/A_Zone", None),
        (None, None),
    ],
)
def test_country_of_a_time_zone(zone: str | None, country: str | None) -> None:
    """Zones map to the country they belong to; UTC and unknown zones to none."""
    assert country_of_zone(zone) == country


@pytest.mark.parametrize(
    ("alias", "country"), [("US/Eastern", "US"), ("GB", "GB"), ("Australia/ACT", "AU")]
)
def test_old_zone_names_resolve_through_their_links(alias: str, country: str) -> None:
    """Backward-compatible names (links) map like the zone they point to."""
    assert country_of_zone(alias) == country


def test_crisis_lines_follow_the_time_zone_when_no_country_is_set() -> None:
    """A student in Toronto with no country on record sees Canadian lines."""
    settings = CoreSettings(default_country="GB")
    lines = crisis_lines_for(settings, None, "America/Toronto")
    assert lines == settings.crisis_lines["CA"]


def test_a_recorded_country_beats_the_time_zone() -> None:
    """Person.country, when set, wins over the zone."""
    settings = CoreSettings()
    assert crisis_lines_for(settings, "AU", "Europe/London") == settings.crisis_lines["AU"]


def test_no_zone_country_falls_back_to_the_programme_default() -> None:
    """UTC means DEFAULT_COUNTRY; a country with no lines configured gets the international list."""
    settings = CoreSettings(default_country="US")
    assert crisis_lines_for(settings, None, "UTC") == settings.crisis_lines["US"]
    assert crisis_lines_for(settings, None, "Africa/Cairo") == settings.crisis_lines["INTL"]


def test_the_crisis_reply_uses_the_students_zone() -> None:
    """The reply shown in a crisis lists the lines of the student's zone's country."""
    student = Person(
        email="x@example.edu",
        name="X",
        role="student",
        timezone="Australia/Melbourne",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    reply = render_crisis_reply(CoreSettings(), student)
    assert "Lifeline" in [f.label for f in reply.fields]


def test_zone_table_is_read_from_the_first_folder_that_has_one(tmp_path: Path) -> None:
    """zone.tab rows and tzdata.zi links are read; a folder without zone.tab is skipped."""
    empty = tmp_path / "empty"
    empty.mkdir()
    data = tmp_path / "zoneinfo"
    data.mkdir()
    (data / "zone.tab").write_text(
        "# comment\nNZ\t-3652+17446\tPacific/Auckland\nGB\t+513030-0000731\tEurope/London\n"
    )
    (data / "tzdata.zi").write_text("L Pacific/Auckland NZ\nL Nowhere/Real Bogus\n")
    countries = load_zone_countries([empty, data])
    assert countries == {"Pacific/Auckland": "NZ", "Europe/London": "GB", "NZ": "NZ"}


def test_without_any_zone_table_a_built_in_map_is_used() -> None:
    """With no tzdata and no system zone files, the common zones still map."""
    countries = load_zone_countries([])
    assert countries == FALLBACK_ZONE_COUNTRIES
    assert countries["America/New_York"] == "US" and countries["Europe/London"] == "GB"
