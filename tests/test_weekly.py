"""The weekly traffic and satisfaction summary on the demo data: figures counted by hand, the workbook's
native charts, golden emails. UPDATE_GOLDEN=1 python -m pytest tests/test_weekly.py rewrites the golden files."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from dataclasses import replace

import pytest
from python_calamine import CalamineWorkbook

from scripts.check import run_check
from scripts.jobs import calendar_of
from scripts.render import Renderer
from scripts.weekly import WeeklySettings, build_weekly, week_span, week_stats
from tests.helpers import SHANGHAI, demo_two_books
from tests.test_brief import _golden

MONDAY = dt.datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)
D = dt.date


@pytest.fixture(scope="module")
def demo():
    return demo_two_books()


@pytest.fixture(scope="module")
def result(demo):
    return run_check(demo, MONDAY)


@pytest.mark.parametrize("today, span", [
    (D(2026, 11, 30), (D(2026, 11, 23), D(2026, 11, 29))),  # Monday: last week
    (D(2026, 12, 2), (D(2026, 11, 23), D(2026, 11, 29))),  # a late run still reports the last complete week
    (D(2026, 11, 29), (D(2026, 11, 16), D(2026, 11, 22))),  # Sunday: the week is not over yet
])
def test_week_is_the_last_complete_monday_to_sunday(today, span):
    assert week_span(today) == span


def test_week_figures_counted_by_hand(result):
    week = week_stats(result, D(2026, 11, 23), D(2026, 11, 29), SHANGHAI)
    # walk-ins 冯, 王, 赵, 孙; calls 李, 周, 郭; 钱's "上门" is no channel but still a visitor
    assert (week["visitors"], week["store"], week["phone"]) == (8, 4, 3)
    # phones left by 冯, 李, 孙, 周, 钱, 郭; cards among them: 冯, 李, 钱, 郭
    assert (week["with_phone"], week["card_rate"]) == (6, round(4 / 6, 4))
    # test drives 李女士 (11-25), 小周 and 吴先生 (11-26) per 4 walk-ins
    assert (week["test_drives"], week["test_drive_rate"]) == (3, 0.75)
    assert (week["orders"], week["order_rate"]) == (0, 0.0)
    assert [(d["date"].day, d["store"], d["phone"]) for d in week["days"]] == [
        (23, 1, 0), (24, 0, 1), (25, 2, 0), (26, 1, 1), (27, 0, 1), (28, 0, 0), (29, 0, 0)]
    assert {s["name"]: s["count"] for s in week["satisfaction"]} == {"满意": 2, "一般": 1, "不满意": 1}
    assert week["complaints"] == 7 and {c["count"] for c in week["categories"]} == {1}
    assert {s["name"]: s["count"] for s in week["sources"]} == {
        "汽车之家": 2, "路过": 2, "抖音": 1, "—": 1, "朋友介绍": 1, "网络": 1}


def test_previous_week_for_comparison(result):
    week = week_stats(result, D(2026, 11, 16), D(2026, 11, 22), SHANGHAI)
    # 韩 (16), 吴 (18, written 2026年11月18日), 郑 (19), 陈 (20) walked in; 许 called (21)
    assert (week["store"], week["phone"], week["complaints"]) == (4, 1, 1)
    # 许's number 1381234 is unreadable: 4 phones, all with cards
    assert (week["with_phone"], week["card_rate"]) == (4, 1.0)


def test_weekly_goes_to_the_roles_with_a_workbook_of_native_charts(demo, result, tmp_path):
    messages = build_weekly(result, demo, MONDAY, calendar_of(demo), WeeklySettings(folder=str(tmp_path)))
    assert sorted(m.recipient.name for m in messages) == ["周杰", "李娜"]
    (path,) = {m.attachments for m in messages}
    assert path == (str(tmp_path / "客流周报-2026-W48.xlsx"),)
    names = zipfile.ZipFile(path[0]).namelist()
    assert len([n for n in names if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]) == 4
    book = CalamineWorkbook.from_path(path[0])
    assert book.sheet_names == ["汇总", "每日客流", "信息来源", "回访满意度", "投诉类别"]
    summary = book.get_sheet_by_name("汇总").to_python()
    assert summary[1] == ["来店批次", 4.0, 4.0] and summary[2] == ["来电批次", 3.0, 1.0]
    daily = book.get_sheet_by_name("每日客流").to_python()
    assert daily[1] == ["2026-11-23", "周一", 1.0, 0.0, 1.0, 0.0]
    ctx = messages[0].context
    assert ctx["satisfied_rate"] == "50%" and ctx["rows"][3] == {"key": "card_rate", "now": "67%", "before": "100%"}


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_weekly_matches_golden(demo, result, language, tmp_path):
    config = replace(demo, language=language)
    message = next(m for m in build_weekly(result, config, MONDAY, None, WeeklySettings(folder=str(tmp_path)))
                   if m.recipient.name == "李娜")
    subject, text, html = Renderer(config).parts(message)
    _golden(f"{language}-weekly-lina", subject, text, html)
