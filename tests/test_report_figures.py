"""The monthly report's figures against numbers worked out by hand (the arithmetic is in the comments).

A two-month log (October and November 2026, one complaint from September still open), read as
typed records: complaints open across month ends, a work order not yet due at month end, replies at
exactly 24 h and at 24 h 1 min, repeat complainants across the month boundary, done columns holding a
bare date or a "done, time unknown" mark, and a row whose received time cannot be read.
"""

import datetime as dt
import pytest

from scripts.report import (
    LATE, ON_TIME, PENDING, UNKNOWN, biggest_changes, department_rows, headline, month_stats, owner_rows, trend,
    unreadable,
)
from scripts.tables import Record
from tests.helpers import SHANGHAI

D = dt.datetime


class DoneMark:
    """Stands for a done column's "done, moment unknown" (a ticked box)."""

    def __bool__(self) -> bool:
        return True


def rec(row, **fields):
    r = Record(row)
    r.update({k: v for k, v in fields.items() if v is not None})
    return r


P1, P2, P3, P4, P5, P6, P7 = (f"1390000000{i}" for i in range(1, 8))
LOG = [
    # September, still open: no reply, work order due 09-25 18:00 never done.
    rec(2, complaint_id="S1", received_at=D(2026, 9, 20, 10), phone=P1, channel="电话", category="维修质量",
        owner="赵敏", department="售后部", dept_due_at=D(2026, 9, 25, 18), status="处理中"),
    # October.
    rec(3, complaint_id="O1", received_at=D(2026, 10, 5, 9), phone=P2, channel="电话", category="服务态度", severity="一般",
        owner="孙磊", first_reply_at=D(2026, 10, 5, 21), resolved_at=D(2026, 10, 6, 9), callback_at=D(2026, 10, 7, 10),
        satisfaction="满意", status="已关闭"),
    rec(4, complaint_id="O2", received_at=D(2026, 10, 20, 9), phone=P3, channel="微信", category="维修质量", severity="紧急",
        owner="赵敏", first_reply_at=D(2026, 10, 21, 9), resolved_at=D(2026, 10, 25, 9), status="已解决"),
    rec(5, complaint_id="O3", received_at=D(2026, 10, 28, 15), phone=P4, channel="电话", category="维修质量", severity="一般",
        owner="赵敏", department="销售部", dept_due_at=D(2026, 11, 2, 18), first_reply_at=D(2026, 10, 28, 16),
        resolved_at=D(2026, 11, 3, 10), callback_at=D(2026, 11, 5, 10), status="已关闭"),
    # November.
    rec(6, complaint_id="N1", received_at=D(2026, 11, 2, 10), phone=P2, channel="电话", category="服务态度", severity="紧急",
        owner="孙磊", department="售后部", dept_due_at=D(2026, 11, 4, 18), first_reply_at=D(2026, 11, 3, 10),
        resolved_at=D(2026, 11, 4, 10), callback_at=D(2026, 11, 5, 10), satisfaction="满意", status="已关闭"),
    rec(7, complaint_id="N2", received_at=D(2026, 11, 10, 9), phone=P5, channel="微信", category="服务态度", severity="紧急",
        owner="孫磊", department="销售部", dept_due_at=D(2026, 11, 11, 18), first_reply_at=D(2026, 11, 11, 9, 1),
        resolved_at=D(2026, 11, 12, 9), status="已解决"),
    rec(8, complaint_id="N3", received_at=D(2026, 11, 20, 14), phone=P6, channel="面诉", category="销售流程", severity="一般",
        owner="王芳", department="销售部", dept_due_at=D(2026, 12, 3, 18), first_reply_at=D(2026, 11, 20, 15, 30),
        status="处理中", model="H6"),
    rec(9, complaint_id="N4", received_at=D(2026, 11, 30, 8), phone=P3, channel="电话", category="维修质量", severity="一般",
        owner="赵敏", status="待处理", model="H6"),
    rec(10, complaint_id="N5", received_at=D(2026, 11, 15, 10), phone=P7, channel="电话", category="维修质量", severity="一般",
        owner="赵敏", department="售后部", dept_due_at=D(2026, 11, 16, 18), first_reply_at=DoneMark(),
        resolved_at=dt.date(2026, 11, 16), callback_at=D(2026, 11, 18, 10), satisfaction="不满意", status="已关闭",
        model="F7"),
    rec(11, complaint_id="N6", received_at=D(2026, 11, 29, 22), phone=P2, channel="微信", category="服务态度", severity="一般",
        owner="孙磊", first_reply_at=D(2026, 11, 30, 7, 20), resolved_at=D(2026, 11, 30, 23), status="已解决"),
    # The received time could not be read (the cell held "11月31日"): the record has no received_at.
    rec(12, complaint_id="X1", phone=P6, channel="电话", owner="王芳", status="待处理"),
]
STAFF_SPELLING = {"孙磊": "孙磊", "孫磊": "孙磊", "赵敏": "赵敏", "王芳": "王芳"}


def stats(month, **kwargs):
    return month_stats(LOG, month, SHANGHAI, owner_name=lambda typed: STAFF_SPELLING.get(typed, typed), **kwargs)


