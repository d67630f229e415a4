"""The findings workbook: sheets per person, masked phones, text never a formula, links to the exact cell,
read back with calamine and opened by LibreOffice."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
import zipfile
from collections import Counter

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from scripts.check import run_check
from scripts.demo import DEMO_CONFIG, DEMO_NOW, write_demo
from scripts.findings_book import NO_ASSIGNEE, cell_link, how_late, rule_words, sheet_title, write_findings_workbook
from tests.helpers import SHANGHAI, demo_two_books, libreoffice_convert


@pytest.fixture(scope="module")
def demo_result():
    return run_check(demo_two_books(), DEMO_NOW)


@pytest.fixture(scope="module")
def book(demo_result, tmp_path_factory):
    return write_findings_workbook(demo_result, tmp_path_factory.mktemp("book") / "问题清单.xlsx", DEMO_NOW, reader="张伟")


@pytest.mark.parametrize("rule, words", [
    ("followup_overdue", "跟进回访（已逾期）"),
    ("complaint_reply_due_soon", "投诉首次答复（即将到期）"),
    ("card_not_created", "留了电话未建卡"),
    ("maintenance_reminder_overdue", "首保提醒（已逾期）"),
    ("assignment_contact_due_soon", "分配客户一周内联系（即将到期）"),
    ("some_new_rule", "some_new_rule"),
])
def test_rule_in_words(rule, words):
    assert rule_words(rule) == words


@pytest.mark.parametrize("due, late", [
    (dt.datetime(2026, 11, 27, 10, 0), ""),  # not yet
    (dt.datetime(2026, 11, 27, 8, 59), "1 小时"),  # a minute late still reads as an hour
    (dt.datetime(2026, 11, 26, 16, 0), "17 小时"),
    (dt.datetime(2026, 11, 26, 9, 0), "1 天"),
    (dt.datetime(2026, 11, 20, 23, 59, 59), "6 天"),
    (None, ""),
])
def test_how_late(due, late):
    assert how_late(due.replace(tzinfo=SHANGHAI) if due else None, DEMO_NOW) == late


@pytest.mark.parametrize("name, taken, title", [
    ("张伟", [], "张伟"),
    ("a/b:c*d?[e]", [], "a_b_c_d__e_"),
    ("x" * 40, [], "x" * 31),
    ("张伟", ["汇总", "张伟"], "张伟(2)"),
    ("O'Neil", [], "O_Neil"),
])
def test_sheet_titles_excel_accepts(name, taken, title):
    assert sheet_title(name, taken) == title


def test_one_sheet_per_assignee_and_a_summary(book, demo_result):
    wb = openpyxl.load_workbook(book)
    per_person = Counter(f.assignee or NO_ASSIGNEE for f in demo_result.findings)
    assert wb.sheetnames == ["汇总", *sorted(n for n in per_person if n != NO_ASSIGNEE), NO_ASSIGNEE]
    for name, count in per_person.items():
        assert wb[name].max_row - 1 == count
        assert wb[name].freeze_panes == "A2" and wb[name].auto_filter.ref.startswith("A1:I")
    summary = {r[0]: r[1] for r in wb["汇总"].iter_rows(min_row=2, values_only=True) if r[0] and r[1] is not None}
    assert summary == {**per_person, "合计": len(demo_result.findings)}


def test_phones_full_only_on_the_readers_own_sheet(book):
    wb = openpyxl.load_workbook(book)
    zhang = {r[3]: r[4] for r in wb["张伟"].iter_rows(min_row=2, values_only=True)}
    assert zhang["陈先生"] == "13812345678"
    wang = [r[4] for r in wb["王芳"].iter_rows(min_row=2, values_only=True) if r[4]]
    assert wang and all(re.fullmatch(r"\d{3}\*{4}\d{4}", p) for p in wang)


def test_rows_read_back_with_calamine(book):
    sheet = CalamineWorkbook.from_path(str(book)).get_sheet_by_name("张伟").to_python()
    assert sheet[0] == ["规则", "数据源", "位置", "客户", "电话", "说明", "期限", "逾期", "打开"]
    first = sheet[1]
    # most late first: 陈先生's follow-up was due at the end of 11-25
    assert first[:5] == ["跟进回访（已逾期）", "展厅", "来店登记!M7", "陈先生", "13812345678"]
    assert first[6] == dt.datetime(2026, 11, 25, 23, 59, 59) and first[7] == "1 天" and first[8] == "打开"


def test_each_link_opens_the_findings_cell(book, demo_result):
    ws = openpyxl.load_workbook(book)["张伟"]
    link = ws["I2"].hyperlink
    assert link.target == (DEMO_CONFIG.parent / "展厅.xlsx").resolve().as_uri()
    assert link.location == "'来店登记'!M7"
    summary = openpyxl.load_workbook(book)["汇总"]
    assert summary["A2"].hyperlink.location == f"'{summary['A2'].value}'!A1" and summary["A2"].hyperlink.target is None


def test_relative_links_survive_moving_the_folder(demo_result, tmp_path):
    write_demo(tmp_path)
    config = demo_two_books()
    from dataclasses import replace

    moved = replace(config, sources=tuple(replace(s, path=tmp_path / s.path.name) for s in config.sources))
    result = run_check(moved, DEMO_NOW)
    path = write_findings_workbook(result, tmp_path / "out" / "问题清单.xlsx", DEMO_NOW, relative_links=True)
    link = openpyxl.load_workbook(path)["张伟"]["I2"].hyperlink
    assert (link.target, link.location) == ("../%E5%B1%95%E5%8E%85.xlsx", "'来店登记'!M7")


def test_google_sheets_findings_link_to_their_deep_link(demo_result):
    finding = demo_result.findings[0]._replace(url="https://docs.google.com/spreadsheets/d/abc/edit#gid=0&range=G7")
    assert cell_link(finding, {}) == finding.url


def test_formula_text_stays_text_and_no_temp_file_is_left(demo_result, tmp_path):
    evil = '=HYPERLINK("http://evil.example","点我")'
    findings = [f._replace(customer=evil, message="=1+1") for f in demo_result.findings if f.assignee == "张伟"]
    path = write_findings_workbook(demo_result, tmp_path / "out" / "问题清单.xlsx", DEMO_NOW, findings=findings)
    ws = openpyxl.load_workbook(path)["张伟"]
    cells = [c for row in ws.iter_rows(min_row=2, min_col=4, max_col=6) for c in (row[0], row[2])]
    assert len(cells) == 2 * len(findings) and all(c.data_type == "s" for c in cells)
    assert {c.value for c in cells} == {evil, "=1+1"}
    assert CalamineWorkbook.from_path(str(path)).get_sheet_by_name("张伟").to_python()[1][3] == evil
    assert [p.name for p in path.parent.iterdir()] == ["问题清单.xlsx"]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_libreoffice_opens_the_workbook_with_its_links(book, tmp_path):
    ods = libreoffice_convert(book, "ods", tmp_path)
    content = zipfile.ZipFile(ods).read("content.xml").decode("utf-8")
    assert 'table:name="张伟"' in content and 'table:name="汇总"' in content
    hrefs = [html.unescape(h) for h in re.findall(r'xlink:href="([^"]+)"', content)]
    # LibreOffice keeps the file and the cell (it stores the file relative to the document)
    assert any(h.endswith("demo/展厅.xlsx#'来店登记'!M7") for h in hrefs), hrefs[:5]
    assert "#'张伟'.A1" in hrefs  # the summary's link to a person's sheet
