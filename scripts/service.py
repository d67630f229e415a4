"""`run.py serve`: run the jobs on time on working days, catch up after a restart, never fail silently.

The clock is injected (``clock()`` returns an aware datetime); the `schedule` library drives the
loop (a tick every ``tick_seconds``), while which jobs are due comes from the working-day Plan,
since `schedule` knows neither make-up Saturdays nor public holidays.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from typing import Callable

import schedule

from .config import Config
from .errors import HuifangError, LockedError, StateError
from .jobs import JOBS, calendar_of, deliver, make_sender, run_job
from .ledger import Ledger
from .messages import Message
from .render import Renderer
from .scheduling import Plan, plan_from_config, working_hours_between

log = logging.getLogger("huifang.serve")
Clock = Callable[[], dt.datetime]
ALERT_RETRY = dt.timedelta(hours=1)
REPORT_RETRY = dt.timedelta(hours=1)


def _month_before(now: dt.datetime) -> str:
    """The month a report run at ``now`` covers by default (the previous one)."""
    return (now.replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
SERVE_JOBS = tuple(j.replace("-", "_") for j in JOBS)  # schedule keys: reminders, ..., monthly_report


class Service:
    def __init__(self, config: Config, clock: Clock, *, tick_seconds: float = 30.0,
                 runner: Callable[..., object] = run_job, sender_factory: Callable[[], object] | None = None,
                 stop: threading.Event | None = None):
        self.config = config
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.runner = runner
        self.sender_factory = sender_factory or (lambda: make_sender(config, dry_run=False))
        self.stop = stop or threading.Event()
        self.calendar = calendar_of(config)
        self.plan: Plan = plan_from_config(config.schedule, self.calendar, config.timezone, SERVE_JOBS)
        self.silence_hours = config.silence_hours
        self.last_tick: dt.datetime | None = None
        self.started: dt.datetime | None = None
        self.waiting: set[str] = set()  # due jobs that found the lock taken: tried again next tick
        self.last_alert_try: dt.datetime | None = None
        self.report_retry: tuple[str, dt.datetime] | None = None  # (month, next try) of a report not sent
        self.state_alerted = False  # the supervisors know the ledger is broken

    # -- decisions --------------------------------------------------------------------------------

    def catch_up(self, now: dt.datetime) -> list[str]:
        """Jobs whose last time today passed while the service was down and that did not run since."""
        ledger = Ledger(self.config.state)
        try:
            runs = ledger.runs()
        finally:
            ledger.close()
        missed = []
        for spec in self.plan.jobs:
            last = self.plan.last_today(spec.job, now)
            if last is None:
                continue
            ran = any(r.job == spec.job and dt.datetime.fromisoformat(r.started_at) >= last for r in runs)
            if not ran:
                missed.append(spec.job)
        return missed

    def due(self, now: dt.datetime) -> list[str]:
        """Jobs scheduled since the last tick (each once, however many of its times passed), and a monthly
        report that could not go out (a source was unreadable) once its hourly retry comes round."""
        since = self.last_tick or now
        jobs = list(dict.fromkeys(job for _, job in self.plan.occurrences(since, now)))
        retry = []
        if self.report_retry is not None:
            month, at = self.report_retry
            if _month_before(now.astimezone(self.config.timezone)) != month:
                self.report_retry = None  # a new month: its own report is scheduled as usual
            elif now >= at:
                retry = ["monthly_report"]
        return list(dict.fromkeys([*sorted(self.waiting), *jobs, *retry]))

    # -- actions ----------------------------------------------------------------------------------

    def start(self) -> None:
        now = self.clock()
        self.started = now
        try:
            missed = self.catch_up(now)
        except StateError as exc:  # keep ticking: the jobs report it too, and an alert goes if mail works
            self.state_broken(now, exc)
            missed = []
        for job in missed:
            log.info("catching up %s (its time today passed while the service was down)", job)
            self.run(job, now)
        self.last_tick = now

    def tick(self) -> None:
        now = self.clock()
        if self.started is None:
            self.start()
            return
        for job in self.due(now):
            if self.stop.is_set():
                break
            self.run(job, now)
        self.last_tick = now
        try:
            self.check_silence(now)
            self.state_alerted = False  # the ledger works again: a new breakage gets a new alert
        except StateError as exc:
            self.state_broken(now, exc)

    def state_broken(self, now: dt.datetime, exc: StateError) -> bool:
        """The ledger cannot be used: log it and alert the supervisors once (without the ledger; a failed
        alert is tried again hourly)."""
        log.error("%s", exc)
        if self.state_alerted or (self.last_alert_try is not None and now - self.last_alert_try < ALERT_RETRY):
            return False
        self.last_alert_try = now
        since = self.started or now
        hours = working_hours_between(since, now, self.calendar, self.config.timezone)
        failure = {"job": "state", "at": now.astimezone(self.config.timezone).strftime("%Y-%m-%d %H:%M"), "detail": str(exc)}
        self.state_alerted = self._alert(now, since, hours, [failure], None, "ledger:" + now.isoformat(timespec="minutes"))
        return self.state_alerted

    def run(self, job: str, now: dt.datetime) -> None:
        self.waiting.discard(job)
        try:
            self.runner(job, self.config, now, sender=self.sender_factory())
            if job == "monthly_report":
                self.report_retry = None
        except LockedError as exc:
            log.warning("%s waits: %s", job, exc)
            self.waiting.add(job)
        except HuifangError as exc:
            log.error("%s failed: %s", job, exc)
            if job == "monthly_report":  # e.g. a complaint workbook unreadable: no report went; try hourly
                month = _month_before(now.astimezone(self.config.timezone))
                self.report_retry = (month, now + REPORT_RETRY)
                log.warning("the %s report is tried again at %s", month, self.report_retry[1].strftime("%H:%M"))
        except Exception:  # one failing job must not stop the service or the other jobs
            log.exception("%s failed unexpectedly", job)

    def check_silence(self, now: dt.datetime) -> bool:
        """Alert the supervisors once when no run has succeeded for ``silence_hours`` working hours."""
        ledger = Ledger(self.config.state)
        try:
            runs = ledger.runs()
            ok = [r for r in runs if r.outcome == "ok" and r.ended_at]
            if ok:
                since = dt.datetime.fromisoformat(ok[-1].ended_at)
            elif runs:
                since = dt.datetime.fromisoformat(runs[0].started_at)
            else:
                since = self.started or now
            hours = working_hours_between(since, now, self.calendar, self.config.timezone)
            period = since.isoformat(timespec="minutes")
            if hours < self.silence_hours or ledger.period_done("alert", period):
                return False
            if self.last_alert_try is not None and now - self.last_alert_try < ALERT_RETRY:
                return False  # while mail is down, try again hourly rather than on every tick
            self.last_alert_try = now
            failures = [{"job": r.job, "at": r.started_at[:16].replace("T", " "), "detail": r.detail or ""}
                        for r in runs if r.outcome == "failed"][-3:]
            return self._alert(now, since, hours, failures, ledger, period)
        finally:
            ledger.close()

    def _alert(self, now: dt.datetime, since: dt.datetime, hours: float, failures: list[dict[str, str]],
               ledger: Ledger | None, period: str) -> bool:
        from .check import run_check  # noqa: PLC0415  (only the staff directory is needed)
        from .jobs import deliver_chats  # noqa: PLC0415

        checked = run_check(self.config, now)
        staff = checked.staff
        messages = [
            Message("alert", boss, period, {
                "name": boss.name, "since": since.astimezone(self.config.timezone).strftime("%Y-%m-%d %H:%M"),
                "hours": int(hours), "failures": failures,
            }, ("silence:" + since.isoformat(),))
            for boss in staff.members
            if boss.active and boss.email and staff.team_of(boss)
        ]
        sender = self.sender_factory()
        try:
            report = deliver(messages, Renderer(self.config), ledger, sender, now, allowed_domains=self.config.allowed_domains,
                             emails=self.config.channels.emails)
            chats = deliver_chats(messages, self.config, ledger, now, checked)  # the alert in the managers' group too
            report.sent += chats.sent
        finally:
            sender.close()
        if report.sent:
            log.warning("alert sent to %s: no successful run for %d working hours", ", ".join(report.sent), hours)
        return bool(report.sent)

    def serve_forever(self) -> None:
        """Tick every ``tick_seconds`` until SIGTERM/SIGINT (the current job is finished first)."""
        scheduler = schedule.Scheduler()
        scheduler.every(self.tick_seconds).seconds.do(self.tick)
        self.tick()
        while not self.stop.is_set():
            scheduler.run_pending()
            idle = scheduler.idle_seconds
            self.stop.wait(max(0.0, idle if idle is not None else self.tick_seconds))
        log.info("stopped")

    def install_signal_handlers(self) -> None:
        def stop(signum: int, _frame: object) -> None:
            log.info("received %s: finishing the current job, then stopping", signal.Signals(signum).name)
            self.stop.set()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
