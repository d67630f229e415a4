"""The monthly complaint report: every figure against hand-computed values, safe writing, real office software."""

import datetime as dt
import shutil
import subprocess

import pytest
from python_calamine import CalamineWorkbook

from scripts.config import SmtpConfig, parse_config
from scripts.jobs import run_job
from scripts.mailer import SmtpSender
from scripts.report import month_stats
from tests.helpers import COMPLAINT_HEADERS, SHANGHAI, STAFF, complaint, write_xlsx

D = dt.datetime


def c(cid, received, phone, channel, category, owner, status, reply=None, resolved=None, result=None, dept=None,
      due=None, callback=None, satisfaction=None, content="问题", name="客户"):
    return complaint(投诉编号=cid, 受理时间=received, 投诉渠道=channel, 客户姓名=name, 联系电话=phone, 投诉内容=content,
                     投诉类别=category, 责任人=owner, 处理状态=status, 首次回复时间=reply, 解决时间=resolved,
                     处理结果=result, 协办部门=dept, 工单时限=due, 回访时间=callback, 客户满意度=satisfaction)


A, B, C, DD, E = 13900000001, 13900000002, 13900000003, 13900000004, 13900000005
ROWS = [
    c("O1", D(2026, 10, 10, 10), A, "电话", "维修质量", "赵敏", "已关闭", D(2026, 10, 10, 12), D(2026, 10, 11, 10), "修好",
      callback=D(2026, 10, 12, 10), satisfaction="满意"),
    c("O2", D(2026, 10, 20, 9), B, "微信", "服务态度", "孙磊", "已解决", D(2026, 10, 22, 9), D(2026, 10, 23, 9), "致歉"),
    c("N1", D(2026, 11, 2, 10), A, "电话", "维修质量", "赵敏", "已关闭", D(2026, 11, 2, 11), D(2026, 11, 3, 10), "返修",
      dept="售后部", due=D(2026, 11, 3, 18), callback=D(2026, 11, 4, 10), satisfaction="满意"),
    c("N2", D(2026, 11, 5, 9), C, "微信", "服务态度", "孙磊", "已解决", D(2026, 11, 6, 15), D(2026, 11, 8, 9), "致歉",
      dept="销售部", due=D(2026, 11, 7, 18)),
    c("N3", D(2026, 11, 10, 14), DD, "电话", "维修质量", "赵敏", "处理中", D(2026, 11, 10, 16)),
    c("N4", D(2026, 11, 30, 20), E, "面诉", None, "孙磊", "待处理", content='=HYPERLINK("http://evil.example","点我")',
      name="+cmd|' /C calc'!A0"),
    c("N5", D(2026, 11, 15, 10), C, "电话", "服务态度", "赵敏", "已关闭", D(2026, 11, 15, 10, 30), D(2026, 11, 15, 18), "退款",
      callback=D(2026, 11, 16, 10), satisfaction="不满意"),
    c("D1", D(2026, 12, 2, 9), DD, "电话", "维修质量", "赵敏", "待处理"),
]
STAFF_WITH_BOSS = [*STAFF, {"name": "孙磊", "email": "sunlei@example.com", "role": "客服专员", "supervisor": "李娜"}]


def records(tmp_path):
    from scripts.check import run_check
    result = run_check(parse_config({"sources": [{"name": "客服", "path": "客服.xlsx"}]}, tmp_path / "c.yaml", tmp_path),
                       D(2026, 12, 1, 9, tzinfo=SHANGHAI))
    return [r for t in result.tables for r in t.records]


@pytest.fixture
def log(tmp_path):
    import openpyxl

    path = write_xlsx(tmp_path / "客服.xlsx", {"投诉登记": [COMPLAINT_HEADERS, *ROWS]})
    wb = openpyxl.load_workbook(path)
    for row in wb.active.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value[:1] in "=+":
                cell.data_type = "s"  # as a customer's text typed after a quote: text, not a formula
    wb.save(path)
    return tmp_path


