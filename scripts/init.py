"""`run.py init`: from a store's own workbooks to a commented starter huifang.yaml.

Each sheet's table and columns are recognised the way ``check`` reads them (exact headers and aliases),
then by DOMAIN.md's date+time pairs, then by close matches (``matching.py``). Every header mapped by a
pair or a close match is written under ``columns:`` so the user sees it and can correct it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from .errors import ConfigError, SourceError
from .i18n import translation
from .matching import SheetGuess, guess_sheet, looks_like_log, recognise
from .output import clean, translate_error
from .schema import TableSchema, load_schemas
from .sources import Row
from .sources.excel import read_workbook
from .tables import detect_table, split_head
from .textnorm import fold

_PLAIN = re.compile(r"^[^\W\d_][\w.()（）-]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
STAFF_SAMPLE_ROWS = 5000  # rows read per sheet to collect the names in consultant/owner columns


@dataclass
class SheetPlan:
    title: str
    guess: SheetGuess | None
    recognised: bool
    head: list[Row] = field(default_factory=list, repr=False)
    names: list[str] = field(default_factory=list)  # names found in staff-typed columns
    listed: list[str] = field(default_factory=list)  # names of a staff sheet


@dataclass
class BookPlan:
    path: Path
    name: str
    sheets: list[SheetPlan] = field(default_factory=list)
    error: str | None = None


def read_heads(path: Path, name: str) -> list[tuple[str, list[Row], int, Any]]:
    """(title, the rows that may hold the header, first column, all rows) of each sheet."""
    out = []
    for sheet in read_workbook(path, name).sheets:
        grid = sheet.read()
        head, rows = split_head(grid.rows)
        out.append((sheet.title, head, grid.first_col, rows))
    return out


def plan_sheet(title: str, head: list[Row], first_col: int, rows: Iterable[Row],
               schemas: Mapping[str, TableSchema]) -> SheetPlan:
    exact = detect_table(schemas.values(), head, first_col)
    if exact is not None:
        guess = guess_sheet(exact.schema, [r for r in head if r[0] == exact.row], first_col)
        recognised = True
    else:
        guess, recognised = recognise(schemas.values(), head, first_col)
    plan = SheetPlan(title, guess, recognised, head)
    if recognised and guess is not None:
        if guess.schema.name == "staff":
            plan.listed = _names_in(guess, rows, first_col, {"name"})
        else:
            plan.names = _names_in(guess, rows, first_col, {s.name for s in guess.schema.fields if s.type == "staff"})
    return plan


def _names_in(guess: SheetGuess, rows: Iterable[Row], first_col: int, fields: set[str]) -> list[str]:
    """The names typed in the sheet's columns of ``fields`` (consultant, owner...), in order of first appearance."""
    letters = [letter for letter, name in guess.columns.items() if name in fields]
    from .findings import column_letter  # noqa: PLC0415

    indexes = []
    for letter in letters:
        i = 0
        while column_letter(first_col + i) != letter:
            i += 1
        indexes.append(i)
    names: dict[str, str] = {}
    for count, (number, values) in enumerate(rows):
        if count > STAFF_SAMPLE_ROWS:
            break
        if number <= (guess.header_row or 0):
            continue
        for i in indexes:
            value = values[i] if i < len(values) else None
            if isinstance(value, str) and value.strip() and 1 < len(value.strip()) <= 8:
                names.setdefault(fold(value), value.strip())
    return list(names.values())


def plan_books(paths: Sequence[Path], schemas: Mapping[str, TableSchema]) -> list[BookPlan]:
    plans = []
    seen: set[str] = set()
    for path in paths:
        name = path.stem if path.stem not in seen else path.name
        seen.add(name)
        plan = BookPlan(path, name)
        try:
            for title, head, first_col, rows in read_heads(path, name):
                plan.sheets.append(plan_sheet(title, head, first_col, rows, schemas))
        except SourceError as exc:
            plan.error = exc.reason
        plans.append(plan)
    return plans


def _q(text: str) -> str:
    """A YAML scalar: plain when safe, else JSON's double-quoted form (which YAML reads)."""
    text = str(text)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _relative(path: Path, folder: Path) -> str:
    try:
        relative = Path(os.path.relpath(path.resolve(), folder.resolve()))
    except ValueError:  # another drive on Windows
        return str(path.resolve())
    return str(path.resolve()) if relative.parts[:1] == ("..",) else relative.as_posix()


