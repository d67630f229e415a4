"""`run.py doctor`: check everything a run needs, send nothing, and say what to fix in plain words.

Each check yields ``Check(ok, text, fix)`` lines; any line that is not ok makes the exit code 1.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

from .check import CheckResult, run_check
from .config import Config
from .errors import HuifangError, StateError
from .i18n import translation
from .jobs import calendar_of, recipient_addresses, smtp_password
from .ledger import Ledger
from .mailer import DeliveryError, SmtpSender
from .matching import looks_like_log
from .output import clean, translate_error
from .scheduling import plan_from_config, working_hours_between
from .service import SERVE_JOBS
from .textnorm import fold

Gettext = Callable[[str], str]
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # msgids: translated through the catalogue
JOB_NAMES = {"reminders": "reminders", "digest": "digest", "escalations": "escalations",
             "monthly_report": "monthly report", "monthly-report": "monthly report",
             "morning_brief": "morning brief", "morning-brief": "morning brief", "weekly": "weekly summary"}


class Check(NamedTuple):
    ok: bool
    text: str  # what was found
    fix: str = ""  # what to do about it (problems only)


def _private(path: Path) -> bool:
    """False when others may read the file (POSIX mode bits); True elsewhere or when it does not exist."""
    if os.name != "posix" or not path.exists():
        return True
    return not path.stat().st_mode & 0o077


def config_checks(config: Config, _: Gettext) -> Iterator[Check]:
    yield Check(True, _("configuration: {path} — OK, time zone {zone}").format(
        path=config.path or _("(files given directly)"), zone=config.timezone.key))
    smtp = config.smtp
    if config.path and smtp and smtp.username and not _private(Path(config.path)):
        yield Check(False, _("configuration: {path} can be read by other users of this computer").format(path=config.path),
                    _("make it private: chmod 600 {path}").format(path=config.path))


def source_checks(config: Config, result: CheckResult, hints: dict, _: Gettext,
                  n_: Callable[[str, str, int], str]) -> Iterator[Check]:
    for source in result.sources:
        if source.error:
            yield Check(False, _("source {name}: CANNOT READ — {error}").format(
                name=source.name, error=clean(translate_error(source.error, _T(_)), 300)),
                _("fix or re-save {path}").format(path=source.path))
            continue
        tables = _(", ").join(
            n_("{sheet}→{table} ({n} row)", "{sheet}→{table} ({n} rows)", s.rows).format(
                sheet=clean(s.title, 40), table=s.table, n=s.rows)
            for s in source.sheets if s.table) or _("no table recognised")
        yield Check(True, _("source {name}: OK — {tables}").format(name=source.name, tables=tables))
        if not any(s.table for s in source.sheets):
            yield Check(False, _("source {name}: no worksheet is a log").format(name=source.name),
                        _("map the worksheets of {name} under sources.tables, or fix their header rows").format(name=source.name))
        for sheet in source.sheets:
            guess = hints.get((source.name, sheet.title))
            if sheet.table is None and looks_like_log(guess):
                yield Check(False, _("sheet {sheet}: looks like {table} but matches no table (missing {fields})").format(
                    sheet=clean(sheet.title, 40), table=guess.schema.name, fields=", ".join(guess.missing)),
                    _("name it under sources.tables ({sheet}: {table}) and map its headers under sources.columns").format(
                        sheet=clean(sheet.title, 40), table=guess.schema.name))
    for f in result.findings:
        if f.rule != "missing_column":
            continue
        guess = hints.get((f.source, f.sheet))
        near = []
        if guess is not None and f.column:
            try:
                near = guess.closest(f.column)
            except KeyError:
                near = []
        yield Check(False, _("sheet {sheet}: required column {field} ({header}) is missing").format(
            sheet=clean(f.sheet, 40), field=f.column or "?", header=clean(f.header, 40)),
            (_("add the column, or map your header to it under sources.columns; closest headers: {headers}").format(
                headers=", ".join(clean(h, 40) for h in near)) if near else
             _("add the column {header} to sheet {sheet}").format(header=clean(f.header, 40), sheet=clean(f.sheet, 40))))


def _usable(email: str) -> bool:
    return bool(email) and "@" in email and not email.lower().endswith(".invalid") and "todo" not in email.lower()


def staff_checks(config: Config, result: CheckResult, _: Gettext) -> Iterator[Check]:
    members = result.staff.members
    if not members:
        yield Check(False, _("staff: none — nobody can be emailed"),
                    _("add a staff list (config `staff:` or a worksheet mapped to `staff`)"))
        return
    yield Check(True, _("staff: {n} people").format(n=len(members)))
    no_email = [m.name for m in members if m.active and not _usable(m.email)]
    if no_email:
        yield Check(False, _("staff without a usable email: {names}").format(names=", ".join(no_email)),
                    _("give {names} an email address in the staff list").format(names=", ".join(no_email)))
    names = result.staff.names()
    for m in members:
        if m.supervisor and fold(m.supervisor) not in names:
            yield Check(False, _("staff: {name}'s supervisor {supervisor} is not in the staff list").format(
                name=m.name, supervisor=m.supervisor),
                _("add {supervisor} to the staff list or correct the name").format(supervisor=m.supervisor))
    if config.escalate_to:
        roles = {fold(m.role) for m in members if m.active and m.role}
        if fold(config.escalate_to) not in roles:
            yield Check(False, _("escalation.escalate_to: nobody has the role {role}").format(role=config.escalate_to),
                        _("give someone the role {role} in the staff list, or change escalation.escalate_to").format(
                            role=config.escalate_to))


def channel_checks(config: Config, _: Gettext) -> Iterator[Check]:
    """Each chat bot's URL shape and secrets, without sending anything."""
    if not config.channels.channels:
        return
    from .channels.dispatch import check_channel  # noqa: PLC0415

    problems = check_channel(config.channels)
    for problem in problems:
        yield Check(False, _("chat channel: {problem}").format(problem=problem),
                    _("set the webhook URL and secret in the environment variables or files the config names"))
    if not problems:
        yield Check(True, _("chat channels: {names} — OK, nothing sent").format(names=", ".join(config.channels.channels)))