def test_november_figures(log):
    s = month_stats(records(log), "2026-11", SHANGHAI)
    assert s.total == 5
    assert dict(s.by_channel) == {"电话": 3, "微信": 1, "面诉": 1}
    assert dict(s.by_category) == {"维修质量": 2, "服务态度": 2, "未分类": 1}
    assert dict(s.by_owner) == {"赵敏": 3, "孙磊": 2}
    assert (s.reply_on_time, s.reply_judged, s.reply_rate) == (3, 4, 0.75)  # N4 came 4 h before month end
    assert s.median_reply_hours == 1.5  # 0.5, 1, 2, 30
    assert s.median_resolve_hours == 24  # 8, 24, 72
    assert (s.dept_on_time, s.dept_orders, s.dept_rate) == (1, 2, 0.5)
    assert (s.callbacks, s.resolved, s.callback_rate) == (2, 3, pytest.approx(2 / 3))
    assert dict(s.satisfaction) == {"满意": 1, "不满意": 1}
    assert [x.complaint_id for x in s.repeats] == ["N1", "N5"]  # A after O1 (23 days), C after N2 (10 days)
    assert [(x.complaint_id, age) for x, age in s.open_at_end] == [("N3", 20), ("N4", 0)]
    assert [d.day for d, n in s.by_day if n] == [2, 5, 10, 15, 30] and len(s.by_day) == 30
    assert all(x.phone.startswith("139****") for x in s.complaints)


def test_october_figures_for_the_comparison(log):
    s = month_stats(records(log), "2026-10", SHANGHAI)
    assert (s.total, s.reply_rate, s.median_reply_hours, s.median_resolve_hours) == (2, 0.5, 25, 48)
    assert (s.dept_orders, s.dept_rate, s.callback_rate, len(s.repeats), len(s.open_at_end)) == (0, None, 0.5, 0, 0)


def report_config(tmp_path, port=None, **report):
    mail = {"from": "回访提醒 <noreply@example.com>", "outbox": "outbox"}
    if port:
        mail["smtp"] = {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5}
    return parse_config({"sources": [{"name": "客服", "path": "客服.xlsx", "tables": {"投诉登记": "complaint_log"}}],
                         "staff": STAFF_WITH_BOSS, "mail": mail, "state": "state.sqlite3",
                         **({"report": report} if report else {})}, tmp_path / "huifang.yaml", tmp_path)


def sheet(path, name):
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def test_the_workbook_holds_the_figures_and_is_emailed(log, smtp_server):
    config = report_config(log, smtp_server.port)
    result = run_job("monthly-report", config, D(2026, 12, 1, 9, tzinfo=SHANGHAI),
                     sender=SmtpSender(SmtpConfig("127.0.0.1", smtp_server.port, "none"), sleep=lambda s: None))
    path = log / "reports" / "投诉月报-2026-11.xlsx"
    assert path.exists() and not list((log / "reports").glob(".~*"))
    summary = sheet(path, "汇总")
    figures = {row[0]: row[1:4] for row in summary[3:13]}
    assert figures["投诉总数"] == [5.0, 2.0, 3.0]
    assert figures["24小时内首次答复率"][:2] == [0.75, 0.5]
    assert figures["首次答复时间中位数（小时）"][:2] == [1.5, 25.0]
    assert figures["协办工单按时完成率"][0] == 0.5 and figures["协办工单按时完成率"][1] == ""
    assert figures["处理后回访率（闭环）"][0] == pytest.approx(2 / 3)
    assert figures["重复投诉件数"] == [2.0, 0.0, 2.0]
    detail = sheet(path, "投诉明细")
    assert [r[0] for r in detail[1:]] == ["N1", "N2", "N3", "N5", "N4"]
    n2 = next(r for r in detail if r[0] == "N2")
    assert n2[11] == "否" and n2[13] == "否" and n2[14] == "否"
    assert [r[0] for r in sheet(path, "月末未结")[1:]] == ["N3", "N4"]
    assert {r[0]: r[1] for r in sheet(path, "按渠道")[1:]} == {"电话": 3.0, "微信": 1.0, "面诉": 1.0}
    assert len(result.delivery.sent) == 1 and smtp_server.received[0].recipients == ["lina@example.com"]
    mail = smtp_server.received[0].message
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "投诉月报-2026-11.xlsx"
    assert attachment.get_content() == path.read_bytes()
    assert "75%" in mail.get_body(("plain",)).get_content()


