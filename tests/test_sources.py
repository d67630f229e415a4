"""Reading workbooks as staff really save them, from several producers, without ever changing them."""

import datetime as dt
import hashlib
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import PatternFill

from scripts.errors import SourceError
from scripts.sources.excel import read_workbook
from tests.helpers import NOW, VISITOR_HEADERS, check_files, libreoffice_convert, rules_at, visitor, write_xlsx

FIXTURES = Path(__file__).parent / "fixtures"


def rows_of(path: Path, title: str) -> list[tuple[int, list]]:
    book = read_workbook(path)
    sheet = next(s for s in book.sheets if s.title == title)
    grid = sheet.read()
    return [(n, [None] * grid.first_col + list(v)) for n, v in grid.rows]


def test_row_numbers_are_the_ones_excel_shows_below_leading_empty_rows(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "来店登记"
    ws["C4"] = "登记时间"
    ws["D4"] = "客户姓名"
    ws["C5"] = dt.datetime(2026, 11, 24, 9, 0)
    ws["D7"] = "陈先生"
    wb.save(tmp_path / "offset.xlsx")
    rows = dict(rows_of(tmp_path / "offset.xlsx", "来店登记"))
    assert rows[4][2:4] == ["登记时间", "客户姓名"]
    assert rows[7][3] == "陈先生"
    assert 1 not in rows


@pytest.mark.parametrize("suffix", ["xlsx", "ods", "xls"])
def test_a_table_off_a1_keeps_its_row_numbers_and_error_cells_in_every_format(tmp_path, suffix):
    # Rows are read one at a time (calamine's iter_rows yields the empty rows above the table too):
    # the numbers and the put-back #DIV/0! must still be the cells Excel shows, for LibreOffice files too.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "来店登记"
    ws["C3"] = "登记时间"
    ws["D3"] = "客户姓名"
    ws["C4"] = dt.datetime(2026, 11, 24, 9, 0)
    ws["D6"] = "陈先生"
    ws["E6"] = "=1/0"
    wb.save(tmp_path / "offset.xlsx")
    path = tmp_path / "offset.xlsx"
    if suffix != "xlsx":
        path = libreoffice_convert(path, suffix, tmp_path)
    rows = dict(rows_of(path, "来店登记"))
    assert sorted(rows) == [3, 4, 5, 6]
    assert rows[3][2:4] == ["登记时间", "客户姓名"]
    assert rows[6][3] == "陈先生"
    if suffix != "xlsx":  # openpyxl writes no cached value for the formula; LibreOffice computes it
        assert rows[6][4] == "#DIV/0!"


def test_findings_name_the_excel_cell_when_the_table_starts_off_a1(tmp_path):
    headers = VISITOR_HEADERS
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "来店登记"
    for i, h in enumerate(headers):
        ws.cell(5, 3 + i, h)
    ws.cell(6, 3, dt.datetime(2026, 11, 26, 10, 0))
    ws.cell(6, 4, "来店")
    ws.cell(6, 5, "陈先生")
    ws.cell(6, 6, 13812345678)
    ws.cell(6, 11, "张伟")
    ws.cell(6, 12, "是")
    wb.save(tmp_path / "offset.xlsx")
    from scripts.check import run_check
    from scripts.config import config_for_files

    result = run_check(config_for_files([tmp_path / "offset.xlsx"]), NOW)
    assert [(f.rule, f.location) for f in result.findings] == [("missing_required", "来店登记!H6")]


@pytest.mark.parametrize("name", ["producer_libreoffice.xlsx", "producer_libreoffice.ods", "producer_libreoffice.xls"])
def test_libreoffice_files_give_the_same_findings_as_each_other(name, tmp_path):
    from scripts.check import run_check
    from scripts.config import config_for_files

    result = run_check(config_for_files([FIXTURES / name]), NOW)
    assert [(f.rule, f.location) for f in result.findings] == [
        ("followup_overdue", "来店登记!H4"),  # A4 is =DATE(..)+TIME(..): its cached value is read
        ("followup_due_soon", "来店登记!H5"),
        ("missing_required", "来店登记!D6"),
        ("missing_required", "来店登记!E8"),
        ("card_not_created", "来店登记!G8"),
    ]
    visitors = result.tables[0]
    assert [r.row for r in visitors.records] == [4, 5, 6, 8]  # the blank row 7 is skipped
    assert visitors.records[1]["info_source"] == "汽车之家"  # text formula, cached
    assert visitors.records[3]["next_followup_on"] == dt.date(2026, 11, 30)


def test_formulas_without_cached_values_read_as_empty(tmp_path):
    from scripts.check import run_check
    from scripts.config import config_for_files

    result = run_check(config_for_files([FIXTURES / "producer_source.xlsx"]), NOW)
    assert ("missing_required", "来店登记!A4") in [(f.rule, f.location) for f in result.findings]


def test_hidden_sheets_are_read_and_flagged(tmp_path):
    book = read_workbook(FIXTURES / "producer_libreoffice.xlsx")
    assert {s.title: s.hidden for s in book.sheets} == {"来店登记": False, "选项": True}


def test_formatting_dragged_to_the_last_row_gives_no_findings(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "来店登记"
    ws.append(VISITOR_HEADERS)
    ws.append(visitor(登记时间=dt.datetime(2026, 11, 26, 10), 来访方式="来店", 客户姓名="陈先生", 联系电话=13812345678,
                      信息来源="网络", 销售顾问="张伟", 是否建卡="是"))
    fill = PatternFill("solid", fgColor="FFFF00")
    for r in range(3, 3000):
        ws.cell(r, 4).fill = fill
    ws.cell(1048576, 4).fill = fill
    wb.save(tmp_path / "dragged.xlsx")
    from scripts.check import run_check
    from scripts.config import config_for_files

    result = run_check(config_for_files([tmp_path / "dragged.xlsx"]), NOW)
    assert result.findings == []
    assert result.sources[0].sheets[0].rows == 1


def test_dates_of_a_1904_workbook(tmp_path):
    path = write_xlsx(tmp_path / "mac.xlsx", {"s": [["d", "n"], [dt.datetime(2026, 11, 24, 9, 15), 1]]}, epoch1904=True)
    book = read_workbook(path)
    assert book.sheets[0].epoch1904 is True
    grid = dict(rows_of(path, "s"))
    assert grid[2][0] == dt.datetime(2026, 11, 24, 9, 15)


def test_1904_serial_numbers_in_a_date_column_use_the_workbook_epoch(tmp_path):
    wb = openpyxl.Workbook()
    wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "来店登记"
    ws.append(VISITOR_HEADERS)
    ws.append(visitor(登记时间=44888, 来访方式="来店", 客户姓名="陈先生", 联系电话=13812345678, 信息来源="网络",
                      销售顾问="张伟", 是否建卡="是"))  # a plain number: 44888 days after 1904-01-01
    wb.save(tmp_path / "mac.xlsx")
    from scripts.check import run_check
    from scripts.config import config_for_files

    result = run_check(config_for_files([tmp_path / "mac.xlsx"]), NOW)
    assert result.tables[0].records[0]["visit_at"] == dt.datetime(2026, 11, 24)


def test_csv_in_gbk_as_chinese_excel_saves_it(tmp_path):
    text = "登记时间,来访方式,客户姓名,联系电话,信息来源,销售顾问,是否建卡\n2026/11/26 10:00,来店,陈先生,13812345678,,张伟,是\n"
    (tmp_path / "visits.csv").write_bytes(text.encode("gb18030"))
    from scripts.check import run_check
    from scripts.config import config_for_files

    result = run_check(config_for_files([tmp_path / "visits.csv"]), NOW)
    assert [(f.rule, f.location) for f in result.findings] == [("missing_required", "visits!E2")]


def test_reading_never_changes_the_file(tmp_path):
    path = shutil.copy(FIXTURES / "producer_libreoffice.xlsx", tmp_path / "a.xlsx")
    before = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    mtime = Path(path).stat().st_mtime_ns
    from scripts.check import run_check
    from scripts.config import config_for_files

    run_check(config_for_files([Path(path)]), NOW)
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == before
    assert Path(path).stat().st_mtime_ns == mtime


def test_a_truncated_file_is_retried_then_reported(tmp_path):
    full = (FIXTURES / "producer_libreoffice.xlsx").read_bytes()
    path = tmp_path / "saving.xlsx"
    path.write_bytes(full[: len(full) // 2])
    waits = []
    with pytest.raises(SourceError, match="incomplete or corrupt"):
        read_workbook(path, sleep=waits.append)
    assert len(waits) == 2


def test_a_file_finished_while_we_wait_is_read(tmp_path):
    full = (FIXTURES / "producer_libreoffice.xlsx").read_bytes()
    path = tmp_path / "saving.xlsx"
    path.write_bytes(full[:100])
    book = read_workbook(path, sleep=lambda _: path.write_bytes(full))
    assert [s.title for s in book.sheets] == ["来店登记", "选项"]


def test_zip_bomb_is_refused_before_parsing(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (200 * 1024 * 1024))
    with pytest.raises(SourceError, match="zip bomb"):
        read_workbook(path)


def test_xml_entities_are_refused(tmp_path):
    src = FIXTURES / "producer_libreoffice.xlsx"
    path = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename == "xl/sharedStrings.xml":
                data = data.replace(b"?>", b'?><!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>', 1)
            zout.writestr(item, data)
    with pytest.raises(SourceError, match="DTD"):
        read_workbook(path)


MACRO_SHEETS = Path(__file__).parents[2] / "shared/corpus/sheetjs/BlankSheetTypes.xlsm"


@pytest.mark.skipif(not MACRO_SHEETS.exists(), reason="shared corpus not present")
def test_openpyxl_takes_over_when_calamine_refuses(tmp_path):
    # Calamine refuses workbooks with Excel 4 macro sheets; openpyxl reads the worksheets.
    book = read_workbook(MACRO_SHEETS)
    assert [s.title for s in book.sheets]
    for sheet in book.sheets:
        list(sheet.read().rows)


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b"just some text\n", "not a spreadsheet"),
    (b"PK\x03\x04garbage", "incomplete or corrupt"),
])
def test_bad_files_give_one_clear_error(tmp_path, content, reason):
    path = tmp_path / "客服.xlsx"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=reason) as info:
        read_workbook(path, sleep=lambda _: None)
    assert str(info.value).startswith("客服.xlsx: ")


