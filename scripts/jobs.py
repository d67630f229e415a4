"""The scheduled jobs: check the sources, build the messages, deliver each exactly once."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Mapping, Protocol, Sequence

from .channels.settings import is_channel_recipient
from .check import CheckResult, run_check
from .config import Config
from .errors import ConfigError, StateError
from .ledger import Ledger
from .mailer import DeliveryError, OutboxMeta, OutboxSender, PermanentError, SmtpSender, TransientError
from .messages import Message, build_digests, build_escalations, build_reminders
from .render import Renderer, check_headers, domain_of, one_line, valid_address
from .workcal import WorkCalendar

log = logging.getLogger("huifang.jobs")
JOBS = ("reminders", "digest", "escalations", "monthly-report", "morning-brief", "weekly")
REFUSED_DOMAIN = "refused: outside allowed domains (mail.allowed_domains)"
RUN_DEADLINE = 20 * 60.0  # seconds one run may spend delivering; what is left is deferred to the next run


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

    outbox: bool = False  # written to the outbox folder, not sent

    def summary(self, gettext: Callable[[str], str] = lambda s: s) -> str:
        _ = gettext
        first = _("written to the outbox {n}") if self.outbox else _("sent {n}")
        return _("{first}, skipped {skipped} already sent, resent {resent}, deferred {deferred}, failed {failed}").format(
            first=first.format(n=len(self.sent)), skipped=self.skipped, resent=self.resent,
            deferred=len(self.deferred), failed=len(self.failed))


@dataclass
class JobResult:
    job: str
    check: CheckResult
    messages: list[Message]
    delivery: Delivery
    seconds: float = 0.0


def recipient_addresses(result: CheckResult) -> list[str]:
    """Every usable address a job of this run could write to (active staff with an email)."""
    out = []
    for member in result.staff.members:
        if member.active and member.email:
            with contextlib.suppress(ValueError):
                out.append(valid_address(member.email).lower())
    return out


def smtp_password(config: Config) -> str | None:
    """The SMTP password, only from the environment or a file the config names."""
    smtp = config.smtp
    if smtp is None:
        return None
    password = None
    if smtp.password_env:
        password = os.environ.get(smtp.password_env)
        if password is None:
            # Only a conventional name (HUIFANG_SMTP_PASSWORD) is shown: anything else may be a pasted password.
            name = smtp.password_env if re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+|[A-Z]{2,16}", smtp.password_env) else None
            raise ConfigError(f"mail.smtp.password_env: the environment variable {name} is not set" if name else
                              "mail.smtp.password_env: the environment variable it names is not set")
    elif smtp.password_file:
        try:
            password = smtp.password_file.read_text(encoding="utf-8").strip()
        except OSError as exc:  # the file name is not shown: it may be a password pasted in its place
            raise ConfigError(f"mail.smtp.password_file: cannot read the file it names ({exc.strerror})") from None
    return password


def make_sender(config: Config, dry_run: bool) -> Sender:
    if dry_run or config.smtp is None:
        return OutboxSender(config.outbox, config.language)
    return SmtpSender(config.smtp, smtp_password(config))


def calendar_of(config: Config) -> WorkCalendar:
    return WorkCalendar(config.calendar.country, config.calendar.extra_holidays, config.calendar.extra_workdays)


def build_messages(job: str, result: CheckResult, config: Config, now: dt.datetime, ledger: Ledger | None,
                   calendar: WorkCalendar, month: str | None = None, resend: bool = False) -> list[Message]:
    if job == "monthly-report":
        from .report_job import build_report, reports_sent  # noqa: PLC0415

        # A report whose figures changed since it went out (a source came back) is sent again as a correction.
        return build_report(result, config, now, month, resend=resend, sent_items=reports_sent(ledger))
    if job == "reminders":
        return build_reminders(result, config, now, calendar)
    if job == "morning-brief":
        from .brief import BriefSettings, build_morning_brief  # noqa: PLC0415

        return build_morning_brief(result, config, now, calendar, BriefSettings.from_mapping(config.morning_brief))
    if job == "weekly":
        from .weekly import WeeklySettings, build_weekly  # noqa: PLC0415

        return build_weekly(result, config, now, calendar, WeeklySettings.from_mapping(config.weekly))
    if job == "digest":
        since = now - dt.timedelta(days=1)
        failures = [{"kind": e.kind, "recipient": e.recipient, "error": e.error or e.status}
                    for e in (ledger.failures_since(since) if ledger else [])]
        runs = [{"job": r.job, "started_at": r.started_at[:16].replace("T", " "), "detail": r.detail or ""}
                for r in (ledger.runs(since) if ledger else []) if r.outcome == "failed"]
        from .brief import DigestSettings  # noqa: PLC0415

        return build_digests(result, config, now, calendar, failures, runs,
                             settings=DigestSettings.from_mapping(config.digest),
                             new_recipients=ledger.new_recipients(since) if ledger else ())
    if job == "escalations":
        return build_escalations(result, config, now, calendar, ledger.items_done("escalation") if ledger else set())
    raise ConfigError(f"unknown job {job!r} (jobs: {', '.join(JOBS)})")


def deliver(messages: Sequence[Message], renderer: Renderer, ledger: Ledger | None, sender: Sender,
            now: dt.datetime, *, allowed_domains: Collection[str] = (), deadline: float | None = None,
            clock: Callable[[], float] = time.monotonic, emails: Callable[[str], bool] = lambda kind: True) -> Delivery:
    """Send each message at most once: recorded as pending before sending, marked after.

    A recipient whose address is unusable, or outside ``allowed_domains`` when that is set, is refused
    and recorded as failed (so the digest reports it). Once one message exhausts its retries because
    the server is down (connection errors, 421), or when ``clock()`` passes ``deadline``, the rest of
    the run is recorded as deferred without trying: the next run sends it. ``emails(kind)`` says
    whether that kind of message goes by email at all (the config's `routes`).
    """
    report = Delivery(outbox=getattr(sender, "writes_to_outbox", False))
    envelope_from = renderer.sender.addr_spec
    allowed = {d.lower().lstrip("@") for d in allowed_domains}
    halt: list[str] = []  # why the rest of the run is deferred, once it is

    def stopped() -> str | None:
        if not halt and deadline is not None and clock() > deadline:
            halt.append("not tried: the run's time limit passed")
        return halt[0] if halt else None

    wants_meta = getattr(sender, "takes_meta", False)  # the outbox lists what was rendered, parsing nothing

    def attempt(raw: bytes, key: str, recipient: str, meta: OutboxMeta | None = None) -> None:
        why = stopped()
        if why is not None:
            report.deferred.append((recipient, why))
            if ledger is not None:
                ledger.mark(key, "deferred", now, why)
            return
        error = _send(raw, key, recipient, envelope_from, ledger, sender, now, report, meta)
        if isinstance(error, TransientError) and error.server_down:
            log.warning("the mail server is down (%s): the rest of this run is deferred to the next run", error.reason)
            halt.append(f"not tried: the mail server was unreachable ({error.reason})")

    if ledger is not None:
        for entry in ledger.unfinished():  # a run died after recording, or the server said "later"
            if is_channel_recipient(entry.recipient):
                continue  # a chat message: resent by its own channel, never over SMTP
            try:
                recipient = valid_address(entry.recipient)
            except ValueError as exc:
                report.failed.append((entry.recipient, str(exc)))
                ledger.mark(entry.key, "failed", now, str(exc))
                continue
            attempt(entry.raw, entry.key, recipient)
            report.resent += 1
    for message in messages:
        if not emails(message.kind):
            continue  # routed to chat channels only
        refusal = None
        try:
            recipient = renderer.recipient(message).addr_spec  # the one checked value: To header and RCPT TO
            if allowed and domain_of(recipient) not in allowed:
                refusal = REFUSED_DOMAIN
        except ValueError as exc:  # an address no mail server takes
            recipient, refusal = one_line(message.recipient.email, 80), str(exc)
        if ledger is not None:
            known = ledger.get(message.key)
            if known is not None or (message.once_per_period and ledger.slot_taken(message.kind, recipient, message.period)):
                report.skipped += 1
                continue
        if refusal is None:
            try:
                built = renderer.build(message, now)
                raw = check_headers(built.raw)
            except ValueError as exc:
                refusal = str(exc)
        if refusal is not None:  # report it, send the others
            log.error("not sent to %s: %s", recipient, refusal)
            report.failed.append((recipient, refusal))
            if ledger is not None:
                ledger.record_refused(key=message.key, kind=message.kind, recipient=recipient, period=message.period,
                                      reason=refusal, now=now)
            continue
        if ledger is not None:
            ledger.record_pending(key=message.key, kind=message.kind, recipient=recipient, period=message.period,
                                  subject=built.subject, message_id=built.message_id, raw=raw,
                                  items=message.items, now=now)
        meta = OutboxMeta(built.kind, built.message_id, built.to, built.subject, built.html) if wants_meta else None
        attempt(raw, message.key, recipient, meta)
    return report


def _send(raw: bytes, key: str, recipient: str, envelope_from: str, ledger: Ledger | None, sender: Sender,
          now: dt.datetime, report: Delivery, meta: OutboxMeta | None = None) -> DeliveryError | None:
    try:
        if meta is None:
            sender.send(raw, envelope_from, [recipient])
        else:
            sender.send(raw, envelope_from, [recipient], meta=meta)
    except DeliveryError as exc:
        # 5xx: failed for good (reported in the digest); anything else: deferred to the next run.
        status = "failed" if isinstance(exc, PermanentError) else "deferred"
        log.log(logging.ERROR if status == "failed" else logging.WARNING, "%s to %s: %s", status, recipient, exc.reason)
        (report.failed if status == "failed" else report.deferred).append((recipient, exc.reason))
        if ledger is not None:
            ledger.mark(key, status, now, exc.reason)
        return exc
    report.sent.append(recipient)
    if ledger is not None:
        ledger.mark(key, "sent", now, via="outbox" if getattr(sender, "writes_to_outbox", False) else None)
    return None


def deliver_chats(messages: Sequence[Message], config: Config, ledger: Ledger | None, now: dt.datetime,
                  result: CheckResult, senders: Mapping[str, Any] | None = None) -> Delivery:
    """The messages routed to chat channels (config `channels` / `routes`), exactly once through the ledger."""
    if not config.channels.channels:
        return Delivery()
    from .channels.dispatch import deliver_to_channels, make_senders  # noqa: PLC0415

    senders = senders if senders is not None else make_senders(config.channels)
    return deliver_to_channels(messages, None, config.channels, ledger, senders, now, language=config.language,
                               directory=result.staff)


def _merge(into: Delivery, other: Delivery) -> None:
    into.sent += other.sent
    into.skipped += other.skipped
    into.resent += other.resent
    into.failed += other.failed
    into.deferred += other.deferred


def _chat_preview(messages: Sequence[Message], config: Config, sender: Sender) -> None:
    """In a dry run, each chat message is written beside the emails as a .txt file (nothing is sent)."""
    if not config.channels.channels or not hasattr(sender, "folder"):
        return
    from .channels.render import render_chat  # noqa: PLC0415
    from .mailer import write_private  # noqa: PLC0415

    for route_kind in sorted({m.kind for m in messages}):
        for route in config.channels.routes_for(route_kind):
            if route.channel == "email":
                continue
            group = [m for m in messages if m.kind == route_kind]
            doc = render_chat(group, config.language, mask=not route.show_phone)
            text = "\n\n".join(block for block in [doc.title, *doc.blocks, doc.footer] if block)
            write_private(sender.folder / f"chat-{route.channel}-{route_kind}.txt", text.encode("utf-8"))


def run_job(job: str, config: Config, now: dt.datetime, *, dry_run: bool = False, sender: Sender | None = None,
            ledger: Ledger | None = None, owner: str | None = None, month: str | None = None, resend: bool = False,
            check: Callable[[Config, dt.datetime], CheckResult] = run_check,
            deadline_seconds: float = RUN_DEADLINE, chat_senders: Mapping[str, Any] | None = None) -> JobResult:
    """Run one job at ``now``. With ``dry_run`` the messages only go to the outbox and nothing is recorded.

    Delivery stops after ``deadline_seconds`` (measured on the monotonic clock); the rest is deferred.
    """
    job = job.replace("_", "-")
    started = time.perf_counter()
    renderer = Renderer(config)
    calendar = calendar_of(config)
    own_ledger = ledger is None and not dry_run
    owner = owner or f"{job}@{os.getpid()}"
    sender = sender or make_sender(config, dry_run)
    limits = {"allowed_domains": config.allowed_domains, "deadline": time.monotonic() + deadline_seconds,
              "emails": config.channels.emails}
    try:
        if own_ledger:
            ledger = Ledger(config.state)
        if dry_run:
            result = check(config, now)
            messages = build_messages(job, result, config, now, None, calendar, month, resend)
            delivery = deliver(messages, renderer, None, sender, now, **limits)
            # A dry run shows chat messages in the outbox instead of sending them.
            _chat_preview(messages, config, sender)
        else:
            assert ledger is not None
            with ledger.locked(owner, now):
                run_id = ledger.start_run(job, now)
                try:
                    result = check(config, now)
                    ledger.note_recipients(recipient_addresses(result), now)
                    messages = build_messages(job, result, config, now, ledger, calendar, month, resend)
                    delivery = deliver(messages, renderer, ledger, sender, now, **limits)
                    _merge(delivery, deliver_chats(messages, config, ledger, now, result, chat_senders))
                except Exception as exc:
                    with contextlib.suppress(StateError):  # a broken ledger: its own error is the one to show
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

