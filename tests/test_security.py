"""Attacks from issue 12, each against the real part: loopback SMTP, a real SQLite file, real child processes."""

import datetime as dt
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from email import message_from_bytes, policy

import pytest

from scripts.cli import main
from scripts.config import load_config, parse_config
from scripts.errors import ConfigError, LockedError, StateError
from scripts.findings import Finding
from scripts.jobs import run_job, smtp_password
from scripts.ledger import Ledger
from scripts.messages import item_of
from scripts.privacy import mask_phones_in_text
from scripts.render import HEADERS, check_headers, valid_address
from tests.test_email import DEMO, EVENING, MORNING, REMINDED, ROOT, demo_config, recipients, smtp

INJECTIONS = [
    "=?utf-8?q?x=0D=0ABcc:_attacker@example.com?=",
    "=?utf-8?q?x=0D=0AReply-To:_attacker@example.com?=",
    "=?utf-8?q?x=0D=0A=0D=0Aforged_body?=",
    "张伟 =?utf-8?b?DQpCY2M6IGF0dGFja2VyQGV4YW1wbGUuY29t?=",
]


def header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [line.split(b":", 1)[0].decode().lower() for line in head.split(b"\r\n") if line[:1] not in (b" ", b"\t")]


def staff_named(name):
    return [{"name": "李娜", "email": "lina@example.com"},
            {"name": name, "email": "zhangwei@example.com", "supervisor": "李娜"}]


# -- 1. header injection ------------------------------------------------------------------------------

def injected_config(tmp_path, name, port=None, language="zh-CN"):
    """A complaint log where the staff member named ``name`` gets a reminder, a digest and an escalation."""
    import openpyxl

    from tests.helpers import COMPLAINT_HEADERS, complaint

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "投诉登记"
    for values in (COMPLAINT_HEADERS, complaint(
            投诉编号="TS-1", 受理时间="2026-11-26 08:00", 投诉渠道="电话", 客户姓名="钱先生", 联系电话=13811112222,
            投诉内容="异响", 责任人=name, 处理状态="处理中"), complaint(
            投诉编号="TS-2", 受理时间="2026-11-26 08:30", 投诉渠道="电话", 客户姓名="孙女士", 联系电话=13811113333,
            投诉内容="漏油", 责任人="王芳", 处理状态="处理中")):
        ws.append(values)
    ws.cell(2, COMPLAINT_HEADERS.index("责任人") + 1).data_type = "s"  # text that starts with "=", not a formula
    wb.save(tmp_path / "客服.xlsx")
    doc = {"sources": [{"name": "客服", "path": "客服.xlsx"}], "state": "state.sqlite3", "language": language,
           "staff": [{"name": "李娜", "email": "lina@example.com"},
                     {"name": name, "email": "zhangwei@example.com", "supervisor": "李娜"},
                     {"name": "王芳", "email": "wangfang@example.com", "supervisor": name}],
           "mail": {"outbox": "outbox"}}
    if port:
        doc["mail"]["smtp"] = {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5}
    return parse_config(doc, tmp_path / "huifang.yaml", tmp_path)


@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize("name", INJECTIONS)
def test_an_encoded_word_in_a_name_never_becomes_a_header(tmp_path, smtp_server, language, name):
    config = injected_config(tmp_path, name, smtp_server.port, language)
    for job, now in (("reminders", MORNING), ("escalations", MORNING), ("digest", EVENING)):
        run_job(job, config, now, sender=smtp(smtp_server))
    to_them = [m for m in smtp_server.received if m.recipients == ["zhangwei@example.com"]]
    assert {m.message["X-Huifang-Kind"] for m in to_them} == {"reminder", "digest", "escalation"}
    for received in smtp_server.received:
        body = received.raw.split(b"\r\n\r\n", 1)[1]
        names = header_names(received.raw)
        assert set(names) <= HEADERS and len(names) == len(set(names)), names
        assert b"forged_body" not in body.split(b"\r\n", 1)[0]
        assert all("attacker" not in r for r in received.recipients)
        parsed = received.message
        assert parsed["Bcc"] is None and parsed["Reply-To"] is None
        if received in to_them:
            shown = parsed["To"].addresses[0].display_name
            assert "\r" not in shown and "\n" not in shown and "= ?utf-8?" in shown


