"""Crisis lines data (issue 19, part 3): every country callable, sourced and dated.

The shipped file is safety data: these tests fail when a supported country lacks an
emergency number, or a line lacks a source or the date it was checked, and they check that
a student in Dublin, Delhi, Auckland or Dubai sees that country's own lines first.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import pytest

from bot.config import DEFAULT_CRISIS_LINES, CoreSettings
from bot.crisis_lines import (
    FALLBACK,
    CrisisLine,
    CrisisLinesError,
    LineKind,
    crisis_lines_with,
    parse_crisis_lines,
    read_crisis_lines,
    shipped_crisis_lines,
)
from bot.services.crisis import (
    FALLBACK_ZONE_COUNTRIES,
    country_of_zone,
    crisis_lines_for,
    load_zone_countries,
    render_crisis_reply,
)
from storage.tables import Person

SHIPPED = shipped_crisis_lines()

# Main destination countries of international students and their main countries of origin.
REQUIRED = (
    *("US", "GB", "CA", "AU", "DE", "FR", "NL", "IE", "NZ", "JP", "KR", "CN", "ES", "IT", "SE"),
    *("IN", "NG", "VN", "PK", "BD", "BR", "MX", "SA", "AE", "TR", "ID", "MY", "PH", "CO"),
)

GOOD_LINE = """
      - kind: crisis
        name: Campus Crisis Line
        contact: Call 0100 200 300 (24/7)
        languages: [en]
        sources:
          - https://example.edu/crisis
        source_kind: service
        checked: 2026-12-01
"""
EMERGENCY_LINE = """
      - kind: emergency
        name: Emergency services
        contact: Call 112
        languages: []
        sources:
          - https://example.org/112
        source_kind: government
        checked: 2026-12-01
"""


def one_country(lines: str, code: str = "IE") -> str:
    """A crisis lines file with one country holding `lines`."""
    return f"version: 1\ncountries:\n  {code}:\n    name: Somewhere\n    lines:{lines}"


def iso_country_codes() -> set[str]:
    """Every ISO 3166 country code, from tzdata's iso3166.tab."""
    table = (resources.files("tzdata") / "zoneinfo" / "iso3166.tab").read_text(encoding="utf-8")
    return {row.split("\t")[0] for row in table.splitlines() if row and not row.startswith("#")}


