"""The resource library: import, search, and suggestions for low mood or matching words.

Every entry is written in one language (`Resource.language`, "en" unless the import says
otherwise). Search and suggestions prefer the reader's language (the one being spoken, see
`bot.i18n.speaking`), then English, then any other: a Spanish-speaking student sees the
Spanish guide to exam stress before the English one.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

import yaml
from sqlmodel import Session, select

from bot.errors import UserError
from bot.i18n import DEFAULT_LANGUAGE, _, current_language, normalise_language
from bot.model import Link
from storage.tables import Resource

WORD = re.compile(r"[a-z0-9]+")
# Words too common to say anything about which resource fits.
_STOP = (
    "a an and are about at be but by for from have i im in is it its me my of on or so the "
    "to too was with this that just really very feel feeling am been not no"
)
STOP_WORDS = frozenset(_STOP.split())
LOW_MOOD_TAGS = ("wellbeing", "low-mood", "stress", "mental-health")


@dataclass(frozen=True)
class ResourceRow:
    """A validated resource from an import file."""

    title: str
    url: str
    tags: str
    description: str
    language: str = DEFAULT_LANGUAGE


def _words(text: str) -> set[str]:
    words = set(WORD.findall(text.lower()))
    # A crude stem so "exams" matches the tag "exam" and "stressed" matches "stress".
    stems = {w[:-1] for w in words if w.endswith("s") and len(w) > 3}
    stems |= {w[:-2] for w in words if w.endswith("ed") and len(w) > 4}
    return (words | stems) - STOP_WORDS


def _resource_words(resource: Resource) -> tuple[set[str], set[str]]:
    tags = {t.strip() for t in resource.tags.split(",") if t.strip()}
    tag_words = set().union(*(_words(t.replace("-", " ")) for t in tags)) if tags else set()
    return tags | tag_words, _words(resource.title + " " + resource.description)


def language_rank(resource: Resource, language: str) -> int:
    """0 for the reader's language, 1 for English, 2 for any other (sorts the library)."""
    written_in = normalise_language(resource.language) or resource.language
    if written_in == language:
        return 0
    return 1 if written_in == DEFAULT_LANGUAGE else 2


def _library(session: Session, language: str) -> list[Resource]:
    """The whole library, the reader's language first, then English, then others; by title."""
    resources = session.exec(select(Resource).order_by(Resource.title)).all()
    return sorted(resources, key=lambda r: language_rank(r, language))  # stable: by title


def search(
    session: Session, query: str, limit: int = 10, language: str | None = None
) -> list[Resource]:
    """Resources whose tags, title or description match the query words, best first.

    Those in `language` (default: the one being spoken) come first, then English ones.
    """
    wanted = _words(query)
    reader = language or current_language()
    resources = _library(session, reader)
    if not query.strip():
        return list(resources[:limit])
    if not wanted:
        # Typed, but no word to look for ("%", "_", "the"): nothing matches. `%` and `_`
        # are characters, not wildcards; only a bare /resources lists the library.
        return []
    scored: list[tuple[int, int, str, Resource]] = []
    for resource in resources:
        tag_words, text_words = _resource_words(resource)
        score = 3 * len(wanted & tag_words) + len(wanted & text_words)
        if score:
            scored.append((language_rank(resource, reader), -score, resource.title, resource))
    scored.sort(key=lambda item: (item[0], item[1], item[2]))
    return [item[3] for item in scored[:limit]]


def suggest(
    session: Session,
    note: str | None,
    low_mood: bool,
    limit: int = 3,
    language: str | None = None,
) -> list[Resource]:
    """At most `limit` resources for a note's words, or for low mood when nothing matches.

    Those in `language` (default: the one being spoken) come first, then English ones.
    """
    reader = language or current_language()
    found = search(session, note, limit, reader) if note and _words(note) else []
    if len(found) < limit and low_mood:
        seen = {r.id for r in found}
        for resource in _library(session, reader):
            tags = {t.strip() for t in resource.tags.split(",")}
            if resource.id not in seen and tags & set(LOW_MOOD_TAGS):
                found.append(resource)
                seen.add(resource.id)
            if len(found) >= limit:
                break
    return found[:limit]