def render_config(plans: Sequence[BookPlan], out: Path, language: str) -> str:
    """The starter configuration as YAML text with comments (written by hand so the comments survive)."""
    t = translation(language, "cli")
    _ = t.gettext
    folder = out.parent
    lines = [
        "# " + _("Huifang configuration written by `run.py init`. Check the lines marked TODO and the columns"),
        "# " + _("it guessed, then run: python run.py check   and   python run.py doctor"),
        f"language: {language}",
        "timezone: Asia/Shanghai",
        "",
        "sources:",
    ]
    listed = {fold(n) for p in plans for s in p.sheets for n in s.listed}
    has_staff_sheet = any(s.recognised and s.guess and s.guess.schema.name == "staff" for p in plans for s in p.sheets)
    unlisted = list({fold(n): n for p in plans for s in p.sheets for n in s.names if fold(n) not in listed}.values())
    for plan in plans:
        lines.append(f"  - name: {_q(plan.name)}")
        lines.append(f"    path: {_q(_relative(plan.path, folder))}")
        if plan.error:
            lines.append("    # " + _("could not be read: {reason}").format(reason=clean(translate_error(plan.error, t), 200)))
            continue
        recognised = [s for s in plan.sheets if s.recognised and s.guess]
        if recognised:
            lines.append("    tables:")
        for sheet in plan.sheets:
            if sheet.recognised and sheet.guess:
                lines.append(f"      {_q(sheet.title)}: {sheet.guess.schema.name}")
            else:
                lines.append("      # " + _("{sheet}: not a log, left out").format(sheet=clean(sheet.title, 60)))
        columns: dict[str, tuple[str, str]] = {}
        for sheet in recognised:
            guess = sheet.guess
            for letter, target in sorted(guess.columns.items(), key=lambda kv: (len(kv[0]), kv[0])):
                how = guess.how[letter]
                if how == "exact":
                    continue
                header = guess.headers[letter]
                note = (_("date + time pair") if how == "pair"
                        else _("close match ({score:.0%}): check it").format(score=guess.scores.get(letter, 0)))
                columns.setdefault(header, (target, f"{sheet.title}!{letter}: {note}"))
        if columns:
            lines.append("    columns:  # " + _("headers recognised by a guess: correct any that is wrong"))
            for header, (target, note) in columns.items():
                lines.append(f"      {_q(header)}: {target}  # {clean(note, 120)}")
    lines.append("")
    if has_staff_sheet and unlisted:
        lines.append("# " + _("Not in the staff sheet (check reports them as unknown staff): {names}").format(
            names=", ".join(clean(n, 20) for n in unlisted)))
        lines.append("")
    elif not has_staff_sheet:
        lines.append("# " + _("No staff sheet found. These names come from the consultant/owner columns;"))
        lines.append("# " + _("give each a real email (TODO) and, for staff, the supervisor's name."))
        if unlisted:
            lines.append("staff:")
            for i, name in enumerate(unlisted, 1):
                lines.append(f"  - name: {_q(name)}")
                lines.append(f"    email: todo-{i}@example.invalid  # TODO")
                lines.append("    # supervisor: ")
        else:
            lines.append("# staff:")
            lines.append("#   - {name: , email: , supervisor: }")
        lines.append("")
    lines += [
        "mail:",
        "  from: 回访提醒 <noreply@example.com>",
        "  outbox: outbox  # " + _("emails are written here as files until mail.smtp is set"),
        "  # smtp: {host: smtp.example.com, port: 587, security: starttls, username: me@example.com,",
        "  #        password_env: HUIFANG_SMTP_PASSWORD}",
        "state: state.sqlite3",
        "",
    ]
    return "\n".join(lines)


