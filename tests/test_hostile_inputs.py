"""Hostile files (issue #12): each one reads, or is refused in one line, within 10 s and 1 GB, and the
other sources of the run are still checked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from scripts.errors import SourceError
from scripts.sources.excel import read_workbook
from scripts.sources.xlsx_scan import MAX_CELLS, scan_sheet
from tests.adversarial.make_corpus import cell, make, run_measured, write_xlsx
from tests.helpers import NOW, VISITOR_HEADERS, check_files, rules_at, visitor

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 10
PEAK_BYTES = 1024**3
CORPUS = ROOT.parent / "shared" / "corpus"

# None: the file reads; otherwise words its one-line refusal must hold.
EXPECTED = {
    "huge_extent": "spans A1:XFD1048576 (17.2 billion cells)",
    "xfd20000": "spans A1:XFD20000 (328 million cells)",
    "no_refs_wide": "spans A1:XFD1048576",
    "wide_sheet": None,
    "many_sheets": None,
    "deep_xml": None,
    "billion_laughs": "declares a DTD or entities",
    "zip_bomb": "zip bomb",
    "empty_xlsx": "the file is empty",
    "empty_csv": "the file is empty",
    "big5_csv": None,
    "long_field_csv": "longer than 131,072 characters",
    "unterminated_quote_csv": "a quote is never closed",
    "truncated_zip": "incomplete or corrupt",
    "xlsx_named_xls": None,
    "directory": "is a folder",
    "fifo": "not a regular file",
    "unreadable": "no permission to read",
    "ods_repeated_values": "sheet '来店登记' spans A1:KUR8000 (64 million cells)",
    "ods_far_cell": "spans A1:XFD1048576",
    "xls_far_column": "spans A3:XFD65536",  # A1 moved away: A3 starts the box
    "xls_last_cell": "spans A3:IV65536 (16.8 million cells)",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make(tmp_path_factory.mktemp("hostile"), big=False)


def without_root_powers() -> list[str]:
    """Root reads a chmod 000 file anyway; drop the two capabilities that allow it (util-linux setpriv)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot bite")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]


def run_check_child(*files: Path, prefix: list[str] | None = None) -> tuple[subprocess.CompletedProcess, float, int]:
    """`check --format json` on the files in a child process: its result, seconds and peak resident bytes."""
    command = [*(prefix or []), sys.executable, str(ROOT / "run.py"), "check", *map(str, files),
               "--format", "json", "--now", NOW.isoformat()]
    code, out, err, seconds, peak = run_measured(command, ROOT)
    return subprocess.CompletedProcess(command, code, out, err), seconds, peak


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_hostile_file_reads_or_is_refused_in_one_line_within_bounds(corpus, key):
    prefix = without_root_powers() if key == "unreadable" else None
    done, seconds, peak = run_check_child(corpus[key], prefix=prefix)
    assert seconds < SECONDS
    assert peak is None or peak < PEAK_BYTES
    assert "Traceback" not in done.stderr
    (source,) = json.loads(done.stdout)["sources"]
    if EXPECTED[key] is None:
        assert source["error"] is None and source["sheets"]
        assert done.returncode in (0, 1)
    else:
        assert EXPECTED[key] in source["error"]
        assert "\n" not in source["error"] and len(source["error"]) < 300
        assert done.returncode == 2


def test_a_refused_workbook_does_not_stop_the_next_source(corpus, tmp_path):
    good = tmp_path / "好.xlsx"
    from tests.helpers import write_xlsx as write_book

    write_book(good, {"来店登记": [VISITOR_HEADERS, visitor(登记时间="2026-11-26", 来访方式="来店", 客户姓名="陈先生",
                                                         信息来源="网络", 销售顾问="张伟", 客户不留电话="是")]})
    done, _, _ = run_check_child(corpus["huge_extent"], corpus["long_field_csv"], good)
    sources = json.loads(done.stdout)["sources"]
    assert "spans" in sources[0]["error"] and "131,072" in sources[1]["error"]
    assert sources[2]["error"] is None and sources[2]["sheets"][0]["rows"] == 1
    assert done.returncode == 2


def test_the_box_is_measured_from_the_cells_not_the_declared_dimension(tmp_path):
    path = tmp_path / "liar.xlsx"
    write_xlsx(path, {"S": b'<row r="1">' + cell("A1") + b'</row><row r="30000">' + cell("ZZ30000") + b"</row>"})
    with zipfile.ZipFile(path) as z, z.open("xl/worksheets/sheet1.xml") as fh:
        scan = scan_sheet(fh, max_cells=10**12)
    assert (scan.span, scan.cells) == ("A1:ZZ30000", 702 * 30000)
    with pytest.raises(SourceError, match=r"sheet 'S' spans A1:ZZ30000 \(21.1 million cells\)") as info:
        list(read_workbook(path).sheets[0].read().rows)
    assert str(info.value).startswith("liar.xlsx: ")


