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