def test_sheet_text_never_becomes_a_formula_and_phones_are_masked(log):
    import openpyxl

    run_job("monthly-report", report_config(log), D(2026, 12, 1, 9, tzinfo=SHANGHAI), dry_run=True)
    wb = openpyxl.load_workbook(log / "reports" / "投诉月报-2026-11.xlsx")
    n4 = next(row for row in wb["投诉明细"].iter_rows() if row[0].value == "N4")
    assert n4[9].value.startswith("=HYPERLINK") and n4[9].data_type == "s"
    assert n4[3].value.startswith("+cmd") and n4[3].data_type == "s"
    assert all(cell.data_type != "f" for ws in wb for row in ws.iter_rows() for cell in row)
    assert n4[4].value == "139****0005"


def test_phones_shown_when_configured(log):
    run_job("monthly-report", report_config(log, show_phone=True), D(2026, 12, 1, 9, tzinfo=SHANGHAI), dry_run=True)
    detail = sheet(log / "reports" / "投诉月报-2026-11.xlsx", "投诉明细")
    assert "13900000005" in [r[4] for r in detail]


def test_default_month_is_the_previous_one(log):
    run_job("monthly-report", report_config(log), D(2026, 12, 1, 9, tzinfo=SHANGHAI), dry_run=True)
    assert (log / "reports" / "投诉月报-2026-11.xlsx").exists()


SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice not installed (apt-get install libreoffice-calc-nogui)")
def test_libreoffice_opens_the_report(log, tmp_path_factory):
    run_job("monthly-report", report_config(log), D(2026, 12, 1, 9, tzinfo=SHANGHAI), dry_run=True)
    out = tmp_path_factory.mktemp("pdf")
    src = out / "report.xlsx"
    shutil.copy(log / "reports" / "投诉月报-2026-11.xlsx", src)
    proc = subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{out}/profile", "--convert-to", "pdf",
                           "--outdir", str(out), str(src)], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    pdf = out / "report.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5000
    # LibreOffice can also re-save it as xlsx: the figures survive the round trip.
    subprocess.run([SOFFICE, "--headless", f"-env:UserInstallation=file://{out}/profile", "--convert-to", "ods",
                    "--outdir", str(out), str(src)], check=True, capture_output=True, timeout=180)
    figures = {row[0]: row[1] for row in sheet(out / "report.ods", "汇总")[3:13]}
    assert figures["投诉总数"] == 5 and figures["24小时内首次答复率"] == 0.75


# -- incomplete sources, corrections, resends --------------------------------------------------------

import dataclasses  # noqa: E402
import os  # noqa: E402

from scripts.check import run_check  # noqa: E402
from scripts.jobs import deliver  # noqa: E402
from scripts.ledger import Ledger  # noqa: E402
from scripts.render import Renderer  # noqa: E402
from scripts.report_job import ReportIncomplete, build_report, reports_sent  # noqa: E402

NOW = D(2026, 12, 1, 9, tzinfo=SHANGHAI)


def smtp(server):
    return SmtpSender(SmtpConfig("127.0.0.1", server.port, "none"), sleep=lambda s: None)


def send(config, server, now=NOW, **options):
    """One monthly-report run as the lead wires it: the ledger says whether the month's report went out."""
    ledger = Ledger(config.state)
    try:
        result = run_check(config, now)
        messages = build_report(result, config, now, "2026-11", sent_items=reports_sent(ledger), **options)
        return deliver(messages, Renderer(config), ledger, smtp(server), now)
    finally:
        ledger.close()


def test_a_missing_source_sends_nothing_and_says_what_is_missing(tmp_path, smtp_server):
    config = report_config(tmp_path, smtp_server.port)  # 客服.xlsx does not exist
    with pytest.raises(ReportIncomplete, match="客服") as caught:
        run_job("monthly-report", config, NOW, sender=smtp(smtp_server))
    assert caught.value.exit_code == 2 and caught.value.missing[0].startswith("客服")
    assert smtp_server.received == [] and not (tmp_path / "reports").exists()


def test_no_complaint_table_is_incomplete_too(tmp_path, smtp_server):
    write_xlsx(tmp_path / "客服.xlsx", {"杂项": [["随便", "什么"], ["a", "b"]]})
    config = parse_config({"sources": [{"name": "客服", "path": "客服.xlsx"}], "staff": STAFF_WITH_BOSS,
                           "mail": {"from": "回访提醒 <noreply@example.com>", "outbox": "outbox"},
                           "state": "state.sqlite3"}, tmp_path / "huifang.yaml", tmp_path)
    with pytest.raises(ReportIncomplete, match="no complaint log"):
        send(config, smtp_server)
    assert smtp_server.received == []


