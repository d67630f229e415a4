"""One check run: read every source, build the tables, and collect validation and deadline findings."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

from .config import Config, SourceConfig, StaffMember
from .deadlines import deadline_findings
from .errors import ConfigError, SourceError
from .findings import ERROR, Finding, sort_key
from .schema import Span, TableSchema, load_schemas
from .sources import Workbook
from .sources.excel import read_workbook
from .tables import Table, read_sheet_table
from .textnorm import fold, header_keys
from .validation import Rules, validate
from .workcal import WorkCalendar

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger("huifang.check")

Opener = Callable[["SourceConfig"], Workbook]


@dataclass
class SheetReport:
    """What was understood of one worksheet (``check -v`` and JSON show it)."""

    title: str
    table: str | None
    rows: int
    header_row: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # letter -> header text
    columns: dict[str, str | None] = field(default_factory=dict)  # letter -> field, "x.date"/"x.time", None: ignored
    pairs: list[tuple[str, str, str]] = field(default_factory=list)  # (field, date letter, time letter)
    skipped_rows: list[int] = field(default_factory=list)  # totals, notes, repeated headers
    done_unknown: int = 0  # done-marks read as "done, moment unknown"
    missing: list[str] = field(default_factory=list)  # required fields without a column
    near_table: str | None = None
    near_missing: list[str] = field(default_factory=list)
    head: list | None = None  # the rows that may hold the header, kept when the sheet needs a hint
    first_col: int = 0


@dataclass
class SourceReport:
    name: str
    path: str
    error: str | None = None
    sheets: list[SheetReport] = field(default_factory=list)


@dataclass(frozen=True)
class StaffDirectory:
    members: tuple[StaffMember, ...]

    def names(self) -> frozenset[str]:
        return frozenset(fold(m.name) for m in self.members)

    @cached_property
    def _by_key(self) -> dict[str, StaffMember]:
        """Folded name -> the first member of that name (asked once per finding on big logs)."""
        index: dict[str, StaffMember] = {}
        for m in self.members:
            index.setdefault(fold(m.name), m)
        return index

    def get(self, name: str | None) -> StaffMember | None:
        if not name:
            return None
        return self._by_key.get(fold(name))

    def team_of(self, supervisor: StaffMember) -> tuple[StaffMember, ...]:
        key = fold(supervisor.name)
        return tuple(m for m in self.members if m.supervisor and fold(m.supervisor) == key)


@dataclass
class CheckResult:
    now: dt.datetime
    sources: list[SourceReport]
    findings: list[Finding]
    tables: list[Table]
    staff: StaffDirectory
    notices: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # sheets matched to no table

    @property
    def source_failed(self) -> bool:
        return any(s.error for s in self.sources)

    @property
    def exit_code(self) -> int:
        if self.source_failed:
            return 2
        return 1 if any(f.severity == ERROR for f in self.findings) else 0


def default_opener(config: Config) -> Opener:
    """Files are read from disk; Google Sheets through one session for the whole run (made when needed)."""
    sessions: list = []

    def open_source(source: SourceConfig) -> Workbook:
        if source.path is not None:
            return read_workbook(source.path, source.name)
        from .sources.gsheets import SheetsSession, credentials_session, read_google_sheet  # noqa: PLC0415

        if not sessions:
            inner = credentials_session(config.google.service_account_file, os.environ)
            sessions.append(SheetsSession(inner, timeout=config.google.timeout, retries=config.google.retries,
                                          requests_per_minute=config.google.requests_per_minute))
            sessions[0].announce(sum(1 for s in config.sources if s.path is None))
        account = getattr(getattr(sessions[0].inner, "credentials", None), "service_account_email", "the service account")
        return read_google_sheet(source.name, source.google_sheet or "", sessions[0], account=account)

    return open_source


def run_check(config: Config, now: dt.datetime, *, schemas: dict[str, TableSchema] | None = None,
              opener: Opener | None = None, jobs: int = 1, keep_records: bool = True) -> CheckResult:
    """Check every source of ``config`` at ``now`` (aware). Unreadable sources are reported, not raised.

    With ``jobs`` > 1 and several workbook files, the files are read in that many processes. Without
    ``keep_records`` (the findings are all the caller wants) the workers also validate and send back no
    records but the staff sheets': less to pickle, less left for this process (bench/many_bench.py)."""
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    now = now.astimezone(config.timezone)
    schemas = schemas if schemas is not None else load_schemas(*config.schema_dirs)
    schemas = apply_table_overrides(schemas, config)
    parallel = opener is None and jobs > 1 and _worth_a_pool([s.path for s in config.sources if s.path is not None])
    opener = opener or default_opener(config)
    # Workers that validate judge staff names against the config's list; a staff sheet adding names is
    # applied here afterwards (it can only take unknown_staff findings away).
    lean = Rules(staff=frozenset(fold(m.name) for m in config.staff) or None, quiet_hours=config.quiet_hours) \
        if parallel and not keep_records else None
    reports: list[SourceReport] = []
    tables: list[Table] = []
    ignored: list[str] = []
    pending = []
    for source in config.sources:
        for title, table_name in source.tables.items():
            if table_name not in schemas:
                raise ConfigError(f"sources[{source.name}].tables.{title}: unknown table {table_name!r} "
                                  f"(known: {', '.join(sorted(schemas))})")
        pending.append((source, column_overrides(source, schemas)))
    calendar = WorkCalendar(config.calendar.country, config.calendar.extra_holidays, config.calendar.extra_workdays)
    due: list[list[Finding]] = []  # each table's deadline findings, worked out where it was read
    checked: list[Checked | None] = []  # each table's validation, when a worker did it
    spans = []  # (source, overrides, first table index, table count) of each source a lean worker read
    with _pool(jobs if parallel else 1, (schemas, now, config, lean)) as pool:
        # Files are read, parsed and their deadlines found in worker processes; merged in the sources' order.
        futures = _submit_in_batches(pool, jobs, pending, (schemas, now, config, lean)) if pool else [None] * len(pending)
        for (source, overrides), future in zip(pending, futures):
            report, found, skipped, deadlines, uncovered, validated = future() if future is not None else \
                _read_source(source, schemas, now, overrides, config, opener, calendar)
            if report.error:
                log.info("source %s could not be read: %s", source.name, report.error)  # the output says it, in its language
            if validated is not None:
                spans.append((source, overrides, len(tables), len(found)))
            reports.append(report)
            tables.extend(found)
            ignored.extend(skipped)
            due.extend(deadlines)
            checked.extend(validated or [None] * len(found))
            calendar.uncovered.update(uncovered)
    staff = _directory(config, tables)
    names = staff.names() if staff.members else None
    if lean is not None and lean.staff is None and names is not None:
        # No staff list in the config, but a staff sheet: a book naming someone it does not list is read
        # again here, its names judged against the sheet (the workers could not know it).
        again = Rules(staff=names, quiet_hours=config.quiet_hours)
        for source, overrides, first, count in spans:
            if any(checked[i] is not None and checked[i].names - names for i in range(first, first + count)):
                redone = _read_source(source, schemas, now, overrides, config, calendar=calendar, lean=again)[5]
                if redone is not None and len(redone) == count:  # else the book changed meanwhile: the worker's stands
                    checked[first:first + count] = redone
    rules = Rules(staff=names, quiet_hours=config.quiet_hours)
    findings: list[Finding] = []
    for table, deadlines, done in zip(tables, due, checked):
        findings.extend(table.findings)
        if done is None:
            findings.extend(validate(table, rules))
        else:
            findings.extend(f for f, name in done.findings if name is None or names is None or name not in names)
        findings.extend(deadlines)
    findings = [_spelled(f, staff) for f in findings]
    findings = _to_owners(config, staff, findings)
    findings.sort(key=sort_key)
    notices = [
        f"{year} 年的法定节假日/调休数据尚未收录：按周末加配置中的 calendar 计算工作日"
        for year in sorted(calendar.uncovered)
    ]
    for note in notices:
        log.warning(note)
    return CheckResult(now, reports, findings, tables, staff, notices, ignored)


