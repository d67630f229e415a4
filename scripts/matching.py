"""Close header matches: which table a sheet nearly is, and which header a missing field probably is.

Exact matching (schema headers and aliases after folding) lives in ``tables.py``. This module goes one step
further for `init`, `check` and `doctor`: DOMAIN.md's date+time column pairs (``X日期`` + ``X时间``), then
headers that are close to a field's words (difflib on folded keys, plus one containing the other).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from .findings import column_letter
from .schema import FieldSpec, TableSchema
from .sources import Row
from .textnorm import fold, header_keys

CLOSE = 0.6  # the least similarity at which init maps a header to a field on its own
# Words stores use for the same thing (folded, Simplified): replaced before comparing.
_SYNONYMS = (("顾客", "客户"), ("时刻", "时间"), ("时分", "时间"), ("接待人", "接待顾问"), ("签字", "签名"),
             ("号码", "号"), ("联系方式", "联系电话"), ("进店", "来店"), ("到店", "来店"),
             ("销售员", "销售顾问"), ("三日回访", "回访时间"), ("3日回访", "回访时间"))
_DATE_SUFFIX = "日期"
_TIME_SUFFIX = "时间"


def header_key(text: str) -> str:
    """A header's comparison key: folded, notes and ``*`` dropped, store synonyms replaced."""
    keys = header_keys(str(text))
    key = keys[-1] if keys else fold(str(text))
    for word, canonical in _SYNONYMS:
        key = key.replace(word, canonical)
    return key


def similarity(a: str, b: str) -> float:
    """0..1 between two keys: difflib's ratio, raised when one key contains the other."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    short, long_ = sorted((a, b), key=len)
    if len(short) >= 2 and short in long_:
        ratio = max(ratio, 0.6 + 0.35 * len(short) / len(long_))
    return ratio


def field_keys(spec: FieldSpec) -> tuple[str, ...]:
    return tuple(dict.fromkeys(header_key(h) for h in (spec.header, *spec.aliases)))


def field_score(header: str, spec: FieldSpec) -> float:
    key = header_key(header)
    return max(similarity(key, k) for k in field_keys(spec))


@dataclass
class SheetGuess:
    """What a sheet's header row says under one schema."""

    schema: TableSchema
    header_row: int | None
    headers: dict[str, str] = field(default_factory=dict)  # letter -> header text
    columns: dict[str, str] = field(default_factory=dict)  # letter -> field, field.date or field.time
    how: dict[str, str] = field(default_factory=dict)  # letter -> exact | pair | close
    scores: dict[str, float] = field(default_factory=dict)  # letter -> similarity of a close match

    @property
    def fields(self) -> set[str]:
        return {c.split(".")[0] for c in self.columns.values()}

    @property
    def required(self) -> list[str]:
        # A field derived from others when its column is absent (complaint status) is not missing.
        return [f.name for f in self.schema.fields if f.always_required and getattr(f, "derive", None) is None]

    @property
    def missing(self) -> list[str]:
        found = self.fields
        return [name for name in self.required if name not in found]

    @property
    def coverage(self) -> float:
        required = self.required
        return (len(required) - len(self.missing)) / len(required) if required else 0.0

    @property
    def score(self) -> tuple[float, float]:
        return self.coverage, len(self.fields) / len(self.schema.fields)

    def closest(self, name: str, n: int = 3) -> list[str]:
        """The ``n`` headers of the sheet nearest to field ``name``, unmapped ones first."""
        spec = self.schema.field(name)
        ranked = sorted(self.headers.items(),
                        key=lambda kv: (kv[0] in self.columns, -field_score(kv[1], spec), kv[0]))
        return [header for _, header in ranked[:n]]


def _text_cells(values: Sequence[Any], first_col: int) -> dict[str, str]:
    return {column_letter(first_col + i): str(v).strip() for i, v in enumerate(values)
            if isinstance(v, str) and v.strip()}


