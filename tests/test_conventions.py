"""DOMAIN.md "How stores really fill in the sheets": one table test per convention."""

from __future__ import annotations

import opencc
import pytest

from scripts.textnorm import fold


@pytest.mark.parametrize("text", [
    "陳曉燕 聯繫電話 來店時間 處理狀態 已購他牌 回覆 崗位 戰敗 訂車日期 企業微信賬號",
    "客戶滿意度 協辦部門 工單時限 試乘試駕登記表 駕駛證號 年齡 職業 聯系地址 顧問簽字 三日回訪",
])
def test_fold_is_opencc_t2s_character_by_character(text):
    # 回覆 -> 回复 is one of OpenCC's phrase rules (覆 alone stays 覆): a 1->1 table cannot follow it,
    # so the schemas list 回覆 spellings as aliases.
    text = text.replace("回覆", "")
    expected = opencc.OpenCC("t2s").convert(text).replace(" ", "")
    assert fold(text) == expected.casefold()


def test_fold_matches_traditional_name_to_simplified_staff_list():
    assert fold("陳曉燕") == fold("陈晓燕")
    assert fold("劉婷") == fold("刘婷")
    assert fold("鄧麗君") != fold("邓丽")


# ---------------------------------------------------------------------------------------------------
# Workbooks written by openpyxl, in Simplified and (converted by OpenCC) Traditional characters.

import datetime as dt  # noqa: E402
from typing import Any, Sequence  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

from tests.helpers import NOW, STAFF, check_files  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
D, T = dt.datetime, dt.time
_S2T = opencc.OpenCC("s2t")
STAFF_CX = [*STAFF, {"name": "陈晓燕", "email": "cxy@example.com", "role": "销售顾问", "supervisor": "李娜"}]
SCRIPTS = ["simplified", "traditional"]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SH)


def to_script(value: Any, script: str) -> Any:
    return _S2T.convert(value) if script == "traditional" and isinstance(value, str) else value


def run(tmp_path, headers: Sequence[str], rows: Sequence[Sequence[Any]], *, script: str = "simplified",
        now: dt.datetime = NOW, title: str = "表", top: Sequence[Sequence[Any]] = (), **kw):
    sheet = [[to_script(v, script) for v in r] for r in (*top, headers, *rows)]
    return check_files(tmp_path, {"店.xlsx": {title: sheet}}, now=now, staff=kw.pop("staff", STAFF_CX), **kw)


def found(result, *, info: bool = True) -> list[tuple[str, str]]:
    return sorted((f.rule, f.cell or f.location) for f in result.findings if info or f.severity != "info")


# 1. Date and time in two columns -------------------------------------------------------------------
C_HEAD = ["投诉编号", "投诉日期", "投诉时间", "投诉渠道", "客户姓名", "联系电话", "投诉内容", "责任人", "处理状态"]


def complaint_row(day: Any, clock: Any) -> list[Any]:
    return ["T1", day, clock, "电话", "钱先生", 13811112222, "异响", "赵敏", "处理中"]


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("day, clock, expected", [
    # received 11-26 11:00: due 11-27 11:00, inside the 4 h window at 09:00 (00:00 would make it overdue)
    ("2026-11-26", "11:00", [("complaint_reply_due_soon", "B2")]),
    (D(2026, 11, 26), T(11, 0), [("complaint_reply_due_soon", "B2")]),
    (D(2026, 11, 26), 11 / 24, [("complaint_reply_due_soon", "B2")]),
    ("2026/11/26", "11时", [("complaint_reply_due_soon", "B2")]),
    ("2026-11-26", "上午11:00", [("complaint_reply_due_soon", "B2")]),
    ("11-26", "11:00", [("complaint_reply_due_soon", "B2")]),  # no year: nearest to now
    # the time column holds the full date-time: it wins, findings point at it
    ("2026-11-20", "2026-11-26 11:00", [("complaint_reply_due_soon", "C2")]),
    ("2026-11-20", "1999-11-26 11:00", [("invalid_value", "C2")]),  # implausible, in the time column
    ("2026-11-26", "4:00", [("complaint_reply_overdue", "B2")]),
    # only the time is unreadable: the finding is at the time cell
    ("2026-11-26", "晚些", [("invalid_value", "C2")]),
    ("前天", "11:00", [("invalid_value", "B2")]),
    (None, "11:00", [("missing_required", "B2")]),
])
def test_a_date_and_a_time_column_make_one_value(tmp_path, script, day, clock, expected):
    result = run(tmp_path, C_HEAD, [complaint_row(day, clock)], script=script)
    assert found(result) == expected
    assert result.sources[0].sheets[0].pairs == [("received_at", "B", "C")]
    assert result.sources[0].sheets[0].columns["B"] == "received_at.date"
    for f in result.findings:  # a finding at the time cell names the time column
        assert f.header == ("投诉时间" if f.cell == "C2" else "投诉日期") or script == "traditional"
        if f.rule == "invalid_value":
            assert f.message.startswith(to_script("投诉时间" if f.cell == "C2" else "投诉日期", script))
            assert f"「{day if f.cell == 'B2' else clock}」" in f.message