def student_in(zone: str | None, country: str | None = None) -> Person:
    """A student with only a time zone (and perhaps a country) on record."""
    return Person(
        email="s@example.edu",
        name="S",
        role="student",
        timezone=zone,
        country=country,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


# ---- The shipped data -----------------------------------------------------------------


def test_at_least_thirty_countries_including_the_main_student_countries() -> None:
    """The file covers 30+ countries, among them every main destination and origin named."""
    assert len(SHIPPED.countries) >= 30
    assert set(REQUIRED) - set(SHIPPED.countries) == set()


@pytest.mark.parametrize("code", sorted(SHIPPED.countries))
def test_every_country_has_an_emergency_number(code: str) -> None:
    """A supported country without an emergency number fails here (and the file fails to load)."""
    emergency = [line for line in SHIPPED.countries[code].lines if line.kind is LineKind.EMERGENCY]
    assert emergency, f"{code} has no emergency number"
    assert all(any(ch.isdigit() for ch in line.contact) for line in emergency)


@pytest.mark.parametrize("code", sorted(SHIPPED.countries))
def test_every_line_has_a_source_and_a_date_checked(code: str) -> None:
    """Each line names the web page it was confirmed from and a checked date, not in the future."""
    for line in SHIPPED.countries[code].lines:
        assert line.sources, f"{code} {line.name}: no source"
        assert all(source.startswith(("https://", "http://")) for source in line.sources)
        assert isinstance(line.checked, date), f"{code} {line.name}: no date checked"
        assert line.checked <= date.today(), f"{code} {line.name}: checked in the future"


@pytest.mark.parametrize("code", sorted(SHIPPED.countries))
def test_talk_lines_name_their_languages_and_a_way_to_reach_them(code: str) -> None:
    """Crisis and text lines say which languages they answer in and hold a number or address."""
    for line in SHIPPED.countries[code].lines:
        if line.kind is not LineKind.EMERGENCY:
            assert line.languages, f"{code} {line.name}: languages missing"
        assert any(ch.isdigit() for ch in line.contact) or "." in line.contact


def test_country_codes_are_real_iso_codes() -> None:
    """Every key is an ISO 3166 code, so a roster's country column can match it."""
    assert set(SHIPPED.countries) - iso_country_codes() == set()


def test_the_international_fallback_ships() -> None:
    """The fallback list exists and is what the core settings use for INTL."""
    assert SHIPPED.fallback is not None
    assert DEFAULT_CRISIS_LINES[FALLBACK] == tuple(
        line.card_line() for line in SHIPPED.fallback.lines
    )


def test_core_settings_use_the_shipped_lines() -> None:
    """DEFAULT_CRISIS_LINES (and so CoreSettings) is derived from the data file."""
    assert CoreSettings().crisis_lines == SHIPPED.card_lines()


@pytest.mark.parametrize("code", sorted(SHIPPED.countries))
def test_every_country_is_reachable_from_a_time_zone(code: str) -> None:
    """A student with only a time zone can land on every shipped country, tzdata or not."""
    assert code in set(load_zone_countries([resources.files("tzdata") / "zoneinfo"]).values())
    # Australia/* zones map by their prefix, with or without a zone table.
    assert code in {*FALLBACK_ZONE_COUNTRIES.values(), "AU"}


# ---- Zone -> country ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "country"),
    [
        ("Europe/Dublin", "IE"),
        ("Asia/Kolkata", "IN"),
        ("Asia/Calcutta", "IN"),
        ("Pacific/Auckland", "NZ"),
        ("Asia/Dubai", "AE"),
        ("Asia/Tokyo", "JP"),
        ("Asia/Seoul", "KR"),
        ("Asia/Shanghai", "CN"),
        ("Africa/Lagos", "NG"),
        ("America/Sao_Paulo", "BR"),
        ("America/Mexico_City", "MX"),
        ("Asia/Karachi", "PK"),
        ("Asia/Manila", "PH"),
        ("Asia/Riyadh", "SA"),
        ("Asia/Jakarta", "ID"),
        ("America/Bogota", "CO"),
        ("Asia/Kuala_Lumpur", "MY"),
        ("Europe/Istanbul", "TR"),
        ("Asia/Ho_Chi_Minh", "VN"),
        ("Asia/Saigon", "VN"),
        ("Asia/Dhaka", "BD"),
        ("Europe/Stockholm", "SE"),
        ("Europe/Amsterdam", "NL"),
        ("Atlantic/Jan_Mayen", "SJ"),
    ],
)
def test_zone_to_country(zone: str, country: str) -> None:
    """The zone.tab path maps zones (and their old names) to the right country."""
    assert country_of_zone(zone) == country


def test_a_link_into_another_country_keeps_its_own_country(tmp_path: Path) -> None:
    """Jan Mayen now links to Berlin's zone but is not in Germany: no German helplines."""
    (tmp_path / "zone.tab").write_text("DE\t+5230+01322\tEurope/Berlin\n")
    (tmp_path / "tzdata.zi").write_text("L Europe/Berlin Atlantic/Jan_Mayen\n")
    assert load_zone_countries([tmp_path])["Atlantic/Jan_Mayen"] == "SJ"


