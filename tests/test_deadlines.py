"""Deadline rules of DOMAIN.md through real workbooks: due, assignee and the overdue/due-soon boundary."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scripts.deadlines import Due, compute_due
from scripts.schema import load_schemas
from scripts.tables import Record
from scripts.workcal import WorkCalendar
from tests.helpers import COMPLAINT_HEADERS, SHANGHAI, VISITOR_HEADERS, check_files, complaint, visitor

D = dt.datetime
SCHEMAS = load_schemas()
CAL = WorkCalendar()


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def deadline_findings(result):
    return [(f.rule, f.location, f.due.isoformat() if f.due else None, f.assignee)
            for f in result.findings if f.rule.endswith(("_overdue", "_due_soon"))]


VISIT = dict(来访方式="来店", 客户姓名="陈先生", 联系电话=13812345678, 信息来源="网络", 销售顾问="张伟", 是否建卡="是")


@pytest.mark.parametrize("visit_at, now, expected", [
    ("2026-11-25 10:00", "2026-11-27 09:00", None),  # due Mon 11-30
    ("2026-11-24 10:00", "2026-11-27 09:00", "followup_due_soon"),  # due today (Fri)
    ("2026-11-24 10:00", "2026-11-27 23:59", "followup_due_soon"),
    ("2026-11-24 10:00", "2026-11-28 00:00", "followup_overdue"),
    ("2026-11-20", "2026-11-26 09:00", "followup_overdue"),  # date only: due Wed 11-25
    ("2026-09-30 18:00", "2026-10-09 09:00", None),  # National Day: due the make-up Saturday 10-10
    ("2026-09-30 18:00", "2026-10-10 09:00", "followup_due_soon"),
    ("2026-09-30 18:00", "2026-10-11 09:00", "followup_overdue"),
])
def test_followup_three_working_days_after_the_visit(tmp_path, visit_at, now, expected):
    result = check_files(tmp_path, {"a.xlsx": {"来店": [VISITOR_HEADERS, visitor(登记时间=visit_at, **VISIT)]}}, now=at(now))
    found = deadline_findings(result)
    assert [f[0] for f in found] == ([expected] if expected else [])
    if found:
        assert found[0][3] == "张伟" and found[0][2].endswith("T23:59:59+08:00")


@pytest.mark.parametrize("extra, done", [
    (dict(跟进状态="已成交"), True), (dict(跟进状态="已战败"), True), (dict(跟进状态="无效"), True),
    (dict(跟进状态="跟进中"), False), (dict(联系电话=None, 是否建卡=None, 客户不留电话="是"), True),
    (dict(下次跟进日期="2026-11-26", 最近跟进日期="2026-11-26"), True),
    (dict(下次跟进日期="2026-11-26", 最近跟进日期="2026-11-25"), False),
    # DOMAIN convention 5 overrules the earlier "only the status closes it": without a next date, any
    # follow-up on or after the visit date completes the default deadline; one before it does not.
    (dict(最近跟进日期="2026-11-26"), True), (dict(最近跟进日期="2026-11-20"), True),
    (dict(最近跟进日期="2026-11-19"), False),
])
def test_followup_done_when(tmp_path, extra, done):
    row = visitor(**{"登记时间": "2026-11-20 10:00", **VISIT, **extra})
    result = check_files(tmp_path, {"a.xlsx": {"来店": [VISITOR_HEADERS, row]}})
    assert bool(deadline_findings(result)) is not done


def test_next_followup_date_replaces_the_default(tmp_path):
    row = visitor(登记时间="2026-11-26 10:00", 下次跟进日期="2026-11-26", **VISIT)
    (found,) = deadline_findings(check_files(tmp_path, {"a.xlsx": {"来店": [VISITOR_HEADERS, row]}}))
    assert found == ("followup_overdue", "来店!L2", "2026-11-26T23:59:59+08:00", "张伟")  # the cell to fill


def test_an_unreadable_date_gives_no_deadline_only_the_validation_finding(tmp_path):
    row = visitor(登记时间="2026-13-40", **VISIT)
    result = check_files(tmp_path, {"a.xlsx": {"来店": [VISITOR_HEADERS, row]}})
    assert [f.rule for f in result.findings] == ["invalid_value"]


COMPLAINT = dict(投诉编号="TS-1", 投诉渠道="电话", 客户姓名="钱先生", 联系电话=13811112222, 投诉内容="异响",
                 责任人="赵敏", 处理状态="处理中")


@pytest.mark.parametrize("received, now, expected", [
    ("2026-11-26 08:00", "2026-11-27 03:59", None),
    ("2026-11-26 08:00", "2026-11-27 04:00", "complaint_reply_due_soon"),
    ("2026-11-26 08:00", "2026-11-27 08:00", "complaint_reply_due_soon"),
    ("2026-11-26 08:00", "2026-11-27 08:00:01", "complaint_reply_overdue"),
    ("2026-11-27 18:00", "2026-11-28 18:01", "complaint_reply_overdue"),  # wall clock: weekends count
    # DOMAIN convention 2 overrules "date only = 00:00": 24 h from a date alone ends with the next day.
    ("2026-11-26", "2026-11-27 00:01", None),
    ("2026-11-26", "2026-11-27 20:00", "complaint_reply_due_soon"),
    ("2026-11-26", "2026-11-28 00:00", "complaint_reply_overdue"),
])
def test_complaint_reply_within_24_hours(tmp_path, received, now, expected):
    row = complaint(受理时间=received, **COMPLAINT)
    found = [f for f in deadline_findings(check_files(tmp_path, {"a.xlsx": {"投诉": [COMPLAINT_HEADERS, row]}}, now=at(now)))]
    assert [f[0] for f in found] == ([expected] if expected else [])
    if found:
        assert found[0][1] == "投诉!M2" and found[0][3] == "赵敏"
        start = dt.datetime.fromisoformat(received)
        due = (start + dt.timedelta(hours=24) if " " in received
               else start.replace(hour=23, minute=59, second=59) + dt.timedelta(days=1))
        assert found[0][2] == due.replace(tzinfo=SHANGHAI).isoformat()


@pytest.mark.parametrize("extra", [dict(首次回复时间="2026-11-26 09:00"), dict(解决时间="2026-11-26 12:00", 处理结果="ok"),
                                   dict(处理状态="已解决", 解决时间="2026-11-26 12:00", 处理结果="ok")])
def test_complaint_reply_done(tmp_path, extra):
    row = complaint(**{**COMPLAINT, "受理时间": "2026-11-25 08:00", **extra})
    found = deadline_findings(check_files(tmp_path, {"a.xlsx": {"投诉": [COMPLAINT_HEADERS, row]}}))
    assert not [f for f in found if f[0].startswith("complaint_reply")]


def test_department_work_order_and_complaint_callback(tmp_path):
    rows = [
        complaint(**{**COMPLAINT, "投诉编号": "A", "受理时间": "2026-11-26 08:00", "首次回复时间": "2026-11-26 09:00",
                     "工单时限": "2026-11-27 12:00"}),
        complaint(**{**COMPLAINT, "投诉编号": "B", "受理时间": "2026-11-23 08:00", "首次回复时间": "2026-11-23 09:00",
                     "工单时限": "2026-11-25 18:00"}),
        complaint(**{**COMPLAINT, "投诉编号": "C", "受理时间": "2026-11-20 08:00", "首次回复时间": "2026-11-20 09:00",
                     "处理状态": "已解决", "解决时间": "2026-11-21 15:00", "处理结果": "ok"}),
        complaint(**{**COMPLAINT, "投诉编号": "E", "受理时间": "2026-11-20 08:00", "首次回复时间": "2026-11-20 09:00",
                     "处理状态": "已解决", "解决时间": "2026-11-24 15:00", "处理结果": "ok"}),
    ]
    found = deadline_findings(check_files(tmp_path, {"a.xlsx": {"投诉": [COMPLAINT_HEADERS, *rows]}}))
    assert found == [
        ("dept_order_due_soon", "投诉!N2", "2026-11-27T12:00:00+08:00", "赵敏"),
        ("dept_order_overdue", "投诉!N3", "2026-11-25T18:00:00+08:00", "赵敏"),
        ("complaint_callback_overdue", "投诉!P4", "2026-11-25T23:59:59+08:00", "赵敏"),  # resolved Sat: Mon, Tue, Wed
        ("complaint_callback_due_soon", "投诉!P5", "2026-11-27T23:59:59+08:00", "赵敏"),
    ]


DELIVERY_HEADERS = ["客户姓名", "联系电话", "车型", "交车时间", "销售顾问", "感谢电话时间", "回访时间", "是否会员"]


@pytest.mark.parametrize("delivered, thanked, now, expected", [
    ("2026-11-27 08:00", None, "2026-11-27 08:44", []),
    ("2026-11-27 08:00", None, "2026-11-27 08:45", ["thank_you_call_due_soon"]),
    ("2026-11-27 08:00", None, "2026-11-27 09:00", ["thank_you_call_due_soon"]),
    ("2026-11-27 08:00", None, "2026-11-27 09:01", ["thank_you_call_overdue"]),
    ("2026-11-27 08:00", "2026-11-27 08:30", "2026-11-27 10:00", []),
    ("2026-11-24 10:00", "2026-11-24 10:30", "2026-11-27 10:00", ["delivery_callback_due_soon"]),
    ("2026-11-23 10:00", "2026-11-23 10:30", "2026-11-27 10:00", ["delivery_callback_overdue"]),
])
def test_delivery_thank_you_call_and_callback(tmp_path, delivered, thanked, now, expected):
    row = ["林先生", 13122223333, "途观L", delivered, "张伟", thanked, None, "是"]
    found = deadline_findings(check_files(tmp_path, {"a.xlsx": {"交车": [DELIVERY_HEADERS, row]}}, now=at(now)))
    assert [f[0] for f in found] == expected


CALLBACK_HEADERS = ["客户姓名", "联系电话", "回访时间", "回访方式", "回访结果", "回访人", "下次回访日期"]


def test_callback_done_by_a_later_row_for_the_same_phone(tmp_path):
    rows = [
        ["宋先生", 13900003333, "2026-11-18 10:00", "电话", "满意", "赵敏", "2026-11-24"],
        ["宋先生", "139 0000 3333", "2026-11-24 15:00", "电话", "满意", "赵敏", None],
        ["唐女士", 13900001111, "2026-11-20 10:00", "电话", "满意", "赵敏", "2026-11-26"],
        ["唐女士", 13900001111, "2026-11-25 10:00", "电话", "满意", "赵敏", None],  # before the date: not done
        ["许女士", 13900002222, "2026-11-24 10:30", "微信", "满意", "赵敏", "2026-11-27"],
    ]
    found = deadline_findings(check_files(tmp_path, {"a.xlsx": {"回访": [CALLBACK_HEADERS, *rows]}}))
    assert found == [("callback_overdue", "回访!G4", "2026-11-26T23:59:59+08:00", "赵敏"),
                     ("callback_due_soon", "回访!G6", "2026-11-27T23:59:59+08:00", "赵敏")]


def test_unknown_staff_rows_keep_their_deadlines(tmp_path):
    row = visitor(登记时间="2026-11-20 10:00", **{**VISIT, "销售顾问": "小明"})
    result = check_files(tmp_path, {"a.xlsx": {"来店": [VISITOR_HEADERS, row]}})
    assert sorted((f.rule, f.assignee) for f in result.findings) == [("followup_overdue", "小明"), ("unknown_staff", "小明")]


def test_deadline_length_is_data(tmp_path):
    text = (Path(__file__).parents[1] / "sheets_schema" / "visitor_log.yaml").read_text(encoding="utf-8")
    own = tmp_path / "schemas"
    own.mkdir()
    (own / "visitor_log.yaml").write_text(text.replace("after: {working_days: 3}", "after: {working_days: 1}"), encoding="utf-8")
    row = visitor(登记时间="2026-11-25 10:00", **VISIT)
    result = check_files(tmp_path, {"a.xlsx": {"来店": [VISITOR_HEADERS, row]}}, extra={"schemas": "schemas"})
    assert deadline_findings(result) == [("followup_overdue", "来店!L2", "2026-11-26T23:59:59+08:00", "张伟")]


def test_calendar_closures_from_config_move_deadlines(tmp_path):
    row = visitor(登记时间="2026-11-24 10:00", **VISIT)
    result = check_files(tmp_path, {"a.xlsx": {"来店": [VISITOR_HEADERS, row]}},
                         extra={"calendar": {"extra_holidays": ["2026-11-26"]}})
    assert deadline_findings(result) == []  # due moves from Fri 11-27 to Mon 11-30


def test_times_are_in_the_configured_zone(tmp_path):
    row = complaint(受理时间="2026-11-26 08:00", **COMPLAINT)
    result = check_files(tmp_path, {"a.xlsx": {"投诉": [COMPLAINT_HEADERS, row]}}, extra={"timezone": "Europe/Berlin"},
                         now=dt.datetime(2026, 11, 27, 8, 30, tzinfo=dt.timezone.utc))
    (found,) = deadline_findings(result)
    assert found[0] == "complaint_reply_overdue" and found[2] == "2026-11-27T08:00:00+01:00"


@settings(max_examples=100, deadline=None)
@given(start=st.datetimes(min_value=D(2026, 1, 1), max_value=D(2026, 12, 20)))
def test_day_deadlines_end_on_a_working_day_at_midnight(start):
    rule = SCHEMAS["visitor_log"].deadlines[0]
    record = Record(2)
    record["visit_at"] = start
    due = compute_due(rule, record, CAL, SHANGHAI)
    assert isinstance(due, Due) and CAL.is_workday(due.day) and due.at.time() == dt.time(23, 59, 59)
    assert not due.is_overdue(due.at) and due.is_overdue(due.at + dt.timedelta(seconds=1))


def test_result_does_not_depend_on_the_machine_time_zone():
    outputs = set()
    for zone in ("UTC", "America/Los_Angeles", "Asia/Tokyo", "Pacific/Kiritimati"):
        env = {**os.environ, "TZ": zone}
        proc = subprocess.run([sys.executable, "run.py", "check", "--config", str(Path("demo/huifang.yaml").resolve()),
                               "--now", "2026-11-27T09:00", "--format", "json"],
                              cwd=Path(__file__).parents[1], env=env, capture_output=True, text=True)
        assert proc.returncode == 1, proc.stderr
        outputs.add(proc.stdout)
    assert len(outputs) == 1


def test_a_year_without_holiday_data_is_said_once_and_still_computed(tmp_path):
    rows = [visitor(登记时间=f"2031-03-0{d} 10:00", **VISIT) for d in (3, 4, 5)]
    result = check_files(tmp_path, {"a.xlsx": {"来店": [VISITOR_HEADERS, *rows]}}, now=at("2031-03-10 09:00"))
    assert len(result.notices) == 1 and "2031" in result.notices[0]
    assert [f[2] for f in deadline_findings(result)] == [  # weekends only: Mon 3rd -> Thu 6th, ...
        "2031-03-06T23:59:59+08:00", "2031-03-07T23:59:59+08:00", "2031-03-10T23:59:59+08:00"]
