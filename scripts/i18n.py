"""Languages as gettext catalogues: one set of templates, one `.po` file per language and domain.

Message ids are English, so `en` needs no catalogue. The catalogues are read at run time with Babel
(no compiled `.mo` files in the repository): `locale/<ll_CC>/LC_MESSAGES/<domain>.po`.

zh-TW and zh-HK catalogues are generated from zh_CN with OpenCC (`python -m scripts.catalogues convert`);
the same conversion turns the Chinese text the core writes into findings into Traditional at render time
(`script_converter`).
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path
from typing import Callable

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from .errors import ConfigError

LANGUAGES = ("zh-CN", "zh-TW", "zh-HK", "en")
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
_BABEL = {"zh-CN": "zh_Hans_CN", "zh-TW": "zh_Hant_TW", "zh-HK": "zh_Hant_HK", "en": "en"}
_OPENCC = {"zh-TW": "s2twp", "zh-HK": "s2hk"}  # Simplified -> the region's Traditional (words too, for TW)


def _known(language: str) -> str:
    if language not in LANGUAGES:
        raise ConfigError(f"language: {language!r} is not one of {', '.join(LANGUAGES)}")
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
    if not path.exists():
        if language == "en":
            return gettext.NullTranslations()
        raise ConfigError(f"no {domain} catalogue for {language}: {path} is missing")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=babel_locale(language), domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # in memory: the .po file is the only copy kept
    compiled.seek(0)
    return Translations(compiled, domain=domain)


@lru_cache(maxsize=None)
def opencc_converter(config: str) -> Callable[[str], str]:
    """OpenCC's converter for a configuration name ('s2twp', 's2hk', 't2s')."""
    import opencc

    return opencc.OpenCC(config).convert


def script_converter(language: str) -> Callable[[str], str]:
    """Simplified Chinese text (what the core writes) in the language's script; identity for zh-CN and en."""
    config = _OPENCC.get(_known(language))
    return str if config is None else opencc_converter(config)
