"""The scheduler and the service, driven by an injected clock: no sleeping, no real time."""

import datetime as dt
import types

import pytest
import schedule

from scripts.config import SmtpConfig, parse_config
from scripts.errors import ConfigError
from scripts.jobs import run_job
from scripts.ledger import Ledger, LockedError
from scripts.mailer import SmtpSender
from scripts.scheduling import parse_times, plan_from_config, working_hours_between
from scripts.service import SERVE_JOBS, Service
from scripts.workcal import WorkCalendar
from tests.helpers import SHANGHAI
from tests.test_email import ROOT, demo_config


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


PLAN = plan_from_config(None, WorkCalendar(), SHANGHAI, SERVE_JOBS)


def test_default_plan_skips_the_weekend_and_runs_on_the_make_up_saturday():
    moments = [(m.strftime("%m-%d %H:%M"), j) for m, j in PLAN.occurrences(at("2026-10-09 00:00"), at("2026-10-12 23:59"))
               if j != "escalations"]
    assert moments == [("10-09 08:30", "morning_brief"), ("10-09 09:00", "reminders"), ("10-09 17:00", "digest"),
                       ("10-10 08:30", "morning_brief"), ("10-10 09:00", "reminders"), ("10-10 17:00", "digest"),  # 调休 Saturday
                       ("10-12 08:30", "morning_brief"), ("10-12 09:00", "reminders"), ("10-12 09:00", "weekly"),
                       ("10-12 17:00", "digest")]
    # National Day week: only the monthly report (on the 1st) and the weekly summary (Mondays), whatever the day.
    assert [j for m, j in PLAN.occurrences(at("2026-10-01 00:00"), at("2026-10-07 23:59"))] == ["monthly_report", "weekly"]


def test_escalations_every_30_minutes_within_the_day():
    times = [m.strftime("%H:%M") for m, j in PLAN.occurrences(at("2026-11-27 00:00"), at("2026-11-27 23:59"))
             if j == "escalations"]
    assert times[0] == "09:00" and times[-1] == "18:00" and len(times) == 19


def test_times_are_local_to_the_configured_zone_whatever_the_clock_zone():
    utc_start = dt.datetime(2026, 11, 27, 0, 0, tzinfo=dt.timezone.utc)  # 08:00 in Shanghai
    first = next(PLAN.occurrences(utc_start, utc_start + dt.timedelta(hours=2)))
    assert first == (at("2026-11-27 08:30"), "morning_brief")


@pytest.mark.parametrize("text, first, count, monthly", [
    ("9:30", "09:30", 1, None), ("every 15 minutes from 09:00 to 10:00", "09:00", 5, None),
    ("every 60 minutes", "00:00", 24, None), ("1st 09:00", "09:00", 1, 1), ("15th 08:00", "08:00", 1, 15),
])
def test_schedule_forms(text, first, count, monthly):
    spec = parse_times("job", text)
    assert spec.times[0].strftime("%H:%M") == first and len(spec.times) == count and spec.month_day == monthly


@pytest.mark.parametrize("text", ["25:00", "every day", "every 0 minutes", "31st 09:00", "every 30 minutes from 18:00 to 09:00"])
def test_bad_schedules_name_the_job(text):
    with pytest.raises(ConfigError, match="schedule.reminders"):
        parse_config({"sources": [], "schedule": {"reminders": text}}, None, __import__("pathlib").Path("."))


def test_monthly_report_runs_on_the_first_even_on_a_holiday():
    plan = plan_from_config({"monthly_report": "1st 09:00"}, WorkCalendar(), SHANGHAI, SERVE_JOBS)
    assert [m for m, _ in plan.occurrences(at("2026-09-15 00:00"), at("2026-11-15 00:00"))] == [
        at("2026-10-01 09:00"), at("2026-11-01 09:00")]


def test_working_hours_ignore_the_weekend():
    cal = WorkCalendar()
    assert working_hours_between(at("2026-11-27 17:00"), at("2026-11-30 09:00"), cal, SHANGHAI) == 16
    assert working_hours_between(at("2026-11-26 17:00"), at("2026-11-27 17:00"), cal, SHANGHAI) == 24