def _pairs(headers: dict[str, str], schema: TableSchema, taken: set[str]) -> list[tuple[str, str, str]]:
    """(date letter, time letter, field) for each ``X日期`` + ``X时间`` pair naming a datetime field."""
    keys = {letter: header_key(h) for letter, h in headers.items()}
    by_key = {k: letter for letter, k in keys.items()}
    datetime_fields = [s for s in schema.fields if s.type == "datetime"]
    out = []
    for letter, key in keys.items():
        if not key.endswith(_DATE_SUFFIX) or len(key) <= len(_DATE_SUFFIX):
            continue
        stem = key[: -len(_DATE_SUFFIX)]
        time_letter = by_key.get(stem + _TIME_SUFFIX)
        if time_letter is None:
            continue
        best, best_score = None, CLOSE
        for spec in datetime_fields:
            if spec.name in taken:
                continue
            score = max(similarity(stem + _TIME_SUFFIX, k) for k in field_keys(spec))
            if score >= best_score:
                best, best_score = spec, score
        if best is not None:
            taken.add(best.name)
            out.append((letter, time_letter, best.name))
    return out


def guess_row(schema: TableSchema, number: int, values: Sequence[Any], first_col: int) -> SheetGuess:
    """Map one candidate header row: exact headers, then date+time pairs, then close matches."""
    guess = SheetGuess(schema, number, _text_cells(values, first_col))
    index = schema.header_index()
    taken: set[str] = set()
    for letter, header in guess.headers.items():
        name = schema.match_header(header, index)
        if name and name not in taken:
            taken.add(name)
            guess.columns[letter], guess.how[letter] = name, "exact"
    # A pair wins over an exact match of one of its halves (回访日期 + 回访时间 are one value).
    pair_taken = {n for letter, n in guess.columns.items()
                  if not header_key(guess.headers[letter]).endswith((_DATE_SUFFIX, _TIME_SUFFIX))}
    for date_letter, time_letter, name in _pairs(guess.headers, schema, pair_taken):
        for letter in [k for k, v in guess.columns.items() if v == name]:
            del guess.columns[letter], guess.how[letter]
        for letter in (date_letter, time_letter):
            old = guess.columns.pop(letter, None)
            if old:
                taken.discard(old)
        taken.add(name)
        guess.columns[date_letter], guess.how[date_letter] = f"{name}.date", "pair"
        guess.columns[time_letter], guess.how[time_letter] = f"{name}.time", "pair"
    free = [letter for letter in guess.headers if letter not in guess.columns]
    candidates = sorted(
        ((field_score(guess.headers[letter], spec), letter, spec.name)
         for letter in free for spec in schema.fields if spec.name not in taken),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    for score, letter, name in candidates:
        if score < CLOSE:
            break
        if letter in guess.columns or name in taken:
            continue
        taken.add(name)
        guess.columns[letter], guess.how[letter], guess.scores[letter] = name, "close", round(score, 2)
    # A header that stands for a field only when nothing else names it (序号 as the complaint id).
    fallback = schema.fallback_index() if hasattr(schema, "fallback_index") else {}
    for letter, header in guess.headers.items():
        name = fallback.get(header_key(header))
        if name and name not in taken and letter not in guess.columns:
            taken.add(name)
            guess.columns[letter], guess.how[letter] = name, "exact"
    return guess


def guess_sheet(schema: TableSchema, head: Sequence[Row], first_col: int) -> SheetGuess:
    """The header row among ``head`` that maps the most fields of ``schema`` (a row of two texts at least)."""
    best = SheetGuess(schema, None)
    for number, values in head:
        if sum(1 for v in values if isinstance(v, str) and v.strip()) < 2:
            continue
        guess = guess_row(schema, number, values, first_col)
        if (guess.score, -number) > (best.score, -(best.header_row or 0)) or best.header_row is None:
            best = guess
    return best


def recognise(schemas: Iterable[TableSchema], head: Sequence[Row], first_col: int) -> tuple[SheetGuess | None, bool]:
    """The nearest table for a sheet, and whether the sheet clearly is that table.

    Clearly: at least three columns, at least 60 % of the required fields found, and the next table
    clearly behind.
    """
    guesses = sorted((guess_sheet(s, head, first_col) for s in schemas), key=lambda g: g.score, reverse=True)
    guesses = [g for g in guesses if g.header_row is not None]
    if not guesses:
        return None, False
    best = guesses[0]
    clear = len(best.fields) >= 3 and best.coverage >= 0.6
    if clear and len(guesses) > 1:
        second = guesses[1]
        clear = second.score[0] < best.score[0] or second.score[1] < best.score[1] * 0.8
    return best, clear


def looks_like_log(guess: SheetGuess | None) -> bool:
    """A sheet worth a warning when it matches nothing: several of some table's fields, some required."""
    return guess is not None and len(guess.fields) >= 3 and guess.coverage >= 0.3