@pytest.mark.parametrize("body, span", [
    # formatting dragged far right and down costs nothing: calamine skips cells without a value
    (b'<row r="1">' + cell("A1") + b'<c r="XFD1" s="1"/></row><row r="1048576"><c r="A1048576" s="2"/></row>', "A1:A1"),
    # an empty cell written open-and-closed counts: an over-estimate, on the safe side
    (b'<row r="3"><c r="B3" s="1"></c>' + cell("C3") + b"</row>", "B3:C3"),
    # cells without r follow the previous one; rows without r follow the previous row
    (b'<row r="5"><c><v>1</v></c><c><v>2</v></c></row><row><c r="D6"><v>3</v></c><c><v>4</v></c></row>', "A5:E6"),
    # a namespace prefix, r not the first attribute, line breaks inside the tag
    (b'<x:row r="2"><x:c s="1"\n r="C2"><x:v>1</x:v></x:c></x:row>', "C2:C2"),
    # calamine reads lower-case and over-long references too; a "/" inside an attribute is no self-closing
    (b'<row r="1">' + cell("A1") + b'<c r="xfd1048576" s="a/b"><v>1</v></c></row>', "A1:XFD1048576"),
    (b'<row r="1">' + cell("A1") + b'</row><row r="2">' + cell("AAAA20000000") + b"</row>", "A1:AAAA20000000"),
])
def test_the_box_counts_the_cells_calamine_keeps(tmp_path, body, span):
    path = write_xlsx(tmp_path / "s.xlsx", {"S": body})
    with zipfile.ZipFile(path) as z, z.open("xl/worksheets/sheet1.xml") as fh:
        assert scan_sheet(fh, max_cells=10**18).span == span


def test_a_sheet_just_under_the_bound_is_read(tmp_path):
    rows = MAX_CELLS // 16
    path = write_xlsx(tmp_path / "tall.xlsx", {"S": b'<row r="1">' + cell("A1") + b"</row>"
                                               + f'<row r="{rows}">'.encode() + cell(f"P{rows}") + b"</row>"})
    grid = read_workbook(path).sheets[0].read()
    assert sum(1 for _ in grid.rows) == rows


def test_an_xlsx_saved_with_an_xls_name_is_read_by_its_content(tmp_path):
    src = tmp_path / "a.xlsx"
    write_xlsx(src, {"来店登记": '<row r="1"><c r="A1" t="inlineStr"><is><t>客户姓名</t></is></c></row>'.encode()})
    shutil.copy(src, tmp_path / "客服.xls")
    book = read_workbook(tmp_path / "客服.xls")
    assert [(n, list(v)) for n, v in book.sheets[0].read().rows] == [(1, ["客户姓名"])]


def test_a_big5_csv_is_read_as_big5_and_a_gbk_one_as_gbk(tmp_path):
    text = "登記時間,來訪方式,客戶姓名\n2026/11/26 10:00,來店,陳先生\n"
    (tmp_path / "tw.csv").write_bytes(text.encode("big5"))
    simplified = "登记时间,来访方式,客户姓名\n2026/11/26 10:00,来店,陈先生\n"
    (tmp_path / "cn.csv").write_bytes(simplified.encode("gb18030"))
    assert list(read_workbook(tmp_path / "tw.csv").sheets[0].read().rows)[1] == (2, ["2026/11/26 10:00", "來店", "陳先生"])
    assert list(read_workbook(tmp_path / "cn.csv").sheets[0].read().rows)[1] == (2, ["2026/11/26 10:00", "来店", "陈先生"])


def test_bytes_that_are_no_chinese_encoding_are_refused(tmp_path):
    (tmp_path / "x.csv").write_bytes(bytes(range(0x80, 0x100)) * 4)
    with pytest.raises(SourceError, match="neither UTF-8, GBK nor Big5"):
        read_workbook(tmp_path / "x.csv")


def test_stray_quotes_inside_a_cell_are_still_read(tmp_path):
    (tmp_path / "q.csv").write_text('尺寸,备注\n5"3,ok\n"a"b,c\n', encoding="utf-8")
    assert [v for _, v in read_workbook(tmp_path / "q.csv").sheets[0].read().rows] == \
        [["尺寸", "备注"], ['5"3', "ok"], ["ab", "c"]]