def test_when_the_source_is_back_the_report_goes_and_a_changed_one_is_sent_as_a_correction(log, smtp_server):
    config = report_config(log, smtp_server.port)
    first = send(config, smtp_server)
    assert len(first.sent) == 1 and "更正版" not in smtp_server.received[0].message["Subject"]
    again = send(config, smtp_server)  # same figures: the ledger knows this report
    assert (again.sent, again.skipped) == ([], 1)
    # A row is corrected in the log: N3 was resolved in November after all.
    import openpyxl
    wb = openpyxl.load_workbook(log / "客服.xlsx")
    ws = wb.active
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "N3":
            row[11].value, row[13].value, row[14].value = "已解决", D(2026, 11, 12, 10), "更换配件"
    wb.save(log / "客服.xlsx")
    corrected = send(config, smtp_server)
    assert len(corrected.sent) == 1
    mail = smtp_server.received[-1].message
    assert "更正版" in mail["Subject"] and "替代早先发出的 2026-11 月报" in mail.get_body(("plain",)).get_content()
    assert "月末未结件数：1 ↑（2026-10：0，+1）" in mail.get_body(("plain",)).get_content()  # N4 only; was N3, N4
    assert send(config, smtp_server).skipped == 1  # the correction is not sent twice
    assert "更正版" in sheet(log / "reports" / "投诉月报-2026-11.xlsx", "汇总")[0][0]  # and the file stays marked


def test_resend_sends_the_same_report_again(log, smtp_server):
    config = report_config(log, smtp_server.port)
    send(config, smtp_server)
    assert len(send(config, smtp_server, resend=True).sent) == 1
    assert len(send(config, smtp_server, now=NOW + dt.timedelta(hours=1), resend=True).sent) == 1
    assert len(smtp_server.received) == 3
    # The same figures again: a resend, not a correction.
    assert all("更正版" not in r.message["Subject"] for r in smtp_server.received)


# -- file: name, permissions; unreadable rows; repeat window; language --------------------------------

@pytest.mark.parametrize("language, report, name", [
    ("zh-CN", {}, "投诉月报-2026-11.xlsx"),
    ("en", {}, "complaint-report-2026-11.xlsx"),
    ("en", {"file_name": "月报-{month}.xlsx"}, "月报-2026-11.xlsx"),
])
def test_file_name_follows_the_language_unless_the_config_names_one(log, language, report, name):
    config = dataclasses.replace(report_config(log, **report), language=language)
    messages = build_report(run_check(config, NOW), config, NOW, "2026-11")
    assert messages[0].attachments == (str(log / "reports" / name),) and (log / "reports" / name).exists()


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_the_report_file_follows_the_umask(log, umask, mode):
    old = os.umask(umask)
    try:
        build_report(run_check(report_config(log), NOW), report_config(log), NOW, "2026-11")
    finally:
        os.umask(old)
    assert (log / "reports" / "投诉月报-2026-11.xlsx").stat().st_mode & 0o777 == mode


def test_rows_whose_date_cannot_be_read_are_counted_and_listed(tmp_path, smtp_server):
    bad = c("X1", "11月31日", 13900000009, "电话", "维修质量", "赵敏", "待处理")
    write_xlsx(tmp_path / "客服.xlsx", {"投诉登记": [COMPLAINT_HEADERS, *ROWS, bad]})
    config = report_config(tmp_path, smtp_server.port)
    send(config, smtp_server)
    text = smtp_server.received[0].message.get_body(("plain",)).get_content()
    assert "有 1 行受理时间无法读取，未计入本报表：投诉登记!10" in text  # header row 1, ROWS 2–9, X1 row 10
    path = tmp_path / "reports" / "投诉月报-2026-11.xlsx"
    assert sheet(path, "无法读取")[1:] == [["投诉登记!10"]]
    assert "投诉登记!10" in sheet(path, "汇总")[1][0]


