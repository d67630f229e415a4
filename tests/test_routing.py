"""Findings whose row names nobody reach a person: the source's owner, else every supervisor (DOMAIN.md, 12)."""

import datetime as dt

from scripts.jobs import calendar_of
from scripts.messages import build_digests, build_reminders
from tests.helpers import NOW, VISITOR_HEADERS, check_files, visitor

D = dt.datetime
STAFF = [
    {"name": "李娜", "email": "lina@example.com", "role": "销售经理"},
    {"name": "陈静", "email": "chenjing@example.com", "role": "客服主管"},
    {"name": "张伟", "email": "zhangwei@example.com", "role": "销售顾问", "supervisor": "李娜"},
    {"name": "赵敏", "email": "zhaomin@example.com", "role": "客服专员", "supervisor": "陈静"},
]
ROWS = [
    VISITOR_HEADERS,
    # row 2: nobody named: its overdue follow-up and nothing else
    visitor(登记时间=D(2026, 11, 20, 10), 来访方式="来店", 客户姓名="吴先生", 联系电话=13800000001, 信息来源="网络",
            是否建卡="是"),
    # row 3: 張偉 in Traditional: his own reminder, counted with 张伟 in the digest
    visitor(登记时间=D(2026, 11, 20, 11), 来访方式="来店", 客户姓名="郑女士", 联系电话=13800000002, 信息来源="网络",
            销售顾问="張偉", 是否建卡="是"),
]


def _result(tmp_path):
    from scripts.config import parse_config

    result = check_files(tmp_path, {"展厅.xlsx": {"来店登记": ROWS}}, staff=STAFF)
    config = parse_config({"sources": [{"name": "展厅.xlsx", "path": "展厅.xlsx"}], "staff": STAFF},
                          tmp_path / "huifang.yaml", tmp_path)
    return result, config


def test_a_row_that_names_nobody_goes_to_every_supervisor_under_its_own_heading(tmp_path):
    result, config = _result(tmp_path)
    nobody = [f for f in result.findings if not f.assignee]
    assert {f.rule for f in nobody} >= {"missing_required", "followup_overdue"}
    reminders = {m.recipient.name: m for m in build_reminders(result, config, NOW, calendar_of(config))}
    for boss in ("李娜", "陈静"):  # no owner configured: both supervisors see it, nobody drops it
        got = reminders[boss].context["unassigned"]
        assert sorted(i["rule"] for i in got) == sorted(f.rule for f in nobody)
        assert all(i["location"].startswith("来店登记!") for i in got)
        assert {i["phone"] for i in got} == {"138****0001"}  # a supervisor's email: phones masked
    assert reminders["张伟"].context["unassigned"] == []
    assert "赵敏" not in reminders


def test_traditional_spelling_is_counted_with_the_staff_lists_spelling_in_the_digest(tmp_path):
    result, config = _result(tmp_path)
    evening = NOW.replace(hour=17)
    digest = {m.recipient.name: m for m in build_digests(result, config, evening, calendar_of(config))}["李娜"]
    people = {p["name"]: p for p in digest.context["people"]}
    assert set(people) == {"张伟"}
    assert people["张伟"]["overdue"] == 1  # row 3, typed 張偉
    assert digest.context["overdue_total"] == sum(b["count"] for b in digest.context["overdue_bars"]) == 1
    assert digest.context["unassigned_total"] == len([f for f in result.findings if not f.assignee])


def test_the_sources_owner_alone_gets_rows_that_name_nobody(tmp_path):
    from scripts.check import run_check
    from scripts.config import parse_config
    from scripts.output import as_json

    check_files(tmp_path, {"展厅.xlsx": {"来店登记": ROWS}}, staff=STAFF)  # writes the workbook
    config = parse_config({"sources": [{"name": "展厅.xlsx", "path": "展厅.xlsx", "owner": "陳靜"}], "staff": STAFF},
                          tmp_path / "huifang.yaml", tmp_path)
    result = run_check(config, NOW)
    routed = [f for f in result.findings if f.unassigned]
    assert {f.rule for f in routed} >= {"missing_required", "followup_overdue"}
    assert {f.assignee for f in routed} == {"陈静"}  # in the JSON too, spelled as the staff list has it
    assert {f["assignee"] for f in as_json(result)["findings"] if f["rule"] == "followup_overdue" and f["row"] == 2} == {"陈静"}
    reminders = {m.recipient.name: m for m in build_reminders(result, config, NOW, calendar_of(config))}
    assert sorted(i["rule"] for i in reminders["陈静"].context["unassigned"]) == sorted(f.rule for f in routed)
    assert reminders["陈静"].context["overdue"] == []  # under their own heading, not as her own tasks
    assert "李娜" not in reminders  # the owner alone, not every supervisor
    evening = NOW.replace(hour=17)
    digests = {m.recipient.name: m for m in build_digests(result, config, evening, calendar_of(config))}
    assert digests["陈静"].context["unassigned_total"] == len(routed)
