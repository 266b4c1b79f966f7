"""The web catalogue's languages: English, Simplified and Traditional Chinese.

Message catalogues are gettext ``.po`` files under ``locale/`` (Babel reads them when the
server starts; no compiled ``.mo`` to keep in step).  The language shown is, in order: the
``lang`` parameter of the request, the ``lang`` cookie, the browser's Accept-Language.
Labels that come from data (languages, formats) are translated here as well.
"""
from __future__ import annotations

import io
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("zh-Hans", "zh-Hant", "en")  # as in URLs, cookies and <html lang>
DEFAULT = "en"
NAMES = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English"}  # each in its own script
_TRADITIONAL_REGIONS = {"tw", "hk", "mo"}


def locale_id(lang: str) -> str:
    """Return Babel's name of a language tag ("zh-Hans" -> "zh_Hans")."""
    return lang.replace("-", "_")


def pick(tag: str) -> str | None:
    """Return the interface language for one language tag, or None if none fits."""
    parts = [p.lower() for p in tag.strip().replace("_", "-").split("-") if p]
    if not parts:
        return None
    if parts[0] == "zh":
        rest = set(parts[1:])
        return "zh-Hant" if "hant" in rest or (rest & _TRADITIONAL_REGIONS and "hans" not in rest) else "zh-Hans"
    if parts[0] == "en":
        return "en"
    return None


def negotiate(header: str) -> str:
    """Return the interface language for an Accept-Language header (by q-value, then order)."""
    choices: list[tuple[float, int, str]] = []
    for n, item in enumerate(header.split(",")[:20]):
        tag, _, params = item.partition(";")
        q = 1.0
        found = re.search(r"q\s*=\s*([0-9.]+)", params)
        if found:
            try:
                q = float(found.group(1))
            except ValueError:
                q = 0.0
        lang = pick(tag)
        if lang and q > 0:
            choices.append((-q, n, lang))
    return min(choices)[2] if choices else DEFAULT


@lru_cache(maxsize=None)
def translations(lang: str) -> NullTranslations:
    """Return the gettext translations of an interface language."""
    if lang == DEFAULT:
        return NullTranslations()
    po = resources.files("unioncat.web") / "locale" / locale_id(lang) / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalogue = read_po(fh, locale=locale_id(lang))
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(fp=compiled)


@lru_cache(maxsize=None)
def locale(lang: str) -> Locale:
    return Locale.parse(locale_id(lang))


def N_(message: str) -> str:
    """Mark a msgid for extraction; it is translated where it is shown."""
    return message


# Words the index gives records' formats (``index.fields.format_label``), shown translated.
FORMAT_WORDS = (N_("book"), N_("journal"), N_("article"), N_("score"), N_("map"), N_("video"),
                N_("audiobook"), N_("music recording"), N_("computer file"), N_("kit"), N_("mixed material"),
                N_("picture"), N_("object"), N_("manuscript"), N_("other"))


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    from babel.core import get_global

    return dict(get_global("language_aliases"))  # ISO 639-2 (B and T) and 639-3 -> CLDR's code


def language_tag(code: str) -> str:
    """Return the BCP 47 tag of a MARC language code ("chi" -> "zh", "ger" -> "de"), or ""."""
    key = code.strip().lower()
    if not key.isalpha() or key in ("mul", "und", "zxx", "mis"):
        return ""
    return _aliases().get(key, key).split("_")[0]


def language_name(code: str, lang: str) -> str:
    """Return the name of a MARC language code in the interface language (the code if unknown)."""
    names: Any = locale(lang).languages
    return str(names.get(language_tag(code) or code.strip().lower()) or code)
