"""Loading a language's catalogs: every `<area>.po` of it, merged and compiled in memory.

The `.po` files are the source of truth in the repository; compiling them at first use (a few
milliseconds per language, once per process) means there is no `.mo` to forget to rebuild.
"""

from __future__ import annotations

import gettext
import re
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from bot.i18n.languages import DEFAULT_LANGUAGE, PSEUDO_LANGUAGE, babel_locale

LOCALE_DIR = Path(__file__).parent / "locale"


def catalog_files(language: str) -> list[Path]:
    """The area catalogs of one language, in a stable order."""
    return sorted((LOCALE_DIR / language).glob("*.po"))


def read_catalog(path: Path, language: str) -> Catalog:
    """One `.po` file as a Babel catalog."""
    with path.open("rb") as fh:
        return read_po(fh, locale=babel_locale(language), domain=path.stem)


def merged_catalog(language: str) -> Catalog:
    """Every area of a language as one catalog; an id translated in two areas keeps the first."""
    merged = Catalog(locale=babel_locale(language), domain="mentorbot")
    for path in catalog_files(language):
        for message in read_catalog(path, language):
            if not message.id or message.fuzzy or message.id in merged:
                continue
            if not _translated(message.string):
                continue
            merged[message.id] = message
    return merged


def _translated(string: object) -> bool:
    if isinstance(string, tuple):
        return all(string)
    return bool(string)


@lru_cache(maxsize=16)
def translations_for(language: str) -> gettext.NullTranslations:
    """The compiled translations of a language (cached for the life of the process)."""
    if language == PSEUDO_LANGUAGE:
        return PseudoTranslations()
    if language == DEFAULT_LANGUAGE or not catalog_files(language):
        return NullTranslations()
    buffer = BytesIO()
    write_mo(buffer, merged_catalog(language))
    buffer.seek(0)
    return Translations(buffer, domain="mentorbot")


# Placeholders a translation must keep as they are: {name}, {n:,}, %(name)s, %s.
PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*(?:[:!][^{}]*)?\}|%\([A-Za-z_]+\)[sdf]|%[sdf]")
_ACCENTED = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "åƀçðéƒĝĥîĵķļɱñöþǫŕšţûṽŵẋýžÅƁÇÐÉƑĜĤÎĴĶĻṀÑÖÞǪŔŠŢÛṼŴẊÝŽ",
)
PSEUDO_OPEN, PSEUDO_CLOSE = "⟦", "⟧"


# What the pseudo-language leaves as it is besides placeholders, as translators do: a
# command's name (/goal), e-mail addresses and web addresses.
_PSEUDO_KEEP = re.compile(
    PLACEHOLDER.pattern
    + r"|(?<![\w/])/[a-z][\w-]*"
    + r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    + r"|https?://\S+"
)


def pseudo_translate(message: str) -> str:
    """The pseudo-language's form of a message: accented, bracketed, placeholders untouched."""
    if not message:
        return message
    out: list[str] = []
    last = 0
    for match in _PSEUDO_KEEP.finditer(message):
        out.append(message[last : match.start()].translate(_ACCENTED))
        out.append(match.group(0))
        last = match.end()
    out.append(message[last:].translate(_ACCENTED))
    return PSEUDO_OPEN + "".join(out) + PSEUDO_CLOSE


class PseudoTranslations(NullTranslations):
    """The pseudo-language: every message that went through the catalog is visibly marked."""

    def gettext(self, message: str) -> str:
        """The pseudo form of `message`."""
        return pseudo_translate(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        """The pseudo form of the English plural `n` picks."""
        return pseudo_translate(msgid1 if n == 1 else msgid2)