def as_links(resources: Sequence[Resource]) -> tuple[Link, ...]:
    """Resources as message links."""
    return tuple(Link(title=r.title, url=r.url, description=r.description) for r in resources)


def parse_resources(raw: str, filename: str) -> list[ResourceRow]:
    """Parse a YAML (list of mappings) or CSV resource file; raise UserError naming bad entries."""
    records: list[dict[str, object]]
    if filename.lower().endswith((".yaml", ".yml")):
        try:
            loaded = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise UserError(
                _("{filename} isn't valid YAML: {error}").format(filename=filename, error=exc)
            ) from exc
        if isinstance(loaded, dict) and "resources" in loaded:
            loaded = loaded["resources"]
        if not isinstance(loaded, list) or not all(isinstance(r, dict) for r in loaded):
            raise UserError(
                _("{filename} must be a list of resources (title, url, tags, ...).").format(
                    filename=filename
                )
            )
        records = [dict(r) for r in loaded]
        first_line = 1
    elif filename.lower().endswith(".csv"):
        reader = csv.DictReader(io.StringIO(raw))
        records = [dict(r) for r in reader]
        first_line = 2
    else:
        raise UserError(_("Resource files must be .yaml, .yml or .csv."))
    rows: list[ResourceRow] = []
    errors: list[str] = []
    for index, record in enumerate(records):
        where = (
            _("entry {n}").format(n=index + 1)
            if first_line == 1
            else _("line {n}").format(n=index + first_line)
        )
        title = str(record.get("title") or "").strip()
        url = str(record.get("url") or "").strip()
        tags_value = record.get("tags") or ""
        if isinstance(tags_value, list):
            tags = ",".join(str(t).strip().lower() for t in tags_value if str(t).strip())
        else:
            tags = ",".join(
                t.strip().lower() for t in re.split(r"[,;|]", str(tags_value)) if t.strip()
            )
        description = str(record.get("description") or "").strip()
        raw_language = str(record.get("language") or "").strip()
        language = normalise_language(raw_language) if raw_language else DEFAULT_LANGUAGE
        if not title:
            errors.append(_("{where}: title is missing").format(where=where))
        if not re.match(r"^(https?://|mailto:|tel:)\S+$", url):
            errors.append(
                _("{where}: url must start with http://, https://, mailto: or tel:").format(
                    where=where
                )
            )
        if len(title) > 200 or len(description) > 2000 or len(url) > 500:
            errors.append(_("{where}: a field is too long").format(where=where))
        if language is None:
            errors.append(
                _("{where}: language '{value}' isn't one I speak (use a code such as es)").format(
                    where=where, value=raw_language
                )
            )
        rows.append(ResourceRow(title, url, tags, description, language or DEFAULT_LANGUAGE))
    if errors:
        raise UserError(
            _("Nothing was imported. Fix these and try again:\n{problems}").format(
                problems="\n".join(errors)
            )
        )
    return rows


def import_resources(session: Session, rows: Sequence[ResourceRow]) -> tuple[int, int]:
    """Upsert resources by URL; returns (added, updated)."""
    added = updated = 0
    for row in rows:
        existing = session.exec(select(Resource).where(Resource.url == row.url)).first()
        if existing is None:
            session.add(
                Resource(
                    title=row.title,
                    url=row.url,
                    tags=row.tags,
                    description=row.description,
                    language=row.language,
                )
            )
            added += 1
        else:
            existing.title, existing.tags, existing.description, existing.language = (
                row.title,
                row.tags,
                row.description,
                row.language,
            )
            session.add(existing)
            updated += 1
    return added, updated