class Recorder:
    """Stands in for run_job: records (job, now) and can fail on request."""

    def __init__(self, fail=(), locked=()):
        self.calls, self.fail, self.locked = [], set(fail), list(locked)

    def __call__(self, job, config, now, sender=None):
        if job in self.locked:
            self.locked.remove(job)
            raise LockedError("another run")
        self.calls.append((job, now.strftime("%m-%d %H:%M")))
        if job in self.fail:
            raise RuntimeError("boom")


class Clock:
    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now


def service(tmp_path, clock, runner, **extra):
    config = demo_config(tmp_path, **extra)
    return Service(config, clock, runner=runner, sender_factory=lambda: NullSender())


class NullSender:
    def send(self, raw, sender, recipients):
        pass

    def close(self):
        pass


def record_run(config, job, started):
    ledger = Ledger(config.state)
    run = ledger.start_run(job, at(started))
    ledger.end_run(run, at(started), "ok")
    ledger.close()


def test_catch_up_runs_a_missed_job_once_and_not_missed_days(tmp_path):
    clock = Clock(at("2026-11-30 10:15"))  # Monday; the service was down since Friday
    runner = Recorder()
    svc = service(tmp_path, clock, runner)
    svc.tick()
    assert sorted(runner.calls) == [("escalations", "11-30 10:15"), ("morning_brief", "11-30 10:15"),
                                    ("reminders", "11-30 10:15"), ("weekly", "11-30 10:15")]
    for job, _ in runner.calls:
        record_run(svc.config, job, "2026-11-30 10:15")
    restarted = service(tmp_path, clock, runner)
    restarted.tick()
    assert len(runner.calls) == 4  # already ran after today's time: no second catch-up


def test_jobs_fire_at_their_local_times_and_a_failing_one_does_not_stop_the_others(tmp_path):
    clock = Clock(at("2026-11-27 08:50"))
    runner = Recorder(fail={"reminders"})
    svc = service(tmp_path, clock, runner, schedule={"reminders": "09:00", "digest": "09:00"})
    svc.tick()
    for minute in range(51, 61):
        clock.now = at("2026-11-27 08:00") + dt.timedelta(minutes=minute)
        svc.tick()
    assert runner.calls == [("reminders", "11-27 09:00"), ("digest", "11-27 09:00")]


def test_a_job_that_finds_the_lock_taken_runs_on_the_next_tick(tmp_path):
    clock = Clock(at("2026-11-27 08:59"))
    runner = Recorder(locked=["reminders"])
    svc = service(tmp_path, clock, runner, schedule={"reminders": "09:00"})
    svc.tick()
    clock.now = at("2026-11-27 09:00")
    svc.tick()
    assert runner.calls == []
    clock.now = at("2026-11-27 09:01")
    svc.tick()
    assert runner.calls == [("reminders", "11-27 09:01")]


def test_silence_alert_goes_to_supervisors_once(tmp_path, smtp_server):
    config = demo_config(tmp_path, smtp_server.port)
    ledger = Ledger(config.state)
    run = ledger.start_run("reminders", at("2026-11-25 09:00"))
    ledger.end_run(run, at("2026-11-25 09:00"), "ok")
    run = ledger.start_run("reminders", at("2026-11-26 09:00"))
    ledger.end_run(run, at("2026-11-26 09:00"), "failed", "source 展厅 could not be read")
    ledger.close()
    sender = lambda: SmtpSender(SmtpConfig("127.0.0.1", smtp_server.port, "none", timeout=5), sleep=lambda s: None)
    down = lambda: SmtpSender(SmtpConfig("127.0.0.1", 1, "none", timeout=1), sleep=lambda s: None, retries=0)
    svc = Service(config, Clock(at("2026-11-26 10:00")), sender_factory=down)
    assert svc.check_silence(at("2026-11-26 10:00")) is False  # 25 working hours
    assert svc.check_silence(at("2026-11-26 10:30")) is False  # mail is down: the alert waits
    svc.sender_factory = sender
    assert svc.check_silence(at("2026-11-26 10:45")) is False  # tried again hourly, not on every tick
    assert smtp_server.received == []
    assert svc.check_silence(at("2026-11-26 11:31")) is True
    assert svc.check_silence(at("2026-11-26 12:40")) is False
    got = sorted(r for m in smtp_server.received for r in m.recipients)
    assert got == ["chenjing@example.com", "lina@example.com", "zhoujie@example.com"]
    text = smtp_server.received[0].message.get_body(("plain",)).get_content()
    assert "2026-11-25 09:00" in text and "could not be read" in text


