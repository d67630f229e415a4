"""Languages as gettext catalogues: one `.po` file per language and domain, read at run time with Babel.

Message ids are English, so `en` needs no catalogue. The catalogues live in
`locale/<ll_CC>/LC_MESSAGES/<domain>.po` (no compiled `.mo` files in the repository). Two domains:
"messages" (the email templates) and "cli" (the command line's text).

zh-TW and zh-HK catalogues are generated from zh_CN with OpenCC when the catalogues are built, not at
run time: `python -m scripts.catalogues convert --domain messages|cli` (or `python -m scripts.i18n [cli]`).
The same conversion turns the Chinese text the core writes into findings into Traditional at render time
(`script_converter` for emails, `localise_chinese` for the command line's output).
"""

from __future__ import annotations

import gettext
import io
import sys
from functools import lru_cache
from pathlib import Path
from typing import Callable

from .errors import ConfigError

LANGUAGES = ("zh-CN", "zh-TW", "zh-HK", "en")
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
TRADITIONAL = {"zh-TW": "s2twp", "zh-HK": "s2hk"}  # language -> OpenCC conversion of the catalogues
_CHARACTERS = {"zh-TW": "s2tw", "zh-HK": "s2hk"}  # characters only: quoted sheet words keep their wording
_BABEL = {"zh-CN": "zh_Hans_CN", "zh-TW": "zh_Hant_TW", "zh-HK": "zh_Hant_HK", "en": "en"}


def _known(language: str) -> str:
    if language not in LANGUAGES:
        raise ConfigError(f"language: {language!r} is not supported (use one of {', '.join(LANGUAGES)})")
    return language


def babel_locale(language: str) -> str:
    """The CLDR locale Babel formats dates with: 'zh_Hans_CN', 'zh_Hant_TW', 'zh_Hant_HK', 'en'."""
    return _BABEL[_known(language)]


def catalogue_dir(language: str) -> str:
    """The folder name under locale/: 'zh_CN', 'zh_TW', 'zh_HK', 'en'."""
    return _known(language).replace("-", "_")


def po_path(language: str, domain: str = "messages") -> Path:
    return LOCALE_DIR / catalogue_dir(language) / "LC_MESSAGES" / f"{domain}.po"


@lru_cache(maxsize=None)
def translation(language: str, domain: str = "messages") -> gettext.NullTranslations:
    """The language's translations for a domain; English ids pass through where there is no catalogue."""
    path = po_path(language, domain)
    if language == "en":
        return gettext.NullTranslations()
    if not path.exists():
        raise ConfigError(f"no {domain} catalogue for {language}: {path} is missing")
    from babel.messages.mofile import write_mo  # noqa: PLC0415
    from babel.messages.pofile import read_po  # noqa: PLC0415
    from babel.support import Translations  # noqa: PLC0415

    with path.open("rb") as handle:
        catalog = read_po(handle, locale=babel_locale(language), domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # in memory: the .po file is the only copy kept
    compiled.seek(0)
    return Translations(compiled, domain=domain)


@lru_cache(maxsize=None)
def opencc_converter(config: str) -> Callable[[str], str]:
    """OpenCC's converter for a configuration name ('s2twp', 's2hk', 's2tw', 't2s')."""
    import opencc  # noqa: PLC0415

    return opencc.OpenCC(config).convert


def script_converter(language: str) -> Callable[[str], str]:
    """Simplified Chinese text (what the core writes) in the language's script; identity for zh-CN and en."""
    config = TRADITIONAL.get(_known(language))
    return str if config is None else opencc_converter(config)


@lru_cache(maxsize=65536)
def localise_chinese(text: str, language: str) -> str:
    """Chinese text written in Simplified (the checker's finding messages) in ``language``'s script.

    Characters only (s2tw, s2hk): words quoted from a sheet keep their wording."""
    if language not in _CHARACTERS or not text:
        return text
    return opencc_converter(_CHARACTERS[language])(text)


def build_traditional(domain: str = "messages") -> list[Path]:
    """Write the zh-TW and zh-HK catalogues of ``domain`` from the zh-CN one (OpenCC), return their paths."""
    from .catalogues import converted  # noqa: PLC0415 (catalogues builds on this module)

    written = []
    for language in TRADITIONAL:
        target = po_path(language, domain)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(converted(language, domain))
        written.append(target)
    translation.cache_clear()
    return written


if __name__ == "__main__":  # python -m scripts.i18n [domain ...] (the same as: python -m scripts.catalogues convert)
    for name in sys.argv[1:] or ["cli"]:
        for p in build_traditional(name):
            print(p)