D_HEAD = ["客户姓名", "联系电话", "车型", "交车日期", "交车时间", "销售顾问", "感谢电话", "三日回访"]


@pytest.mark.parametrize("now, expected", [
    ("2026-11-27 09:00", []),  # delivered 08:30, call due 09:30 (ignoring the time: due end of day)
    ("2026-11-27 09:20", [("thank_you_call_due_soon", "G2")]),
    ("2026-11-27 09:31", [("thank_you_call_overdue", "G2")]),
])
def test_delivery_time_in_its_own_column_counts(tmp_path, now, expected):
    row = ["林先生", 13122223333, "途观L", D(2026, 11, 27), T(8, 30), "张伟", None, None]
    assert found(run(tmp_path, D_HEAD, [row], now=at(now))) == expected


def test_config_columns_map_a_date_and_a_time_column(tmp_path):
    head = ["编号", "进店日子", "进店时刻", "来访方式", "顾客", "联系电话", "信息来源", "销售顾问", "是否建卡"]
    row = [1, "2026-11-26", "18:00", "来店", "陈先生", 13812345678, "网络", "张伟", "是"]
    extra = {"sources": [{"name": "店.xlsx", "path": "店.xlsx", "columns": {
        "进店日子": "visit_at.date", "进店时刻": "visit_at.time", "顾客": "customer_name"}}]}
    from tests.helpers import write_xlsx
    write_xlsx(tmp_path / "店.xlsx", {"来店": [head, row]})
    from scripts.check import run_check
    from scripts.config import parse_config
    config = parse_config({**extra, "staff": STAFF_CX}, tmp_path / "h.yaml", tmp_path)
    result = run_check(config, at("2026-12-03 09:00"))  # 3 working days after 11-26: 12-01
    assert found(result) == [("followup_overdue", "B2")]
    sheet = result.sources[0].sheets[0]
    assert sheet.pairs == [("visit_at", "B", "C")] and sheet.columns["E"] == "customer_name"
    assert sheet.columns["A"] is None


def test_config_columns_reject_a_field_no_table_has(tmp_path):
    from scripts.errors import ConfigError
    with pytest.raises(ConfigError, match="no field 'visit_time'.*visit_at"):
        run(tmp_path, C_HEAD, [], extra={"sources": [{"name": "店.xlsx", "path": "店.xlsx",
                                                      "columns": {"进店": "visit_time"}}]})


# 2. A start with no time -------------------------------------------------------------------------------
@pytest.mark.parametrize("delivered, now, expected", [
    ("2026-11-26", "2026-11-26 20:00", []),  # 1 h from a date alone: the end of the same day
    ("2026-11-26", "2026-11-26 23:50", [("thank_you_call_due_soon", "E2")]),
    ("2026-11-26", "2026-11-27 00:00:01", [("thank_you_call_overdue", "E2")]),
    (D(2026, 11, 26), "2026-11-26 01:30", []),  # never counted from 00:00
])
def test_an_hour_deadline_from_a_date_alone_ends_with_the_day(tmp_path, delivered, now, expected):
    head = ["客户姓名", "联系电话", "交车日期", "销售顾问", "感谢电话时间", "回访时间"]
    row = ["林先生", 13122223333, delivered, "张伟", None, "已回访"]
    assert found(run(tmp_path, head, [row], now=at(now))) == expected


def test_a_work_order_date_alone_is_due_at_the_end_of_that_day(tmp_path):
    head = [*C_HEAD, "协办部门", "工单时限", "首次回复时间"]
    row = [*complaint_row("2026-11-20", "10:00"), "售后", "2026-11-27", "已回复"]
    assert found(run(tmp_path, head, [row], now=at("2026-11-27 21:00"))) == [("dept_order_due_soon", "K2")]
    assert found(run(tmp_path, head, [row], now=at("2026-11-27 12:00"))) == []


