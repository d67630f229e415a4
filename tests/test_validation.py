"""Validation rules of DOMAIN.md, one real workbook per case."""

import datetime as dt

import pytest

from tests.helpers import COMPLAINT_HEADERS, NOW, VISITOR_HEADERS, check_files, complaint, rules_at, visitor

D = dt.datetime
GOOD_VISIT = dict(登记时间=D(2026, 11, 26, 10), 来访方式="来店", 客户姓名="陈先生", 联系电话=13812345678,
                  信息来源="网络", 销售顾问="张伟", 是否建卡="是")


def check_visits(tmp_path, *rows, headers=VISITOR_HEADERS, **kw):
    return check_files(tmp_path, {"展厅.xlsx": {"来店登记": [headers, *rows]}}, **kw)


def test_a_complete_row_has_no_findings(tmp_path):
    assert check_visits(tmp_path, visitor(**GOOD_VISIT)).findings == []


@pytest.mark.parametrize("blank, cell", [("登记时间", "A2"), ("来访方式", "B2"), ("客户姓名", "C2"), ("联系电话", "D2"),
                                         ("信息来源", "F2"), ("销售顾问", "I2")])
def test_each_empty_mandatory_cell_is_one_finding_at_its_cell(tmp_path, blank, cell):
    values = {**GOOD_VISIT, blank: None}
    if blank == "联系电话":
        values["是否建卡"] = None
    result = check_visits(tmp_path, visitor(**values))
    assert rules_at(result) == [("missing_required", f"来店登记!{cell}")]
    (finding,) = result.findings
    assert finding.column == {"登记时间": "visit_at", "来访方式": "channel", "客户姓名": "customer_name",
                              "联系电话": "phone", "信息来源": "info_source", "销售顾问": "consultant"}[blank]
    assert finding.row == 2 and finding.severity == "error"


def test_no_phone_is_fine_when_the_customer_declined_to_leave_one(tmp_path):
    result = check_visits(tmp_path, visitor(**{**GOOD_VISIT, "联系电话": None, "是否建卡": None, "客户不留电话": "是"}))
    assert result.findings == []


def test_a_phone_without_a_customer_card_is_card_not_created(tmp_path):
    result = check_visits(tmp_path, visitor(**{**GOOD_VISIT, "是否建卡": "否"}), visitor(**{**GOOD_VISIT, "是否建卡": None}))
    assert rules_at(result) == [("card_not_created", "来店登记!J2"), ("card_not_created", "来店登记!J3")]


def test_unreadable_values_are_invalid_not_missing(tmp_path):
    result = check_visits(tmp_path, visitor(**{**GOOD_VISIT, "登记时间": "上周三", "联系电话": "1381234", "意向级别": "X",
                                              "是否建卡": "也许"}))
    assert rules_at(result) == [("invalid_value", "来店登记!A2"), ("invalid_value", "来店登记!D2"),
                                ("invalid_value", "来店登记!H2"), ("invalid_value", "来店登记!J2")]
    assert all(f.assignee == "张伟" for f in result.findings)


def test_a_missing_required_column_is_one_finding_for_the_sheet(tmp_path):
    headers = [h for h in VISITOR_HEADERS if h != "信息来源"]
    rows = [[v for h, v in zip(VISITOR_HEADERS, visitor(**GOOD_VISIT)) if h != "信息来源"] for _ in range(3)]
    result = check_visits(tmp_path, *rows, headers=headers)
    assert [(f.rule, f.column, f.row, f.cell) for f in result.findings] == [("missing_column", "info_source", 1, None)]


def test_blank_rows_in_the_middle_are_skipped(tmp_path):
    result = check_visits(tmp_path, visitor(**GOOD_VISIT), [None] * 14, ["", " ", None], visitor(**GOOD_VISIT))
    assert result.findings == [] and [r.row for r in result.tables[0].records] == [2, 5]


def test_unknown_staff_is_a_warning_and_keeps_the_assignee(tmp_path):
    result = check_visits(tmp_path, visitor(**{**GOOD_VISIT, "销售顾问": "小明"}))
    assert [(f.rule, f.severity, f.assignee, f.location) for f in result.findings] == [
        ("unknown_staff", "warning", "小明", "来店登记!I2")]


def test_staff_names_match_across_scripts(tmp_path):
    assert check_visits(tmp_path, visitor(**{**GOOD_VISIT, "销售顾问": "張偉"})).findings == []


