"""The check result for people (text, in the run's language) and for programs (JSON).

Everything printed passes through ``clean``: cell values come from other people's spreadsheets and may
carry terminal escapes, line breaks, bidi overrides or a 30 MB cell.
"""

from __future__ import annotations

import json
import operator
import re
from functools import lru_cache
from itertools import groupby
from json.encoder import encode_basestring as _encode_text  # the C encoder's own string escaping
from typing import Any, Callable, Mapping

from .check import CheckResult
from .findings import ERROR, INFO, WARNING, Finding
from .i18n import localise_chinese, translation

CLIP = 120  # characters of one value shown in a line
_JSON_CLIP = 2000  # characters of a message in JSON
# C0 and C1 controls, DEL, line/paragraph separators, bidi embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_LETTER = re.compile(r"^[A-Z]{1,3}$")


def clean(value: Any, limit: int | None = CLIP) -> str:
    """``value`` as one safe line: controls become spaces (bidi marks vanish), clipped to ``limit``."""
    text = "" if value is None else str(value)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    if _UNSAFE.search(text):
        text = _UNSAFE.sub(lambda m: "" if m.group() >= "\u200e" else " ", text)
    return text


def _sheet_details(result: CheckResult) -> dict[tuple[str, str], dict[str, Any]]:
    """What was understood of each recognised sheet: from the SheetReport when it carries it, else the Table."""
    details: dict[tuple[str, str], dict[str, Any]] = {}
    for table in result.tables:
        details[(table.source, table.sheet)] = {
            "header_row": table.header_row or None,
            "headers": {c.letter: c.header for c in table.columns.values()},
            "columns": {c.letter: c.field for c in sorted(table.columns.values(), key=lambda c: c.index)},
        }
    out = {}
    for source in result.sources:
        for sheet in source.sheets:
            base = details.get((source.name, sheet.title), {})
            out[(source.name, sheet.title)] = {
                "header_row": getattr(sheet, "header_row", None) or base.get("header_row"),
                "headers": dict(getattr(sheet, "headers", None) or base.get("headers") or {}),
                "columns": dict(getattr(sheet, "columns", None) or base.get("columns") or {}),
                "pairs": [list(p) for p in getattr(sheet, "pairs", None) or ()],
                "skipped_rows": list(getattr(sheet, "skipped_rows", None) or ()),
                "done_unknown": getattr(sheet, "done_unknown", 0) or 0,
                "missing": list(getattr(sheet, "missing", None) or ()),
                "near_table": getattr(sheet, "near_table", None),
                "near_missing": list(getattr(sheet, "near_missing", None) or ()),
            }
    return out


# A finding in JSON: Finding.to_json's keys in its order (the customer's name, phone, key and routing flag stay out).
_JSON_KEYS = tuple(k for k in Finding._fields if k not in ("customer", "phone", "key", "unassigned"))
_JSON_VALUES = operator.itemgetter(*(Finding._fields.index(k) for k in _JSON_KEYS))
_DUE = _JSON_KEYS.index("due")
_JSON_FIELDS = [operator.itemgetter(Finding._fields.index(k)) for k in _JSON_KEYS]


def _findings_json(findings: list[Finding]) -> list[dict[str, Any]]:
    """Finding.to_json of each finding, built column-wise: one look at each column for what ``clean`` would
    change, and per-value cleaning only when something needs it (35k findings: a few tens of ms)."""
    rows = [_JSON_VALUES(f) for f in findings]
    columns = list(zip(*rows))
    texts = [list(map(str, c)) for i, c in enumerate(columns) if i != _DUE]
    if any(max(map(len, c)) > _JSON_CLIP or _UNSAFE.search(" ".join(c)) for c in texts):
        rows = [tuple(clean(v, _JSON_CLIP) if type(v) is str and (len(v) > _JSON_CLIP or _UNSAFE.search(v)) else v
                      for v in row) for row in rows]
    out = [dict(zip(_JSON_KEYS, row)) for row in rows]
    iso: dict[Any, str] = {}  # a log's findings share a few hundred deadlines
    for item in out:
        due = item["due"]
        if due is not None:
            key = (due, due.utcoffset())  # equal instants, two offsets on a fall-back night: two texts
            text = iso.get(key)
            if text is None:
                text = iso[key] = due.isoformat()
            item["due"] = text
    return out