# ---- The crisis card ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "crisis", "emergency"),
    [
        ("Europe/Dublin", "Samaritans Ireland", "Call 112"),
        ("Asia/Kolkata", "Tele-MANAS", "Call 112"),
        ("Pacific/Auckland", "1737 Need to talk?", "Call 111"),
        ("Asia/Dubai", "Mental Support Line (800 HOPE)", "Call 999"),
    ],
)
def test_card_shows_the_students_country_first(zone: str, crisis: str, emergency: str) -> None:
    """Dublin, Delhi, Auckland, Dubai: that country's crisis line first, then its emergency."""
    reply = render_crisis_reply(CoreSettings(), student_in(zone))
    labels = [field.label for field in reply.fields]
    values = [field.value for field in reply.fields]
    assert labels[0] == crisis
    assert emergency in values
    assert "Find a helpline near you" not in labels
    assert "Call your local emergency number" not in values


def test_card_order_is_crisis_then_text_then_emergency() -> None:
    """Ireland's card: Samaritans, then the 50808 text line, then the emergency number."""
    lines = crisis_lines_for(CoreSettings(), None, "Europe/Dublin")
    assert [line.kind for line in lines] == [LineKind.CRISIS, LineKind.TEXT, LineKind.EMERGENCY]
    assert "116 123" in lines[0].contact and "50808" in lines[1].contact


def test_recorded_country_beats_the_zone() -> None:
    """An Indian student studying in Dublin whose country on record is IE sees Irish lines."""
    reply = render_crisis_reply(CoreSettings(), student_in("Asia/Kolkata", country="ie"))
    assert reply.fields[0].label == "Samaritans Ireland"


def test_unknown_country_gets_the_international_list() -> None:
    """A country with no lines (or a made-up code) gets the international list, nothing else."""
    settings = CoreSettings()
    assert crisis_lines_for(settings, "ZZ") == settings.crisis_lines[FALLBACK]
    assert crisis_lines_for(settings, None, "Africa/Cairo") == settings.crisis_lines[FALLBACK]
    assert crisis_lines_for(settings, None, "UTC") == settings.crisis_lines[FALLBACK]


def test_emergency_only_country_also_gets_the_helpline_directory() -> None:
    """Türkiye ships only 112: the card adds the directory, not a vague 'local number'."""
    lines = crisis_lines_for(CoreSettings(), "TR")
    assert lines[0].kind is LineKind.EMERGENCY and "112" in lines[0].contact
    assert [line.name for line in lines[1:]] == ["Find a helpline near you"]


def test_operator_lines_in_core_settings_still_win() -> None:
    """CoreSettings(crisis_lines=...) replaces the shipped lines (operator override)."""
    campus = (CrisisLine("Campus line", "Call 0100 200 300"),)
    settings = CoreSettings(crisis_lines={"IE": campus, FALLBACK: ()})
    assert crisis_lines_for(settings, None, "Europe/Dublin") == campus


# ---- Checks on any crisis lines file --------------------------------------------------


def test_a_country_without_an_emergency_number_is_refused() -> None:
    """The loader refuses a country whose lines hold no emergency number."""
    with pytest.raises(CrisisLinesError, match=r"IE .*no emergency number"):
        parse_crisis_lines(one_country(GOOD_LINE), "test.yaml")


def test_a_line_without_a_source_is_refused() -> None:
    """The loader refuses a line with no sources, or a source that is not a web address."""
    no_source = GOOD_LINE.replace("        sources:\n          - https://example.edu/crisis\n", "")
    with pytest.raises(CrisisLinesError, match="sources"):
        parse_crisis_lines(one_country(no_source + EMERGENCY_LINE), "test.yaml")
    not_web = GOOD_LINE.replace("https://example.edu/crisis", "the campus noticeboard")
    with pytest.raises(CrisisLinesError, match="not a web address"):
        parse_crisis_lines(one_country(not_web + EMERGENCY_LINE), "test.yaml")


def test_a_line_without_a_date_checked_is_refused() -> None:
    """The loader refuses a line with no checked date, or one that is not a date."""
    undated = GOOD_LINE.replace("        checked: 2026-12-01\n", "")
    with pytest.raises(CrisisLinesError, match="checked"):
        parse_crisis_lines(one_country(undated + EMERGENCY_LINE), "test.yaml")
    with pytest.raises(CrisisLinesError, match="checked"):
        parse_crisis_lines(
            one_country(GOOD_LINE.replace("2026-12-01", "last week") + EMERGENCY_LINE), "t"
        )


