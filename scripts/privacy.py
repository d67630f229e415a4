"""Phone numbers typed into free text (a name, a complaint) masked like the phone column is."""

from __future__ import annotations

import re

# A mainland mobile (optionally +86, spaces or dashes between its 3-4-4 groups) or a landline with its
# area code (010-12345678, 0755 8765 4321), not part of a longer run of digits (an order number).
_PHONE = re.compile(
    r"(?<![\d])(?:(?:\+|00)?86[\s-]?)?"
    r"(?:1[3-9]\d(?:[\s-]?\d{4}){2}|0\d{2,3}[\s-]?\d{3,4}[\s-]?\d{4})"
    r"(?![\d])"
)


def _mask(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    hidden = set(digits[-8:-4])  # the four digits before the last four: 139****0001
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


def mask_phones_in_text(text: str) -> str:
    """``王先生13912340001`` -> ``王先生139****0001``; ``请回电 010-12345678`` -> ``请回电 010-****5678``."""
    return _PHONE.sub(_mask, text) if text else text