def _to_owners(config: Config, staff: StaffDirectory, findings: list[Finding]) -> list[Finding]:
    """Findings whose row names nobody go to their source's `owner` (DOMAIN.md, convention 12), marked
    so that the reminder lists them under their own heading; without an owner they stay unassigned and
    the messages route them to every supervisor."""
    owners = {}
    for source in config.sources:
        if getattr(source, "owner", None):
            member = staff.get(source.owner)
            owners[source.name] = member.name if member else source.owner
    if not owners:
        return findings
    return [f._replace(assignee=owners[f.source], unassigned=True) if not f.assignee and f.source in owners else f
            for f in findings]
PARALLEL_MIN_BYTES = 512 * 1024  # below this many bytes of workbooks, starting processes costs more than it saves


def _worth_a_pool(paths: list) -> bool:
    """Several files, big enough together that reading them in parallel pays for the processes (~40 ms)."""
    if len(paths) < 2:
        return False
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):
            total += os.stat(path).st_size
    return total >= PARALLEL_MIN_BYTES


_worker_run: tuple = ()  # (schemas, now, config, lean rules, calendar) of the run, set once in each worker process


BATCHES_PER_WORKER = 4  # few enough to save a round trip per file, enough to even out big and small files


def _submit_in_batches(pool: ProcessPoolExecutor, jobs: int, pending: list[tuple[SourceConfig, Mapping[str, str]]],
                       run: tuple) -> list[Callable[[], tuple] | None]:
    """The files handed to the workers a few at a time (200 small books: 8 round trips, not 200); for
    each source, a call giving its result (None for a Google source, read here)."""
    files = [i for i, (source, _) in enumerate(pending) if source.path is not None]
    size = max(1, -(-len(files) // (jobs * BATCHES_PER_WORKER)))
    out: list[Callable[[], tuple] | None] = [None] * len(pending)
    for start in range(0, len(files), size):
        batch = files[start:start + size]
        future = pool.submit(_read_batch_in_worker, [pending[i] for i in batch])
        for k, i in enumerate(batch):
            out[i] = lambda future=future, k=k, i=i: _result(future, k, *pending[i], run)
    return out


WORKER_STOPPED = "the process reading it stopped before it finished (out of memory, or killed)"


def _result(future: Any, k: int, source: SourceConfig, overrides: Mapping[str, str], run: tuple) -> tuple:
    """The ``k``-th result of a batch. A worker that died (killed, out of memory) takes every file still
    pending with it: each is read again alone in a process of its own, and the one that stops that
    process too is reported as unreadable, not the whole check."""
    from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

    try:
        return future.result()[k]
    except BrokenProcessPool:
        pass
    log.warning("a worker process stopped; reading %s again on its own", source.name)
    try:
        with _pool(2, run, workers=1) as alone:
            return alone.submit(_read_in_worker, source, overrides).result()
    except BrokenProcessPool:
        report = SourceReport(source.name, str(source.path or ""), error=WORKER_STOPPED)
        return report, [], [], [], set(), None


def _read_batch_in_worker(batch: list[tuple[SourceConfig, Mapping[str, str]]]) -> list[tuple]:
    return [_read_in_worker(source, overrides) for source, overrides in batch]


def _start_worker(run: tuple) -> None:
    global _worker_run  # noqa: PLW0603 - a worker process's one run
    config = run[2]
    # One calendar for all the worker's files, as in one process: its working-day sums are remembered.
    _worker_run = (*run, WorkCalendar(config.calendar.country, config.calendar.extra_holidays,
                                      config.calendar.extra_workdays))


def _read_in_worker(source: SourceConfig, overrides: Mapping[str, str]) -> tuple:
    schemas, now, config, lean, calendar = _worker_run
    return _read_source(source, schemas, now, overrides, config, calendar=calendar, lean=lean)


@contextlib.contextmanager
def _pool(jobs: int, run: tuple = (), workers: int | None = None) -> Iterator[ProcessPoolExecutor | None]:
    """Worker processes (``workers``, default ``jobs``) that each receive the run's schemas, moment and config
    once (not with every file); none when ``jobs`` is 1."""
    if jobs <= 1:
        yield None
        return
    import multiprocessing  # noqa: PLC0415 - only a run with several files pays for it
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)  # fork: nothing to re-import
    with ProcessPoolExecutor(max_workers=workers or jobs, mp_context=context, initializer=_start_worker,
                             initargs=(run,)) as pool:
        yield pool


def _read_source(source: SourceConfig, schemas: dict[str, TableSchema], now: dt.datetime, overrides: Mapping[str, str],
                 config: Config, opener: Opener | None = None, calendar: WorkCalendar | None = None,
                 lean: Rules | None = None) -> tuple:
    """One source's report, tables, ignored sheets, each table's deadline findings, the years the calendar
    lacked, and (``lean``: validated here, records dropped but the staff sheets') each table's validation
    findings with the folded name of each unknown_staff one. In a worker process when ``opener`` is None."""
    report = SourceReport(source.name, str(source.path or source.google_sheet or ""))
    tables: list[Table] = []
    ignored: list[str] = []
    try:
        workbook = opener(source) if opener is not None else read_workbook(source.path, source.name)
        _read_tables(source.name, source.tables, workbook, schemas, report, tables, ignored, now=now, overrides=overrides)
    except SourceError as exc:
        report.error = exc.reason
    if calendar is None:
        calendar = WorkCalendar(config.calendar.country, config.calendar.extra_holidays, config.calendar.extra_workdays)
    deadlines = [list(deadline_findings(table, calendar, config.timezone, now)) for table in tables]
    validated = None
    if lean is not None:
        validated = [_checked(table, lean) for table in tables]
        for table in tables:
            if table.schema.name != "staff":
                table.records = []
    return report, tables, ignored, deadlines, set(calendar.uncovered), validated


@dataclass(frozen=True)
class Checked:
    """A table validated in a worker: each finding with the folded name an unknown_staff one is about (a
    staff sheet of another book may know it), and, when the config lists no staff, every folded name in
    the table's staff columns."""

    findings: list[tuple[Finding, str | None]]
    names: frozenset[str]


def _checked(table: Table, rules: Rules) -> Checked:
    found = validate(table, rules)
    values: set = set()
    if rules.staff is None:  # only a run without a staff list in the config reads a book again by these names
        fields = [spec.name for spec in table.schema.fields if spec.type == "staff" and spec.name in table.columns]
        values = {record.get(name) for record in table.records for name in fields}
        values.discard(None)
    rows = {r.row: r for r in table.records} if any(f.rule == "unknown_staff" for f in found) else {}
    return Checked([(f, fold(str(rows[f.row].get(f.column))) if f.rule == "unknown_staff" else None) for f in found],
                   frozenset(fold(str(v)) for v in values))


def _spelled(finding: Finding, staff: StaffDirectory) -> Finding:
    """The assignee as the staff list spells them (陳曉燕 in a log is 陈晓燕 of the list)."""
    if finding.assignee:
        member = staff.get(finding.assignee)
        if member is not None and member.name != finding.assignee:
            return finding._replace(assignee=member.name)
    return finding


def apply_table_overrides(schemas: dict[str, TableSchema], config: Config) -> dict[str, TableSchema]:
    """Config ``tables``: fields made optional and header spellings added, without copying schema files.

    ``maintenance.first_after_months`` / ``remind_days_before`` (when the config has them) change the
    first-service reminder of the delivery log.
    """
    where = str(config.path or "configuration")
    overrides: Mapping[str, Mapping[str, Any]] = getattr(config, "table_overrides", None) or {}
    out = dict(schemas)
    for name, change in overrides.items():
        if name not in out:
            raise ConfigError(f"{where}: tables.{name}: unknown table (known: {', '.join(sorted(out))})")
        schema = out[name]
        names = [f.name for f in schema.fields]
        for key in ("optional", "aliases"):
            for field_name in change.get(key) or ():
                if field_name not in names:
                    raise ConfigError(f"{where}: tables.{name}.{key}: no field {field_name!r} in {name} "
                                      f"(fields: {', '.join(names)})")
        optional = set(change.get("optional") or ())
        aliases = change.get("aliases") or {}
        fields = tuple(
            replace(spec, required=False, required_when=None, required_unless=None,
                    aliases=(*spec.aliases, *aliases.get(spec.name, ())))
            if spec.name in optional else replace(spec, aliases=(*spec.aliases, *aliases.get(spec.name, ())))
            for spec in schema.fields
        )
        out[name] = replace(schema, fields=fields)
    maintenance = getattr(config, "maintenance", None)
    if maintenance is not None and "delivery_log" in out:
        months = getattr(maintenance, "first_after_months", None)
        before = getattr(maintenance, "remind_days_before", None)
        schema = out["delivery_log"]
        rules = tuple(
            replace(rule, after=Span(months=months) if months else rule.after,
                    warn=Span(days=before) if before is not None else rule.warn)
            if rule.config == "maintenance" else rule
            for rule in schema.deadlines
        )
        out["delivery_log"] = replace(schema, deadlines=rules)
    return out


def column_overrides(source: SourceConfig, schemas: Mapping[str, TableSchema]) -> dict[str, str]:
    """A source's ``columns`` as folded header -> target; a field no table has is a config error."""
    mapping: Mapping[str, str] = getattr(source, "columns", None) or {}
    if not mapping:
        return {}
    tables = [schemas[t] for t in dict.fromkeys(source.tables.values()) if t in schemas] or list(schemas.values())
    known = {f.name for t in tables for f in t.fields}
    out = {}
    for header, target in mapping.items():
        field_name = target.partition(".")[0]
        if field_name not in known:
            listing = "; ".join(f"{t.name}: {', '.join(f.name for f in t.fields)}" for t in tables)
            raise ConfigError(f"sources[{source.name}].columns.{header}: no field {field_name!r} ({listing})")
        keys = header_keys(str(header))
        if keys:
            out[keys[-1]] = target
            out[keys[0]] = target
    return out


def _read_tables(source: str, mapping: dict[str, str], workbook: Workbook, schemas: dict[str, TableSchema],
                 report: SourceReport, tables: list[Table], ignored: list[str], *, now: dt.datetime | None = None,
                 overrides: Mapping[str, str] | None = None) -> None:
    by_title = {fold(title): name for title, name in mapping.items()}
    found = set()
    candidates = list(schemas.values())
    for sheet in workbook.sheets:
        schema_name = by_title.get(fold(sheet.title))
        if schema_name is not None:
            found.add(fold(sheet.title))
        heads: list[tuple[list, int]] = []
        table = read_sheet_table(source, sheet, schemas[schema_name] if schema_name else None, candidates, sheet.url,
                                 now=now, overrides=overrides, heads=heads)
        if table is None:
            ignored.append(f"{source}: {sheet.title}")
            log.info("%s: sheet %r matches no table; ignored", source, sheet.title)
            report.sheets.append(SheetReport(sheet.title, None, 0, head=heads[0][0], first_col=heads[0][1]))
            continue
        tables.append(table)
        report.sheets.append(SheetReport(
            sheet.title, table.schema.name, len(table.records), header_row=table.header_row or None,
            headers=dict(table.headers), columns=table.column_map(), pairs=table.pairs(),
            skipped_rows=list(table.skipped_rows), done_unknown=table.done_unknown,
            missing=[f.name for f in table.schema.fields
                     if f.always_required and f.name not in table.columns and f.derive is None],
            # the header rows, for `check` to say which column it took for what (only when one is missing)
            **({"head": heads[0][0], "first_col": heads[0][1]}
               if any(f.rule == "missing_column" for f in table.findings) else {}),
        ))
    missing = [title for title in mapping if fold(title) not in found]
    if missing:
        titles = "、".join(s.title for s in workbook.sheets)
        raise SourceError(source, f"worksheet {'、'.join(missing)} not found (the workbook has: {titles})")


def _directory(config: Config, tables: list[Table]) -> StaffDirectory:
    members = list(config.staff)
    known = {fold(m.name) for m in members}
    for table in tables:
        if table.schema.name != "staff":
            continue
        for record in table.records:
            # A name with an unreadable email is still a known colleague; they just get no email.
            if record.get("name") and fold(record["name"]) not in known:
                known.add(fold(record["name"]))
                members.append(StaffMember(
                    name=record["name"], email=record.get("email") or "", role=record.get("role") or "",
                    supervisor=record.get("supervisor"), active=record.get("active") is not False,
                    mobile=record.get("mobile") if isinstance(record.get("mobile"), str) else None,
                    wecom_userid=record.get("wecom_userid"),
                ))
    for i, member in enumerate(config.staff):
        if member.supervisor and fold(member.supervisor) not in known:
            raise ConfigError(f"{config.path or 'configuration'}: staff.{i}.supervisor: "
                              f"{member.supervisor!r} is not in the staff list")
    return StaffDirectory(tuple(members))

