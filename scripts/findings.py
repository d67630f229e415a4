"""The finding: one thing a person must fix or do, with its exact place."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

ERROR, WARNING, INFO = "error", "warning", "info"

_SEVERITY = {
    "missing_required": ERROR,
    "invalid_value": ERROR,
    "missing_column": ERROR,
    "card_not_created": ERROR,
    "test_drive_without_license": ERROR,
    "duplicate_id": ERROR,
    "unknown_staff": WARNING,
    "repeat_complainant": WARNING,
    "callback_in_quiet_hours": WARNING,
}


def severity_of(rule: str) -> str:
    """Severity by rule id: ``*_overdue`` is an error, ``*_due_soon`` a warning, anything unknown info."""
    if rule in _SEVERITY:
        return _SEVERITY[rule]
    if rule.endswith("_overdue"):
        return ERROR
    if rule.endswith("_due_soon"):
        return WARNING
    return INFO


def column_letter(index: int) -> str:
    """0-based column index -> Excel letters (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def mask_phone(phone: str | None) -> str | None:
    """138****8000 for supervisors' eyes; short numbers keep only their last two digits."""
    if not phone:
        return phone
    if len(phone) >= 7:
        return phone[:3] + "****" + phone[-4:]
    return "*" * (len(phone) - 2) + phone[-2:]


class Finding(NamedTuple):
    """Immutable; a NamedTuple because a big log yields 100k of them and tuples are built fastest."""

    rule: str
    source: str
    sheet: str | None
    row: int | None
    column: str | None  # the schema's field name
    cell: str | None  # A1 reference within the sheet, e.g. "G7"
    header: str | None  # the header text as the sheet has it
    message: str
    severity: str = ""  # filled from the rule by make_finding
    table: str | None = None
    assignee: str | None = None
    due: dt.datetime | None = None
    customer: str | None = None
    phone: str | None = None  # full number: only the assignee's own reminder shows it
    key: tuple | None = None  # the record's business identity (table, values...), stable when rows move
    url: str | None = None
    unassigned: bool = False  # the row names nobody: ``assignee`` is the source's owner it was routed to

    @property
    def location(self) -> str:
        """``來店登記!G7`` (or the sheet alone when the finding is about a whole sheet)."""
        if self.sheet is None:
            return self.source
        if self.cell:
            return f"{self.sheet}!{self.cell}"
        if self.row:
            return f"{self.sheet}!{self.row}:{self.row}"
        return self.sheet

    def to_json(self) -> dict[str, Any]:
        data = self._asdict()
        data["due"] = self.due.isoformat() if self.due else None
        del data["phone"], data["key"], data["customer"], data["unassigned"]
        return data


def make_finding(rule: str, **fields: Any) -> Finding:
    """A Finding whose severity follows from its rule id."""
    return Finding(rule=rule, severity=fields.pop("severity", None) or severity_of(rule), **fields)


def sort_key(f: Finding) -> tuple:
    cell = f.cell or ""
    return (f.source, f.sheet or "", f.row or 0, len(cell), cell, f.rule)