# 4. "Done" written as text ---------------------------------------------------------------------------
DH = ["客户姓名", "联系电话", "交车时间", "销售顾问", "感谢电话时间", "回访时间"]


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("mark, expected", [
    ("已打", []), ("√", []), ("OK", []), ("已联繫", []), ("11-24 已回访", []), ("11/24 10:40 已打", []),
    (D(2026, 11, 24, 13, 0), []),
    ("未打", [("thank_you_call_overdue", "E2")]), ("×", [("thank_you_call_overdue", "E2")]),
    ("待定", [("thank_you_call_overdue", "E2")]), ("-", [("thank_you_call_overdue", "E2")]),
    ("打了两次没人接", [("unclear_done_mark", "E2")]),
    (True, []), (False, [("thank_you_call_overdue", "E2")]), (T(10, 40), []), ("10:40", []),
])
def test_a_done_column_reads_marks_and_dated_notes(tmp_path, script, mark, expected):
    row = ["林先生", 13122223333, D(2026, 11, 24, 10, 0), "张伟", mark, "已回访"]
    result = run(tmp_path, DH, [row], script=script)
    assert found(result) == expected
    sheet = result.sources[0].sheets[0]
    clear_marks = ("已打", "√", "OK", "已联繫", "打了两次没人接", True, T(10, 40), "10:40")
    assert sheet.done_unknown == (1 if any(mark == m and type(mark) is type(m) for m in clear_marks) else 0) + 1


@pytest.mark.parametrize("callback, expected", [
    ("已回访", []), ("2026-11-25", []), ("11/25已回访，满意", []),  # no time of day: not judged
    ("2026-11-25 12:30", [("callback_in_quiet_hours", "F2")]), ("11-25 22:10 已回访", [("callback_in_quiet_hours", "F2")]),
    ("2026-11-25 10:30", []),
])
def test_quiet_hours_judge_only_marks_with_a_time(tmp_path, callback, expected):
    row = ["林先生", 13122223333, D(2026, 11, 20, 10, 0), "张伟", "已打", callback]
    assert found(run(tmp_path, DH, [row])) == expected


def test_done_marks_in_records_keep_their_kind(tmp_path):
    from scripts.coerce import DoneMark
    rows = [["林先生", 13122223333, D(2026, 11, 20, 10), "张伟", m, None]
            for m in ("已打", "11-24 已回访", "11-24 10:40 已打", "未打", "看情况")]
    table = run(tmp_path, DH, rows).tables[0]
    values = [r.get("thank_you_call_at") for r in table.records]
    assert values[0] == DoneMark("已打") and values[0] and not values[0].unclear
    assert values[1] == dt.date(2026, 11, 24) and type(values[1]) is dt.date
    assert values[2] == D(2026, 11, 24, 10, 40)
    assert values[3] is None
    assert values[4] == DoneMark("看情况", unclear=True)


def test_a_negative_mark_is_empty_for_required_when(tmp_path):
    head = [*C_HEAD, "首次回复时间", "解决时间", "处理结果", "回访时间", "客户满意度"]
    row = [*complaint_row("2026-11-20", "10:00"), "已回复", "2026-11-21 10:00", "更换零件", "未回访", None]
    row[8] = "已解决"
    # callback not done: the complaint callback is due (3 working days after 11-21: 11-26) and
    # satisfaction is not required, since the callback column says 未回访
    assert found(run(tmp_path, head, [row])) == [("complaint_callback_overdue", "M2")]


# 8. Rows that are not records -----------------------------------------------------------------------
VH = ["序号", "登记时间", "来访方式", "客户姓名", "联系电话", "信息来源", "销售顾问", "是否建卡"]
GOOD = [1, D(2026, 11, 26, 10), "来店", "陈先生", 13812345678, "网络", "张伟", "是"]


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("extra", [
    [[None, "合计", None, "12人", None, None, None, None]],
    [["小计：3"]],
    [["备注：本表每日17:00前交销售经理"]],
    [["注：A级客户三天内回访"]],
    [[None, None, None, None, None, None, "制表：刘洋", None]],
    [["审核人：李娜"]],
    [VH],  # the header repeated: a second sheet pasted below
    [["十二月来店登记"], VH],  # its title row too
    [[None, "十二月来店登记"], [], VH],  # with a blank row between
])
def test_totals_notes_and_repeated_headers_are_skipped(tmp_path, script, extra):
    result = run(tmp_path, VH, [GOOD, *extra, [2, *GOOD[1:]]], script=script)
    assert found(result) == []
    assert result.sources[0].sheets[0].skipped_rows == [3 + i for i, r in enumerate(extra) if r]
    assert len(result.tables[0].records) == 2


def test_a_one_cell_row_that_is_no_title_is_still_read(tmp_path):
    result = run(tmp_path, VH, [GOOD, [None, None, None, "王先生"]])
    assert ("missing_required", "B3") in found(result)