def test_the_outbox_index_lists_a_message_with_an_encoded_word_name(tmp_path):
    config = injected_config(tmp_path, INJECTIONS[0])
    run_job("reminders", config, MORNING, dry_run=True)
    index = (tmp_path / "outbox" / "index.html").read_text(encoding="utf-8")
    assert "zhangwei@example.com" in index and index.count("<tr>") == 3


@pytest.mark.parametrize("raw", [
    b"Subject: a\r\nBcc: x@example.com\r\nTo: b@example.com\r\n\r\nbody",
    b"Subject: a\r\nSubject: b\r\n\r\nbody",
    b"Subject: a\nBcc: x@example.com\r\n\r\nbody",
])
def test_the_last_check_refuses_any_header_line_we_did_not_write(raw):
    with pytest.raises(ValueError):
        check_headers(raw)


# -- 14. one address check ------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, ok", [
    ("zhangwei@example.com", "zhangwei@example.com"), ("  zhangwei@example.com \t", "zhangwei@example.com"),
    ("zhangwei@example.com\a", None), ("zhang\x1bwei@example.com", None), ("zhangwei@example.com\r\nBcc: x@y.com", None),
    ("张伟@example.com", None), ("a@b", None), ("a,b@example.com", None),
])
def test_an_address_is_checked_once_and_cleaned_the_same_for_header_and_envelope(raw, ok):
    if ok is None:
        with pytest.raises(ValueError, match="not a usable email address"):
            valid_address(raw)
    else:
        assert valid_address(raw) == ok


def test_the_envelope_recipient_is_the_checked_address_never_the_raw_value(tmp_path, smtp_server):
    config = demo_config(tmp_path, smtp_server.port, staff=[
        {"name": "李娜", "email": "lina@example.com"},
        {"name": "张伟", "email": "zhangwei@example.com\a", "supervisor": "李娜"},
        {"name": "王芳", "email": "wangfang@example.com", "supervisor": "李娜"}])
    result = run_job("reminders", config, MORNING, sender=smtp(smtp_server))
    assert "zhangwei@example.com" not in recipients(smtp_server)
    assert any("not a usable email address" in reason for _, reason in result.delivery.failed)
    for received in smtp_server.received:
        assert received.recipients == [received.message["To"].addresses[0].addr_spec]
    run_job("digest", config, EVENING, sender=smtp(smtp_server))
    digest = next(m for m in smtp_server.received
                  if m.recipients == ["lina@example.com"] and m.message["X-Huifang-Kind"] == "digest").message
    assert "not a usable email address" in digest.get_body(("plain",)).get_content()


# -- 15. allowed domains, new recipients ----------------------------------------------------------------

def test_recipients_outside_the_allowed_domains_are_refused_and_the_digest_says_so(tmp_path, smtp_server):
    staff = [{"name": "李娜", "email": "lina@example.com"},
             {"name": "张伟", "email": "zhangwei@example.com", "supervisor": "李娜"}]
    config = demo_config(tmp_path, smtp_server.port, staff=staff, mail={
        "from": "回访提醒 <noreply@example.com>", "allowed_domains": ["example.com"],
        "smtp": {"host": "127.0.0.1", "port": smtp_server.port, "security": "none", "timeout": 5}})
    assert config.allowed_domains == ("example.com",)
    run_job("reminders", config, MORNING, sender=smtp(smtp_server))  # the ledger's first run: everyone is known
    outsider = {"name": "王芳", "email": "spy@attacker.example.net", "supervisor": "李娜"}
    config = replace(demo_config(tmp_path, smtp_server.port, staff=[*staff, outsider]), allowed_domains=("example.com",))
    result = run_job("reminders", config, MORNING.replace(hour=10), sender=smtp(smtp_server))
    assert ("spy@attacker.example.net", "refused: outside allowed domains (mail.allowed_domains)") in result.delivery.failed
    assert all(not r.endswith("attacker.example.net") for r in recipients(smtp_server))
    run_job("digest", config, EVENING, sender=smtp(smtp_server))
    digest = next(m for m in smtp_server.received
                  if m.recipients == ["lina@example.com"] and m.message["X-Huifang-Kind"] == "digest").message
    for body in (digest.get_body(("plain",)).get_content(), digest.get_body(("html",)).get_content()):
        assert "refused: outside allowed domains" in body
        assert "新出现的邮箱" in body and "spy@attacker.example.net" in body