def describe(plans: Sequence[BookPlan], language: str) -> list[str]:
    """What init understood, for the terminal: mapped columns, what it left out, the closest headers."""
    t = translation(language, "cli")
    _, n_ = t.gettext, t.ngettext
    lines = []
    for plan in plans:
        lines.append(f"== {clean(plan.path.name)}")
        if plan.error:
            lines.append("  " + _("Cannot read: {reason}").format(reason=clean(translate_error(plan.error, t), 300)))
            continue
        for sheet in plan.sheets:
            title, guess = clean(sheet.title, 60), sheet.guess
            if not sheet.recognised or guess is None:
                if guess is not None and looks_like_log(guess):
                    lines.append("  " + _("[{sheet}] not recognised as a log: closest is {table}, missing {fields}").format(
                        sheet=title, table=guess.schema.name, fields=", ".join(guess.missing)))
                else:
                    lines.append("  " + _("[{sheet}] not a log, left out").format(sheet=title))
                continue
            lines.append("  " + _("[{sheet}] → {table} (header row {row})").format(
                sheet=title, table=guess.schema.name, row=guess.header_row))
            exact = [f"{clean(guess.headers[letter], 40)}→{target}" for letter, target in guess.columns.items()
                     if guess.how[letter] == "exact"]
            if exact:
                lines.append("    " + _("same as the table's headers: {columns}").format(columns=", ".join(exact)))
            for letter, target in sorted(guess.columns.items(), key=lambda kv: (len(kv[0]), kv[0])):
                if guess.how[letter] != "exact":
                    how = _("date + time pair") if guess.how[letter] == "pair" else _("close match")
                    lines.append(f"    {letter} {clean(guess.headers[letter], 40)} → {target} ({how})")
            unused = [clean(h, 40) for letter, h in guess.headers.items() if letter not in guess.columns]
            if unused:
                lines.append("    " + _("left out: {headers}").format(headers=", ".join(unused)))
            for name in guess.missing:
                lines.append("    " + _("required field {field} not found; closest headers: {headers}").format(
                    field=name, headers=", ".join(clean(h, 40) for h in guess.closest(name)) or "-"))
        names = list({fold(n): n for s in plan.sheets for n in s.names}.values())
        if names:
            lines.append("  " + n_("{n} staff name found: {names}", "{n} staff names found: {names}", len(names)).format(
                n=len(names), names=", ".join(clean(n, 20) for n in names[:20])))
    return lines


def run_init(paths: Sequence[Path], out: Path, *, force: bool = False, language: str = "zh-CN",
             schemas: Mapping[str, TableSchema] | None = None, echo: Callable[[str], None] = print) -> int:
    """Write the starter config at ``out``; 0 when every workbook had a log, 1 when something was left out."""
    t = translation(language, "cli")
    _ = t.gettext
    if out.exists() and not force:
        raise ConfigError(_("{path} already exists; pass --force to overwrite it").format(path=out))
    if not paths:
        raise ConfigError(_("init needs at least one workbook path"))
    plans = plan_books([Path(p) for p in paths], schemas if schemas is not None else load_schemas())
    for line in describe(plans, language):
        echo(line)
    listed = {fold(n) for p in plans for s in p.sheets for n in s.listed}
    unlisted = list({fold(n): n for p in plans for s in p.sheets for n in s.names if fold(n) not in listed}.values())
    if listed and unlisted:
        echo(_("Not in the staff sheet (check reports them as unknown staff): {names}").format(
            names=", ".join(clean(n, 20) for n in unlisted)))
    out.parent.mkdir(parents=True, exist_ok=True)
    text = render_config(plans, out, language)
    # Private from the start: doctor asks for a config only its owner can read.
    with os.fdopen(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as fh:
        fh.write(text)
    echo("")
    echo(_("Written: {path}. Next: python run.py check --config {path}").format(path=out))
    incomplete = any(p.error for p in plans) or any(
        s.recognised and s.guess and s.guess.missing for p in plans for s in p.sheets)
    return 1 if incomplete else 0


def sheet_hints(config: Any, result: Any, schemas: Mapping[str, TableSchema]) -> dict[tuple[str, str], SheetGuess]:
    """For `check`: the nearest table of each unrecognised sheet and the guess behind each missing column.

    Uses the header rows the check kept; re-reads a file only for a result that did not keep them.
    """
    wanted: dict[str, dict[str, str | None]] = {}
    for report in result.sources:
        for sheet in report.sheets:
            if sheet.table is None and getattr(sheet, "near_table", None) is None:
                wanted.setdefault(report.name, {})[sheet.title] = None
    for f in result.findings:
        if f.rule == "missing_column" and f.table:
            wanted.setdefault(f.source, {})[f.sheet] = f.table
    kept = {(report.name, sheet.title): (sheet.head, sheet.first_col) for report in result.sources
            for sheet in report.sheets if getattr(sheet, "head", None) is not None}
    hints: dict[tuple[str, str], SheetGuess] = {}
    for source in config.sources:
        titles = wanted.get(source.name)
        if not titles or source.path is None:
            continue
        if all((source.name, title) in kept for title in titles):  # the check kept the header rows
            heads = [(title, *kept[(source.name, title)], None) for title in titles]
        else:
            try:
                heads = read_heads(source.path, source.name)
            except SourceError:
                continue
        for title, head, first_col, _rows in heads:
            if title not in titles:
                continue
            table = titles[title]
            if table in schemas:
                guess = guess_sheet(schemas[table], head, first_col)
            else:
                guess, _clear = recognise(schemas.values(), head, first_col)
            if guess is not None:
                hints[(source.name, title)] = guess
    return hints
