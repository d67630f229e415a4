"""The scheduled jobs: check the sources, build the messages, deliver each exactly once."""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from dataclasses import dataclass, field
from email import policy
from email.utils import parseaddr
from typing import Callable, Protocol, Sequence

from .check import CheckResult, run_check
from .config import Config
from .errors import ConfigError
from .ledger import Ledger
from .mailer import DeliveryError, OutboxSender, PermanentError, SmtpSender
from .messages import Message, build_digests, build_escalations, build_reminders
from .render import Renderer
from .workcal import WorkCalendar

log = logging.getLogger("huifang.jobs")
JOBS = ("reminders", "digest", "escalations", "monthly-report")


class Sender(Protocol):
    def send(self, raw: bytes, sender: str, recipients: Sequence[str]) -> None: ...
    def close(self) -> None: ...


@dataclass
class Delivery:
    sent: list[str] = field(default_factory=list)  # recipients
    skipped: int = 0
    resent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (recipient, reason)
    deferred: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (f"sent {len(self.sent)}, skipped {self.skipped} already sent, resent {self.resent}, "
                f"deferred {len(self.deferred)}, failed {len(self.failed)}")


@dataclass
class JobResult:
    job: str
    check: CheckResult
    messages: list[Message]
    delivery: Delivery
    seconds: float = 0.0


def smtp_password(config: Config) -> str | None:
    """The SMTP password, only from the environment or a file the config names."""
    smtp = config.smtp
    if smtp is None:
        return None
    password = None
    if smtp.password_env:
        password = os.environ.get(smtp.password_env)
        if password is None:
            raise ConfigError(f"mail.smtp.password_env: the environment variable {smtp.password_env} is not set")
    elif smtp.password_file:
        try:
            password = smtp.password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"mail.smtp.password_file: cannot read {smtp.password_file} ({exc.strerror})") from None
    return password


def make_sender(config: Config, dry_run: bool) -> Sender:
    if dry_run or config.smtp is None:
        return OutboxSender(config.outbox)
    return SmtpSender(config.smtp, smtp_password(config))


def calendar_of(config: Config) -> WorkCalendar:
    return WorkCalendar(config.calendar.country, config.calendar.extra_holidays, config.calendar.extra_workdays)


def build_messages(job: str, result: CheckResult, config: Config, now: dt.datetime, ledger: Ledger | None,
                   calendar: WorkCalendar, month: str | None = None) -> list[Message]:
    if job == "monthly-report":
        from .report_job import build_report  # noqa: PLC0415

        return build_report(result, config, now, month)
    if job == "reminders":
        return build_reminders(result, config, now, calendar)
    if job == "digest":
        since = now - dt.timedelta(days=1)
        failures = [{"kind": e.kind, "recipient": e.recipient, "error": e.error or e.status}
                    for e in (ledger.failures_since(since) if ledger else [])]
        runs = [{"job": r.job, "started_at": r.started_at[:16].replace("T", " "), "detail": r.detail or ""}
                for r in (ledger.runs(since) if ledger else []) if r.outcome == "failed"]
        return build_digests(result, config, now, calendar, failures, runs)
    if job == "escalations":
        return build_escalations(result, config, now, calendar, ledger.items_done("escalation") if ledger else set())
    raise ConfigError(f"unknown job {job!r} (jobs: {', '.join(JOBS)})")


def deliver(messages: Sequence[Message], renderer: Renderer, ledger: Ledger | None, sender: Sender,
            now: dt.datetime) -> Delivery:
    """Send each message at most once: recorded as pending before sending, marked after."""
    report = Delivery()
    envelope_from = parseaddr(str(renderer.sender))[1]
    if ledger is not None:
        for entry in ledger.unfinished():  # a run died after recording, or the server said "later"
            _send(entry.raw, entry.key, entry.recipient, envelope_from, ledger, sender, now, report)
            report.resent += 1
    for message in messages:
        recipient = message.recipient.email
        if ledger is not None:
            known = ledger.get(message.key)
            if known is not None or (message.once_per_period and ledger.slot_taken(message.kind, recipient, message.period)):
                report.skipped += 1
                continue
        try:
            mail = renderer.email(message, now)
        except ValueError as exc:  # an address no mail server takes: report it, send the others
            log.error("not sent to %s: %s", recipient, exc)
            report.failed.append((recipient, str(exc)))
            continue
        raw = mail.as_bytes(policy=policy.SMTP)
        if ledger is not None:
            ledger.record_pending(key=message.key, kind=message.kind, recipient=recipient, period=message.period,
                                  subject=str(mail["Subject"]), message_id=str(mail["Message-ID"]), raw=raw,
                                  items=message.items, now=now)
        _send(raw, message.key, recipient, envelope_from, ledger, sender, now, report)
    return report


def _send(raw: bytes, key: str, recipient: str, envelope_from: str, ledger: Ledger | None, sender: Sender,
          now: dt.datetime, report: Delivery) -> None:
    try:
        sender.send(raw, envelope_from, [recipient])
    except DeliveryError as exc:
        # 5xx: failed for good (reported in the digest); anything else: deferred to the next run.
        status = "failed" if isinstance(exc, PermanentError) else "deferred"
        log.log(logging.ERROR if status == "failed" else logging.WARNING, "%s to %s: %s", status, recipient, exc.reason)
        (report.failed if status == "failed" else report.deferred).append((recipient, exc.reason))
        if ledger is not None:
            ledger.mark(key, status, now, exc.reason)
        return
    report.sent.append(recipient)
    if ledger is not None:
        ledger.mark(key, "sent", now)


def run_job(job: str, config: Config, now: dt.datetime, *, dry_run: bool = False, sender: Sender | None = None,
            ledger: Ledger | None = None, owner: str | None = None, month: str | None = None,
            check: Callable[[Config, dt.datetime], CheckResult] = run_check) -> JobResult:
    """Run one job at ``now``. With ``dry_run`` the messages only go to the outbox and nothing is recorded."""
    job = job.replace("_", "-")
    started = time.perf_counter()
    renderer = Renderer(config)
    calendar = calendar_of(config)
    own_ledger = ledger is None and not dry_run
    if own_ledger:
        ledger = Ledger(config.state)
    owner = owner or f"{job}@{os.getpid()}"
    sender = sender or make_sender(config, dry_run)
    try:
        if dry_run:
            result = check(config, now)
            messages = build_messages(job, result, config, now, None, calendar, month)
            delivery = deliver(messages, renderer, None, sender, now)
        else:
            assert ledger is not None
            with ledger.locked(owner, now):
                run_id = ledger.start_run(job, now)
                try:
                    result = check(config, now)
                    messages = build_messages(job, result, config, now, ledger, calendar, month)
                    delivery = deliver(messages, renderer, ledger, sender, now)
                except Exception as exc:
                    ledger.end_run(run_id, now, "failed", f"{type(exc).__name__}: {exc}")
                    raise
                failed_sources = [s.name for s in result.sources if s.error]
                # A refused address is reported in the digest; it does not make the service "silent".
                outcome = "failed" if failed_sources or delivery.deferred else "ok"
                detail = delivery.summary() + (f"; unreadable: {', '.join(failed_sources)}" if failed_sources else "")
                ledger.end_run(run_id, now, outcome, detail)
    finally:
        sender.close()
        if own_ledger and ledger is not None:
            ledger.close()
    seconds = time.perf_counter() - started
    log.info("%s: %d messages, %s (%.1fs)", job, len(messages), delivery.summary(), seconds)
    return JobResult(job, result, messages, delivery, seconds)