def test_a_totals_row_of_counts_is_skipped_and_row_numbers_alone_are_blank(tmp_path):
    rows = [GOOD, [None, None, None, 12], [7], [None, D(2026, 11, 26, 10)]]
    result = run(tmp_path, VH, rows)
    assert found(result) == [("missing_required", "C5"), ("missing_required", "D5"), ("missing_required", "E5"),
                             ("missing_required", "F5"), ("missing_required", "G5")]
    assert result.sources[0].sheets[0].skipped_rows == [3]
    head = ["序号", "受理时间", "投诉渠道", "客户姓名", "联系电话", "投诉内容", "责任人"]
    result = run(tmp_path, head, [[1, D(2026, 11, 27, 8), "电话", "钱先生", 13811112222, "异响", "赵敏"], [2], [3]])
    assert found(result) == [] and result.sources[0].sheets[0].skipped_rows == []


def test_a_totals_row_of_numbers_under_number_columns_is_skipped(tmp_path):
    head = ["客户姓名", "年龄", "职业", "驾照号", "联系电话", "联系地址", "试驾日期", "客户签名", "销售顾问", "顾问签名"]
    row = ["陈先生", 35, "教师", "310101199001011234", 13812345678, "上海", "2026-11-26", "陈", "张伟", "张"]
    result = run(tmp_path, head, [row, [None, 35]])
    assert found(result) == [] and result.sources[0].sheets[0].skipped_rows == [3]


# 6. The phone cell / 7. yes-no ------------------------------------------------------------------------
@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("phone, card, expected", [
    ("13912340018 微信同号", "是", []),
    ("139-1234-0018（本人）", "已建卡", []),
    ("＋86 139 1234 0018", "建了", []),
    ("(021) 6234-5678", "有", []),
    ("不留", None, []), ("客户拒绝", "否", []), ("拒绝提供", None, []), ("无", None, []), ("没留", None, []),
    (None, None, [("missing_required", "E2")]),  # nobody to call: no follow-up, no card finding
    ("138-1234", "否", [("invalid_value", "E2")]),
    (13912340018, "没建", [("card_not_created", "H2")]),
    (13912340018, "未建", [("card_not_created", "H2")]),
    (13912340018, None, [("card_not_created", "H2")]),
    (13912340018, "×", [("card_not_created", "H2")]),
])
def test_the_phone_cell_and_the_card(tmp_path, script, phone, card, expected):
    row = [1, D(2026, 11, 20, 10), "来店", "陈先生", phone, "网络", "张伟", card]
    # visited 11-20 without a follow-up: due 11-25, overdue now, for rows with a phone to call
    expect = sorted(expected + ([("followup_overdue", "B2")] if expected and expected[0][0] == "card_not_created"
                                or (not expected and phone not in ("不留", "客户拒绝", "拒绝提供", "无", "没留")) else []))
    assert found(run(tmp_path, VH, [row], script=script)) == expect


# 3. Dates without a year; implausible dates ----------------------------------------------------------
@pytest.mark.parametrize("visit, expected", [
    ("11-20 10:40", [("followup_overdue", "B2")]),
    ("11/20", [("followup_overdue", "B2")]),
    ("11月20日", [("followup_overdue", "B2")]),
    ("11月26日", []),
    (11.1, [("invalid_value", "B2")]),  # only a 1900 serial: not a date
    ("1999-12-31", [("invalid_value", "B2")]),
    ("2028-01-01", [("invalid_value", "B2")]),
    (True, [("invalid_value", "B2")]),
])
def test_dates_without_a_year_and_implausible_dates(tmp_path, visit, expected):
    row = [1, visit, "来店", "陈先生", 13812345678, "网络", "张伟", "是"]
    assert found(run(tmp_path, VH, [row])) == expected


def test_a_date_without_a_year_is_taken_near_the_rows_start(tmp_path):
    head = [*VH, "下次跟进日期"]
    row = [1, "2025-12-30 10:00", "来店", "陈先生", 13812345678, "网络", "张伟", "是", "1/3"]
    result = run(tmp_path, head, [row], now=at("2026-12-28 09:00"))
    assert result.tables[0].records[0]["next_followup_on"] == dt.date(2026, 1, 3)  # not 2027: near the visit
    assert found(result) == [("followup_overdue", "I2")]


# 5. Outcomes written anywhere in the row ---------------------------------------------------------------
OH = [*VH, "跟进状态", "跟进记录", "备注", "下次跟进日期", "最近跟进日期"]


