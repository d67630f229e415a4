"""Emails over a real SMTP server on loopback: the right people, exactly once, whatever goes wrong."""

import datetime as dt
import threading
from collections import Counter
from pathlib import Path

import pytest

from scripts.config import SmtpConfig, parse_config
from scripts.jobs import run_job
from scripts.ledger import Ledger, LockedError
from scripts.mailer import SmtpSender
from tests.helpers import SHANGHAI

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
MORNING = dt.datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)
EVENING = MORNING.replace(hour=17)
SUPERVISORS = {"lina@example.com", "chenjing@example.com", "zhoujie@example.com"}
# The consultants and specialists with tasks, and (DOMAIN.md, 12) every supervisor: the demo's callback
# row without a 回访人 names nobody, so its findings go to them.
REMINDED = {"zhangwei@example.com", "wangfang@example.com", "liuyang@example.com", "zhaomin@example.com",
            "sunlei@example.com"} | SUPERVISORS


def demo_config(tmp_path, port=None, **extra):
    doc = {
        "sources": [
            {"name": "展厅", "path": str(DEMO / "展厅.xlsx"),
             "tables": {"来店登记": "visitor_log", "试乘试驾": "test_drive_log", "交车登记": "delivery_log", "员工名单": "staff"}},
            {"name": "客服", "path": str(DEMO / "客服.xlsx"), "tables": {"投诉登记": "complaint_log"}},
        ],
        "mail": {"from": "回访提醒 <noreply@example.com>", "outbox": "outbox"},
        "state": "state.sqlite3",
        **extra,
    }
    if port:
        doc["mail"]["smtp"] = {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5}
    return parse_config(doc, tmp_path / "huifang.yaml", tmp_path)


def smtp(server, **kw):
    return SmtpSender(SmtpConfig("127.0.0.1", server.port, "none", timeout=5), sleep=lambda s: None, **kw)


def recipients(server):
    return Counter(r for m in server.received for r in m.recipients)


def test_each_staff_member_gets_one_reminder_and_a_rerun_sends_nothing(tmp_path, smtp_server):
    config = demo_config(tmp_path, smtp_server.port)
    first = run_job("reminders", config, MORNING)
    assert set(recipients(smtp_server)) == REMINDED and max(recipients(smtp_server).values()) == 1
    assert first.delivery.summary().startswith(f"sent {len(REMINDED)},")
    again = run_job("reminders", config, MORNING + dt.timedelta(hours=1))
    assert len(smtp_server.received) == len(REMINDED) and again.delivery.sent == [] and again.delivery.skipped == len(REMINDED)
    tomorrow = run_job("reminders", config, MORNING + dt.timedelta(days=3))  # Monday: a new day, new reminders
    assert len(tomorrow.delivery.sent) >= len(REMINDED)


def test_reminder_lists_overdue_first_with_full_phone_and_the_call_window(tmp_path, smtp_server):
    run_job("reminders", demo_config(tmp_path, smtp_server.port), MORNING)
    mail = next(m.message for m in smtp_server.received if m.recipients == ["zhangwei@example.com"])
    text = mail.get_body(("plain",)).get_content()
    assert "09:30–11:30" in text and "13812345678" in text
    overdue = text.index("【已逾期"), text.index("陈先生"), text.index("马先生"), text.index("吴先生")
    assert list(overdue) == sorted(overdue)  # oldest deadline first
    assert text.index("【漏填") > text.index("吴先生")
    assert "展厅 来店登记!M7" in text
    assert mail["To"].addresses[0].display_name == "张伟"


def test_nobody_gets_an_empty_email(tmp_path, smtp_server):
    newcomer = {"name": "新人", "email": "xinren@example.com", "role": "销售顾问", "supervisor": "李娜"}
    run_job("reminders", demo_config(tmp_path, smtp_server.port, staff=[newcomer]), MORNING)
    assert "xinren@example.com" not in recipients(smtp_server)  # nothing of hers in the logs
    assert set(recipients(smtp_server)) == REMINDED


def test_digest_goes_to_supervisors_with_masked_phones_and_bars(tmp_path, smtp_server):
    run_job("digest", demo_config(tmp_path, smtp_server.port), EVENING)
    assert set(recipients(smtp_server)) == SUPERVISORS
    for received in smtp_server.received:
        for phone in ("13811112222", "13644445555", "13377778888"):
            assert phone not in received.message.get_body(("plain",)).get_content()
            assert phone not in received.message.get_body(("html",)).get_content()
    chen = next(m.message for m in smtp_server.received if m.recipients == ["chenjing@example.com"])
    html = chen.get_body(("html",)).get_content()
    assert "138****2222" in html and "重复投诉" in html
    assert "<style" not in html and 'style="' in html  # CSS inlined for mail clients
    text = chen.get_body(("plain",)).get_content()
    assert "今日新投诉：1 件" in text and "赵敏：逾期" in text


