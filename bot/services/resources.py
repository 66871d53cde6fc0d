"""The resource library: import, search, and suggestions for low mood or matching words."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

import yaml
from sqlmodel import Session, select

from bot.errors import UserError
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


def search(session: Session, query: str, limit: int = 10) -> list[Resource]:
    """Resources whose tags, title or description match the query words, best first."""
    wanted = _words(query)
    resources = session.exec(select(Resource).order_by(Resource.title)).all()
    if not query.strip():
        return list(resources[:limit])
    if not wanted:
        # Typed, but no word to look for ("%", "_", "the"): nothing matches. `%` and `_`
        # are characters, not wildcards; only a bare /resources lists the library.
        return []
    scored: list[tuple[int, str, Resource]] = []
    for resource in resources:
        tag_words, text_words = _resource_words(resource)
        score = 3 * len(wanted & tag_words) + len(wanted & text_words)
        if score:
            scored.append((-score, resource.title, resource))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [r for _, _, r in scored[:limit]]


def suggest(session: Session, note: str | None, low_mood: bool, limit: int = 3) -> list[Resource]:
    """At most `limit` resources for a note's words, or for low mood when nothing matches."""
    found = search(session, note, limit) if note and _words(note) else []
    if len(found) < limit and low_mood:
        seen = {r.id for r in found}
        for resource in session.exec(select(Resource).order_by(Resource.title)).all():
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
            raise UserError(f"{filename} isn't valid YAML: {exc}") from exc
        if isinstance(loaded, dict) and "resources" in loaded:
            loaded = loaded["resources"]
        if not isinstance(loaded, list) or not all(isinstance(r, dict) for r in loaded):
            raise UserError(f"{filename} must be a list of resources (title, url, tags, ...).")
        records = [dict(r) for r in loaded]
        first_line = 1
    elif filename.lower().endswith(".csv"):
        reader = csv.DictReader(io.StringIO(raw))
        records = [dict(r) for r in reader]
        first_line = 2
    else:
        raise UserError("Resource files must be .yaml, .yml or .csv.")
    rows: list[ResourceRow] = []
    errors: list[str] = []
    for index, record in enumerate(records):
        where = f"entry {index + 1}" if first_line == 1 else f"line {index + first_line}"
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
        if not title:
            errors.append(f"{where}: title is missing")
        if not re.match(r"^(https?://|mailto:|tel:)\S+$", url):
            errors.append(f"{where}: url must start with http://, https://, mailto: or tel:")
        if len(title) > 200 or len(description) > 2000 or len(url) > 500:
            errors.append(f"{where}: a field is too long")
        rows.append(ResourceRow(title, url, tags, description))
    if errors:
        raise UserError("Nothing was imported. Fix these and try again:\n" + "\n".join(errors))
    return rows


def import_resources(session: Session, rows: Sequence[ResourceRow]) -> tuple[int, int]:
    """Upsert resources by URL; returns (added, updated)."""
    added = updated = 0
    for row in rows:
        existing = session.exec(select(Resource).where(Resource.url == row.url)).first()
        if existing is None:
            session.add(
                Resource(title=row.title, url=row.url, tags=row.tags, description=row.description)
            )
            added += 1
        else:
            existing.title, existing.tags, existing.description = (
                row.title,
                row.tags,
                row.description,
            )
            session.add(existing)
            updated += 1
    return added, updated
