"""One language per run: gettext catalogues in locale/<ll_CC>/LC_MESSAGES/<domain>.po, read with Babel.

Message ids are English, so ``en`` needs no catalogue. The Traditional catalogues (zh-TW, zh-HK) are made
from the zh-CN one with OpenCC when the catalogues are built (``python -m scripts.i18n``), not at run time.
"""

from __future__ import annotations

import gettext
import io
import sys
from functools import lru_cache
from pathlib import Path

from .errors import ConfigError

LANGUAGES = ("zh-CN", "zh-TW", "zh-HK", "en")
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
TRADITIONAL = {"zh-TW": "s2twp", "zh-HK": "s2hk"}  # language -> OpenCC conversion of the catalogues
_CHARACTERS = {"zh-TW": "s2tw", "zh-HK": "s2hk"}  # characters only: quoted sheet words keep their wording


def locale_dir_name(language: str) -> str:
    return language.replace("-", "_")


def catalogue_path(language: str, domain: str) -> Path:
    return LOCALE_DIR / locale_dir_name(language) / "LC_MESSAGES" / f"{domain}.po"


@lru_cache(maxsize=None)
def translation(language: str, domain: str) -> gettext.NullTranslations:
    """The catalogue of ``domain`` in ``language`` (English: the message ids themselves)."""
    if language not in LANGUAGES:
        raise ConfigError(f"language: {language!r} is not supported (use one of {', '.join(LANGUAGES)})")
    path = catalogue_path(language, domain)
    if language == "en" or not path.exists():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo  # noqa: PLC0415
    from babel.messages.pofile import read_po  # noqa: PLC0415
    from babel.support import Translations  # noqa: PLC0415

    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale_dir_name(language), domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=domain)


@lru_cache(maxsize=None)
def _converter(language: str):
    import opencc  # noqa: PLC0415

    return opencc.OpenCC(_CHARACTERS[language]).convert


@lru_cache(maxsize=65536)
def localise_chinese(text: str, language: str) -> str:
    """Chinese text written in Simplified (the checker's finding messages) in ``language``'s script."""
    if language not in TRADITIONAL or not text:
        return text
    return _converter(language)(text)


def build_traditional(domain: str) -> list[Path]:
    """Write the zh-TW and zh-HK catalogues of ``domain`` from the zh-CN one (OpenCC), return their paths."""
    import opencc  # noqa: PLC0415
    from babel.messages.pofile import read_po, write_po  # noqa: PLC0415

    written = []
    for language, conversion in TRADITIONAL.items():
        with catalogue_path("zh-CN", domain).open("rb") as fh:
            catalog = read_po(fh, locale="zh_CN", domain=domain)
        convert = opencc.OpenCC(conversion).convert
        for message in catalog:
            if not message.id:
                continue
            if isinstance(message.string, (tuple, list)):
                message.string = tuple(convert(s) for s in message.string)
            elif message.string:
                message.string = convert(message.string)
        catalog.locale = locale_dir_name(language)
        target = catalogue_path(language, domain)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as fh:
            write_po(fh, catalog, width=0, omit_header=False, sort_output=False)
        written.append(target)
    translation.cache_clear()
    return written


if __name__ == "__main__":  # python -m scripts.i18n [domain ...]
    for name in sys.argv[1:] or ["cli"]:
        for p in build_traditional(name):
            print(p)