def mail_checks(config: Config, smtp_factory: Callable[..., SmtpSender], _: Gettext) -> Iterator[Check]:
    settings = config.smtp
    if settings is None:
        yield Check(True, _("mail: no smtp configured — emails go to {outbox}").format(outbox=config.outbox))
        return
    if settings.security == "none" and settings.username:
        yield Check(False, _("mail: the login to {host} would be sent unencrypted (security: none)").format(host=settings.host),
                    _("set mail.smtp.security to starttls (port 587) or ssl (port 465)"))
    if settings.password_file and not _private(settings.password_file):
        yield Check(False, _("mail: the password file {path} can be read by other users").format(path=settings.password_file),
                    _("make it private: chmod 600 {path}").format(path=settings.password_file))
    try:
        password = smtp_password(config)
    except HuifangError as exc:
        yield Check(False, _("mail: {error}").format(error=exc), _("set the password variable or file named in mail.smtp"))
        return
    sender = smtp_factory(settings, password, retries=0)
    try:
        sender.check()
        yield Check(True, _("mail: connected to {host}:{port} ({security}) — OK, nothing sent").format(
            host=settings.host, port=settings.port, security=settings.security))
    except DeliveryError as exc:
        yield Check(False, _("mail: CANNOT CONNECT — {reason}").format(reason=exc.reason),
                    _("check mail.smtp host, port, security and the password variable"))
    finally:
        sender.close()


def schedule_checks(config: Config, now: dt.datetime, _: Gettext) -> Iterator[Check]:
    calendar = calendar_of(config)
    try:
        plan = plan_from_config(config.schedule, calendar, config.timezone, SERVE_JOBS)
    except HuifangError as exc:
        yield Check(False, _("schedule: {error}").format(error=exc), _("correct the schedule section"))
        return
    for job, moment in sorted(plan.upcoming(now).items(), key=lambda kv: kv[1]):
        yield Check(True, _("next {job}: {moment}").format(
            job=_(JOB_NAMES.get(job, job)),
            moment=_("{date} ({weekday})").format(date=f"{moment:%Y-%m-%d %H:%M}", weekday=_(WEEKDAYS[moment.weekday()]))))


