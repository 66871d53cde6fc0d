"""Crisis lines by country: the shipped data file, its checks, and an operator's own file.

The data lives in `crisis_lines.yaml` next to this module. Every line carries where it was
confirmed (`sources`) and when (`checked`); every country carries an emergency number. A
file that breaks any of these rules does not load, so a broken file stops the bot at start
rather than showing a student a card without a number to call.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SHIPPED_FILE = "crisis_lines.yaml"
# The key of the international list: shown when a country has no lines of its own.
FALLBACK = "INTL"

_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
# ISO 639-1 (two letters) or 639-2/3 (three letters) for languages without a short code.
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
_WEB_ADDRESS = re.compile(r"^https?://\S+$")
# libyaml's loader when installed: ten times faster, and the file is read at every start.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineKind(enum.StrEnum):
    """What a line is for; the card shows them in this order."""

    CRISIS = "crisis"  # talk to someone now (a suicide or crisis line)
    TEXT = "text"  # text, chat or WhatsApp
    EMERGENCY = "emergency"  # ambulance or police


CARD_ORDER: tuple[LineKind, ...] = (LineKind.CRISIS, LineKind.TEXT, LineKind.EMERGENCY)


class SourceKind(enum.StrEnum):
    """Who published the page a line was confirmed from."""

    SERVICE = "service"  # the line's own site
    GOVERNMENT = "government"  # a ministry, health authority or other public body
    HEALTH_SERVICE = "health_service"  # a hospital, NHS trust or university centre
    NEWS = "news"  # a named news report
    DIRECTORY = "directory"  # a helpline directory
    OTHER = "other"


@dataclass(frozen=True)
class CrisisLine:
    """A crisis service shown to a student in distress."""

    name: str
    contact: str
    kind: LineKind = LineKind.CRISIS
    languages: tuple[str, ...] = ()


class CrisisLinesError(ValueError):
    """A crisis lines file that cannot be used: unreadable, or failing its checks."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineEntry(_Record):
    """One line as the file records it, with where and when it was confirmed."""

    kind: LineKind
    name: str = Field(min_length=1)
    contact: str = Field(min_length=1)
    languages: tuple[str, ...]
    sources: tuple[str, ...] = Field(min_length=1)
    source_kind: SourceKind
    checked: date

    @field_validator("name", "contact")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("sources")
    @classmethod
    def _web_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for source in value:
            if not _WEB_ADDRESS.match(source):
                raise ValueError(f"{source!r} is not a web address (http:// or https://)")
        return value

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if not _LANGUAGE_CODE.match(code):
                raise ValueError(f"{code!r} is not a language code such as 'en' or 'yue'")
        return value

    @model_validator(mode="after")
    def _talk_lines_name_their_languages(self) -> LineEntry:
        # A student choosing whom to call needs to know they will be understood.
        if self.kind is not LineKind.EMERGENCY and not self.languages:
            raise ValueError(f"{self.kind} line {self.name!r} must list the languages it serves")
        return self

    def card_line(self) -> CrisisLine:
        """The line as the crisis card shows it."""
        return CrisisLine(self.name, self.contact, self.kind, self.languages)


class CountryEntry(_Record):
    """A country's lines (or the international fallback's)."""

    name: str = Field(min_length=1)
    lines: tuple[LineEntry, ...] = Field(min_length=1)

    def has_emergency_number(self) -> bool:
        """True when at least one line is an emergency number."""
        return any(line.kind is LineKind.EMERGENCY for line in self.lines)


class CrisisLinesFile(_Record):
    """The whole file: the international fallback and the countries."""

    version: Literal[1]
    fallback: CountryEntry | None = None
    countries: dict[str, CountryEntry] = Field(default_factory=dict)

    @field_validator("countries")
    @classmethod
    def _countries_are_callable(cls, value: dict[str, CountryEntry]) -> dict[str, CountryEntry]:
        for code, country in value.items():
            if not _COUNTRY_CODE.match(code):
                raise ValueError(f"{code!r} is not a two-letter country code such as 'IE'")
            if not country.has_emergency_number():
                raise ValueError(f"{code} ({country.name}) has no emergency number")
        return value

    def card_lines(self) -> dict[str, tuple[CrisisLine, ...]]:
        """Country code (and FALLBACK) -> the lines the crisis card shows, in file order."""
        lines = {
            code: tuple(line.card_line() for line in country.lines)
            for code, country in self.countries.items()
        }
        if self.fallback is not None:
            lines[FALLBACK] = tuple(line.card_line() for line in self.fallback.lines)
        return lines


def parse_crisis_lines(text: str, origin: str) -> CrisisLinesFile:
    """Parse and check a crisis lines file; `origin` names it in error messages."""
    try:
        raw = yaml.load(text, Loader=_YAML_LOADER)  # safe: C or Python SafeLoader
    except yaml.YAMLError as exc:
        raise CrisisLinesError(f"{origin}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise CrisisLinesError(f"{origin}: expected 'version', 'fallback' and 'countries'")
    try:
        return CrisisLinesFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise CrisisLinesError(f"{origin}: {problems}") from exc


def read_crisis_lines(path: Path) -> CrisisLinesFile:
    """An operator's crisis lines file (same format as the shipped one), checked."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CrisisLinesError(f"{path}: cannot be read ({exc})") from exc
    return parse_crisis_lines(text, str(path))


@functools.cache
def shipped_crisis_lines() -> CrisisLinesFile:
    """The crisis lines shipped with the bot (read and checked once)."""
    text = (resources.files("bot") / SHIPPED_FILE).read_text(encoding="utf-8")
    data = parse_crisis_lines(text, SHIPPED_FILE)
    if data.fallback is None:
        raise CrisisLinesError(f"{SHIPPED_FILE}: the international fallback is missing")
    return data


def default_crisis_lines() -> dict[str, tuple[CrisisLine, ...]]:
    """The shipped lines by country code, plus the international fallback."""
    return shipped_crisis_lines().card_lines()


def crisis_lines_with(path: Path | None) -> dict[str, tuple[CrisisLine, ...]]:
    """The shipped lines with an operator's file on top: its countries replace ours."""
    lines = default_crisis_lines()
    if path is not None:
        lines.update(read_crisis_lines(path).card_lines())
    return lines