@pytest.fixture(scope="module")
def nov():
    return stats("2026-11")


@pytest.fixture(scope="module")
def octo():
    return stats("2026-10")


def test_november_counts(nov):
    assert nov.total == 6  # N1..N6; X1 has no readable month
    assert dict(nov.by_channel) == {"电话": 3, "微信": 2, "面诉": 1}  # 电话 N1 N4 N5, 微信 N2 N6, 面诉 N3
    assert dict(nov.by_category) == {"服务态度": 3, "维修质量": 2, "销售流程": 1}
    assert dict(nov.by_severity) == {"紧急": 2, "一般": 4}  # 紧急 N1 N2
    assert dict(nov.by_model) == {"H6": 2, "F7": 1, "": 3}
    # 孫磊 (N2) is 孙磊 as the staff list spells him.
    assert dict(nov.by_owner) == {"孙磊": 3, "赵敏": 2, "王芳": 1}


def test_reply_within_24_hours_judged_at_month_end(nov):
    outcome = {c.complaint_id: c.reply for c in nov.complaints}
    # N1 at exactly 24 h: on time; N2 at 24 h 1 min: late; N4 came 16 h before month end, no reply: pending;
    # N5's reply column is ticked without a time: unknown, neither on time nor late.
    assert outcome == {"N1": ON_TIME, "N2": LATE, "N3": ON_TIME, "N4": PENDING, "N5": UNKNOWN, "N6": ON_TIME}
    assert nov.reply_tally == (3, 4, 1)  # on time N1 N3 N6, judged those + N2, unknown N5
    assert nov.reply_rate == 0.75  # 3 / 4


def test_median_is_rounded_once_at_display(nov):
    # Hours to first reply with a moment: N3 1.5, N6 9h20m = 28/3, N1 24, N2 24 + 1/60.
    # Median of four = (28/3 + 24) / 2 = 50/3 = 16.666…; rounding each row to 0.1 first would give 16.65.
    assert nov.median_reply_hours == pytest.approx(50 / 3, abs=1e-9)
    assert headline(nov, nov)[2].shown(nov.median_reply_hours) == "16.7"
    # Resolution with a moment: N6 25 h, N1 48 h, N2 48 h (N5 has only a date): median 48.
    assert nov.median_resolve_hours == 48


def test_work_orders_not_yet_due_are_pending(nov):
    dept = {c.complaint_id: c.dept for c in nov.complaints}
    # N3 due 12-03 and not done: pending, not late. N5 done on the due day (a bare date): on time.
    # N2 due 11-11 18:00, resolved 11-12 09:00: late.
    assert dept == {"N1": ON_TIME, "N2": LATE, "N3": PENDING, "N4": None, "N5": ON_TIME, "N6": None}
    assert (nov.dept_orders, nov.dept_on_time, nov.dept_rate) == (4, 2, pytest.approx(2 / 3))  # judged N1 N2 N5


def test_rates(nov, octo):
    assert nov.resolve_rate == pytest.approx(4 / 6)  # resolved by 12-01: N1 N2 N5 N6
    assert (nov.callbacks, nov.resolved, nov.callback_rate) == (2, 4, 0.5)  # called back N1 N5 of N1 N2 N5 N6
    assert nov.satisfaction_rate == 0.5  # 满意 N1 of answered N1 N5
    # October: replies at 12 h, exactly 24 h and 1 h are all on time; O3's work order was done 16 h late.
    assert (octo.total, octo.reply_rate, octo.median_reply_hours) == (3, 1.0, 12)
    assert octo.median_resolve_hours == 120  # 24, 120, 139 (10-28 15:00 → 11-03 10:00)
    assert octo.resolve_rate == pytest.approx(2 / 3)  # O3 resolved in November
    assert (octo.dept_rate, octo.callback_rate, octo.satisfaction_rate) == (0, pytest.approx(2 / 3), 1.0)


def test_open_at_month_end_includes_earlier_months_with_their_true_age(nov, octo):
    # S1: 09-20 10:00 → 12-01 00:00 is 71 days 14 h; N3: 11-20 14:00 → 10 days 10 h; N4: 16 h.
    assert [(c.complaint_id, age) for c, age in nov.open_at_end] == [("S1", 71), ("N3", 10), ("N4", 0)]
    # At October's end: S1 (41 days 14 h) and O3 (resolved 11-03; 3 days 9 h).
    assert [(c.complaint_id, age) for c, age in octo.open_at_end] == [("S1", 41), ("O3", 3)]


@pytest.mark.parametrize("days, repeats", [
    (30, ["N1", "N6"]),  # P2: O1 10-05 09:00 → N1 11-02 10:00 is 28 d 1 h; N1 → N6 is 27 d 12 h
    (45, ["N1", "N6", "N4"]),  # in order received; P3: O2 10-20 09:00 → N4 11-30 08:00 is 40 d 23 h
    (27, []),  # both P2 gaps are over 27 days
])
def test_repeat_window_follows_the_schema(days, repeats):
    assert [c.complaint_id for c in stats("2026-11", repeat_days=days).repeats] == repeats