def test_escalation_goes_to_the_supervisor_once_then_a_level_up_a_working_day_later(tmp_path, smtp_server):
    config = demo_config(tmp_path, smtp_server.port, escalation={"escalate_to": "展厅经理"})
    run_job("escalations", config, MORNING)
    first = recipients(smtp_server)
    assert first["chenjing@example.com"] == 1  # 赵敏's complaint reply (due 08:00) -> her supervisor
    assert first["lina@example.com"] == 1  # 张伟's thank-you call
    assert first["zhoujie@example.com"] == 1  # the work order due Wednesday is a working day late already
    run_job("escalations", config, MORNING.replace(minute=5))
    assert recipients(smtp_server) == first  # the same breaches are not escalated twice
    run_job("escalations", config, MORNING.replace(minute=20))
    assert recipients(smtp_server)["lina@example.com"] == 2  # 罗女士's thank-you call was due 09:10
    newest = smtp_server.received[-1].message.get_body(("plain",)).get_content()
    assert "罗女士" in newest and "马先生" not in newest
    run_job("escalations", config, dt.datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI))  # Monday
    monday = [m for m in smtp_server.received[4:] if m.recipients == ["zhoujie@example.com"]]
    assert len(monday) == 1  # Friday's breaches, still open a working day later, go up a level
    text = monday[0].message.get_body(("plain",)).get_content()
    assert "已超过一个工作日" in text and "钱先生" in text and "13811112222" not in text


def test_a_4xx_is_retried_and_delivered_once(tmp_path, smtp_server):
    smtp_server.handler.faults[:] = ["451", "451"]
    result = run_job("reminders", demo_config(tmp_path, smtp_server.port), MORNING, sender=smtp(smtp_server))
    assert set(recipients(smtp_server)) == REMINDED and len(smtp_server.received) == len(REMINDED)
    assert result.delivery.deferred == [] and result.delivery.failed == []


def test_a_5xx_is_recorded_and_reported_in_the_next_digest(tmp_path, smtp_server):
    smtp_server.handler.faults[:] = ["550"]
    config = demo_config(tmp_path, smtp_server.port)
    result = run_job("reminders", config, MORNING, sender=smtp(smtp_server))
    assert len(result.delivery.failed) == 1 and len(smtp_server.received) == len(REMINDED) - 1
    (failed_to, reason) = result.delivery.failed[0]
    assert "550" in reason
    again = run_job("reminders", config, MORNING + dt.timedelta(hours=1), sender=smtp(smtp_server))
    assert again.delivery.sent == []  # a permanent failure is not retried blindly
    run_job("digest", config, EVENING, sender=smtp(smtp_server))
    digest = next(m for m in smtp_server.received
                  if m.recipients == ["lina@example.com"] and m.message["X-Huifang-Kind"] == "digest").message
    assert failed_to in digest.get_body(("plain",)).get_content()


def test_a_connection_dropped_after_data_resends_only_that_message_on_the_next_run_with_its_message_id(tmp_path, smtp_server):
    # Dropped after the final ".": the outcome is unknown (RFC 5321 §4.5.3.2), so not retried within the run.
    smtp_server.handler.faults[:] = [None, "drop"]
    config = demo_config(tmp_path, smtp_server.port)
    result = run_job("reminders", config, MORNING, sender=smtp(smtp_server))
    ids = Counter(m.message_id for m in smtp_server.received)
    assert len(ids) == len(REMINDED) and sorted(ids.values()) == [1] * len(REMINDED)
    assert len(result.delivery.sent) == len(REMINDED) - 1 and len(result.delivery.deferred) == 1
    later = run_job("reminders", config, MORNING + dt.timedelta(minutes=30), sender=smtp(smtp_server))
    ids = Counter(m.message_id for m in smtp_server.received)
    assert len(ids) == len(REMINDED) and sorted(ids.values()) == [1] * (len(REMINDED) - 1) + [2] and later.delivery.resent == 1
    assert set(recipients(smtp_server)) == REMINDED


class CrashAfterSend:
    """Hands the message to the server, then dies before the ledger can record it."""

    def __init__(self, inner, after):
        self.inner, self.after, self.count = inner, after, 0

    def send(self, raw, sender, recipients):
        self.inner.send(raw, sender, recipients)
        self.count += 1
        if self.count == self.after:
            raise KeyboardInterrupt("power cut")

    def close(self):
        self.inner.close()


