"""The demo's third workbook, kept the way stores really keep logs: its findings, written down first."""

from scripts.check import run_check
from scripts.config import load_config
from scripts.demo import DEMO_CONFIG, DEMO_NOW

# (rule, cell, assignee) expected at Friday 2026-11-27 09:00, from DOMAIN.md's conventions:
EXPECTED = {
    "11月來店": [
        # row 3 黃先生: phone inside words (139-1234-0018（本人）), follow-up note 11/24已回訪，已訂車 closes it
        # row 4 林女士: 不留 in the phone cell: declined, no blank, no card, no follow-up
        ("card_not_created", "K5", "刘洋"),  # row 5 周先生: 未建; note 11-25 is a follow-up after the visit
        ("followup_overdue", "B6", "张伟"),  # row 6 吳女士: visit 11-19 -> due 11-24; 張偉 is 张伟 of the staff list
        ("missing_required", "F7", "王芳"),  # row 7 鄭先生: no phone -> its blank, no follow-up, no card finding
        ("missing_required", "G8", "刘洋"),  # row 8 何女士: 客戶來源 empty
        # row 9 合計: not a record
    ],
    "交車登記": [
        # row 2 黃先生: 已打, delivered 11-26 08:30 (time in its own column); callback due 12-01
        ("thank_you_call_overdue", "G3", "王芳"),  # row 3 陳女士: delivered 07:40 -> due 08:40
        ("delivery_callback_overdue", "H4", "刘洋"),  # row 4 馬先生: 11-20 -> due 11-25; 11-20 已打 is the call
        # row 5 李女士: 11/26已回訪，滿意 (a date alone: no quiet-hours judgement)
        ("maintenance_reminder_due_soon", "J6", "王芳"),  # row 6 宋女士: 05-30 + 6 months = 11-30, remind from 11-16
        # row 7 丁先生: first service 11-20, reminded 11/10 (a done-mark with a date)
    ],
    "投訴登記": [
        ("complaint_reply_due_soon", "I2", "赵敏"),  # 11-26 11:00 (time column) + 24 h; not 00:00-based overdue
        # row 3 邱女士: 已回覆; no 投訴編號 (序號 is the id) and no 處理狀態 (derived): no missing_column
    ],
}


def test_the_branch_workbook_gives_exactly_the_findings_a_supervisor_expects():
    result = run_check(load_config(DEMO_CONFIG), DEMO_NOW)
    branch = next(s for s in result.sources if s.name == "二店")
    assert branch.error is None
    assert [s.table for s in branch.sheets] == ["visitor_log", "delivery_log", "complaint_log"]
    got = {}
    for f in result.findings:
        if f.source == "二店":
            got.setdefault(f.sheet, []).append((f.rule, f.cell, f.assignee))
    assert {k: sorted(v) for k, v in got.items()} == {k: sorted(v) for k, v in EXPECTED.items()}
    visitors = next(s for s in branch.sheets if s.title == "11月來店")
    assert visitors.skipped_rows == [9]