def state_checks(config: Config, now: dt.datetime, result: CheckResult | None, _: Gettext) -> Iterator[Check]:
    state = Path(config.state)
    if not state.exists():
        folder = state.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not os.access(folder, os.W_OK):
            yield Check(False, _("state: {path} cannot be created (the folder is not writable)").format(path=state),
                        _("point `state:` at a folder this user can write"))
        else:
            yield Check(True, _("state: {path} does not exist yet (created by the first run)").format(path=state))
        return
    try:
        ledger = Ledger(state)
    except (StateError, sqlite3.Error, OSError) as exc:
        yield Check(False, _("state: {path} cannot be opened ({error})").format(path=state, error=exc),
                    _("check the file's permissions, or move it aside so a new one is made"))
        return
    try:
        known = ledger.known_recipients()
        new = sorted(set(recipient_addresses(result)) - known) if known and result is not None else []
        if new:
            yield Check(True, _("new recipients since the last run (check they belong here): {addresses}").format(
                addresses=", ".join(new)))
        runs = ledger.runs()
        ok = [r for r in runs if r.outcome == "ok"]
        if ok:
            last = dt.datetime.fromisoformat(ok[-1].ended_at or ok[-1].started_at)
            hours = working_hours_between(last, now, calendar_of(config), config.timezone)
            yield Check(True, _("last successful run: {job} at {moment} ({hours:.0f} working hours ago)").format(
                job=ok[-1].job, moment=f"{last:%Y-%m-%d %H:%M}", hours=hours))
        for r in [r for r in runs if r.outcome == "failed"][-3:]:
            yield Check(True, _("failed run: {job} at {moment} — {detail}").format(
                job=r.job, moment=r.started_at[:16], detail=r.detail))
    except StateError as exc:
        yield Check(False, _("state: {path} cannot be opened ({error})").format(path=state, error=exc),
                    _("check the file's permissions, or move it aside so a new one is made"))
    finally:
        ledger.close()


class _T:
    """A gettext function dressed as a translations object, for ``translate_error``."""

    def __init__(self, gettext: Gettext):
        self.gettext = gettext


def doctor(config: Config, now: dt.datetime, out: Callable[[str], None] = print,
           smtp_factory: Callable[..., SmtpSender] = SmtpSender, language: str | None = None) -> int:
    """Print one line per check in the run's language; return 0 when all is well, 1 when something needs fixing."""
    from .init import sheet_hints  # noqa: PLC0415
    from .schema import load_schemas  # noqa: PLC0415

    t = translation(language or config.language, "cli")
    _ = t.gettext
    checks: list[Check] = list(config_checks(config, _))
    try:
        schemas = load_schemas(*config.schema_dirs)
        result = run_check(config, now, schemas=schemas)
    except HuifangError as exc:
        checks.append(Check(False, _("configuration: {error}").format(error=exc), _("correct the configuration")))
        result = None
    if result is not None:
        hints = sheet_hints(config, result, schemas)
        checks += source_checks(config, result, hints, _, t.ngettext)
        checks += staff_checks(config, result, _)
        checks += [Check(True, _("calendar: {note}").format(note=note)) for note in result.notices]
    checks += mail_checks(config, smtp_factory, _)
    checks += channel_checks(config, _)
    checks += schedule_checks(config, now, _)
    checks += state_checks(config, now, result, _)

    for check in checks:
        out(("" if check.ok else "✗ ") + check.text)
    problems = [c for c in checks if not c.ok]
    if problems:
        out("")
        out(_("To fix:"))
        for c in problems:
            out(f"- {c.fix}")
        return 1
    out(_("All good."))
    return 0