class FastForward:
    """Replaces the service's stop event: waiting moves the clock instead of sleeping."""

    def __init__(self, clock, until):
        self.clock, self.until, self.stopped = clock, until, False

    def is_set(self):
        return self.stopped

    def set(self):
        self.stopped = True

    def wait(self, seconds):
        self.clock.now += dt.timedelta(seconds=max(seconds, 1))
        if self.clock.now >= self.until:
            self.stopped = True
        return self.stopped


def test_serve_for_a_simulated_week_sends_exactly_the_expected_emails(tmp_path, smtp_server, monkeypatch):
    clock = Clock(at("2026-11-27 08:00"))  # Friday
    end = at("2026-12-02 18:30")  # Wednesday evening
    # `schedule` asks datetime.datetime.now() itself: show it the fake clock (machine-local, naive).
    fake_dt = type("FakeDateTime", (dt.datetime,), {"now": classmethod(lambda cls, tz=None: clock.now.astimezone(tz).replace(tzinfo=None) if tz is None else clock.now.astimezone(tz))})
    monkeypatch.setattr(schedule, "datetime", types.SimpleNamespace(datetime=fake_dt, timedelta=dt.timedelta, time=dt.time, date=dt.date))
    extra = {"calendar": {"extra_workdays": ["2026-11-28"]}, "escalation": {"escalate_to": "展厅经理"}}
    config = demo_config(tmp_path, smtp_server.port, **extra)
    sender = lambda: SmtpSender(SmtpConfig("127.0.0.1", smtp_server.port, "none", timeout=5), sleep=lambda s: None)
    svc = Service(config, clock, tick_seconds=300, sender_factory=sender, stop=FastForward(clock, end))
    svc.serve_forever()

    got = sorted((m.message["X-Huifang-Kind"], m.recipients[0],
                  dt.datetime.strptime(m.message["Date"], "%a, %d %b %Y %H:%M:%S %z").astimezone(SHANGHAI).strftime("%m-%d %H:%M"))
                 for m in smtp_server.received)

    # The same jobs run by hand at the times the README promises, against a fresh state and outbox.
    expected_times = []
    for day in ("2026-11-27", "2026-11-28", "2026-11-30", "2026-12-01", "2026-12-02"):  # Sat 28th: store's make-up day
        expected_times.append((at(f"{day} 08:30"), "morning-brief"))
        expected_times.append((at(f"{day} 09:00"), "reminders"))
        expected_times += [(at(f"{day} 09:00") + dt.timedelta(minutes=30 * i), "escalations") for i in range(19)]
        expected_times.append((at(f"{day} 17:00"), "digest"))
    expected_times.append((at("2026-12-01 09:00"), "monthly-report"))  # the 1st, for November
    expected_times.append((at("2026-11-30 09:00"), "weekly"))  # Monday
    expected_config = demo_config(tmp_path / "expected", **extra)
    from scripts.mailer import OutboxSender

    expected = []
    for moment, job in sorted(expected_times, key=lambda x: (x[0], x[1] != "reminders")):
        sink = OutboxSender(tmp_path / "expected" / "outbox")
        result = run_job(job, expected_config, moment, sender=sink)
        expected += [(m.kind, m.recipient.email, moment.strftime("%m-%d %H:%M")) for m in result.messages
                     if m.recipient.email in result.delivery.sent]
    assert got == sorted(expected)
    assert not [g for g in got if g[2].startswith("11-29")]  # Sunday: nothing
    assert {g[0] for g in got} == {"reminder", "digest", "escalation", "report", "morning_brief", "weekly"}
    assert sum(1 for g in got if g[0] == "reminder" and g[2] == "11-27 09:00") == 8  # 5 with tasks + 3 supervisors (a row naming nobody)