def test_a_crash_between_send_and_record_resends_at_most_that_message(tmp_path, smtp_server):
    config = demo_config(tmp_path, smtp_server.port)
    with pytest.raises(KeyboardInterrupt):
        run_job("reminders", config, MORNING, sender=CrashAfterSend(smtp(smtp_server), after=2))
    assert len(smtp_server.received) == 2
    second = run_job("reminders", config, MORNING + dt.timedelta(minutes=5), sender=smtp(smtp_server))
    ids = Counter(m.message_id for m in smtp_server.received)
    assert len(ids) == len(REMINDED) and sorted(ids.values()) == [1] * (len(REMINDED) - 1) + [2]
    assert second.delivery.resent == 1
    third = run_job("reminders", config, MORNING + dt.timedelta(minutes=10), sender=smtp(smtp_server))
    assert third.delivery.sent == [] and len(smtp_server.received) == len(REMINDED) + 1


def test_one_connection_per_run(tmp_path, smtp_server):
    sender = smtp(smtp_server)
    run_job("reminders", demo_config(tmp_path, smtp_server.port), MORNING, sender=sender)
    assert sender.connections == 1 and smtp_server.handler.connections == 1


def test_a_refused_recipient_does_not_stop_the_others(tmp_path, smtp_server):
    smtp_server.handler.refuse["wangfang@example.com"] = "550 5.1.1 mailbox unavailable"
    result = run_job("reminders", demo_config(tmp_path, smtp_server.port), MORNING, sender=smtp(smtp_server))
    assert set(recipients(smtp_server)) == REMINDED - {"wangfang@example.com"}
    assert [r for r, _ in result.delivery.failed] == ["wangfang@example.com"]


def test_smtp_down_defers_and_the_next_run_delivers(tmp_path, smtp_server):
    config = demo_config(tmp_path, smtp_server.port)
    down = SmtpSender(SmtpConfig("127.0.0.1", 1, "none", timeout=1), sleep=lambda s: None, retries=1)
    result = run_job("reminders", config, MORNING, sender=down)
    assert len(result.delivery.deferred) == len(REMINDED) and smtp_server.received == []
    run_job("reminders", config, MORNING + dt.timedelta(minutes=30), sender=smtp(smtp_server))
    assert set(recipients(smtp_server)) == REMINDED and len(smtp_server.received) == len(REMINDED)


class Slow:
    def __init__(self, inner, gate):
        self.inner, self.gate = inner, gate

    def send(self, raw, sender, recipients):
        self.gate.wait(5)
        self.inner.send(raw, sender, recipients)

    def close(self):
        self.inner.close()


def test_overlapping_runs_do_not_both_send(tmp_path, smtp_server):
    config = demo_config(tmp_path, smtp_server.port)
    Ledger(config.state).close()  # the store's ledger exists already, as after its first run
    gate = threading.Event()
    errors = []

    def first():
        run_job("reminders", config, MORNING, sender=Slow(smtp(smtp_server), gate), owner="first")

    thread = threading.Thread(target=first)
    thread.start()
    try:
        probe = Ledger(config.state)
        for _ in range(100):
            if probe.db.execute("SELECT count(*) FROM locks").fetchone()[0]:
                break
            threading.Event().wait(0.05)
        probe.close()
        with pytest.raises(LockedError):
            run_job("reminders", config, MORNING, sender=smtp(smtp_server), owner="second")
    except Exception as exc:  # pragma: no cover - reported below
        errors.append(exc)
    finally:
        gate.set()
        thread.join()
    assert not errors
    assert len(smtp_server.received) == len(REMINDED)


def test_dry_run_writes_the_outbox_and_records_nothing(tmp_path):
    config = demo_config(tmp_path)
    result = run_job("reminders", config, MORNING, dry_run=True)
    assert len(result.messages) == len(REMINDED)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == len(REMINDED)
    index = (tmp_path / "outbox" / "index.html").read_text(encoding="utf-8")
    assert "张伟" in index and index.count("<tr>") == len(REMINDED) + 1
    assert not (tmp_path / "state.sqlite3").exists()


def test_without_smtp_the_outbox_is_the_delivery_and_reruns_add_nothing(tmp_path):
    config = demo_config(tmp_path)
    run_job("reminders", config, MORNING)
    run_job("reminders", config, MORNING + dt.timedelta(hours=1))
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == len(REMINDED)


def test_history_lists_what_went_to_whom(tmp_path, smtp_server, capsys):
    from scripts.cli import cmd_history

    config = demo_config(tmp_path, smtp_server.port)
    smtp_server.handler.faults[:] = ["550"]
    run_job("reminders", config, MORNING, sender=smtp(smtp_server))
    (tmp_path / "huifang.yaml").write_text(
        "sources: []\nstate: state.sqlite3\n", encoding="utf-8")
    import argparse

    assert cmd_history(argparse.Namespace(config=str(tmp_path / "huifang.yaml"), since="2026-11-27")) == 0
    out = capsys.readouterr().out
    assert out.count(" sent     reminder ") == len(REMINDED) - 1 and out.count(" failed   reminder ") == 1 and "550" in out
    assert "run reminders    ok" in out and "failed 1" in out  # a refused address is not a failed run