def as_json(result: CheckResult, config_path: str | None = None, hints: Mapping | None = None, *,
            findings: bool = True) -> dict[str, Any]:
    """The JSON document as dicts (``findings=False``: without the findings, for render_json)."""
    details = _sheet_details(result)
    hints = hints or {}

    def sheet_json(source: str, sh: Any) -> dict[str, Any]:
        data: dict[str, Any] = {"title": clean(sh.title, _JSON_CLIP), "table": sh.table, "rows": sh.rows}
        d = details[(source, sh.title)]
        if sh.table is not None:
            data.update({k: d[k] for k in ("header_row", "columns", "pairs", "skipped_rows", "done_unknown")})
        else:
            guess = hints.get((source, sh.title))
            data["near_table"] = d["near_table"] or (guess.schema.name if guess and guess.fields else None)
            data["near_missing"] = d["near_missing"] or (guess.missing if guess and guess.fields else [])
        return data

    return {
        "now": result.now.isoformat(),
        "config": config_path,
        "sources": [
            {"name": clean(s.name, _JSON_CLIP), "path": clean(s.path, _JSON_CLIP),
             "error": clean(s.error, _JSON_CLIP) if s.error else None, "sheets": [sheet_json(s.name, sh) for sh in s.sheets]}
            for s in result.sources
        ],
        **({"findings": _findings_json(result.findings)} if findings else {}),
        "notices": list(result.notices),
    }


def render_json(result: CheckResult, config_path: str | None = None, hints: Mapping | None = None,
                indent: int | None = None) -> str:
    """Compact JSON; ``indent`` only when asked (the pure-Python encoder is slow).

    The findings, most of the text, are written column by column (``_findings_text``); the rest goes
    through the C encoder. The text is what ``json.dumps(as_json(...), separators=(",", ":"))`` gives.
    """
    if indent:
        return json.dumps(as_json(result, config_path, hints), ensure_ascii=False, indent=indent)
    head = as_json(result, config_path, hints, findings=False)
    notices = head.pop("notices")
    return "".join((json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1], ',"findings":[',
                    _findings_text(result.findings), '],"notices":',
                    json.dumps(notices, ensure_ascii=False, separators=(",", ":")), "}"))  # one copy of 10 MB, not four


_ROW_TEMPLATE = "{" + ",".join(f"{json.dumps(k)}:%s" for k in _JSON_KEYS) + "}"


def _findings_text(findings: list[Finding]) -> str:
    """The findings as the inside of a JSON array, the same text the C encoder writes for ``_findings_json``.

    Each column is encoded once: a column of texts that need no cleaning goes through the C string
    encoder in one ``map``, any other column through a memo of its distinct values (sources, sheets,
    rules, deadlines repeat); the rows are then one ``%`` each. 35k findings: about half the time of
    building the dicts and encoding them.
    """
    if not findings:
        return ""
    columns = []
    for i, field in enumerate(_JSON_FIELDS):
        column = list(map(field, findings))
        kinds = set(map(type, column))
        if i == _DUE:
            dated = [v for v in column if v is not None] if type(None) in kinds else column
            if len(set(map(_OFFSET, dated))) > 1:  # equal instants on a fall-back night are written apart
                column = [(v, v.utcoffset()) if v is not None else None for v in column]
                memo = {k: "null" if k is None else _encode_text(k[0].isoformat()) for k in set(column)}
            else:
                memo = {v: "null" if v is None else _encode_text(v.isoformat()) for v in set(column)}
            columns.append(map(memo.__getitem__, column))
            continue
        if kinds == {int}:
            columns.append(map(int.__repr__, column))
            continue
        if not kinds <= _TEXTS:  # True, 1 and 1.0 are one key of a memo: each value on its own
            columns.append(map(_encode_value, column))
            continue
        distinct = set(column)
        if len(distinct) * 4 > len(column) and kinds == {str} and not _needs_cleaning(distinct):
            columns.append(map(_encode_text, column))  # mostly distinct: cell references, messages
            continue
        memo = {v: _encode_value(v) for v in distinct}
        columns.append(map(memo.__getitem__, column))
    return ",".join(map(_ROW_TEMPLATE.__mod__, zip(*columns)))


def _needs_cleaning(texts: set[str]) -> bool:
    return max(map(len, texts)) > _JSON_CLIP or _UNSAFE.search(" ".join(texts)) is not None


_TEXTS = frozenset((str, type(None)))
_OFFSET = operator.methodcaller("utcoffset")