def test_doctor_reads_sources_connects_to_smtp_and_says_what_to_fix(tmp_path, smtp_server):
    from scripts.doctor import doctor

    config = demo_config(tmp_path, smtp_server.port)
    lines = []
    assert doctor(config, at("2026-11-27 08:00"), out=lines.append, language="en") == 0
    text = "\n".join(lines)
    assert "source 展厅: OK" in text and "connected to 127.0.0.1" in text and "next reminders: 2026-11-27 09:00" in text
    assert smtp_server.received == []

    broken = parse_config({"sources": [{"name": "坏", "path": "nothing.xlsx"}],
                           "mail": {"smtp": {"host": "127.0.0.1", "port": 1, "security": "none", "timeout": 1}}},
                          tmp_path / "c.yaml", tmp_path)
    lines = []
    assert doctor(broken, at("2026-11-27 08:00"), out=lines.append, language="en") == 1
    text = "\n".join(lines)
    assert "CANNOT READ" in text and "CANNOT CONNECT" in text and "To fix:" in text


def test_serve_stops_cleanly_on_sigterm(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    (tmp_path / "huifang.yaml").write_text(
        "sources: []\nstate: state.sqlite3\nmail: {outbox: outbox}\n"
        "schedule: {reminders: 'off', digest: 'off', escalations: 'off', monthly_report: 'off'}\n", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), "serve", "--config", str(tmp_path / "huifang.yaml")],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "SIGTERM" in err and "stopped" in err


def test_weekly_jobs_run_on_their_weekday_even_on_a_day_off():
    import datetime as dt
    from zoneinfo import ZoneInfo

    from scripts.scheduling import parse_times, plan_from_config
    from scripts.service import SERVE_JOBS
    from scripts.workcal import WorkCalendar

    tz = ZoneInfo("Asia/Shanghai")
    assert parse_times("weekly", "Monday 09:00").weekday == 0
    plan = plan_from_config({"weekly": "mon 09:00", "morning_brief": "08:30"}, WorkCalendar(), tz, SERVE_JOBS)
    start = dt.datetime(2026, 9, 27, 0, 0, tzinfo=tz)  # Sunday; Monday 09-28 is a working day, 10-05 a holiday
    moments = list(plan.occurrences(start, start + dt.timedelta(days=9)))
    weekly = [m for m, job in moments if job == "weekly"]
    assert [m.date().isoformat() for m in weekly] == ["2026-09-28", "2026-10-05"]
    briefs = {m.date().isoformat() for m, job in moments if job == "morning_brief"}
    assert "2026-10-05" not in briefs and "2026-09-28" in briefs


def test_a_report_that_could_not_go_out_is_tried_hourly_until_it_does(tmp_path):
    """The complaint workbook was unreadable at 09:00 on the 1st: no report went; once it is back, the
    next hourly try sends it, and then the tries stop."""
    from scripts.report_job import ReportIncomplete

    class Report:
        def __init__(self):
            self.calls, self.missing = [], True

        def __call__(self, job, config, now, sender=None):
            if job != "monthly_report":
                return
            self.calls.append(now.strftime("%m-%d %H:%M"))
            if self.missing:
                raise ReportIncomplete("2026-11", ["客服: file not found"])

    clock = Clock(at("2026-12-01 08:59"))
    runner = Report()
    svc = service(tmp_path, clock, runner, schedule={"monthly_report": "1st 09:00"})
    svc.tick()
    for minute in range(0, 200, 5):
        clock.now = at("2026-12-01 09:00") + dt.timedelta(minutes=minute)
        if minute == 125:
            runner.missing = False  # the file is restored at 11:05
        svc.tick()
    assert runner.calls == ["12-01 09:00", "12-01 10:00", "12-01 11:00", "12-01 12:00"]