def test_an_unreadable_source_does_not_stop_the_others(tmp_path):
    (tmp_path / "broken.xlsx").write_bytes(b"not a workbook")
    from scripts.check import run_check
    from scripts.config import parse_config

    write_xlsx(tmp_path / "ok.xlsx", {"来店登记": [VISITOR_HEADERS, visitor(登记时间="2026-11-26", 来访方式="来店",
                                                                          客户姓名="陈先生", 信息来源="网络", 销售顾问="张伟",
                                                                          客户不留电话="是")]})
    config = parse_config({"sources": [{"name": "坏", "path": "broken.xlsx"}, {"name": "好", "path": "ok.xlsx"}]},
                          tmp_path / "c.yaml", tmp_path)
    result = run_check(config, NOW)
    assert result.sources[0].error and "not a spreadsheet" in result.sources[0].error
    assert result.sources[1].error is None and result.sources[1].sheets[0].rows == 1
    assert result.exit_code == 2


def test_a_mapped_worksheet_missing_from_the_workbook_is_a_source_error(tmp_path):
    result = check_files(tmp_path, {"展厅.xlsx": {"Sheet": [["a"]]}}, tables={"展厅.xlsx": {"来店登记": "visitor_log"}})
    assert "来店登记 not found" in result.sources[0].error
    assert result.exit_code == 2