def test_doctor_lists_recipients_new_since_the_last_run(tmp_path, smtp_server):
    from scripts.doctor import doctor

    config = demo_config(tmp_path, smtp_server.port, staff=staff_named("张伟"))
    run_job("reminders", config, MORNING, sender=smtp(smtp_server))
    lines = []
    doctor(config, MORNING, out=lines.append, language="en")
    assert not any("new recipients" in line for line in lines)
    grown = demo_config(tmp_path, smtp_server.port,
                        staff=[*staff_named("张伟"), {"name": "外人", "email": "x@elsewhere.example.org", "supervisor": "李娜"}])
    lines = []
    doctor(grown, MORNING, out=lines.append, language="en")
    assert "new recipients since the last run (check they belong here): x@elsewhere.example.org" in lines


# -- 6. a lock the OS releases --------------------------------------------------------------------------

CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from scripts.jobs import run_job
from tests.test_email import demo_config, MORNING, smtp

class Hang:
    def __init__(self, inner): self.inner = inner
    def send(self, raw, sender, recipients):
        self.inner.send(raw, sender, recipients)
        print("sent", flush=True)
        time.sleep(600)
    def close(self): self.inner.close()

class Server: port = int(sys.argv[3])
config = demo_config(Path(sys.argv[2]), Server.port)
run_job("reminders", config, MORNING, sender=Hang(smtp(Server)))
"""


def test_a_run_killed_mid_send_does_not_lock_out_the_next_one(tmp_path, smtp_server):
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(ROOT), str(tmp_path), str(smtp_server.port)],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT)
    config = demo_config(tmp_path, smtp_server.port)
    try:
        assert child.stdout.readline().strip() == "sent"  # holding the lock, one email out
        with pytest.raises(LockedError, match="reminders@"):
            run_job("reminders", config, MORNING, sender=smtp(smtp_server))  # while it lives, the lock holds
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    started = time.monotonic()
    result = run_job("reminders", config, MORNING + dt.timedelta(minutes=1), sender=smtp(smtp_server))
    assert time.monotonic() - started < 10
    assert result.delivery.resent == 1  # the one that died pending goes again, same bytes
    assert set(recipients(smtp_server)) == REMINDED and len(smtp_server.received) == len(REMINDED) + 1


def test_the_lock_holds_however_long_the_run_lasts(tmp_path):
    first = Ledger(tmp_path / "state.sqlite3")
    first.acquire("first", MORNING)
    second = Ledger(tmp_path / "state.sqlite3")
    with pytest.raises(LockedError, match="first"):
        second.acquire("second", MORNING + dt.timedelta(hours=5))  # far past the old one-hour expiry
    first.release("first")
    second.acquire("second", MORNING)  # released: taken at once
    second.close()
    first.close()


# -- 7. circuit breaker and deadline ---------------------------------------------------------------------

def test_a_server_answering_421_defers_the_rest_of_the_run_after_one_message(tmp_path, smtp_server):
    smtp_server.handler.faults[:] = ["421"] * 50
    config = demo_config(tmp_path, smtp_server.port)
    result = run_job("reminders", config, MORNING, sender=smtp(smtp_server, retries=3))
    assert smtp_server.handler.data_commands == 4  # one message: first try and 3 retries; the others wait
    assert len(result.delivery.deferred) == len(REMINDED) and result.delivery.sent == []
    assert sum("not tried" in reason for _, reason in result.delivery.deferred) == len(REMINDED) - 1
    smtp_server.handler.faults.clear()
    run_job("reminders", config, MORNING + dt.timedelta(minutes=30), sender=smtp(smtp_server))
    assert set(recipients(smtp_server)) == REMINDED and len(smtp_server.received) == len(REMINDED)


def test_a_dead_server_costs_one_message_of_retries_not_one_per_message(tmp_path):
    from scripts.config import SmtpConfig
    from scripts.mailer import SmtpSender

    waits = []
    down = SmtpSender(SmtpConfig("127.0.0.1", 1, "none", timeout=1), sleep=waits.append, retries=3)
    result = run_job("reminders", demo_config(tmp_path), MORNING, sender=down)
    assert len(waits) == 3 and len(result.delivery.deferred) == len(REMINDED)


def test_a_run_past_its_deadline_defers_what_is_left(tmp_path, smtp_server):
    config = demo_config(tmp_path, smtp_server.port)
    result = run_job("reminders", config, MORNING, sender=smtp(smtp_server), deadline_seconds=0)
    assert smtp_server.received == [] and len(result.delivery.deferred) == len(REMINDED)
    assert all("time limit" in reason for _, reason in result.delivery.deferred)


# -- 8. no reply after the final "." --------------------------------------------------------------------

def test_a_late_reply_after_data_is_not_retried_within_the_run(tmp_path, smtp_server):
    from scripts.config import SmtpConfig
    from scripts.mailer import SmtpSender

    smtp_server.handler.faults[:] = ["late"]
    smtp_server.handler.late_seconds = 2.5
    config = demo_config(tmp_path, smtp_server.port)
    sender = SmtpSender(SmtpConfig("127.0.0.1", smtp_server.port, "none", timeout=1), sleep=lambda s: None)
    result = run_job("reminders", config, MORNING, sender=sender)
    ids = Counter(m.message_id for m in smtp_server.received)
    assert sorted(ids.values()) == [1] * len(REMINDED)  # the late one arrived once, and was not sent again
    assert len(result.delivery.deferred) == 1 and "no reply" in result.delivery.deferred[0][1]
    run_job("reminders", config, MORNING + dt.timedelta(minutes=30), sender=smtp(smtp_server))
    ids = Counter(m.message_id for m in smtp_server.received)
    assert sorted(ids.values()) == [1] * (len(REMINDED) - 1) + [2]  # once more on the next run, same Message-ID


# -- 5. a damaged ledger ----------------------------------------------------------------------------------

def not_a_database(path):
    path.write_bytes(os.urandom(8192))


def corrupt(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x)")
    db.executemany("INSERT INTO t VALUES (?)", [(os.urandom(500),) for _ in range(200)])
    db.commit()
    db.close()
    data = bytearray(path.read_bytes())
    data[4096:4096 * 8] = os.urandom(4096 * 7)  # pages 2-8: the tables' b-trees
    data[100:4096] = b"\xff" * (4096 - 100)  # page 1 after its header: the schema table
    path.write_bytes(bytes(data))


def locked(path):
    Ledger(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


@pytest.mark.parametrize("damage, words", [(not_a_database, "damaged"), (corrupt, "damaged"), (locked, "held by another")])
@pytest.mark.parametrize("command", [["run", "reminders"], ["history"], ["run", "digest"]])
def test_a_damaged_ledger_is_one_line_naming_the_file_and_exit_2(tmp_path, capsys, monkeypatch, damage, words, command):
    import shutil

    monkeypatch.setattr("scripts.ledger.BUSY_TIMEOUT", 0.2)
    for name in ("展厅.xlsx", "客服.xlsx"):
        shutil.copy(DEMO / name, tmp_path / name)
    (tmp_path / "huifang.yaml").write_text(
        "sources:\n  - {name: 展厅, path: 展厅.xlsx}\n  - {name: 客服, path: 客服.xlsx}\nstate: state.sqlite3\n"
        "mail: {outbox: outbox}\n", encoding="utf-8")  # outbox delivery: nothing must mask the real error
    holder = damage(tmp_path / "state.sqlite3")
    try:
        code = main([*command, "--config", str(tmp_path / "huifang.yaml"), "--now", "2026-11-27T09:00"]
                    if command[0] == "run" else [*command, "--config", str(tmp_path / "huifang.yaml")])
    finally:
        if holder is not None:
            holder.close()
    err = capsys.readouterr().err.strip()
    if damage is locked and command == ["history"]:
        assert code == 0 and err == ""  # in WAL mode a writer holding the ledger does not stop readers
        return
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(tmp_path / "state.sqlite3") in err and words in err


@pytest.mark.parametrize("pragma, words", [
    ("max_page_count = {pages}", "is full"),  # SQLite's own "database or disk is full"
    ("query_only = 1", "cannot be written"),  # SQLite's own "attempt to write a readonly database"
])
def test_a_full_disk_or_a_read_only_ledger_is_named_as_such(tmp_path, pragma, words):
    ledger = Ledger(tmp_path / "state.sqlite3")
    ledger.db.execute("PRAGMA " + pragma.format(pages=ledger.db.execute("PRAGMA page_count").fetchone()[0]))
    with pytest.raises(StateError, match=words):
        ledger.record_pending(key="k", kind="reminder", recipient="a@example.com", period="p", subject="s",
                              message_id="<m>", raw=os.urandom(200_000), items=(), now=MORNING)
    ledger.close()


def test_doctor_lists_a_damaged_ledger(tmp_path):
    from scripts.doctor import doctor

    config = demo_config(tmp_path)
    not_a_database(tmp_path / "state.sqlite3")
    lines = []
    assert doctor(config, MORNING, out=lines.append, language="en") == 1
    assert any(line.startswith("✗ state:") and "cannot be opened" in line and "damaged" in line for line in lines)


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_serve_keeps_ticking_and_alerts_when_the_ledger_is_damaged(tmp_path, smtp_server, caplog):
    from scripts.service import Service

    config = demo_config(tmp_path, smtp_server.port)
    not_a_database(tmp_path / "state.sqlite3")
    clock = Clock(MORNING)
    svc = Service(config, clock, sender_factory=lambda: smtp(smtp_server))
    svc.tick()  # start: no exception, the service lives
    clock.now = MORNING + dt.timedelta(minutes=31)
    svc.tick()
    clock.now = MORNING + dt.timedelta(hours=3)
    svc.tick()
    assert "damaged" in caplog.text
    alerts = [m for m in smtp_server.received if m.message["X-Huifang-Kind"] == "alert"]
    assert alerts and "damaged" in alerts[0].message.get_body(("plain",)).get_content()
    assert len(alerts) == len({r for m in alerts for r in m.recipients})  # once per person, not per tick or hour


# -- 11, 12. files: no symlinks followed, owner-only modes ---------------------------------------------

def test_ledger_lock_and_outbox_files_are_owner_only_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        run_job("reminders", demo_config(tmp_path), MORNING)
    finally:
        os.umask(old)
    files = [p for p in tmp_path.iterdir() if p.name.startswith("state.sqlite3")]
    assert {p.name for p in files} >= {"state.sqlite3", "state.sqlite3.lock"}
    files += list((tmp_path / "outbox").iterdir())
    assert len(files) > 10
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_wal_and_shm_files_share_the_ledgers_mode(tmp_path):
    old = os.umask(0o022)
    try:
        ledger = Ledger(tmp_path / "state.sqlite3")
        ledger.start_run("x", MORNING)
        for suffix in ("-wal", "-shm"):
            assert stat.S_IMODE((tmp_path / f"state.sqlite3{suffix}").stat().st_mode) == 0o600
        ledger.close()
    finally:
        os.umask(old)


def test_a_planted_symlink_in_the_outbox_is_replaced_not_followed(tmp_path):
    first = tmp_path / "first"
    first.mkdir()
    run_job("reminders", demo_config(first), MORNING, dry_run=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    outbox = tmp_path / "second" / "outbox"
    outbox.mkdir(parents=True)
    names = [p.name for p in (first / "outbox").iterdir()]
    for name in names:
        (outbox / name).symlink_to(victim)
    run_job("reminders", demo_config(tmp_path / "second"), MORNING, dry_run=True)
    assert victim.read_text(encoding="utf-8") == "precious"
    for name in names:
        assert not (outbox / name).is_symlink() and (outbox / name).stat().st_size > 0


# -- 9. no secret in a message ------------------------------------------------------------------------------

SECRET = "Hunter2Secret9"


@pytest.mark.parametrize("smtp_yaml", [
    f"{{host: mail.example.com, password: {SECRET}}}",
    f"{{host: mail.example.com, port: 0, password: {SECRET}}}",
    f"{{host: mail.example.com, password_env: '{SECRET}!#'}}",
])
def test_a_password_written_in_the_config_is_never_echoed(tmp_path, smtp_yaml):
    path = tmp_path / "huifang.yaml"
    path.write_text(f"sources: []\nmail:\n  smtp: {smtp_yaml}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert SECRET not in str(caught.value) and "password" in str(caught.value)


@pytest.mark.parametrize("field", ["password_env", "password_file"])
def test_a_password_pasted_as_the_variable_or_file_name_is_never_echoed(tmp_path, monkeypatch, field):
    monkeypatch.delenv(SECRET, raising=False)
    config = parse_config({"sources": [], "mail": {"smtp": {"host": "mail.example.com", field: SECRET}}},
                          tmp_path / "c.yaml", tmp_path)
    with pytest.raises(ConfigError) as caught:
        smtp_password(config)
    assert SECRET not in str(caught.value) and f"mail.smtp.{field}" in str(caught.value)


# -- 16. YAML aliases -----------------------------------------------------------------------------------------

def test_yaml_aliases_in_the_config_are_refused_at_once_with_the_line(tmp_path):
    levels = ["a0: &a0 [2026-10-10, 2026-10-11, 2026-10-12, 2026-10-13, 2026-10-14, 2026-10-15, 2026-10-16]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    text = "x-anchors:\n" + "".join(f"  {line}\n" for line in levels) + "sources: []\ncalendar:\n  extra_holidays: *a8\n"
    path = tmp_path / "huifang.yaml"
    path.write_text(text, encoding="utf-8")
    assert len(text.encode()) < 800
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"line 3.*aliases"):
        load_config(path)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("item", ["[2026-10-10, 2026-10-11]", "{day: 2026-10-10}", "20261010"])
def test_extra_holidays_items_must_be_dates_or_text(tmp_path, item):
    import yaml

    with pytest.raises(ConfigError, match=r"extra_holidays\[0\]"):
        parse_config({"sources": [], "calendar": {"extra_holidays": [yaml.safe_load(item)]}}, tmp_path / "c.yaml", tmp_path)


# -- 10. history prints no control characters -------------------------------------------------------------------

def test_history_strips_terminal_escapes_line_breaks_and_bidi_and_clips(tmp_path, capsys):
    import argparse

    from scripts.cli import cmd_history

    (tmp_path / "huifang.yaml").write_text("sources: []\nstate: state.sqlite3\n", encoding="utf-8")
    ledger = Ledger(tmp_path / "state.sqlite3")
    evil = "\x1b]0;owned\x07\x1b[2J\rforged line\n2026-11-27 09:00  sent\u202eevil\u2028\x85" + "x" * 100_000
    ledger.record_pending(key="k", kind="reminder", recipient="a@example.com\x1b[31m", period="p", subject=evil,
                          message_id="<m>", raw=b"", items=(), now=MORNING)
    ledger.mark("k", "failed", MORNING, evil)
    ledger.close()
    assert cmd_history(argparse.Namespace(config=str(tmp_path / "huifang.yaml"), since=None)) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and len(out) < 1000
    assert not any(ch in out[:-1] for ch in "\x1b\x07\r\n\u202e\u2028\x85")


# -- 13. phones typed into free text ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, shown", [
    ("王先生13912340001", "王先生139****0001"), ("请回电13912340003", "请回电139****0003"),
    ("电话 139-1234-0003 或 +86 139 1234 0004", "电话 139-****-0003 或 +86 139 **** 0004"),
    ("座机010-12345678", "座机010-****5678"), ("工单 TS-20261127-001，订单 20261127139123400012", None),
])
def test_phone_shaped_numbers_in_text_are_masked(text, shown):
    assert mask_phones_in_text(text) == (shown or text)


def test_supervisors_items_mask_phones_inside_names_and_texts_but_staff_reminders_keep_them():
    f = Finding("complaint_reply_overdue", "客服", "投诉登记", 3, "content", "F3", "投诉内容", "请回电13912340003", "error",
                assignee="赵敏", customer="王先生13912340001", phone="13912340001")
    masked = item_of(f, MORNING, full_phone=False)
    assert "13912340001" not in str(masked) and "13912340003" not in str(masked)
    assert masked["customer"] == "王先生139****0001" and masked["message"] == "请回电139****0003"
    full = item_of(f, MORNING, full_phone=True)
    assert full["customer"] == "王先生13912340001"


def test_a_digest_never_shows_a_phone_typed_into_a_name(tmp_path, smtp_server):
    from tests.helpers import COMPLAINT_HEADERS, complaint, write_xlsx

    write_xlsx(tmp_path / "客服.xlsx", {"投诉登记": [COMPLAINT_HEADERS, complaint(
        投诉编号="TS-1", 受理时间="2026-11-26 08:00", 投诉渠道="电话", 客户姓名="王先生13912340001", 联系电话=13811112222,
        投诉内容="请回电13912340003", 责任人="张伟", 处理状态="处理中")]})
    config = parse_config({"sources": [{"name": "客服", "path": "客服.xlsx"}], "state": "state.sqlite3",
                           "staff": staff_named("张伟"),
                           "mail": {"smtp": {"host": "127.0.0.1", "port": smtp_server.port, "security": "none"}}},
                          tmp_path / "huifang.yaml", tmp_path)
    run_job("digest", config, EVENING, sender=smtp(smtp_server))
    run_job("escalations", config, EVENING, sender=smtp(smtp_server))
    kinds = set()
    for received in smtp_server.received:
        if received.recipients == ["lina@example.com"]:
            kinds.add(received.message["X-Huifang-Kind"])
            mail = message_from_bytes(received.raw, policy=policy.default)
            for part in ("plain", "html"):
                body = mail.get_body((part,)).get_content()
                assert "13912340001" not in body and "13912340003" not in body and "13811112222" not in body
    assert kinds == {"digest", "escalation"}


@pytest.mark.parametrize("raw", [
    b'To: "x\r\nBcc: attacker@example.com" <a@example.com>\r\nSubject: x\r\nBcc: attacker@example.com\r\n\r\nhi\r\n',
    b"To: =?utf-8?q?x=0D=0ABcc:_attacker@example.com?= <a@example.com>\r\nSubject: =?utf-8?q?x=0D=0A?=\r\n\r\nhi\r\n",
    b'To: "=?utf-8?q?x=0D=0AReply-To:_a@evil.com?=" <a@example.com>\r\nSubject: s\r\n\r\nhi\r\n',
    b"To: a@example.com, \r\n =?unknown-8bit?q?=FF?= <\r\nSubject: s\r\n\r\nhi\r\n",
    b"To: <a@[\r\nSubject: s\r\nMessage-ID: \r\n\r\nhi\r\n",
])
def test_the_outbox_index_survives_any_eml_in_its_folder(tmp_path, raw):
    from scripts.mailer import OutboxSender

    outbox = OutboxSender(tmp_path)
    outbox.send(raw, "noreply@example.com", ["a@example.com"])
    (tmp_path / "planted.eml").write_bytes(raw)
    index = outbox.write_index().read_text(encoding="utf-8")
    assert index.count("<tr>") == 3 and "planted.eml" in index


def test_run_prints_an_unreadable_source_on_one_clean_line(tmp_path, capsys):
    evil = "客服\x1b]0;owned\x07\r\nforged.xlsx"
    (tmp_path / "huifang.yaml").write_text(
        f"language: en\nsources:\n  - name: \"{evil.encode('unicode_escape').decode()}\"\n    path: missing.xlsx\n"
        "state: state.sqlite3\nmail: {outbox: outbox}\n", encoding="utf-8")
    code = main(["run", "reminders", "--config", str(tmp_path / "huifang.yaml"), "--now", "2026-11-27T09:00"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("could not read") == 1
    line = next(x for x in err.splitlines() if "could not read" in x)
    assert "forged.xlsx" in line and not any(ch in line for ch in "\x1b\x07\r")


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_refused_login_defers_the_run_instead_of_failing_every_message(tmp_path, monkeypatch):
    from scripts.config import SmtpConfig
    from scripts.mailer import SmtpSender
    from tests.smtp_server import SmtpServer

    with SmtpServer(password="right") as server:
        settings = SmtpConfig("127.0.0.1", server.port, "none", username="bot", timeout=5)
        config = demo_config(tmp_path, server.port)
        wrong = SmtpSender(settings, "wrong", sleep=lambda s: None)
        result = run_job("reminders", config, MORNING, sender=wrong)
        assert result.delivery.failed == [] and len(result.delivery.deferred) == len(REMINDED)
        assert server.handler.connections == 1  # one login tried, not one per message and retry
        assert "refused the login" in result.delivery.deferred[0][1] and "wrong" not in str(result.delivery)
        run_job("reminders", config, MORNING + dt.timedelta(minutes=30), sender=SmtpSender(settings, "right"))
        assert set(recipients(server)) == REMINDED and len(server.received) == len(REMINDED)


def test_a_lock_file_that_cannot_be_created_is_a_state_error(tmp_path):
    ledger = Ledger(tmp_path / "state.sqlite3")
    (tmp_path / "state.sqlite3.lock").mkdir()  # a folder where the lock file should be
    with pytest.raises(StateError, match="state.sqlite3.lock"):
        ledger.acquire("me", MORNING)
    ledger.close()