def _encode_value(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return _encode_text(clean(value, _JSON_CLIP))
    return json.dumps(value, ensure_ascii=False)


# English sentences for findings; the Chinese messages come from the checker itself.
_RULE_TEXT = {
    "missing_required": "{header} is empty (required)",
    "invalid_value": "{header} cannot be read",
    "missing_column": "the required column {header} is missing",
    "card_not_created": "a phone number was given but no customer card was created",
    "test_drive_without_license": "no driving licence recorded: no test drive without one",
    "duplicate_id": "{header} repeats an earlier row",
    "unknown_staff": "{header}: the name is not in the staff list",
    "repeat_complainant": "this customer complained within the last 30 days",
    "callback_in_quiet_hours": "{header} falls in the customer's rest hours",
    "unclear_done_mark": "{header}: unclear mark, read as done at an unknown time",
}
_TASKS = {
    "followup": "follow-up call", "complaint_reply": "complaint reply", "dept_order": "department work order",
    "complaint_callback": "complaint callback", "thank_you_call": "thank-you call",
    "delivery_callback": "delivery callback", "callback": "callback", "maintenance_reminder": "service reminder",
    "assignment_contact": "first contact",
}


def finding_text(f: Finding, language: str) -> str:
    """The finding's sentence in ``language`` (the checker writes Chinese; English is rebuilt from the rule)."""
    if not language.startswith("en"):
        return localise_chinese(f.message, language)
    day_deadline = f.due is not None and (f.due.hour, f.due.minute, f.due.second) == (23, 59, 59)
    due = f"{f.due:%m-%d}" if day_deadline else f"{f.due:%m-%d %H:%M}" if f.due else "?"
    header = f.header or f.column or ""
    for suffix, text in (("_overdue", "{task} overdue: was due by {due}"), ("_due_soon", "{task} due soon: by {due}")):
        if f.rule.endswith(suffix):
            task = f.rule[: -len(suffix)]
            return text.format(task=_TASKS.get(task, task.replace("_", " ")), due=due)
    template = _RULE_TEXT.get(f.rule)
    return template.format(header=header) if template else f"{f.rule.replace('_', ' ')}: {header}"


def _field_list(names: list[str]) -> str:
    return ", ".join(names)


def render_text(result: CheckResult, verbose: bool = False, language: str = "zh-CN",
                config_path: str | None = None, hints: Mapping | None = None) -> str:
    """The check for a person: one line per finding, each sheet's reading, and a total."""
    t = translation(language, "cli")
    _, n_ = t.gettext, t.ngettext
    hints = hints or {}
    details = _sheet_details(result)
    lines: list[str] = [_("Checked at {moment}").format(moment=f"{result.now:%Y-%m-%d %H:%M %z}")]
    lines.append(_("Configuration: {path}").format(path=clean(config_path, None)) if config_path
                 else _("Configuration: none (tables recognised by their headers)"))
    by_source = {s: list(fs) for s, fs in groupby(result.findings, key=lambda f: f.source)}
    for source in result.sources:
        lines.append("")
        lines.append(f"== {clean(source.name)} ({clean(source.path, None)})")
        if source.error:
            lines.append("  " + _("Cannot read: {reason}").format(reason=clean(translate_error(source.error, t), 400)))
        for sheet in source.sheets:
            d = details[(source.name, sheet.title)]
            title = clean(sheet.title)
            if sheet.table is None:
                lines.append("  " + _unrecognised(title, d, hints.get((source.name, sheet.title)), _))
                continue
            lines.append("  " + n_("[{sheet}] {table}, {n} row", "[{sheet}] {table}, {n} rows", sheet.rows).format(
                sheet=title, table=sheet.table, n=sheet.rows))
            if verbose:
                lines.extend("    " + line for line in _understood(d, _, n_))
        findings = by_source.get(source.name, [])
        for sheet_title, group in groupby(findings, key=lambda f: f.sheet):
            lines.append(f"  -- {clean(sheet_title)}")
            guess = hints.get((source.name, sheet_title))
            for f in group:
                lines.append("    " + _finding_line(f, language, verbose, guess, _))
    for note in result.notices:
        lines.append(_("Note: {text}").format(text=clean(note, 400)))
    counts = {sev: sum(1 for f in result.findings if f.severity == sev) for sev in (ERROR, WARNING, INFO)}
    failed = sum(1 for s in result.sources if s.error)
    lines.append("")
    total = _("Total: {errors}, {warnings}, {notes}").format(
        errors=n_("{n} error", "{n} errors", counts[ERROR]).format(n=counts[ERROR]),
        warnings=n_("{n} warning", "{n} warnings", counts[WARNING]).format(n=counts[WARNING]),
        notes=n_("{n} note", "{n} notes", counts[INFO]).format(n=counts[INFO]),
    )
    if failed:
        total += _("; {failed}").format(
            failed=n_("{n} source could not be read", "{n} sources could not be read", failed).format(n=failed))
    lines.append(total)
    return "\n".join(lines) + "\n"


def _finding_line(f: Finding, language: str, verbose: bool, guess: Any, _: Callable[[str], str]) -> str:
    text = clean(finding_text(f, language), 300)
    if f.rule == "missing_column" and guess is not None and f.column:
        try:
            near = guess.closest(f.column)
        except KeyError:
            near = []
        if near:
            text += _("; closest headers: {headers}").format(headers=_(", ").join(clean(h, 40) for h in near))
    rule = f" [{f.rule}]" if verbose else ""
    who = "  " + _("assignee: {name}").format(name=clean(f.assignee, 40)) if f.assignee else ""
    mark = {ERROR: _("error"), WARNING: _("warning"), INFO: _("note")}[f.severity]
    return f"{clean(f.location):<16} {mark}{rule} {text}{who}"


def _unrecognised(title: str, d: Mapping[str, Any], guess: Any, _: Callable[[str], str]) -> str:
    near = d.get("near_table") or (guess.schema.name if guess is not None and guess.fields else None)
    missing = d.get("near_missing") or (guess.missing if guess is not None and guess.fields else [])
    if near is None:
        return _("[{sheet}] not recognised as a log: its header names no table's columns").format(sheet=title)
    if missing:
        return _("[{sheet}] not recognised as a log: closest is {table}, missing {fields}").format(
            sheet=title, table=near, fields=_field_list(missing))
    return _("[{sheet}] not recognised as a log: closest is {table}").format(sheet=title, table=near)


def _understood(d: Mapping[str, Any], _: Callable[[str], str], n_: Callable[[str, str, int], str]) -> list[str]:
    lines = []
    if d["header_row"]:
        lines.append(_("header row: {row}").format(row=d["header_row"]))
    headers = d["headers"]
    for letter, name in d["columns"].items():
        header = clean(headers.get(letter, ""), 40)
        target = name if name else _("(ignored)")
        lines.append(f"{letter} {header} → {target}")
    for pair in d["pairs"]:
        letters = [p for p in pair if isinstance(p, str) and _LETTER.match(p)]
        names = [p for p in pair if p not in letters]
        lines.append(_("date + time: {columns} → {field}").format(columns=" + ".join(letters), field=", ".join(map(str, names))))
    if d["skipped_rows"]:
        rows = d["skipped_rows"]
        lines.append(n_("skipped as not a record: row {rows}", "skipped as not a record: rows {rows}", len(rows)).format(
            rows=", ".join(map(str, rows[:50])) + (" …" if len(rows) > 50 else "")))
    if d["done_unknown"]:
        n = d["done_unknown"]
        lines.append(n_("{n} done-mark read as done, time unknown", "{n} done-marks read as done, time unknown", n).format(n=n))
    return lines


# Errors other modules raise in English, matched at print time and said in the run's language.
# English error sentences of other modules that the CLI says in the run's language; each is its own
# catalogue msgid, and its {placeholders} match any text when the sentence is recognised.
_ERROR_MSGIDS = (
    '{path}: configuration file not found',
    'no configuration: pass --config FILE, workbook paths, or create {name}',
    'worksheet {missing} not found (the workbook has: {titles})',
    'file not found: {path}',
    '--now: {value} is not an ISO date-time such as {example}',
    'unsupported file type {suffix}; use .xlsx, .xls, .ods or .csv',
    'sheet {title} cannot be read ({reason})',
    'the file is incomplete or corrupt (is it still being saved?)',
    'the workbook is password-protected; save an unprotected copy',
    'cannot open the file ({reason})',
    'this is not a spreadsheet file (neither Excel, WPS nor OpenDocument)',
    'the workbook cannot be read ({reason}); if it has a password save an unprotected copy{rest}',
    '{path}: cannot be read ({reason})',
    'sheet {title} spans {span} ({cells} cells), more than {bound} can be read safely: delete the stray cells far from the table (Ctrl+End shows the last one) or move the table to a workbook of its own',
    'the file is empty (is it still being saved?)',
    'the file ends inside a quoted cell: a quote is never closed; fix it in Excel or WPS and save as CSV again',
    'a cell on line {line} is longer than {limit} characters (a quote that is never closed?); fix it in Excel or WPS and save as CSV again',
    'the CSV file is neither UTF-8, GBK nor Big5 text (or its encoding cannot be told); save it as CSV UTF-8',
    'no permission to read {path}: let the account running huifang read it',
    '{path} is a folder, not a workbook',
    '{part} declares a DTD or entities, which workbooks never do: refusing it',
    '{path}: not valid YAML at line {line}, column {column}: {problem}',
    'the process reading it stopped before it finished (out of memory, or killed)',
)


def _sentence(msgid: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", msgid)
    return re.compile("^" + "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.*?)" for i, p in enumerate(parts)) + "$")


@lru_cache(maxsize=1)
def _errors() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The sentence patterns, compiled at the first error (not at every start: 22 regexes)."""
    return tuple((_sentence(m), m) for m in _ERROR_MSGIDS)


def translate_error(text: str, t: Any) -> str:
    """An English error sentence from another module in the run's language, when it is one we know."""
    prefix = ""
    for pattern, msgid in _errors():
        match = pattern.match(text)
        if match is None and ": " in text:  # "source: reason" from a SourceError
            head, _, rest = text.partition(": ")
            match = pattern.match(rest)
            prefix = head + ": " if match else ""
        if match:
            return prefix + t.gettext(msgid).format(**match.groupdict())
    return text