def visit_row(status=None, note=None, remark=None, next_on=None, last_on=None):
    return [1, D(2026, 11, 20, 10), "来店", "陈先生", 13812345678, "网络", "张伟", "是", status, note, remark,
            next_on, last_on]


OVERDUE = [("followup_overdue", "M2")]


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("values, expected", [
    (dict(remark="客户已订车"), []), (dict(remark="战败，已购他牌"), []), (dict(note="客户放弃"), []),
    (dict(status="已订车"), []), (dict(status="已成交（全款）"), []), (dict(status="战败"), []),
    (dict(remark="考虑订车"), OVERDUE), (dict(remark="未成交"), OVERDUE), (dict(note="准备订车"), OVERDUE),
    (dict(status="未成交"), OVERDUE), (dict(status="跟进中"), OVERDUE),
    (dict(note="11/24已回访，客户在比价"), []),  # a dated note is a follow-up on 11-24, after the visit
    (dict(note="11/19 电话"), OVERDUE),  # before the visit: it does not complete it
    (dict(next_on="2026-11-26", note="11/26 已回访"), []),
    (dict(next_on="2026-11-26", last_on="2026-11-25"), OVERDUE),
    (dict(last_on="11-21"), []),  # no next date: any follow-up on or after the visit
    (dict(next_on="下周"), [("followup_overdue", "M2"), ("invalid_value", "L2")]),  # default deadline applies
    (dict(status="考虑中"), [("followup_overdue", "M2"), ("invalid_value", "I2")]),
])
def test_outcome_words_close_a_visitor_row(tmp_path, script, values, expected):
    assert found(run(tmp_path, OH, [visit_row(**values)], script=script)) == expected


# 9. Open and closed choices ------------------------------------------------------------------------------
@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("channel, expected", [
    ("来店", "来店"), ("展厅", "来店"), ("自然进店", "来店"), ("邀约到店", "来店"), ("来店（自然进店）", "来店"),
    ("来电", "来电"), ("400电话", "来电"), ("电话咨询", "来电"), ("上门", None), ("网络", None),
])
def test_visitor_channel_synonyms(tmp_path, script, channel, expected):
    row = [1, D(2026, 11, 26, 10), channel, "陈先生", 13812345678, "网络", "张伟", "是"]
    result = run(tmp_path, VH, [row], script=script)
    if expected is None:
        assert found(result) == [("invalid_value", "C2")]
    else:
        assert found(result) == [] and result.tables[0].records[0]["channel"] == expected


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("satisfaction, expected", [
    ("满意", "满意"), ("不满意", "不满意"), ("客户不满意（等待太久）", "不满意"), ("非常满意", "满意"),
    ("一般吧", "一般"), ("满意度高", "满意"), ("还行", None),
])
def test_closed_choices_with_extra_words(tmp_path, script, satisfaction, expected):
    head = [*C_HEAD, "解决时间", "处理结果", "回访时间", "客户满意度"]
    row = [*complaint_row("2026-11-20", "10:00"), "2026-11-21 10:00", "已处理", "2026-11-24 10:00", satisfaction]
    row[8] = "已关闭"
    result = run(tmp_path, head, [row], script=script)
    if expected is None:
        assert found(result) == [("invalid_value", "M2")]
    else:
        assert found(result) == [] and result.tables[0].records[0]["satisfaction"] == expected


@pytest.mark.parametrize("channel", ["400热线", "12315", "厂家转办", "网络平台", "到店", "抖音私信"])
def test_complaint_channel_is_open(tmp_path, channel):
    row = complaint_row("2026-11-26", "11:00")
    row[3] = channel
    assert found(run(tmp_path, C_HEAD, [row])) == [("complaint_reply_due_soon", "B2")]


# 10. Columns a store does not keep ----------------------------------------------------------------------
def test_a_complaint_sheet_without_id_or_status_column(tmp_path):
    head = ["序号", "受理时间", "投诉渠道", "客户姓名", "联系电话", "投诉内容", "责任人", "首次回复时间", "解决时间", "处理结果"]
    rows = [
        [1, D(2026, 11, 20, 10), "电话", "钱先生", 13811112222, "异响", "赵敏", "已回复", D(2026, 11, 21, 9), "更换"],
        [1, D(2026, 11, 26, 11), "电话", "孙女士", 13811113333, "漆面", "赵敏", None, None, None],
        [3, D(2026, 11, 24, 10), "电话", "周先生", 13811114444, "保养", "赵敏", "已回复", None, "已解释"],
    ]
    result = run(tmp_path, head, rows)
    # no missing_column for 投诉编号/处理状态; 序号 repeats; row 2 resolved: callback due 11-26 (overdue);
    # row 4 resolved by its 处理结果 but without 解决时间: derived 已解决 needs it
    assert found(result) == [("complaint_callback_overdue", "I2"), ("complaint_reply_due_soon", "H3"),
                             ("duplicate_id", "A3"), ("missing_required", "I4")]
    statuses = [r["status"] for r in result.tables[0].records]
    assert statuses == ["已解决", "处理中", "已解决"]


