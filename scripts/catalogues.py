"""Message catalogues: extract the English ids, update a language's file, convert zh_CN to Traditional.

    python -m scripts.catalogues extract [--domain messages]   # list ids with no translation; exit 1 if any
    python -m scripts.catalogues update  [--domain messages]   # add new ids (empty) to zh_CN, drop unused ones
    python -m scripts.catalogues convert [--domain messages]   # write zh_TW (OpenCC s2twp) and zh_HK (s2hk)

Domain "messages" is the email templates (templates/*.html|txt, Jinja's Babel extractor); "cli" is the
command line's text (scripts/**.py, Babel's Python extractor). zh_CN is written by hand; zh_TW and zh_HK
are generated from it and committed, so they are reviewable and a test keeps them from drifting.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from .i18n import LANGUAGES, TRADITIONAL, babel_locale, build_traditional, opencc_converter, po_path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "zh-CN"
CONVERTED = TRADITIONAL
_JINJA = "jinja2.ext:babel_extract"
_JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true",
                  "newstyle_gettext": "true", "silent": "false"}
METHODS = {
    "messages": (ROOT / "templates", [("*.html", _JINJA), ("*.txt", _JINJA), ("**/*.html", _JINJA), ("**/*.txt", _JINJA)]),
    "cli": (ROOT / "scripts", [("**.py", "python")]),
}


def extract(domain: str = "messages") -> Catalog:
    """Every message id the domain's sources use, with where it is used."""
    directory, methods = METHODS[domain]
    options = {pattern: _JINJA_OPTIONS for pattern, method in methods if method == _JINJA}
    catalog = Catalog(domain=domain, project="Huifang", charset="utf-8", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(str(directory), methods, options):
        location = (str(Path(directory.name) / filename), lineno)
        catalog.add(message, None, [location], auto_comments=comments, context=context)
    return catalog


def read(language: str, domain: str = "messages") -> Catalog:
    with po_path(language, domain).open("rb") as handle:
        return read_po(handle, locale=babel_locale(language), domain=domain)


def dumps(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=0, omit_header=False, sort_output=False, include_lineno=False,
             ignore_obsolete=True)
    return out.getvalue()


def untranslated(language: str, domain: str = "messages") -> list[str]:
    """Ids the sources use that the language's catalogue leaves empty (or lacks)."""
    catalog = read(language, domain)
    missing = []
    for message in extract(domain):
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        strings = found.string if found is not None and isinstance(found.string, tuple) else (found.string if found else "",)
        if found is None or found.fuzzy or not all(strings):
            missing.append(str(message.id))
    return missing


def update(domain: str = "messages") -> Catalog:
    """zh_CN with the extracted ids: new ones added empty, translations kept, unused ones dropped."""
    catalog = read(SOURCE, domain)
    created = catalog.creation_date  # the header stays as it was: a rerun with no new id changes nothing
    catalog.update(extract(domain), no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.creation_date = created
    return catalog


def converted(language: str, domain: str = "messages") -> bytes:
    """The zh_CN catalogue with every translation in the language's script (OpenCC), as .po bytes."""
    convert = opencc_converter(CONVERTED[language])
    source = read(SOURCE, domain)
    target = Catalog(locale=babel_locale(language), domain=domain, project=source.project,
                     charset="utf-8", fuzzy=False)
    target.creation_date = target.revision_date = source.creation_date
    target.language_team = f"generated from zh_CN by OpenCC {CONVERTED[language]}: python -m scripts.catalogues convert"
    for message in source:
        if not message.id:
            continue
        string = tuple(convert(s) for s in message.string) if isinstance(message.string, tuple) else convert(message.string)
        target.add(message.id, string, message.locations, flags=message.flags, context=message.context)
    return dumps(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.catalogues")
    parser.add_argument("command", choices=("extract", "update", "convert"))
    parser.add_argument("--domain", default="messages", choices=sorted(METHODS))
    args = parser.parse_args(argv)
    if args.command == "update":
        po_path(SOURCE, args.domain).write_bytes(dumps(update(args.domain)))
        print(po_path(SOURCE, args.domain))
        return 0
    if args.command == "convert":
        for path in build_traditional(args.domain):
            print(path)
        return 0
    status = 0
    for language in (lang for lang in LANGUAGES if lang != "en"):
        missing = untranslated(language, args.domain)
        print(f"{language}: {len(extract(args.domain))} ids, {len(missing)} untranslated")
        for msgid in missing:
            print(f"  {msgid}")
        status = status or int(bool(missing))
    return status


if __name__ == "__main__":
    sys.exit(main())