def test_the_repeat_window_comes_from_the_complaint_schema(log):
    def check(config, now):  # the store's schema says 5 days instead of 30
        result = run_check(config, now)
        for table in result.tables:
            table.schema = dataclasses.replace(table.schema, repeat=dataclasses.replace(table.schema.repeat, days=5))
        return result

    config = report_config(log)
    run_job("monthly-report", config, NOW, dry_run=True, check=check)
    repeats = sheet(log / "reports" / "投诉月报-2026-11.xlsx", "重复投诉")
    assert repeats[0][0] == "同一电话 5 天内再次投诉" and repeats[2:] == []  # A: 23 days, C: 10 days apart


def test_the_english_email_carries_the_same_figures(log, smtp_server):
    config = dataclasses.replace(report_config(log, smtp_server.port), language="en")
    send(config, smtp_server)
    mail = smtp_server.received[0].message
    text = mail.get_body(("plain",)).get_content()
    assert mail["Subject"] == "[Huifang] Complaint report 2026-11"
    assert "First reply within 24 h: 75% ↑ (2026-10: 50%, +25 pp)" in text
    assert "Complaints: 5 ↑ (2026-10: 2, +3)" in text
    # 电话 1 of 2 in October, 3 of 5 in November; 服务态度 1 of 2 (50%) → 2 of 5 (40%); 未分类 0 → 1 of 5.
    assert "1. complaints by 电话 +2, share up to 60%\n2. 服务态度 complaints +1, share down to 40%\n" \
           "3. 未分类 complaints +1, share up to 20%" in text.replace("\r\n", "\n")
    assert [a.get_filename() for a in mail.iter_attachments()] == ["complaint-report-2026-11.xlsx"]


def test_a_reply_marked_done_without_a_time_is_said_in_the_report_and_the_email(log, smtp_server):
    class DoneMark:  # a done column ticked without a time
        def __bool__(self):
            return True

    def check(config, now):
        result = run_check(config, now)
        n3 = next(r for t in result.tables for r in t.records if r.get("complaint_id") == "N3")
        n3["first_reply_at"] = DoneMark()
        return result

    run_job("monthly-report", report_config(log, smtp_server.port), NOW, sender=smtp(smtp_server), check=check)
    text = smtp_server.received[0].message.get_body(("plain",)).get_content()
    # N3 leaves the 24 h figures: on time N1 N5 of N1 N2 N5 (N4 pending) = 67%; the median of 0.5, 1, 30 is 1.
    assert "24小时内首次答复率：67%" in text and "首次答复时间中位数（小时）：1.0" in text
    assert "有 1 件的答复或工单只标记已办、没有时间" in text
    assert "有 1 件的答复或工单只标记已办" in sheet(log / "reports" / "投诉月报-2026-11.xlsx", "汇总")[1][0]


def test_owner_department_and_overdue_sheets(log):
    run_job("monthly-report", report_config(log), NOW, dry_run=True)
    path = log / "reports" / "投诉月报-2026-11.xlsx"
    owners = {r[0]: r[1:] for r in sheet(path, "按责任人")[1:]}
    # 赵敏: N1 N3 N5 (October O1), replies all within 24 h, N1's work order on time, N3 open.
    # 孙磊: N2 N4 (October O2), N2 replied after 30 h, N4 pending; N2's work order late; N4 open.
    assert owners == {"赵敏": [3.0, 1.0, 2.0, 1.0, 1.0, 1.0], "孙磊": [2.0, 1.0, 1.0, 0.0, 0.0, 1.0]}
    departments = {r[0]: r[1:5] for r in sheet(path, "按协办部门")[1:]}
    assert departments == {"售后部": [1.0, 1.0, 1.0, 1.0], "销售部": [1.0, 1.0, 0.0, 0.0]}
    overdue = [(r[0], r[1], r[4], r[6], r[7]) for r in sheet(path, "超时未办")[1:]]
    assert overdue == [
        # O2 resolved Fri 10-23: callback due 3 working days later, Wed 10-28; not made by 11-30.
        ("处理后回访", "O2", "孙磊", 33.0, "未办"),
        ("首次答复", "N2", "孙磊", 1.0, "已补办"),  # due 11-06 09:00, replied 15:00
        ("协办工单", "N2", "孙磊", 1.0, "已补办"),  # due 11-07 18:00, done 11-08 09:00
        ("处理后回访", "N2", "孙磊", 19.0, "未办"),  # resolved Sun 11-08, due Wed 11-11
    ]