def test_config_tables_make_fields_optional_and_add_aliases(tmp_path):
    head = ["客户姓名", "年龄", "驾照编号", "联系电话", "试驾日期", "客户签名", "销售顾问", "顾问签名"]
    row = ["陈先生", 35, "310101199001011234", 13812345678, "2026-11-26", "陈", "张伟", "张"]
    extra = {"tables": {"test_drive_log": {"optional": ["occupation", "address"], "aliases": {"license_no": ["驾照编号"]}}}}
    assert found(run(tmp_path, head, [row], extra=extra)) == []
    without = run(tmp_path, head, [row])  # without the config: three required columns missing
    assert sorted(f.column for f in without.findings if f.rule == "missing_column") == ["address", "license_no", "occupation"]


def test_config_tables_reject_an_unknown_field(tmp_path):
    from scripts.errors import ConfigError
    with pytest.raises(ConfigError, match="no field 'job'.*occupation"):
        run(tmp_path, VH, [], extra={"tables": {"test_drive_log": {"optional": ["job"]}}})


def test_config_source_owner_is_kept(tmp_path):
    from scripts.config import parse_config
    config = parse_config({"sources": [{"name": "a", "path": "a.xlsx", "owner": "刘婷"}]}, None, tmp_path)
    assert config.sources[0].owner == "刘婷"


# 11. Traditional and Simplified are one -------------------------------------------------------------------
def test_a_traditional_name_is_the_staff_lists_person(tmp_path):
    rows = [[1, D(2026, 11, 20, 10), "來店", "陳先生", 13812345678, "網絡", "陳曉燕", "否"]]
    result = run(tmp_path, VH, rows)
    assert found(result) == [("card_not_created", "H2"), ("followup_overdue", "B2")]
    assert {f.assignee for f in result.findings} == {"陈晓燕"}


# More header aliases ------------------------------------------------------------------------------------
@pytest.mark.parametrize("head", [
    ["进店日期", "来访方式", "客户姓名", "手机号码", "来源渠道", "接待人", "是否建档"],
    ["到店日期", "来访方式", "客户姓名", "联系方式", "客户来源", "陪同顾问", "建档"],
    ["来访日期", "来访方式", "客户姓名", "手机号码", "来源渠道", "销售员", "是否建档"],
])
def test_more_visitor_header_aliases(tmp_path, head):
    row = [D(2026, 11, 26, 10), "来店", "陈先生", 13812345678, "网络", "张伟", "否"]
    result = run(tmp_path, head, [row])
    assert found(result) == [("card_not_created", "G2")]


def test_more_delivery_and_test_drive_aliases(tmp_path):
    head = ["客户姓名", "联系电话", "交车时间", "销售顾问", "1小时感谢电话", "3日回访"]
    row = ["林先生", 13122223333, D(2026, 11, 20, 10), "张伟", None, None]
    assert found(run(tmp_path, head, [row])) == [("delivery_callback_overdue", "F2"), ("thank_you_call_overdue", "E2")]


# Duties added ---------------------------------------------------------------------------------------------
MH = ["客户姓名", "联系电话", "车型", "交车时间", "销售顾问", "感谢电话时间", "回访时间", "保养提醒"]


@pytest.mark.parametrize("delivered, now, reminded, expected", [
    # delivered 05-31: first service 11-30 (6 months, day clamped), reminder due 11-16
    ("2026-05-31 10:00", "2026-11-15 09:00", None, []),
    ("2026-05-31 10:00", "2026-11-16 09:00", None, [("maintenance_reminder_due_soon", "H2")]),
    ("2026-05-31 10:00", "2026-11-30 23:00", None, [("maintenance_reminder_due_soon", "H2")]),
    ("2026-05-31 10:00", "2026-12-01 00:01", None, [("maintenance_reminder_overdue", "H2")]),
    ("2026-05-31 10:00", "2026-12-01 00:01", "已提醒", []),
    ("2026-05-31 10:00", "2026-12-01 00:01", "2026-11-20", []),
])
def test_first_service_reminder(tmp_path, delivered, now, reminded, expected):
    row = ["林先生", 13122223333, "途观L", delivered, "张伟", "已打", "已回访", reminded]
    result = run(tmp_path, MH, [row], now=at(now))
    assert found(result) == expected
    for f in result.findings:
        assert f.due.date() == dt.date(2026, 11, 30) and f.assignee == "张伟"
        assert "途观L" in f.message and "2026-05-31" in f.message


