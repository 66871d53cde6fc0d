"""The languages mentorbot speaks, and how platform and roster language tags map onto them."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale

DEFAULT_LANGUAGE = "en"
# A made-up language for tests: every translated word is accented and bracketed ("⟦Ŀöggéð⟧"),
# so any English left in a rendered message is a string that skipped the catalog.
PSEUDO_LANGUAGE = "en_XA"

# Code -> the language's own name, as a person choosing it would look for it.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "de": "Deutsch",
    "pt_BR": "Português (Brasil)",
    "zh_Hans": "简体中文",
    "hi": "हिन्दी",
    "ar": "العربية",
    "vi": "Tiếng Việt",
    "ko": "한국어",
}

# Tags people and platforms use that name one of ours in another way.
_ALIASES: dict[str, str] = {
    "pt": "pt_BR",
    "zh": "zh_Hans",
    "zh_cn": "zh_Hans",
    "zh_sg": "zh_Hans",
    "zh_hans_cn": "zh_Hans",
    "zh_hans": "zh_Hans",
    "chinese": "zh_Hans",
    "english": "en",
    "spanish": "es",
    "french": "fr",
    "german": "de",
    "portuguese": "pt_BR",
    "hindi": "hi",
    "arabic": "ar",
    "vietnamese": "vi",
    "korean": "ko",
}
_RIGHT_TO_LEFT = frozenset({"ar"})


def normalise_language(tag: str | None) -> str | None:
    """One of `LANGUAGES` (or the pseudo-language) for a tag, or None when we don't speak it.

    Accepts what rosters, Slack (`es-ES`, `pt-BR`, `zh-CN`) and Discord (`es-419`, `zh-CN`,
    `pt-BR`) send, any case, `-` or `_`: a regional variant falls back to its language
    (`es-MX` is `es`, `en-GB` is `en`); Traditional Chinese (`zh-TW`) is not Simplified.
    """
    if not tag:
        return None
    cleaned = tag.strip().replace("-", "_")
    if cleaned == PSEUDO_LANGUAGE:
        return PSEUDO_LANGUAGE
    key = cleaned.lower()
    for code in LANGUAGES:
        if key == code.lower():
            return code
    if key in _ALIASES:
        return _ALIASES[key]
    base = key.split("_", 1)[0]
    if base == "zh":
        # zh-TW / zh-HK / zh-Hant are Traditional: better English than the wrong script.
        return None if any(r in key for r in ("tw", "hk", "mo", "hant")) else "zh_Hans"
    if base in _ALIASES:
        return _ALIASES[base]
    return base if base in LANGUAGES else None


def is_right_to_left(language: str) -> bool:
    """True for a language written right to left (Arabic)."""
    return language.split("_", 1)[0] in _RIGHT_TO_LEFT


@lru_cache(maxsize=32)
def babel_locale(language: str) -> Locale:
    """The Babel locale that formats dates, numbers and plurals for one of our languages."""
    if language == PSEUDO_LANGUAGE:
        return Locale.parse("en")
    if language == "zh_Hans":
        return Locale.parse("zh_Hans_CN")
    return Locale.parse(language)
