"""`run.py doctor`: check everything a run needs, send nothing, and say what to fix in plain words."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

from .check import CheckResult, run_check
from .config import Config
from .errors import HuifangError, StateError
from .jobs import calendar_of, recipient_addresses, smtp_password
from .ledger import Ledger
from .mailer import DeliveryError, SmtpSender
from .scheduling import plan_from_config, working_hours_between
from .service import SERVE_JOBS
from .workcal import WorkCalendar


def doctor(config: Config, now: dt.datetime, out: Callable[[str], None] = print,
           smtp_factory: Callable[..., SmtpSender] = SmtpSender) -> int:
    """Print one line per check; return 0 when all is well, 1 when something needs fixing."""
    problems: list[str] = []
    out(f"configuration: {config.path or '(files given directly)'} — OK, time zone {config.timezone.key}")

    result = run_check(config, now)
    for source in result.sources:
        if source.error:
            out(f"source {source.name}: CANNOT READ — {source.error}")
            problems.append(f"fix or re-save {source.path}")
            continue
        tables = ", ".join(f"{s.title}→{s.table} ({s.rows} rows)" for s in source.sheets if s.table) or "no table recognised"
        out(f"source {source.name}: OK — {tables}")
        if not any(s.table for s in source.sheets):
            problems.append(f"map the worksheets of {source.name} under sources.tables, or fix their header rows")
    if not result.staff.members:
        out("staff: none — nobody can be emailed")
        problems.append("add a staff list (config `staff:` or a worksheet mapped to `staff`)")
    else:
        no_email = [m.name for m in result.staff.members if m.active and not m.email]
        out(f"staff: {len(result.staff.members)} people" + (f"; without a usable email: {', '.join(no_email)}" if no_email else ""))
        if no_email:
            problems.append(f"give {', '.join(no_email)} an email address in the staff list")
    for note in result.notices:
        out(f"calendar: {note}")

    settings = config.smtp
    password = None
    try:
        password = smtp_password(config)
    except HuifangError as exc:
        settings = None
        out(f"mail: {exc}")
        problems.append(str(exc))
    if config.smtp is None:
        out(f"mail: no smtp configured — emails go to {config.outbox}")
    elif settings is not None:
        sender = smtp_factory(settings, password, retries=0)
        try:
            sender.check()
            out(f"mail: connected to {settings.host}:{settings.port} ({settings.security}) — OK, nothing sent")
        except DeliveryError as exc:
            out(f"mail: CANNOT CONNECT — {exc.reason}")
            problems.append("check mail.smtp host, port, security and the password variable")
        finally:
            sender.close()

    calendar = calendar_of(config)
    try:
        plan = plan_from_config(config.schedule, calendar, config.timezone, SERVE_JOBS)
        for job, moment in sorted(plan.upcoming(now).items(), key=lambda kv: kv[1]):
            out(f"next {job}: {moment:%Y-%m-%d %H:%M} ({moment:%a})")
    except HuifangError as exc:
        out(f"schedule: {exc}")
        problems.append(str(exc))

    state = Path(config.state)
    if state.exists():
        try:
            _ledger_lines(state, config, result, now, calendar, out)
        except StateError as exc:
            out(f"state: CANNOT USE — {exc}")
            problems.append(str(exc))
    else:
        out(f"state: {state} does not exist yet (created by the first run)")

    if problems:
        out("")
        out("To fix:")
        for p in problems:
            out(f"- {p}")
        return 1
    out("All good.")
    return 0


def _ledger_lines(state: Path, config: Config, result: CheckResult, now: dt.datetime, calendar: WorkCalendar,
                  out: Callable[[str], None]) -> None:
    ledger = Ledger(state)
    try:
        known = ledger.known_recipients()
        new = sorted(set(recipient_addresses(result)) - known) if known else []
        if new:
            out(f"new recipients since the last run (check they belong here): {', '.join(new)}")
        runs = ledger.runs()
        ok = [r for r in runs if r.outcome == "ok"]
        if ok:
            last = dt.datetime.fromisoformat(ok[-1].ended_at or ok[-1].started_at)
            hours = working_hours_between(last, now, calendar, config.timezone)
            out(f"last successful run: {ok[-1].job} at {last:%Y-%m-%d %H:%M} ({hours:.0f} working hours ago)")
        failed = [r for r in runs if r.outcome == "failed"][-3:]
        for r in failed:
            out(f"failed run: {r.job} at {r.started_at[:16]} — {r.detail}")
    finally:
        ledger.close()