def test_add_months_clamps_the_day():
    from scripts.deadlines import add_months
    assert add_months(dt.date(2026, 5, 31), 6) == dt.date(2026, 11, 30)
    assert add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2027, 8, 29), 6) == dt.date(2028, 2, 29)


AH = ["客户姓名", "联系电话", "负责专员", "分配日期", "首次联系时间", "是否会员"]


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("assigned, contact, now, expected", [
    ("2026-11-20", None, "2026-11-26 09:00", []),
    ("2026-11-20", None, "2026-11-27 09:00", [("assignment_contact_due_soon", "E2")]),  # 7 days: 11-27
    ("2026-11-20", None, "2026-11-28 00:00", [("assignment_contact_overdue", "E2")]),
    ("2026-11-20", "已联系", "2026-11-28 00:00", []),
    ("2026-11-20", "未联系", "2026-11-28 00:00", [("assignment_contact_overdue", "E2")]),
])
def test_assigned_customers_are_contacted_within_a_week(tmp_path, script, assigned, contact, now, expected):
    row = ["陈先生", 13812345678, "赵敏", assigned, contact, "是"]
    result = run(tmp_path, AH, [row], script=script, now=at(now), title="客户分配表")
    assert result.tables[0].schema.name == "assignment_log"
    assert found(result) == expected


def test_visitor_order_date_and_complaint_vehicle_fields(tmp_path):
    result = run(tmp_path, [*VH, "跟进状态", "订车日期"], [[*GOOD, "已订车", "11-26"]])
    assert found(result) == [] and result.tables[0].records[0]["order_on"] == dt.date(2026, 11, 26)
    head = [*C_HEAD, "车型", "车牌号"]
    result = run(tmp_path, head, [[*complaint_row("2026-11-26", "11:00"), "途观L", "沪A12345"]])
    assert result.tables[0].records[0]["model"] == "途观L" and result.tables[0].records[0]["plate"] == "沪A12345"


def test_staff_sheet_mobile_and_wecom_account(tmp_path):
    head = ["姓名", "邮箱", "角色", "上级", "企业微信手机号", "企业微信账号"]
    rows = [["刘婷", "lt@example.com", "展厅经理", None, "139 1234 0018", "LiuTing"]]
    result = run(tmp_path, head, rows, staff=None, title="员工名单")
    member = result.staff.get("劉婷")
    assert member is not None and member.mobile == "13912340018" and member.wecom_userid == "LiuTing"


# What was understood: the per-sheet report -------------------------------------------------------------------
def test_the_sheet_report_says_what_was_understood(tmp_path):
    head = ["序号", "来店日期", "来店时间", "来访方式", "客户姓名", "联系电话", "信息来源", "接待顾问", "是否建卡", "备用"]
    rows = [[1, "2026-11-26", "10:00", "来店", "陈先生", 13812345678, "网络", "张伟", "是", None],
            [None, "合计", None, None, None, None, None, None, None, None]]
    sheet = run(tmp_path, head, rows, top=[["十一月来店登记"]]).sources[0].sheets[0]
    assert sheet.header_row == 2 and sheet.headers["J"] == "备用"
    assert sheet.columns == {"A": None, "B": "visit_at.date", "C": "visit_at.time", "D": "channel",
                             "E": "customer_name", "F": "phone", "G": "info_source", "H": "consultant",
                             "I": "card_created", "J": None}
    assert sheet.pairs == [("visit_at", "B", "C")] and sheet.skipped_rows == [4] and sheet.rows == 1


# No cell value makes reading raise ---------------------------------------------------------------------------
@pytest.mark.parametrize("value", [
    "x" * 3_000_000, "\t\u202e\u200f", True, False, -1, 1e308, float("inf"), "９９９９-９９-９９", "11-31",
    "2026-02-30 25:61", "#REF!", "13" * 1000, "已" * 10000, dt.time(9, 15),
])
def test_no_cell_value_makes_reading_raise(tmp_path, value):
    head = [*OH, "回访时间"]
    row = [value] * len(head)
    result = run(tmp_path, head, [row, GOOD + [None] * 6])
    assert result.tables and len(result.tables[0].records) >= 1