def test_a_sheet_part_too_big_to_read_is_refused_naming_the_sheet(tmp_path, monkeypatch):
    from scripts.sources import guard

    monkeypatch.setattr(guard, "MAX_PART", 10_000)
    path = write_xlsx(tmp_path / "long.xlsx", {"来店登记": b'<row r="1">' + cell("A1") + b"</row>" * 1
                                               + b"".join(f'<row r="{r}">'.encode() + cell(f"A{r}") + b"</row>"
                                                          for r in range(2, 1000))})
    with pytest.raises(SourceError, match="sheet '来店登记' unpacks to 0 MB, more than the 0 MB"):
        read_workbook(path)


ERROR_TYPES = CORPUS / "sheetjs" / "ErrorTypes.xlsx"


@pytest.mark.skipif(not ERROR_TYPES.exists(), reason="shared corpus not present")
def test_formula_errors_in_xlsx_read_as_their_error_text():
    book = read_workbook(ERROR_TYPES)
    values = [v for _, row in book.sheets[0].read().rows for v in row]
    assert {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"} <= set(values)


def test_a_formula_error_is_an_invalid_value_not_a_blank(tmp_path):
    headers = "".join(f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{h}</t></is></c>' for i, h in enumerate(VISITOR_HEADERS))
    values = ['<c r="A2" t="inlineStr"><is><t>2026-11-26 10:00</t></is></c>', '<c r="B2" t="inlineStr"><is><t>来店</t></is></c>',
              '<c r="C2" t="inlineStr"><is><t>陈先生</t></is></c>', '<c r="D2" t="e"><f>VLOOKUP(C2,X!A:B,2,0)</f><v>#N/A</v></c>',
              '<c r="F2" t="inlineStr"><is><t>网络</t></is></c>', '<c r="I2" t="inlineStr"><is><t>张伟</t></is></c>',
              '<c r="J2" t="inlineStr"><is><t>是</t></is></c>']
    body = f'<row r="1">{headers}</row><row r="2">{"".join(values)}</row>'.encode()
    write_xlsx(tmp_path / "展厅.xlsx", {"来店登记": body})
    from scripts.check import run_check
    from scripts.config import config_for_files

    result = run_check(config_for_files([tmp_path / "展厅.xlsx"]), NOW)
    assert [(f.rule, f.location) for f in result.findings] == [("invalid_value", "来店登记!D2")]
    assert "公式错误" in result.findings[0].message


def test_permission_denied_in_process_is_a_source_error(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads chmod 000 files; the child-process test drops root's powers instead")
    path = tmp_path / "locked.xlsx"
    shutil.copy(ROOT / "tests" / "fixtures" / "producer_libreoffice.xlsx", path)
    path.chmod(0)
    try:
        with pytest.raises(SourceError, match="no permission to read"):
            read_workbook(path)
    finally:
        path.chmod(0o600)


def test_check_files_helper_still_reads_plain_workbooks(tmp_path):
    result = check_files(tmp_path, {"a.xlsx": {"登记": [VISITOR_HEADERS, visitor(登记时间="2026-11-26 10:00", 来访方式="来店",
                                                                             客户姓名="陈先生", 联系电话="13812345678",
                                                                             信息来源="网络", 销售顾问="张伟", 是否建卡="是")]}})
    assert rules_at(result) == []


@pytest.fixture(scope="module")
def error_types_by_libreoffice(tmp_path_factory):
    """sheetjs' ErrorTypes.xlsx saved by LibreOffice as .xls and .ods (two real producers of error cells)."""
    soffice = shutil.which("soffice")
    if soffice is None or not ERROR_TYPES.exists():
        pytest.skip("LibreOffice or the shared corpus is not present")
    out = tmp_path_factory.mktemp("errors")
    for fmt in ("xls", "ods"):
        subprocess.run([soffice, "--headless", "--convert-to", fmt, "--outdir", str(out), str(ERROR_TYPES)],
                       capture_output=True, timeout=120, check=True)
    return out


@pytest.mark.parametrize("suffix", [".xls", ".ods"])
def test_formula_errors_in_xls_and_ods_read_as_their_error_text(error_types_by_libreoffice, suffix):
    book = read_workbook(error_types_by_libreoffice / f"ErrorTypes{suffix}")
    rows = {n: list(v) for n, v in book.sheets[0].read().rows}
    assert rows[2][:2] == ["#NULL!", "#NULL!"] and rows[3][:2] == ["#DIV/0!", "#DIV/0!"]
    values = {v for row in rows.values() for v in row}
    assert {"#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"} <= values


@pytest.mark.parametrize("chunk", [997, 1 << 20])
@pytest.mark.parametrize("seed", range(12))
def test_the_box_of_cells_in_any_order_matches_a_count_of_every_cell(tmp_path, monkeypatch, seed, chunk):
    import io
    import random

    from scripts.sources import xlsx_scan
    from scripts.sources.xlsx_scan import column_letters

    monkeypatch.setattr(xlsx_scan, "CHUNK", chunk)  # many chunks cut anywhere, or one
    rng = random.Random(seed)
    cells = [(rng.randint(1, 3000), rng.randint(1, 800)) for _ in range(rng.randint(1, 400))]
    if seed % 2:
        cells.sort()  # as producers write them
    rows = [f'<row r="{r}"><c r="{column_letters(c)}{r}"><v>1</v></c><c r="{column_letters(c + 1)}{r}" s="1"/></row>'
            for r, c in cells]
    if seed % 3 == 0:
        rows.insert(rng.randrange(len(rows) + 1), '<row r="7"><c r="c7"><v>2</v></c></row>')  # lower case
        cells.append((7, 3))
    xml = b'<worksheet><sheetData>' + "".join(rows).encode() + b"</sheetData></worksheet>"
    scan = scan_sheet(io.BytesIO(xml), max_cells=10**12)
    expected = (min(r for r, _ in cells), max(r for r, _ in cells), min(c for _, c in cells), max(c for _, c in cells))
    assert (scan.first_row, scan.last_row, scan.first_col, scan.last_col) == expected


MACRO_SHEETS = CORPUS / "sheetjs" / "BlankSheetTypes.xlsm"


@pytest.mark.skipif(not MACRO_SHEETS.exists(), reason="shared corpus not present")
def test_the_openpyxl_fallback_is_bounded_too(tmp_path):
    # calamine refuses workbooks with Excel 4 macro sheets; openpyxl reads them, and would pad every row
    # of a sheet spanning A1:XFD1048576.
    from tests.adversarial.make_corpus import _rewrite

    path = tmp_path / "macro.xlsm"
    shutil.copy(MACRO_SHEETS, path)
    far = b'<row r="1">' + cell("A1") + b'</row><row r="1048576">' + cell("XFD1048576") + b"</row>"
    _rewrite(path, "xl/worksheets/sheet1.xml",
             lambda xml: xml[:xml.index(b"<sheetData")] + b"<sheetData>" + far + b"</sheetData>"
             + xml[xml.index(b"</sheetData>") + len(b"</sheetData>"):] if b"</sheetData>" in xml
             else xml.replace(b"<sheetData/>", b"<sheetData>" + far + b"</sheetData>"))
    with pytest.raises(SourceError, match="spans A1:XFD1048576"):
        read_workbook(path)


PROTECTED_XLS = CORPUS / "sheetjs" / "password_2002_128_strong.xls"


@pytest.mark.skipif(not PROTECTED_XLS.exists(), reason="shared corpus not present")
@pytest.mark.parametrize("name", ["客服.xls", "客服.xlsx", "客服.XLS"])
def test_a_password_protected_xls_keeps_its_message_whatever_its_name(tmp_path, name):
    shutil.copy(PROTECTED_XLS, tmp_path / name)
    with pytest.raises(SourceError, match="password-protected; save an unprotected copy"):
        read_workbook(tmp_path / name)


def test_a_sheet_the_workbook_xml_does_not_map_is_still_measured(tmp_path, monkeypatch):
    # Should a title ever decode differently here than in calamine, every worksheet part is measured.
    from scripts.sources import excel

    monkeypatch.setattr(excel, "worksheet_parts", lambda archive: {})
    path = write_xlsx(tmp_path / "odd.xlsx", {"S": b'<row r="1">' + cell("A1") + b'</row><row r="1048576">'
                                              + cell("XFD1048576") + b"</row>"})
    with pytest.raises(SourceError, match="sheet 'xl/worksheets/sheet1.xml' spans A1:XFD1048576"):
        read_workbook(path)


def test_error_cells_land_in_their_cells_when_the_table_starts_off_a1(tmp_path):
    from tests.adversarial.make_corpus import write_ods

    xlsx = write_xlsx(tmp_path / "off.xlsx", {"S": b'<row r="4"><c r="C4"><v>1</v></c></row>'
                                              b'<row r="5"><c r="D5" t="e"><v>#REF!</v></c></row>'})
    ods = write_ods(tmp_path / "off.ods", {"S": (
        '<table:table-row table:number-rows-repeated="3"><table:table-cell/></table:table-row>'
        '<table:table-row><table:table-cell table:number-columns-repeated="2"/>'
        '<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>'
        '</table:table-row><table:table-row><table:table-cell table:number-columns-repeated="3"/>'
        '<table:table-cell table:formula="of:=#REF!" office:value-type="string" office:string-value="" '
        'calcext:value-type="error"><text:p>#REF!</text:p></table:table-cell></table:table-row>')})
    for path in (xlsx, ods):
        grid = read_workbook(path).sheets[0].read()
        cells = {(n, grid.first_col + j + 1): v for n, values in grid.rows for j, v in enumerate(values) if v != ""}
        assert cells == {(4, 3): 1, (5, 4): "#REF!"}, path.suffix


@pytest.mark.parametrize("body", [
    # the text "sheetData>" inside a cell does not end the measuring
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lt;/sheetData></t></is></c><c r="B1" t="inlineStr"><is><t>'
    b'sheetData></t></is></c></row><row r="1048576">' + cell("XFD1048576") + b"</row>",
    # a ">" inside an attribute value does not hide the r written after it
    b'<row r="1">' + cell("A1") + b'</row><row r="2"><c s="1" x="a>b" r="XFD1048576"><v>1</v></c></row>',
])
def test_text_or_attributes_holding_a_bracket_do_not_hide_a_far_cell(tmp_path, body):
    path = write_xlsx(tmp_path / "sly.xlsx", {"S": body})
    with pytest.raises(SourceError, match="spans A1:XFD1048576"):
        read_workbook(path)


def test_an_ods_attribute_holding_a_bracket_does_not_hide_repeated_values(tmp_path):
    from tests.adversarial.make_corpus import write_ods

    path = write_ods(tmp_path / "sly.ods", {"S": (
        '<table:table-row table:number-rows-repeated="8000"><table:table-cell table:style-name="a>b" '
        'table:number-columns-repeated="8000" office:value-type="float" office:value="1"><text:p>1</text:p>'
        "</table:table-cell></table:table-row>")})
    with pytest.raises(SourceError, match="spans A1:KUR8000"):
        read_workbook(path)


def test_an_xls_with_more_sheets_than_the_bound_is_refused(monkeypatch):
    from scripts.sources import xls_scan

    monkeypatch.setattr(xls_scan, "MAX_SHEETS", 1)  # the LibreOffice fixture has two worksheets
    with pytest.raises(SourceError, match="more than 1 sheets"):
        read_workbook(ROOT / "tests" / "fixtures" / "producer_libreoffice.xls")


@pytest.mark.parametrize("rows, cols, stray, readable, formatted", [
    (600, 4, None, True, False),  # 2,400 cells filling their box: a long log is read past the sparse-box bound
    (600, 4, "Z9000", False, False),  # the same cells with one far away: the box is mostly empty
    (300, 2, None, True, False),  # under the bound: read as before
    (600, 1, "D600", False, True),  # formatting dragged over the box fills nothing: calamine keeps no such cell
])
def test_a_box_past_the_bound_is_read_only_when_its_cells_fill_it(tmp_path, monkeypatch, rows, cols, stray, readable,
                                                                  formatted):
    from scripts.sources import xlsx_scan

    monkeypatch.setattr(xlsx_scan, "MAX_CELLS", 1000)
    body = b"".join(b'<row r="%d">' % r + b"".join(cell(f"{c}{r}") for c in "ABCD"[:cols])
                    + (b'<c r="B%d" s="1"/><c r="C%d" s="1"/>' % (r, r) if formatted else b"") + b"</row>"
                    for r in range(1, rows + 1))
    if stray:
        body += b'<row r="9000">' + cell(stray) + b"</row>"
    path = write_xlsx(tmp_path / "long.xlsx", {"S": body})
    if readable:
        assert sum(1 for _ in read_workbook(path).sheets[0].read().rows) == (rows if not stray else 9000)
    else:
        with pytest.raises(SourceError, match=f"sheet 'S' spans A1:{stray}"):
            read_workbook(path)
    if readable:
        monkeypatch.setattr(xlsx_scan, "MAX_DENSE_CELLS", rows * cols - 1)  # the dense allowance has its own ceiling
        with zipfile.ZipFile(path) as z, z.open("xl/worksheets/sheet1.xml") as fh:
            assert scan_sheet(fh, max_cells=10**9).too_large() is (rows * cols > 1000)