def test_without_a_staff_directory_names_are_not_judged(tmp_path):
    assert check_visits(tmp_path, visitor(**{**GOOD_VISIT, "销售顾问": "小明"}), staff=None).findings == []


def test_staff_worksheet_is_the_directory(tmp_path):
    staff_sheet = [["姓名", "邮箱", "角色", "上级"], ["小明", "xm@example.com", "销售顾问", "李娜"], ["李娜", "ln@example.com", "经理", None]]
    result = check_files(tmp_path, {"展厅.xlsx": {"来店登记": [VISITOR_HEADERS, visitor(**{**GOOD_VISIT, "销售顾问": "小明"})],
                                                  "员工": staff_sheet}}, staff=None)
    assert result.findings == []
    assert result.staff.get("小明").supervisor == "李娜"


def test_staff_sheet_checks_email_and_supervisor(tmp_path):
    staff_sheet = [["姓名", "邮箱", "角色", "上级"], ["小明", "not-an-email", "销售顾问", "老板"]]
    result = check_files(tmp_path, {"a.xlsx": {"员工": staff_sheet}}, staff=None)
    assert rules_at(result) == [("invalid_value", "员工!B2"), ("unknown_staff", "员工!D2")]


def test_test_drive_without_licence(tmp_path):
    headers = ["客户姓名", "年龄", "职业", "驾照号", "联系电话", "联系地址", "试驾日期", "客户签名", "销售顾问", "顾问签名"]
    full = ["陈先生", 35, "教师", "310101199001011234", 13812345678, "上海", D(2026, 11, 22), "陈", "张伟", "张伟"]
    no_licence = full[:3] + [None] + full[4:]
    too_young = full[:1] + [16] + full[2:]
    result = check_files(tmp_path, {"a.xlsx": {"试驾": [headers, full, no_licence, too_young]}})
    assert rules_at(result) == [("invalid_value", "试驾!B4"), ("test_drive_without_license", "试驾!D3")]


GOOD_COMPLAINT = dict(投诉编号="TS-1", 受理时间=D(2026, 11, 20, 10), 投诉渠道="电话", 客户姓名="钱先生",
                      联系电话=13811112222, 投诉内容="异响", 责任人="赵敏", 处理状态="已关闭",
                      首次回复时间=D(2026, 11, 20, 11), 解决时间=D(2026, 11, 21, 15), 处理结果="已修复",
                      回访时间=D(2026, 11, 23, 10), 客户满意度="满意")


def check_complaints(tmp_path, *rows):
    return check_files(tmp_path, {"客服.xlsx": {"投诉": [COMPLAINT_HEADERS, *rows]}})


def test_closed_complaint_needs_resolution_callback_and_satisfaction(tmp_path):
    result = check_complaints(tmp_path, complaint(**{**GOOD_COMPLAINT, "处理结果": None, "回访时间": None, "客户满意度": None}))
    assert rules_at(result) == [("complaint_callback_overdue", "投诉!P2"), ("missing_required", "投诉!O2"),
                                ("missing_required", "投诉!P2")]


def test_satisfaction_is_required_once_the_callback_is_made(tmp_path):
    values = {**GOOD_COMPLAINT, "处理状态": "处理中", "解决时间": None, "处理结果": None, "客户满意度": None}
    assert rules_at(check_complaints(tmp_path, complaint(**values))) == [("missing_required", "投诉!Q2")]


def test_duplicate_complaint_ids_flag_each_later_row(tmp_path):
    result = check_complaints(tmp_path, *(complaint(**{**GOOD_COMPLAINT, "联系电话": 13811112220 + i}) for i in range(3)))
    assert rules_at(result) == [("duplicate_id", "投诉!A3"), ("duplicate_id", "投诉!A4")]
    assert "第 2 行" in result.findings[0].message


@pytest.mark.parametrize("days_between, repeat", [(29, True), (30, True), (31, False)])
def test_repeat_complainant_within_thirty_days(tmp_path, days_between, repeat):
    at = GOOD_COMPLAINT["受理时间"]
    later = complaint(**{**GOOD_COMPLAINT, "投诉编号": "TS-2", "受理时间": at + dt.timedelta(days=days_between)})
    other_customer = complaint(**{**GOOD_COMPLAINT, "投诉编号": "TS-3", "联系电话": 13900009999})
    result = check_complaints(tmp_path, later, complaint(**GOOD_COMPLAINT), other_customer)
    found = [(f.rule, f.location) for f in result.findings if f.rule == "repeat_complainant"]
    assert found == ([("repeat_complainant", "投诉!E2")] if repeat else [])  # on the later complaint
    if repeat:
        assert "138****2222" in result.findings[0].message and "13811112222" not in result.findings[0].message