# Property: a sheet's findings do not depend on the script it is written in ------------------------------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_CELLS = {
    "登记时间": [D(2026, 11, 20, 10), "11-24 9:15", "2026年11月26日", "前天", None, 11.1],
    "来访方式": ["来店", "展厅", "来电", "上门", None],
    "客户姓名": ["陈先生", "刘女士", None],
    "联系电话": [13812345678, "13912340018 微信同号", "不留", "客户拒绝", "138-1234", None],
    "信息来源": ["网络", "朋友介绍", None],
    "销售顾问": ["陈晓燕", "张伟", "赵敏", "小明", None],
    "是否建卡": ["是", "已建卡", "没建", "否", None],
    "跟进状态": ["跟进中", "已成交", "战败", "考虑中", None],
    "跟进记录": ["11/24已回访，已订车", "考虑订车", "11/26 电话联系", None],
    "备注": ["客户放弃", "未成交", "说明：老客户", None],
    "最近跟进日期": ["已联系", "11-25", "未联系", "打过电话", None],
}
_HEAD = list(_CELLS)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(*(st.sampled_from(v) for v in _CELLS.values())), min_size=1, max_size=4))
def test_findings_do_not_change_between_simplified_and_traditional(tmp_path_factory, rows):
    shapes = []
    for script in SCRIPTS:
        path = tmp_path_factory.mktemp(script)
        result = run(path, _HEAD, [list(r) for r in rows], script=script)
        shapes.append(sorted((f.rule, f.row, f.column) for f in result.findings))
    assert shapes[0] == shapes[1]


def test_config_columns_win_over_a_header_that_merely_matches(tmp_path):
    from scripts.check import run_check
    from scripts.config import parse_config
    from tests.helpers import write_xlsx
    head = ["日期", "来访方式", "客户姓名", "联系电话", "信息来源", "销售顾问", "是否建卡", "实际到店"]
    row = ["2026-11-01", "来店", "陈先生", 13812345678, "网络", "张伟", "是", "2026-11-26 10:00"]
    write_xlsx(tmp_path / "店.xlsx", {"来店": [head, row]})
    config = parse_config({"sources": [{"name": "店", "path": "店.xlsx", "tables": {"来店": "visitor_log"},
                                        "columns": {"实际到店": "visit_at"}}],
                           "staff": STAFF_CX}, tmp_path / "h.yaml", tmp_path)
    result = run_check(config, NOW)
    assert result.tables[0].records[0]["visit_at"] == D(2026, 11, 26, 10) and found(result) == []


@settings(max_examples=200, deadline=None)
@given(day=st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)), months=st.integers(1, 36))
def test_add_months_property(day, months):
    from scripts.deadlines import add_months
    out = add_months(day, months)
    assert (out.year * 12 + out.month) - (day.year * 12 + day.month) == months
    assert out.day == day.day or (out.day < day.day and (out + dt.timedelta(days=1)).day == 1)


@settings(max_examples=200, deadline=None)
@given(day=st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)), hours=st.sampled_from([1, 4, 24, 25, 48]))
def test_an_hour_deadline_from_a_date_alone_is_never_earlier_than_from_midnight(day, hours):
    from scripts.deadlines import compute_due
    from scripts.schema import DeadlineRule, Span
    from scripts.tables import Record
    from scripts.workcal import WorkCalendar
    record = Record(2)
    record["start"] = dt.datetime.combine(day, dt.time())
    record.dateonly = frozenset({"start"})
    rule = DeadlineRule("r", "r", "who", start="start", after=Span(hours=hours))
    due = compute_due(rule, record, WorkCalendar("CN"), SH)
    assert due.day == day + dt.timedelta(days=hours // 24)
    assert due.at >= dt.datetime.combine(day, dt.time(), tzinfo=SH) + dt.timedelta(hours=hours)
    assert due.at.time() == dt.time(23, 59, 59)


TH = ["客户姓名", "年龄", "职业", "驾照号", "联系电话", "联系地址", "试驾日期", "客户签名", "销售顾问", "顾问签名"]


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize("licence, age, expected", [
    ("310101199001011234", 35, []), ("无", 35, [("test_drive_without_license", "D2")]),
    ("未带", 35, [("test_drive_without_license", "D2")]), (None, 35, [("test_drive_without_license", "D2")]),
    ("310101199001011234", "十七", [("invalid_value", "B2")]), ("310101199001011234", 17, [("invalid_value", "B2")]),
])
def test_no_licence_written_out_is_no_licence(tmp_path, script, licence, age, expected):
    row = ["陈先生", age, "教师", licence, 13812345678, "上海", "2026-11-26", "陈", "张伟", "张"]
    assert found(run(tmp_path, TH, [row], script=script)) == expected