def test_password_comes_from_the_environment_only(tmp_path, monkeypatch):
    from dataclasses import replace

    from scripts.errors import ConfigError
    from scripts.jobs import smtp_password

    config = demo_config(tmp_path, 2525)
    config = replace(config, smtp=replace(config.smtp, username="bot", password_env="HUIFANG_SMTP_PASSWORD"))
    monkeypatch.delenv("HUIFANG_SMTP_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="HUIFANG_SMTP_PASSWORD"):
        smtp_password(config)
    monkeypatch.setenv("HUIFANG_SMTP_PASSWORD", "s3cret")
    assert smtp_password(config) == "s3cret"
    with pytest.raises(Exception, match="password"):
        parse_config({"sources": [], "mail": {"smtp": {"host": "x", "password": "inline"}}}, tmp_path / "c.yaml", tmp_path)


def test_many_processes_opening_a_new_ledger_at_once_do_not_fail(tmp_path):
    import subprocess
    import sys

    code = ("import sys; sys.path.insert(0, sys.argv[2]); from scripts.ledger import Ledger; "
            "Ledger(sys.argv[1]).close()")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "state.sqlite3"), str(ROOT)],
                              stderr=subprocess.PIPE, text=True) for _ in range(6)]
    results = [(p.wait(timeout=30), p.stderr.read()) for p in procs]
    assert all(code == 0 for code, _ in results), results


def test_the_morning_reminder_lists_what_falls_due_later_today(tmp_path):
    from scripts.jobs import build_messages, calendar_of
    from tests.helpers import COMPLAINT_HEADERS, complaint, write_xlsx

    write_xlsx(tmp_path / "客服.xlsx", {"投诉登记": [COMPLAINT_HEADERS, complaint(
        投诉编号="TS-1", 受理时间="2026-11-26 15:00", 投诉渠道="电话", 客户姓名="钱先生", 联系电话=13811112222,
        投诉内容="异响", 责任人="赵敏", 处理状态="处理中")]})
    config = parse_config({"sources": [{"name": "客服", "path": "客服.xlsx"}],
                           "staff": [{"name": "赵敏", "email": "zhaomin@example.com"}]}, tmp_path / "c.yaml", tmp_path)
    from scripts.check import run_check

    result = run_check(config, MORNING)
    assert not [f for f in result.findings if f.rule.startswith("complaint_reply")]  # 15:00 is outside the 4 h window
    (reminder,) = build_messages("reminders", result, config, MORNING, None, calendar_of(config))
    assert [(i["rule"], i["due"]) for i in reminder.context["due_soon"]] == [("complaint_reply_due_soon", "11-27 15:00")]


def test_a_failed_run_and_an_unreadable_source_appear_in_the_next_digest(tmp_path, smtp_server):
    import shutil

    shutil.copy(DEMO / "展厅.xlsx", tmp_path / "展厅.xlsx")
    doc_sources = [{"name": "展厅", "path": "展厅.xlsx", "tables": {"员工名单": "staff", "来店登记": "visitor_log"}},
                   {"name": "客服", "path": "客服.xlsx"}]  # 客服.xlsx is missing
    config = parse_config({"sources": doc_sources, "state": "state.sqlite3",
                           "mail": {"smtp": {"host": "127.0.0.1", "port": smtp_server.port, "security": "none"}}},
                          tmp_path / "huifang.yaml", tmp_path)
    morning = run_job("reminders", config, MORNING, sender=smtp(smtp_server))
    assert morning.check.sources[1].error
    run_job("digest", config, EVENING, sender=smtp(smtp_server))
    digest = next(m for m in smtp_server.received if m.recipients == ["zhoujie@example.com"]).message
    text = digest.get_body(("plain",)).get_content()
    assert "无法读取的表格" in text and "客服" in text and "file not found" in text
    assert "运行失败" in text and "- 提醒 " in text and "unreadable: 客服" in text


def test_an_unusable_address_is_reported_and_the_others_are_sent(tmp_path, smtp_server):
    config = demo_config(tmp_path, smtp_server.port, staff=[{"name": "张伟", "email": "张伟@example.com"}])
    result = run_job("reminders", config, MORNING, sender=smtp(smtp_server))
    assert ("张伟@example.com", "not a usable email address: '张伟@example.com'") in result.delivery.failed
    assert "zhangwei@example.com" not in recipients(smtp_server) and len(smtp_server.received) == len(REMINDED) - 1