@pytest.mark.parametrize("at, quiet", [
    ("2026-11-23 10:00", False), ("2026-11-23 12:00", True), ("2026-11-23 13:59", True), ("2026-11-23 14:00", False),
    ("2026-11-23 20:59", False), ("2026-11-23 21:00", True), ("2026-11-23 08:59", True), ("2026-11-23 09:00", False),
    ("2026-11-23", False),  # a date alone has no time to judge
])
def test_callback_in_quiet_hours(tmp_path, at, quiet):
    headers = ["客户姓名", "联系电话", "回访时间", "回访方式", "回访结果", "回访人"]
    result = check_files(tmp_path, {"a.xlsx": {"回访": [headers, ["唐女士", 13900001111, at, "电话", "满意", "赵敏"]]}})
    assert rules_at(result) == ([("callback_in_quiet_hours", "回访!C2")] if quiet else [])


def test_quiet_hours_come_from_the_config(tmp_path):
    headers = ["客户姓名", "联系电话", "回访时间", "回访方式", "回访结果", "回访人"]
    result = check_files(tmp_path, {"a.xlsx": {"回访": [headers, ["唐女士", 13900001111, "2026-11-23 10:30", "电话", "满意", "赵敏"]]}},
                         extra={"quiet_hours": ["10:00-11:00"]})
    assert rules_at(result) == [("callback_in_quiet_hours", "回访!C2")]


def test_feedback_is_required_for_a_poor_result(tmp_path):
    headers = ["客户姓名", "联系电话", "回访时间", "回访方式", "回访结果", "客户意见", "回访人"]
    result = check_files(tmp_path, {"a.xlsx": {"回访": [headers, ["唐女士", 13900001111, "2026-11-23 10:30", "电话", "不满意", None, "赵敏"]]}})
    assert rules_at(result) == [("missing_required", "回访!F2")]


def test_unmatched_sheets_are_ignored(tmp_path):
    result = check_files(tmp_path, {"a.xlsx": {"汇总": [["月份", "成交"], ["2026-10", 48]], "来店登记": [VISITOR_HEADERS, visitor(**GOOD_VISIT)]}})
    assert [s.table for s in result.sources[0].sheets] == [None, "visitor_log"]
    assert result.ignored == ["a.xlsx: 汇总"]


def test_assignee_is_the_rows_own_staff_member(tmp_path):
    result = check_visits(tmp_path, visitor(**{**GOOD_VISIT, "信息来源": None, "销售顾问": "王芳"}))
    assert [f.assignee for f in result.findings] == ["王芳"]


def test_a_mistyped_phone_gets_its_finding_and_no_card_finding(tmp_path):
    # DOMAIN convention 6 overrules the earlier "a mistyped phone still needs a card": no readable phone,
    # no card_not_created (and no follow-up deadline).
    result = check_visits(tmp_path, visitor(**{**GOOD_VISIT, "联系电话": "138-1234", "是否建卡": "否"}))
    assert rules_at(result) == [("invalid_value", "来店登记!D2")]


def test_an_empty_status_means_following_up(tmp_path):
    result = check_visits(tmp_path, visitor(**GOOD_VISIT))
    assert result.tables[0].records[0]["status"] == "跟进中"


def test_a_licence_number_never_appears_in_a_message(tmp_path):
    headers = ["客户姓名", "年龄", "职业", "驾照号", "联系电话", "联系地址", "试驾日期", "客户签名", "销售顾问", "顾问签名"]
    import openpyxl

    from tests.helpers import write_xlsx

    row = ["陈先生", 35, "教师", "#REF!", 13812345678, "上海", D(2026, 11, 22), "陈", "张伟", "张伟"]
    path = write_xlsx(tmp_path / "a.xlsx", {"试驾": [headers, row]})
    wb = openpyxl.load_workbook(path)
    wb["试驾"]["D2"].data_type = "s"  # the text of a broken formula, pasted as a value
    wb.save(path)
    from scripts.check import run_check
    from scripts.config import config_for_files

    result = run_check(config_for_files([path]), NOW)
    assert [(f.rule, f.location) for f in result.findings] == [("invalid_value", "试驾!D2")]
    assert "#REF!" not in result.findings[0].message and "无法识别" in result.findings[0].message
