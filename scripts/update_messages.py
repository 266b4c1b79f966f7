"""Extract the web catalogue's messages and bring its catalogues up to date (Babel).

    .venv/bin/python scripts/update_messages.py

Writes ``unioncat/web/locale/messages.pot`` from the templates and the code, merges it into
each language's ``messages.po`` (new messages empty, gone ones dropped), and fills the
Traditional Chinese messages still empty from the Simplified ones through OpenCC (s2twp),
for a translator to review.  ``tests/test_web.py`` fails while a message has no translation.
"""
from __future__ import annotations

import sys
from pathlib import Path

import opencc
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "unioncat" / "web"
LOCALE = WEB / "locale"
METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                                 "lstrip_blocks": "true"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extract() -> Catalog:
    """Return the catalogue of every message the web face shows."""
    catalog = Catalog(project="unioncat", msgid_bugs_address="", charset="utf-8")
    for name, line, message, comments, _ in extract_from_dir(str(WEB), METHODS, OPTIONS, KEYWORDS):
        catalog.add(message, None, [(name, line)], auto_comments=comments)
    return catalog


def main() -> int:
    template = extract()
    with open(LOCALE / "messages.pot", "wb") as fh:
        write_po(fh, template, omit_header=False, sort_output=True, no_location=True)
    to_traditional = opencc.OpenCC("s2twp")
    simplified: Catalog | None = None
    for lang in ("zh_Hans", "zh_Hant"):
        path = LOCALE / lang / "LC_MESSAGES" / "messages.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with open(path, "rb") as fh:
                catalog = read_po(fh, locale=lang)
        else:
            catalog = Catalog(locale=lang, project="unioncat", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if lang == "zh_Hans":
            simplified = catalog
        elif simplified is not None:
            for message in catalog:
                if not message.id or _filled(message.string):
                    continue
                source = simplified.get(message.id)
                if source is not None and _filled(source.string):
                    message.string = (tuple(to_traditional.convert(s) for s in source.string)
                                      if isinstance(source.string, tuple) else to_traditional.convert(source.string))
        with open(path, "wb") as fh:
            write_po(fh, catalog, sort_output=True, no_location=True, include_previous=False)
        missing = [m.id for m in catalog if m.id and not _filled(m.string)]
        print(f"{lang}: {len(catalog)} messages, {len(missing)} without a translation")
    return 0


def _filled(value: object) -> bool:
    return all(value) if isinstance(value, tuple) else bool(value)


if __name__ == "__main__":
    sys.exit(main())