def test_header_row_below_title_rows_and_notes(tmp_path):
    rows = [["2026年11月 来店(来电)客户登记表"], [], ["填写说明：带*为必填"],
            ["*登記時(shí)間", "來訪方式", "客戶姓名", "聯(lián)系電話（必填）", "信息來源", "銷售顧問", "是否建卡"],
            [dt.datetime(2026, 11, 26, 10), "來店", "陳先生", None, "網絡", "張偉", "是"]]
    result = check_files(tmp_path, {"a.xlsx": {"登记": rows}})
    assert rules_at(result) == [("missing_required", "登记!D5")]
    assert result.findings[0].header == "聯(lián)系電話（必填）"


def test_an_encrypted_xlsx_is_named_as_password_protected(tmp_path):
    # Excel saves a password-protected .xlsx as an OLE container holding EncryptionInfo/EncryptedPackage.
    from scripts.sources.guard import CFB_MAGIC

    path = tmp_path / "客服.xlsx"
    path.write_bytes(CFB_MAGIC + bytes(504) + "EncryptionInfo".encode("utf-16-le") + bytes(64)
                     + "EncryptedPackage".encode("utf-16-le") + bytes(4096))
    with pytest.raises(SourceError, match="password-protected; save an unprotected copy"):
        read_workbook(path)