def test_a_crisis_line_without_languages_is_refused() -> None:
    """A crisis or text line must say which languages it answers in."""
    silent = GOOD_LINE.replace("languages: [en]", "languages: []")
    with pytest.raises(CrisisLinesError, match="languages"):
        parse_crisis_lines(one_country(silent + EMERGENCY_LINE), "test.yaml")


@pytest.mark.parametrize(
    "text",
    [
        "version: 2\ncountries: {}\n",
        one_country(GOOD_LINE + EMERGENCY_LINE, code="Ireland"),
        one_country(GOOD_LINE.replace("kind: crisis", "kind: hotline") + EMERGENCY_LINE),
        one_country(GOOD_LINE + EMERGENCY_LINE).replace("name: Somewhere", "name: X\n    x: 1"),
        "countries: [",
        "- just a list",
    ],
)
def test_malformed_files_are_refused_with_the_files_name(text: str) -> None:
    """Wrong version, code, kind, unknown keys or broken YAML: a CrisisLinesError naming it."""
    with pytest.raises(CrisisLinesError, match=r"^mine\.yaml: "):
        parse_crisis_lines(text, "mine.yaml")


def test_operator_file_replaces_and_adds_countries(tmp_path: Path) -> None:
    """An operator's file replaces a shipped country and adds a new one; the rest stay."""
    path = tmp_path / "ours.yaml"
    path.write_text(
        one_country(GOOD_LINE + EMERGENCY_LINE, code="IE")
        + "\n  EG:\n    name: Egypt\n    lines:"
        + EMERGENCY_LINE
    )
    lines = crisis_lines_with(path)
    assert [line.name for line in lines["IE"]] == ["Campus Crisis Line", "Emergency services"]
    assert lines["EG"][0].contact == "Call 112"
    assert lines["NZ"] == DEFAULT_CRISIS_LINES["NZ"]
    assert lines[FALLBACK] == DEFAULT_CRISIS_LINES[FALLBACK]


def test_missing_operator_file_is_a_clear_error(tmp_path: Path) -> None:
    """A CRISIS_LINES_FILE that does not exist is reported by name, not with a traceback."""
    with pytest.raises(CrisisLinesError, match=r"nowhere\.yaml: cannot be read"):
        read_crisis_lines(tmp_path / "nowhere.yaml")


def test_no_operator_file_means_the_shipped_lines() -> None:
    """Without an operator file the shipped lines are used as they are."""
    assert crisis_lines_with(None) == DEFAULT_CRISIS_LINES


def test_lines_serving_the_students_language_come_first_within_the_country() -> None:
    """A talk line in the student's language before one that isn't; emergency stays last."""
    lines = (
        CrisisLine("English line", "Call 1", LineKind.CRISIS, ("en",)),
        CrisisLine("Text line", "Text 2", LineKind.TEXT, ("es",)),
        CrisisLine("Emergency", "Call 3", LineKind.EMERGENCY, ("es",)),
    )
    settings = CoreSettings(crisis_lines={"XX": lines, FALLBACK: ()})
    assert [line.name for line in crisis_lines_for(settings, "XX", language="es")] == [
        "Text line",
        "English line",
        "Emergency",
    ]
    assert [line.name for line in crisis_lines_for(settings, "XX", language="en")] == [
        "English line",
        "Text line",
        "Emergency",
    ]


def test_the_card_is_written_in_the_students_language() -> None:
    """A student in Spain who reads Spanish: Spanish words, Línea 024 first, names untouched."""
    from bot.i18n import _, speaking

    student = student_in("Europe/Madrid")
    student.language = "es"
    reply = render_crisis_reply(CoreSettings(), student)
    with speaking("es"):
        assert (
            reply.title
            == _("You don't have to face this alone")
            != ("You don't have to face this alone")
        )
    assert reply.language == "es"
    assert reply.fields[0].label == "Línea 024"
