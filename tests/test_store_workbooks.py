"""Three store-made workbooks (Traditional headers and names, merged title rows, split date/time, text
marks, totals and notes, a header pasted twice, refusals in phone cells, a complaint sheet without id or
status columns), each read as openpyxl wrote it and as LibreOffice saved it (.xls, .ods): the findings a
careful supervisor expects at NOW, by DOMAIN.md, with no config beyond the file and the staff list."""

from __future__ import annotations

import shutil

import pytest

from scripts.check import run_check
from scripts.config import parse_config
from tests.fixtures.store.make_store_books import BOOKS, HERE, write_book
from tests.helpers import NOW, STAFF

STORE_STAFF = [*STAFF, {"name": "陈晓燕", "email": "cxy@example.com", "role": "销售顾问", "supervisor": "李娜"},
               {"name": "刘洋", "email": "ly@example.com", "role": "销售顾问", "supervisor": "李娜"}]

EXPECTED = {
    "展廳來店": [
        ("missing_required", "F6"),  # no phone: its finding, no follow-up, no card finding
        ("missing_required", "G7"), ("card_not_created", "I7"),
        ("followup_overdue", "J7"),  # 考慮訂車 does not close it; visited 11-20: due 11-25
        ("invalid_value", "D8"),  # 上門 is no visitor channel
        ("unknown_staff", "H8"),
        ("invalid_value", "J8"), ("followup_due_soon", "J8"),  # 11.1 unreadable: 3 working days after 11-24
    ],
    "交車": [
        ("thank_you_call_overdue", "G3"),  # delivered 11-26, no time: due at the end of 11-26
        ("thank_you_call_overdue", "G5"), ("delivery_callback_overdue", "H5"),  # 未打, 待回訪
        ("maintenance_reminder_overdue", "I6"),  # delivered 05-20: first service 11-20
        ("unclear_done_mark", "H7"),
    ],
    "客服投訴": [
        ("complaint_reply_due_soon", "I3"),  # received 11-26 11:00: due 11-27 11:00
        ("complaint_callback_overdue", "L5"),  # resolved 11-21: callback due 11-26
        ("duplicate_id", "A8"), ("unknown_staff", "H8"),  # 序號 as id; 孫磊 not on the list; 不留 is fine
        ("invalid_value", "C9"),  # 晚上 is no time: at the time cell, and no reply deadline
        ("missing_required", "K10"),  # resolved (derived status) without 處理結果
        ("callback_in_quiet_hours", "L10"),
    ],
}


def check_book(folder, path):
    config = parse_config({"sources": [{"name": path.name, "path": path.name}], "staff": STORE_STAFF},
                          folder / "huifang.yaml", folder)
    return run_check(config, NOW)


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
@pytest.mark.parametrize("script", ["", "简-"])  # Traditional as the store typed it, and Simplified
@pytest.mark.parametrize("book", list(EXPECTED))
def test_store_workbook_findings(tmp_path, book, script, fmt):
    stem = script + book
    if fmt == "xlsx":
        path = write_book(tmp_path / f"{stem}.xlsx", BOOKS[f"{stem}.xlsx"])
    else:
        path = tmp_path / f"{stem}.{fmt}"
        shutil.copy(HERE / f"{stem}.{fmt}", path)
    result = check_book(tmp_path, path)
    assert [s.error for s in result.sources] == [None]
    assert sorted((f.rule, f.cell) for f in result.findings) == sorted(EXPECTED[book])


def test_store_findings_name_people_as_the_staff_list_spells_them(tmp_path):
    result = check_book(tmp_path, write_book(tmp_path / "a.xlsx", BOOKS["展廳來店.xlsx"]))
    by_cell = {f.cell: f.assignee for f in result.findings}
    assert by_cell["I7"] == "陈晓燕" and by_cell["F6"] == "王芳"
    sheet = result.sources[0].sheets[0]
    assert sheet.skipped_rows == [9, 10] and sheet.pairs == [("visit_at", "B", "C")]


def test_store_complaint_sheet_skips_the_pasted_header_and_its_title(tmp_path):
    result = check_book(tmp_path, write_book(tmp_path / "a.xlsx", BOOKS["客服投訴.xlsx"]))
    sheet = result.sources[0].sheets[0]
    assert sheet.skipped_rows == [6, 7] and sheet.header_row == 2
    assert [r["status"] for r in result.tables[0].records] == ["处理中", "已解决", "已解决", "处理中", "处理中", "已解决"]
