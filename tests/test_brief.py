"""The morning brief, member callback coverage and the whole-store digest, on the demo data and small logs.

Golden files: UPDATE_GOLDEN=1 python -m pytest tests/test_brief.py rewrites tests/golden/*morning_brief*.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest

from scripts.brief import BriefSettings, DigestSettings, brief_period, build_morning_brief, member_coverage
from scripts.check import run_check
from scripts.demo import DEMO_NOW
from scripts.jobs import calendar_of
from scripts.messages import build_digests
from scripts.render import Renderer
from scripts.workcal import WorkCalendar
from tests.helpers import SHANGHAI, VISITOR_HEADERS, check_files, visitor, demo_two_books

GOLDEN = Path(__file__).resolve().parent / "golden"
MONDAY = dt.datetime(2026, 11, 30, 8, 30, tzinfo=SHANGHAI)
CAL = WorkCalendar("CN")
D = dt.date


@pytest.fixture(scope="module")
def demo():
    return demo_two_books()


def _by_name(people):
    return {p["name"]: p for p in people}


@pytest.mark.parametrize("today, first, last", [
    (D(2026, 11, 27), D(2026, 11, 26), D(2026, 11, 26)),  # Friday: Thursday
    (D(2026, 11, 30), D(2026, 11, 27), D(2026, 11, 29)),  # Monday: Friday through Sunday
    (D(2026, 10, 8), D(2026, 9, 30), D(2026, 10, 7)),  # after National Day: the whole holiday
    (D(2026, 10, 10), D(2026, 10, 9), D(2026, 10, 9)),  # make-up Saturday: Friday alone
    (D(2026, 10, 12), D(2026, 10, 10), D(2026, 10, 11)),  # Monday after a make-up Saturday
    (D(2026, 9, 20), D(2026, 9, 18), D(2026, 9, 19)),  # make-up Sunday: Friday and Saturday
    (D(2026, 9, 21), D(2026, 9, 20), D(2026, 9, 20)),  # Monday after a make-up Sunday
])
def test_brief_covers_from_previous_working_day_through_yesterday(today, first, last):
    assert brief_period(today, CAL) == (first, last)


@pytest.mark.parametrize("day", [dt.datetime(2026, 11, 29, 8, 30), dt.datetime(2026, 10, 3, 8, 30)])
def test_no_brief_on_a_day_off(demo, day):
    now = day.replace(tzinfo=SHANGHAI)
    assert build_morning_brief(run_check(demo, now), demo, now, calendar_of(demo)) == []


def test_friday_brief_counts_thursday_per_consultant(demo):
    result = run_check(demo, DEMO_NOW)
    messages = build_morning_brief(result, demo, DEMO_NOW, calendar_of(demo))
    assert sorted(m.recipient.name for m in messages) == ["周杰", "李娜"]  # 展厅经理 and 销售经理
    ctx = messages[0].context
    assert (ctx["start"], ctx["end"], ctx["days"]) == ("2026-11-26", "2026-11-26", 1)
    people = _by_name(ctx["people"])
    assert list(people) == ["张伟", "王芳", "刘洋"]
    # 11-26: 孙先生 来店 A (刘洋, no card), 周女士 来电 B (刘洋), 钱先生 "上门" B (张伟, card; channel unreadable);
    # test drives 小周 (刘洋) and 吴先生 (张伟); delivery 马先生 (张伟); 何女士's date is unreadable.
    assert {k: people["张伟"][k] for k in ("visitors", "store", "phone", "cards", "B", "test_drives", "deliveries")} == \
        {"visitors": 1, "store": 0, "phone": 0, "cards": 1, "B": 1, "test_drives": 1, "deliveries": 1}
    assert {k: people["刘洋"][k] for k in ("visitors", "store", "phone", "cards", "A", "B", "test_drives")} == \
        {"visitors": 2, "store": 1, "phone": 1, "cards": 0, "A": 1, "B": 1, "test_drives": 1}
    assert people["王芳"]["visitors"] == 0
    totals = ctx["totals"]
    assert (totals["visitors"], totals["store"], totals["phone"], totals["cards"], totals["test_drives"],
            totals["deliveries"], totals["orders"]) == (3, 1, 1, 1, 2, 1, 0)
    assert {s["name"]: s["share"] for s in ctx["sources"]} == {"—": 33, "朋友介绍": 33, "网络": 33}
    # 张伟: follow-ups of 陈先生 (due 11-25) and 吴先生 (11-26), thank-you call to 马先生 (11-26 16:00)
    assert people["张伟"]["overdue"] == 3
    assert {r["rule"]: r["count"] for r in next(o for o in ctx["overdue"] if o["name"] == "张伟")["rules"]} == \
        {"followup": 2, "thank_you_call": 1}


def test_monday_brief_covers_the_weekend(demo):
    result = run_check(demo, MONDAY)
    ctx = build_morning_brief(result, demo, MONDAY, calendar_of(demo))[0].context
    assert (ctx["start"], ctx["end"], ctx["days"]) == ("2026-11-27", "2026-11-29", 3)
    wang = _by_name(ctx["people"])["王芳"]
    # 郭女士 called on Friday 08:40 (A, card), 罗女士's car was delivered on Friday 08:10
    assert (wang["phone"], wang["cards"], wang["A"], wang["deliveries"]) == (1, 1, 1, 1)
    assert ctx["totals"]["visitors"] == 1


def test_brief_roles_come_from_the_settings(demo):
    result = run_check(demo, DEMO_NOW)
    messages = build_morning_brief(result, demo, DEMO_NOW, calendar_of(demo), BriefSettings(to_roles=("客服主管",)))
    assert [m.recipient.name for m in messages] == ["陈静"]


def _makeup_result(tmp_path, now, order_days=()):
    rows = [
        visitor(登记时间=dt.datetime(2026, 10, 8, 10, 0), 来访方式="来店", 客户姓名="甲", 联系电话="13800000001",
                信息来源="网络", 意向级别="H", 销售顾问="张伟", 是否建卡="是"),
        visitor(登记时间=dt.datetime(2026, 10, 9, 10, 0), 来访方式="来店", 客户姓名="乙", 联系电话="13800000002",
                信息来源="网络", 意向级别="A", 销售顾问="張偉", 是否建卡="是", 最近跟进日期=dt.datetime(2026, 10, 9)),
        visitor(登记时间=dt.datetime(2026, 10, 9, 15, 0), 来访方式="来电", 客户姓名="丙", 联系电话="13800000003",
                信息来源="车展", 意向级别="C", 销售顾问="王芳", 是否建卡="否"),
        visitor(登记时间=dt.datetime(2026, 10, 10, 9, 0), 来访方式="来店", 客户姓名="丁", 联系电话="13800000004",
                信息来源="网络", 意向级别="B", 销售顾问="王芳", 是否建卡="是"),
        visitor(登记时间=dt.datetime(2026, 10, 11, 14, 0), 来访方式="来电", 客户姓名="戊", 联系电话="13800000005",
                信息来源="抖音", 意向级别="B", 销售顾问="王芳", 是否建卡="是"),
    ]
    result = check_files(tmp_path, {"展厅.xlsx": {"来店登记": [VISITOR_HEADERS, *rows]}},
                         now=now, tables={"展厅.xlsx": {"来店登记": "visitor_log"}})
    visitors = result.tables[0].records
    for record, day in zip(visitors, order_days):
        if day is not None:
            record["order_on"] = day  # the 订车日期 column another change adds to visitor_log
    return result


def test_makeup_saturday_brief_counts_friday_only(tmp_path):
    now = dt.datetime(2026, 10, 10, 8, 30, tzinfo=SHANGHAI)
    result = _makeup_result(tmp_path, now, order_days=(D(2026, 10, 9), None, None, D(2026, 10, 10)))
    config = replace(demo_two_books(), staff=())
    ctx = build_morning_brief(result, config, now, CAL, BriefSettings(to_roles=("销售经理",)))[0].context
    assert (ctx["start"], ctx["end"]) == ("2026-10-09", "2026-10-09")
    people = _by_name(ctx["people"])
    # 乙 was registered under 張偉 (traditional script): counted for 张伟 as the staff list spells him
    assert (people["张伟"]["store"], people["张伟"]["A"], people["张伟"]["followups"]) == (1, 1, 1)
    # 甲 visited on Thursday but ordered on Friday: the order counts, the visit does not
    assert people["张伟"]["orders"] == 1 and people["张伟"]["H"] == 0
    assert (people["王芳"]["phone"], people["王芳"]["cards"], people["王芳"]["C"], people["王芳"]["orders"]) == (1, 0, 1, 0)
    assert ctx["totals"]["visitors"] == 2


def test_monday_after_makeup_saturday_counts_saturday_and_sunday(tmp_path):
    now = dt.datetime(2026, 10, 12, 8, 30, tzinfo=SHANGHAI)
    result = _makeup_result(tmp_path, now, order_days=(D(2026, 10, 9), None, None, D(2026, 10, 10)))
    config = replace(demo_two_books(), staff=())
    ctx = build_morning_brief(result, config, now, CAL, BriefSettings(to_roles=("销售经理",)))[0].context
    assert (ctx["start"], ctx["end"], ctx["days"]) == ("2026-10-10", "2026-10-11", 2)
    wang = _by_name(ctx["people"])["王芳"]
    assert (wang["store"], wang["phone"], wang["B"], wang["cards"], wang["orders"]) == (1, 1, 2, 2, 1)
    assert {s["name"]: s["count"] for s in ctx["sources"]} == {"网络": 1, "抖音": 1}


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_morning_brief_matches_golden(demo, language):
    config = replace(demo, language=language)
    result = run_check(config, MONDAY)
    message = next(m for m in build_morning_brief(result, config, MONDAY, calendar_of(config)) if m.recipient.name == "李娜")
    subject, text, html = Renderer(config).parts(message)
    _golden(f"{language}-morning_brief-lina", subject, text, html)


def _golden(stem: str, subject: str, text: str, html: str) -> None:
    files = {f"{stem}.subject.txt": subject + "\n", f"{stem}.txt": text, f"{stem}.html": html}
    for name, content in files.items():
        path = GOLDEN / name
        if os.environ.get("UPDATE_GOLDEN"):
            path.write_text(content, encoding="utf-8")
        assert path.read_text(encoding="utf-8") == content, name


# -- member callback coverage -------------------------------------------------------------------

DELIVERY = ["客户姓名", "联系电话", "车型", "交车时间", "销售顾问", "感谢电话时间", "回访时间", "是否会员"]
CALLBACK = ["客户姓名", "联系电话", "回访时间", "回访方式", "回访结果", "客户意见", "回访人", "是否会员", "下次回访日期"]
COMPLAINT = ["投诉编号", "受理时间", "投诉渠道", "客户姓名", "联系电话", "投诉内容", "责任人", "处理状态"]
T = dt.datetime


def _coverage_result(tmp_path):
    deliveries = [
        DELIVERY,
        ["甲", "13900000001", "朗逸", T(2026, 11, 3, 10), "张伟", T(2026, 11, 3, 10, 30), T(2026, 11, 5, 10), "是"],  # called
        ["乙", "13900000002", "朗逸", T(2026, 11, 10, 10), "王芳", T(2026, 11, 10, 10, 30), None, "是"],  # log row later
        ["丙", "13900000003", "朗逸", T(2026, 11, 12, 10), "王芳", T(2026, 11, 12, 10, 30), None, "是"],  # log row earlier
        ["丁", "13900000004", "朗逸", T(2026, 11, 12, 10), "张伟", T(2026, 11, 12, 10, 30), None, "否"],  # not a member
        ["戊", "13900000005", "朗逸", T(2026, 10, 30, 10), "张伟", T(2026, 10, 30, 10, 30), None, "是"],  # before the period
    ]
    callbacks = [
        CALLBACK,
        ["乙", "13900000002", T(2026, 11, 11, 10), "电话", "满意", None, "赵敏", "是", None],
        ["丙", "13900000003", T(2026, 11, 1, 10), "电话", "满意", None, "赵敏", "是", None],
        ["己", "13900000006", T(2026, 10, 1, 10), "电话", "满意", None, "赵敏", "是", None],  # makes 己 a member
    ]
    complaints = [
        COMPLAINT,
        ["TS-1", T(2026, 11, 20, 9), "电话", "己", "13900000006", "等太久", "赵敏", "处理中"],  # member, no callback
        ["TS-2", T(2026, 11, 21, 9), "电话", "庚", "13900000007", "等太久", "赵敏", "处理中"],  # not a member
    ]
    return check_files(tmp_path, {"展厅.xlsx": {"交车登记": deliveries}, "客服.xlsx": {"回访记录": callbacks, "投诉登记": complaints}},
                       now=T(2026, 11, 27, 17, tzinfo=SHANGHAI),
                       tables={"展厅.xlsx": {"交车登记": "delivery_log"},
                               "客服.xlsx": {"回访记录": "callback_log", "投诉登记": "complaint_log"}})


def test_member_coverage_counts_members_called_back_after_their_delivery_or_complaint(tmp_path):
    result = _coverage_result(tmp_path)
    cov = member_coverage(result, D(2026, 11, 1), D(2026, 11, 27), SHANGHAI)
    assert (cov["total"], cov["called"], cov["rate"]) == (4, 2, 50)
    assert [e["name"] for e in cov["called_people"]] == ["甲", "乙"]
    assert [(m["name"], m["event"], m["responsible"], m["day"]) for m in cov["missing"]] == [
        ("丙", "delivery", "王芳", "2026-11-12"), ("己", "complaint", "赵敏", "2026-11-20")]


def test_member_coverage_of_an_empty_period_has_no_rate(tmp_path):
    cov = member_coverage(_coverage_result(tmp_path), D(2026, 12, 1), D(2026, 12, 31), SHANGHAI)
    assert (cov["total"], cov["rate"], cov["missing"]) == (0, None, [])


def test_team_digest_lists_members_not_called_masked(tmp_path):
    result = _coverage_result(tmp_path)
    now = result.now
    config = demo_two_books()
    digests = {m.recipient.name: m for m in build_digests(result, config, now, CAL)}
    members = digests["李娜"].context["members"]
    assert (members["total"], members["called"]) == (4, 2)
    assert [(m["name"], m["phone"]) for m in members["missing"]] == [("丙", "139****0003"), ("己", "139****0006")]
    text = Renderer(config).parts(digests["李娜"])[1]
    assert "会员客户回访" in text and "丙 139****0003（王芳）交车 2026-11-12" in text and "13900000003" not in text


# -- the whole-store digest ---------------------------------------------------------------------


def test_store_scope_gives_every_team_grouped_and_cc_readers_a_copy(demo, tmp_path):
    now = DEMO_NOW.replace(hour=17)
    result = run_check(demo, now)
    settings = DigestSettings(store_scope=("展厅经理",), cc=("owner@example.com", "陈静"))
    digests = {m.recipient.email: m for m in build_digests(result, demo, now, calendar_of(demo), settings=settings)}
    assert sorted(digests) == ["chenjing@example.com", "lina@example.com", "owner@example.com", "zhoujie@example.com"]
    store = digests["zhoujie@example.com"].context
    assert store["scope"] == "store" and digests["lina@example.com"].context["scope"] == "team"
    teams = {t["leader"]: t for t in store["teams"]}
    assert list(teams) == ["李娜", "陈静", ""]
    assert [p["name"] for p in teams["李娜"]["people"]] == ["张伟", "王芳", "刘洋"]
    assert [p["name"] for p in teams[""]["people"]] == ["小王", "小明"]  # names not in the staff list
    overdue = sum(1 for f in result.findings if f.rule.endswith("_overdue") and f.assignee)
    assert store["overdue_total"] == overdue == sum(t["overdue_total"] for t in store["teams"])
    assert teams["李娜"]["overdue_total"] == digests["lina@example.com"].context["overdue_total"]
    assert digests["owner@example.com"].context == {**store, "name": "owner"}
    subject, text, html = Renderer(demo).parts(digests["zhoujie@example.com"])
    assert "全店" in subject and "李娜 团队" in text and "其他人员" in html


def test_digest_attaches_the_teams_findings_workbook(demo, tmp_path):
    now = DEMO_NOW.replace(hour=17)
    result = run_check(demo, now)
    settings = DigestSettings(attach_findings=True, folder=str(tmp_path))
    digest = next(m for m in build_digests(result, demo, now, calendar_of(demo), settings=settings)
                  if m.recipient.name == "陈静")
    (path,) = digest.attachments
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["汇总", "孙磊", "赵敏"]
    phones = [c.value for c in book["赵敏"]["E"][1:] if c.value]
    assert phones and all("****" in p for p in phones)  # the supervisor's copy is masked
    mail = Renderer(demo).email(digest, now)
    assert [p.get_filename() for p in mail.iter_attachments()] == [Path(path).name]


def test_digest_without_settings_attaches_nothing_and_stays_per_team(demo):
    now = DEMO_NOW.replace(hour=17)
    digests = build_digests(run_check(demo, now), demo, now, calendar_of(demo))
    assert all(m.attachments == () and m.context["scope"] == "team" and m.context["teams"] == [] for m in digests)
