"""Folding of header cells, choice values and staff names so that the forms staff really type match.

Sheets come from mainland stores (Simplified Chinese), from Hong Kong/Taiwan templates (Traditional),
from WPS with full-width brackets, and from documents that went through a converter which left pinyin
readings in brackets behind ambiguous characters (``登記時(shí)間``). All of these fold to one key.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Traditional -> Simplified: one character for one character, from OpenCC's maintained t2s tables.
# Built once, on first use, by converting every CJK character in one call (about 20 ms).
_CJK_RANGES = ((0x3400, 0xA000), (0xF900, 0xFB00))
_t2s_table: dict[int, str] | None = None


def t2s_table() -> dict[int, str]:
    """The character table (code point -> simplified character) of every CJK character OpenCC changes."""
    global _t2s_table  # noqa: PLW0603 - a lazily built constant
    if _t2s_table is None:
        import opencc  # noqa: PLC0415 - only when text is first folded

        chars = [chr(i) for lo, hi in _CJK_RANGES for i in range(lo, hi)]
        converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
        if len(converted) != len(chars):  # a phrase rule merged lines: fall back to one call per character
            converter = opencc.OpenCC("t2s")
            converted = [converter.convert(c) for c in chars]
        _t2s_table = {ord(a): b for a, b in zip(chars, converted) if a != b and len(b) == 1}
    return _t2s_table


# A pinyin reading with at least one tone mark, in brackets: "(shí)", "(lián)". "(required)" has no
# tone mark and is left alone.
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_PINYIN = re.compile(rf"\((?=[a-zü{_TONED}]*[{_TONED}])[a-zü{_TONED}]+\)")
_SPACE = re.compile(r"\s+")
_TRAILING_NOTE = re.compile(r"\([^()]*\)$")


@lru_cache(maxsize=8192)  # the same names and choices repeat down a log
def fold(text: str) -> str:
    """The matching key of a header, choice or name: width, case, script, spaces and pinyin folded."""
    text = unicodedata.normalize("NFKC", str(text))
    text = _PINYIN.sub("", text)
    text = _SPACE.sub("", text)
    return text.casefold().translate(t2s_table())


def header_keys(header: str) -> tuple[str, ...]:
    """The keys a header cell may match under, most specific first.

    Leading/trailing ``*`` marks and a trailing note such as （必填） or (required) are dropped for the
    second key, so ``*聯系電話（必填）`` matches ``聯系電話``.
    """
    full = fold(header).strip("*")
    keys = [full]
    bare = full
    while True:
        shorter = _TRAILING_NOTE.sub("", bare).strip("*")
        if shorter == bare or not shorter:
            break
        bare = shorter
        keys.append(bare)
    return tuple(dict.fromkeys(k for k in keys if k))