def test_overdue_list_owner_and_days_late(nov):
    got = [(o.kind, o.complaint.complaint_id, o.complaint.owner, o.late_days, o.done) for o in nov.overdue]
    assert got == [
        ("首次答复", "S1", "赵敏", 70, False),  # due 09-21, not done by 11-30: 9 + 31 + 30 days
        ("协办工单", "S1", "赵敏", 66, False),  # due 09-25: 5 + 31 + 30
        ("处理后回访", "O2", "赵敏", 33, False),  # resolved 10-25, due 3 days later 10-28: 3 + 30
        ("协办工单", "O3", "赵敏", 1, True),  # due 11-02 18:00, done 11-03 10:00
        ("首次答复", "N2", "孙磊", 1, True),  # due 11-11 09:00, replied 09:01: same day counts as 1
        ("协办工单", "N2", "孙磊", 1, True),  # due 11-11 18:00, done 11-12 09:00
        ("处理后回访", "N2", "孙磊", 15, False),  # resolved 11-12, due 11-15, not done by 11-30
    ]
    # N6's callback is due 12-03 (resolved 11-30 + 3): not overdue in November.


def test_headline_changes_have_no_float_noise(nov, octo):
    figures = {f.key: f for f in headline(nov, octo)}
    assert figures["total"].change == 3 and figures["total"].arrow == "↑"  # 6 − 3
    assert figures["reply_rate"].change == -0.25 and figures["reply_rate"].arrow == "↓"  # 0.75 − 1
    assert figures["resolve_rate"].change == 0  # 4/6 − 2/3
    assert figures["resolve_rate"].arrow == "→"
    assert figures["dept_rate"].change == 0.6667  # 2/3 − 0
    assert figures["median_reply_hours"].change == 4.67  # 50/3 − 12
    assert figures["satisfaction_rate"].shown_change() == "-50 pp"  # 0.5 − 1
    assert figures["open_at_end"].change == 1  # 3 − 2


def test_the_three_biggest_changes_in_words(nov, octo):
    # 服务态度 1 → 3 (+2, 50%); then +1 moves: the category 销售流程 (0 → 1, 17%) before channels;
    # 微信 1 → 2 keeps its share (1/3 = 2/6 = 33%).
    assert [c["zh"] for c in biggest_changes(nov, octo)] == [
        "服务态度类投诉 +2，占比升至 50%", "销售流程类投诉 +1，占比升至 17%", "微信渠道投诉 +1，占比持平 33%"]
    assert biggest_changes(nov, octo)[0]["en"] == "服务态度 complaints +2, share up to 50%"


def test_owners_by_folded_name_with_on_time_share_and_open_count(nov, octo):
    assert owner_rows(nov, octo) == [
        # 孙磊: N1 N2(孫磊) N6, October O1; replies on time N1 N6 of 3; work orders N1 on time, N2 late.
        ("孙磊", 3, 1, 2, pytest.approx(2 / 3), 0.5, 0),
        # 赵敏: N4 (pending) N5 (unknown): no reply judged; N5's work order on time; open S1 and N4.
        ("赵敏", 2, 2, 0, None, 1.0, 2),
        ("王芳", 1, 0, 1, 1.0, None, 1),  # N3 replied in 1.5 h, its work order not yet due, still open
    ]


def test_departments_with_on_time_share(nov, octo):
    assert department_rows(nov, octo) == [
        ("售后部", 2, 2, 2, 1.0, 0, None, None),  # N1, N5 on time; none in October
        ("销售部", 2, 1, 0, 0.0, 1, 0.0, 0.0),  # N2 late, N3 pending; October O3 late
    ]


def test_rows_without_a_received_time_are_listed():
    assert unreadable(LOG, lambda r: f"投诉登记!{r.row}") == ["投诉登记!12"]


def test_a_month_with_no_complaints():
    dec = stats("2026-12")
    assert (dec.total, dec.reply_rate, dec.median_reply_hours, dec.resolve_rate) == (0, None, None, None)
    # Still open at the end of December: S1 (102 days: 71 + 31), N3 (41), N4 (31 days 16 h → 31).
    assert [(c.complaint_id, age) for c, age in dec.open_at_end] == [("S1", 102), ("N3", 41), ("N4", 31)]
    # Late in December: what was still undone at its start (S1's reply and work order, O2's and N2's
    # callbacks) and what fell due in it: N4's reply (12-01 08:00), N3's work order (12-03 18:00), N6's
    # callback (resolved 11-30, due 12-03).
    assert sorted((o.kind, o.complaint.complaint_id) for o in dec.overdue) == sorted([
        ("首次答复", "S1"), ("协办工单", "S1"), ("处理后回访", "O2"), ("处理后回访", "N2"),
        ("首次答复", "N4"), ("协办工单", "N3"), ("处理后回访", "N6")])


def test_trend_starts_with_the_first_month_of_the_log():
    months = trend(LOG, "2026-11", SHANGHAI)
    assert [(s.month, s.total) for s in months] == [("2026-09", 1), ("2026-10", 3), ("2026-11", 6)]
