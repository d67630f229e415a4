"""Adversarial review (review16) of four speed changes of issue #16: the sheet scan's lookahead and density
allowance, rows read with iter_rows, the JSON findings written column by column, and `check --jobs` workers
that validate. Each test is an attack; 14 of them broke the code when they were written (a value cell hidden
by `/>` in an attribute, `</sheetData>` in a comment or CDATA, a second or prefixed `r`, a row tag after a
chunk's last cell, a tag longer than a chunk, a reference calamine refuses tripping an assert, dragged
formatting passing as dense, True/1/1.0 sharing one JSON text, a fall-back night's two offsets, a book
changing before it was read again) and were fixed with them."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import random
import re
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import python_calamine as calamine

from scripts.sources import xlsx_scan
from scripts.sources.excel import read_workbook
from scripts.sources.xlsx_scan import TooLarge, column_letters, in_range, scan_sheet
from tests.adversarial.make_corpus import cell, write_xlsx

HEAD = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
TAIL = b"</sheetData></worksheet>"
FAR = b'<row r="30">' + cell("Z30") + b"</row>"  # a value cell calamine keeps, far from A1
A1 = b'<row r="1">' + cell("A1") + b"</row>"


# --- 1. xlsx_scan: the box must never be smaller than the one calamine builds -------------------------

def _calamine_box(tmp_path: Path, body: bytes) -> tuple[int, int, int, int] | None:
    """(first row, first col, last row, last col), 1-based, of the grid calamine builds (small files only)."""
    path = write_xlsx(tmp_path / "box.xlsx", {"S": body})
    sheet = calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("S")
    if sheet.start is None:
        return None
    (r0, c0), (r1, c1) = sheet.start, sheet.end
    return r0 + 1, c0 + 1, r1 + 1, c1 + 1


def _scan_box(body: bytes, chunk: int | None = None, monkeypatch=None) -> tuple[int, int, int, int] | None:
    if chunk is not None:
        monkeypatch.setattr(xlsx_scan, "CHUNK", chunk)
    scan = scan_sheet(io.BytesIO(HEAD + body + TAIL), max_cells=10**18)
    return (scan.first_row, scan.first_col, scan.last_row, scan.last_col) if scan.last_row else None


def _covers(outer, inner) -> bool:
    if inner is None:
        return True
    return outer is not None and outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3]


@pytest.mark.parametrize("body", [
    pytest.param(A1 + b'<row r="30"><c r="z30"><v>1</v></c></row>', id="lower-case-ref"),
    pytest.param(A1 + b'<row r="30"><c r="Z030"><v>1</v></c></row>', id="leading-zero-ref"),
    pytest.param(A1 + b'<row r="30"><c r="Za30"><v>1</v></c></row>', id="mixed-case-ref"),
    pytest.param(A1 + b"<row r='30'><c r='Z30'><v>1</v></c></row>", id="single-quotes"),
    pytest.param(A1 + b'<row r="30"><c s="0" r="Z30"><v>1</v></c></row>', id="r-not-first"),
    pytest.param(A1 + b'<row r="30"><c  r="Z30"><v>1</v></c></row>', id="two-spaces"),
    pytest.param(A1 + b'<row r="30"><c\nr="Z30"><v>1</v></c></row>', id="newline-in-tag"),
    pytest.param(A1 + b'<row r="30"><c r="Z30" t="inlineStr"><is><t></t></is></c></row>', id="empty-inline-string"),
    pytest.param(A1 + b'<row r="30"><c r="Z30" t="str"><v></v></c></row>', id="empty-str-value"),
    pytest.param(A1 + b'<row r="30"><c><v>1</v></c></row>', id="no-r"),
    pytest.param(A1 + b'<row r="30"><c r="B30" t="inlineStr"><is><r><rPr><color rgb="FF0000"/></rPr><t>x</t></r></is>'
                 b'</c><c r="Z30"><v>1</v></c></row>', id="rich-text-color"),
    pytest.param(b'<row r="1"><c r="A1" t="inlineStr"><is><t>a &lt;/sheetData&gt; sheetData&gt;</t></is></c></row>' + FAR,
                 id="sheetData-text-escaped"),
    pytest.param(b'<row r="1"><c r="A1" t="inlineStr"><is><t>sheetData></t></is></c></row>' + FAR, id="sheetData-gt-text"),
    pytest.param(A1 + b'<!-- <row r="2"> -->' + FAR, id="comment-without-end"),
    pytest.param(A1 + b'<row r="30"><c r="Z30" s="1" t="n"><v>0</v></c></row>', id="typed-number"),
    pytest.param(A1 + b'<row r="30"><c r="Z30" x="a>b"><v>1</v></c></row>', id="gt-in-attribute"),
    pytest.param(A1 + b'<row r="30"><c x:r="Z30" r="A1" xmlns:x="u"><v>1</v></c></row><row r="30">' + cell("Z30") + b"</row>",
                 id="prefixed-r-first"),
    pytest.param(A1 + b'<row r="30"><c r="A1" r = "Z30"><v>1</v></c></row>', id="r-twice-spaced"),
    pytest.param(A1 + b"<row r=\"30\"><c r=\"A1\" r='Z30'><v>1</v></c></row>", id="r-twice-single-quoted"),
    pytest.param(A1 + b'<row r="30"><c r="A1" r="Z30"><v>1</v></c></row>', id="r-twice"),
    pytest.param(A1 + b'<row r="30"><c x:r="A1" r="Z30" xmlns:x="u"><v>1</v></c></row>', id="prefixed-r-then-r"),
    pytest.param(A1 + b'<row r="30"><c r="Z30" x="a/>b"><v>1</v></c></row>', id="slash-gt-in-attribute"),
    pytest.param(A1 + b"<!-- </sheetData> -->" + FAR, id="sheetData-end-in-comment"),
    pytest.param(b'<row r="1"><c r="A1" t="inlineStr"><is><t><![CDATA[</sheetData>]]></t></is></c></row>' + FAR,
                 id="sheetData-end-in-cdata"),
    pytest.param(A1 + b'<row r="30"><!-- <row r="2"> --><c><v>1</v></c></row>', id="row-tag-in-comment"),
])
def test_the_scan_box_covers_the_grid_calamine_builds(tmp_path, body):
    wanted = _calamine_box(tmp_path, body)
    assert wanted is not None and wanted[2] == 30  # the far cell reaches calamine's grid
    assert _covers(_scan_box(body), wanted), (_scan_box(body), wanted)


@pytest.mark.parametrize("body, wanted", [
    (A1 + b'<row r="30"><c r="Z30" s="1"/></row>', (1, 1, 1, 1)),
    (A1 + b'<row r="30"><C r="Z30"><v>1</v></C></row>', (1, 1, 1, 1)),  # <C> is no cell for calamine
    (A1 + b'<row r="30"><c r="A1" x:r="Z30" xmlns:x="u"><v>1</v></c></row>', (1, 1, 1, 1)),  # formatting only: calamine keeps no cell
    (A1 + b'<row r="30"><c r="Z30" s="1"><v></v></c></row>', (1, 1, 1, 1)),
])
def test_cells_calamine_drops_may_only_enlarge_the_box(tmp_path, body, wanted):
    assert _calamine_box(tmp_path, body) == wanted
    assert _covers(_scan_box(body), wanted)


FAR_AWAY = b'<row r="1048576"><c r="XFD1048576" x="/>"><v>1</v></c></row>'


@pytest.mark.parametrize("body", [
    pytest.param(A1 + FAR_AWAY, id="slash-gt-attribute"),
    pytest.param(A1 + b"<!-- </sheetData> -->" + b'<row r="1048576">' + cell("XFD1048576") + b"</row>",
                 id="comment-end"),
    pytest.param(A1 + b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', id="plain"),
])
def test_a_far_cell_is_refused_before_calamine_sees_it(body):
    with pytest.raises(TooLarge):
        scan_sheet(io.BytesIO(HEAD + body + TAIL))


@pytest.mark.parametrize("ref", [b"$Z$30", b" Z30", b"Z30 ", b"Z 30", b"&#90;30", b"Z+30"])
def test_a_reference_calamine_refuses_is_refused_in_one_line(tmp_path, ref):
    from scripts.errors import SourceError

    path = write_xlsx(tmp_path / "s.xlsx", {"S": A1 + b'<row r="30"><c r="' + ref + b'"><v>1</v></c></row>'})
    with pytest.raises(calamine.CalamineError):
        calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("S")
    with pytest.raises(SourceError):
        list(read_workbook(path).sheets[0].read().rows)


def _chunk_sheets() -> list[bytes]:
    rnd = random.Random(16)
    sheets = []
    for _ in range(6):
        rows = []
        for r in sorted(rnd.sample(range(1, 400), 40)):
            cells = []
            for c in sorted(rnd.sample(range(1, 60), 5)):
                ref = f"{column_letters(c)}{r}"
                kind = rnd.random()
                if kind < 0.2:
                    cells.append(f'<c r="{ref}" s="1"/>'.encode())
                elif kind < 0.3:
                    cells.append(f'<c r="{ref}" t="e"><v>#N/A</v></c>'.encode())
                elif kind < 0.4:
                    cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{"x" * rnd.randrange(200)}</t></is></c>'.encode())
                else:
                    cells.append(cell(ref, str(rnd.randrange(10**6))))
            rows.append(f'<row r="{r}">'.encode() + b"".join(cells) + b"</row>")
        sheets.append(b"".join(rows))
    return sheets


@pytest.mark.parametrize("index", range(6))
@pytest.mark.parametrize("chunk", [128, 131, 200, 333, 500, 4096])
def test_small_chunks_measure_what_one_chunk_measures(monkeypatch, index, chunk):
    body = _chunk_sheets()[index]
    whole = scan_sheet(io.BytesIO(HEAD + body + TAIL), max_cells=10**18)
    monkeypatch.setattr(xlsx_scan, "CHUNK", chunk)
    parts = scan_sheet(io.BytesIO(HEAD + body + TAIL), max_cells=10**18)
    assert (parts.span, parts.errors) == (whole.span, whole.errors)
    exact = xlsx_scan.SheetScan()
    xlsx_scan._scan_exact(body, exact, [0, 0, 1])
    assert (whole.span, whole.errors) == (exact.span, exact.errors)


def test_a_chunk_ending_on_a_row_tag_keeps_its_row_number(tmp_path, monkeypatch):
    body = A1 + b'<row r="30"><c><v>1</v></c></row>'
    wanted = _calamine_box(tmp_path, body)
    assert wanted == (1, 1, 30, 1)
    cut = (HEAD + body).index(b"<c><v>") + 3  # the chunk ends just after `<c>`: the cut goes before it
    assert _scan_box(body, cut, monkeypatch) == wanted


def test_a_sheetData_end_split_across_chunks_is_found(monkeypatch):
    body = A1 + FAR
    xml = HEAD + body + TAIL + b"<x>" * 10
    for chunk in range(128, len(xml), 3):
        monkeypatch.setattr(xlsx_scan, "CHUNK", chunk)
        assert scan_sheet(io.BytesIO(xml), max_cells=10**12).span == "A1:Z30"


@pytest.mark.parametrize("low, high", [(1, 1), (1, 26), (3, 27), (26, 27), (25, 703), (27, 702), (1, 18278),
                                       (700, 705), (52, 1378), (677, 18277), (18278, 18279)])
def test_in_range_matches_exactly_the_columns_between(low, high):
    pattern = re.compile(f"(?:{in_range(column_letters(low), column_letters(high), xlsx_scan._LETTERS)})\\Z")
    got = {n for n in range(1, 18400) if pattern.match(column_letters(n))}
    assert got == set(range(low, high + 1))


@pytest.mark.parametrize("low, high", [(1, 1), (1, 9), (9, 10), (10, 99), (5, 1000), (99, 101), (100, 999),
                                       (123, 4567), (1, 10000), (1000, 1000), (998, 10001), (19, 91)])
def test_in_range_matches_exactly_the_rows_between(low, high):
    pattern = re.compile(f"(?:{in_range(str(low), str(high), xlsx_scan._DIGITS)})\\Z")
    got = {n for n in range(1, 12000) if pattern.match(str(n))}
    assert got == set(range(low, high + 1))
    assert not pattern.match("0") and not pattern.match(f"0{low}")


def test_the_lookahead_finds_every_value_cell_outside_the_box():
    rnd = random.Random(7)
    box = (50, 120, 30, 800)  # rows 50-120, columns AD-ADT
    outside = xlsx_scan._outside(*box)
    for _ in range(3000):
        r, c = rnd.randrange(1, 200), rnd.randrange(1, 1000)
        found = outside.search(b'<c r="%s%d" s="2"><v>1</v></c>' % (column_letters(c).encode(), r))
        inside = box[0] <= r <= box[1] and box[2] <= c <= box[3]
        assert (found is None) is inside, (r, c)


def test_formatting_only_cells_do_not_make_a_sparse_box_dense(monkeypatch):
    monkeypatch.setattr(xlsx_scan, "MAX_CELLS", 100)
    monkeypatch.setattr(xlsx_scan, "MAX_DENSE_CELLS", 10_000)
    body = (b'<row r="1">' + cell("A1") + b"</row>" + b"".join(b'<row r="%d"><c r="A%d" s="1"/></row>' % (r, r)
                                                             for r in range(2, 1400)) + b'<row r="100">' + cell("Z100") + b"</row>")
    with pytest.raises(TooLarge):
        scan_sheet(io.BytesIO(HEAD + body + TAIL))


def test_rich_text_color_tags_do_not_count_as_cells(monkeypatch):
    monkeypatch.setattr(xlsx_scan, "MAX_CELLS", 100)
    monkeypatch.setattr(xlsx_scan, "MAX_DENSE_CELLS", 10_000)
    rich = b'<c r="B1" t="inlineStr"><is>' + b'<r><rPr><color rgb="FF0000"/><charset val="1"/></rPr><t>x</t></r>' * 2000 + b"</is></c>"
    body = b'<row r="1">' + cell("A1") + rich + b"</row>" + b'<row r="100">' + cell("Z100") + b"</row>"
    with pytest.raises(TooLarge):
        scan_sheet(io.BytesIO(HEAD + body + TAIL))


def test_a_dense_box_past_the_bound_is_read_and_a_sparse_one_refused(monkeypatch):
    monkeypatch.setattr(xlsx_scan, "MAX_CELLS", 100)
    monkeypatch.setattr(xlsx_scan, "MAX_DENSE_CELLS", 1000)
    dense = b"".join(b'<row r="%d">' % r + b"".join(cell(f"{c}{r}") for c in "ABCDEFGHIJ") + b"</row>" for r in range(1, 31))
    assert scan_sheet(io.BytesIO(HEAD + dense + TAIL)).cells == 300
    with pytest.raises(TooLarge):  # dense but past MAX_DENSE_CELLS
        scan_sheet(io.BytesIO(HEAD + dense + b'<row r="200">' + cell("J200") + b"</row>" + TAIL))


LONG = b"y" * 3000  # an attribute longer than the chunk (8 MB in real life: it compresses to a few KB)


@pytest.mark.parametrize("body, head", [
    pytest.param(A1 + b'<row r="30"><c r="Z30" x="' + LONG + b'"><v>1</v></c></row>', HEAD, id="long-cell-attribute"),
    pytest.param(A1 + FAR, HEAD.replace(b"<sheetData>", b'<sheetData x="' + LONG + b'">'), id="long-sheetData-tag"),
    pytest.param(A1 + b'<row r="30"><c r="Z30" t="inlineStr"><is><t>' + LONG + b"</t></is></c></row>", HEAD,
                 id="long-text"),
])
def test_a_tag_longer_than_the_chunk_is_measured(tmp_path, monkeypatch, body, head):
    wanted = _calamine_box(tmp_path, body)
    assert wanted is not None and wanted[2:] == (30, 26)
    monkeypatch.setattr(xlsx_scan, "CHUNK", 1024)
    scan = scan_sheet(io.BytesIO(head + body + TAIL), max_cells=10**18)
    assert scan.span == "A1:Z30"


# --- 2. excel.py: rows read with iter_rows keep their numbers, values and error texts -----------------

ERRORS = {(6, 4): "#N/A", (8, 4): "#DIV/0!", (8, 5): "#N/A", (9, 6): "#N/A", (12, 3): "#REF!"}


@pytest.fixture(scope="module")
def off_a1_books(tmp_path_factory):
    """One table at C5 with error cells, a hidden row, a merged cell and an empty row, saved by LibreOffice as
    .xlsx, .ods and .xls (LibreOffice computes the formulas' cached values)."""
    import openpyxl

    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice is not installed")
    folder = tmp_path_factory.mktemp("offa1")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws["C5"], ws["D5"], ws["E5"] = "name", "due", "x"
    ws["C6"], ws["D6"], ws["E6"] = "a", "=NA()", 3
    ws["C8"], ws["D8"], ws["E8"] = "b", "=1/0", "=NA()"
    ws["F9"] = "=NA()"
    ws["C10"] = "merged"
    ws.merge_cells("C10:D10")
    ws["C12"] = "=INDIRECT(\"ZZZ0\")"
    ws["E12"] = ""
    ws.row_dimensions[6].hidden = True
    source = folder / "src.xlsx"
    wb.save(source)
    books = {}
    for ext in ("xlsx", "ods", "xls"):
        out = folder / ext
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{folder}/lo", "--convert-to", ext,
                        "--outdir", str(out), str(source)], capture_output=True, timeout=120, check=True)
        books[ext] = out / f"src.{ext}"
    return books


@pytest.mark.parametrize("ext", ["xlsx", "ods", "xls"])
def test_a_table_off_a1_reads_with_its_row_numbers_values_and_errors(off_a1_books, ext):
    path = off_a1_books[ext]
    sheet = calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("S")
    full = sheet.to_python(skip_empty_area=False)
    (r0, c0), _ = sheet.start, sheet.end
    for (r, c), text in ERRORS.items():
        if full[r - 1][c - 1] == "":
            full[r - 1][c - 1] = text
    grid = read_workbook(path).sheets[0].read()
    rows = list(grid.rows)
    assert grid.first_col == c0 == 2
    assert rows == [(n, full[n - 1][c0:]) for n in range(r0 + 1, len(full) + 1)]
    assert rows[0] == (5, ["name", "due", "x", ""]) and rows[1][1][1] == "#N/A" and rows[3][1][:3] == ["b", "#DIV/0!", "#N/A"]


@pytest.mark.parametrize("body, first_col, rows", [
    # the first non-empty cell holds an empty string: calamine starts there
    (b'<row r="2"><c r="B2" t="inlineStr"><is><t></t></is></c></row><row r="5"><c r="C5" t="inlineStr"><is><t>name</t>'
     b'</is></c><c r="D5" t="e"><v>#N/A</v></c></row>', 1,
     [(2, ["", "", ""]), (3, ["", "", ""]), (4, ["", "", ""]), (5, ["", "name", "#N/A"])]),
    (b'<row r="3"><c r="D3" t="e"><v>#N/A</v></c></row>', 3, [(3, ["#N/A"])]),  # only an error cell
    (b'<row r="3"><c r="A3" t="e"><v>#REF!</v></c></row><row r="5">' + cell("C5") + b"</row>", 0,
     [(3, ["#REF!", "", ""]), (4, ["", "", ""]), (5, ["", "", 1.0])]),
    (b"", 0, []),
    (b'<row r="3"><c r="D3" s="1"/></row>', 0, []),  # formatting only: nothing to read
    (b'<row r="1"><c r="A1" t="e"><v>#N/A</v></c>' + cell("B1") + b"</row>", 0, [(1, ["#N/A", 1.0])]),
    (b'<row><c t="e"><v>#N/A</v></c><c><v>2</v></c></row><row><c/><c t="e"><v>#DIV/0!</v></c></row>', 0,
     [(1, ["#N/A", 2.0]), (2, ["", "#DIV/0!"])]),  # cells and rows without r
    (b'<row r="7"><c r="c7"><v>1</v></c><c r="d7" t="e"><v>#N/A</v></c></row>', 2, [(7, [1.0, "#N/A"])]),  # lower case
    (b'<row r="4"><c r="B4" t="str"><v></v></c><c r="C4" t="e"><v>#NAME?</v></c></row>', 1, [(4, ["", "#NAME?"])]),
])
def test_hand_written_sheets_read_as_calamine_places_them(tmp_path, body, first_col, rows):
    path = write_xlsx(tmp_path / "s.xlsx", {"S": body})
    grid = read_workbook(path).sheets[0].read()
    assert (grid.first_col, list(grid.rows)) == (first_col, rows)


# --- 3. output.py: the findings array written column by column is the encoder's text -----------------

def _result(findings):
    from scripts.check import CheckResult, StaffDirectory

    return CheckResult(NOW, [], findings, [], StaffDirectory(()), ["说明 %s %%"])


def _encoder_text(result) -> str:
    from scripts.output import as_json

    return json.dumps(as_json(result), ensure_ascii=False, separators=(",", ":"))


NOW = dt.datetime(2026, 11, 27, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
ODD_TEXTS = ["%s", "%%", "%(x)s", "%d", "\ud800", "a\udfffb", "\u2028", "\u2029", "\x00\x01\x1f", "\x7f\x85\x9f",
             "\u202e\u2066\u200e\u061c", '"\\/', "长" * 1999, "长" * 2000, "长" * 2001, "x" * 5000, "", " ", "null",
             "\U0001F600", "\ufeff", "é", "\\u0000"]


def _finding(i, **over):
    from scripts.findings import make_finding

    fields = dict(source="展厅.xlsx", sheet="来店登记", row=i, column="last_followup_on", cell=f"M{i}", header="最近跟进日期",
                  message=f"跟进回访已逾期 {i}", table="visitor_log", assignee="张伟", due=NOW + dt.timedelta(hours=i % 3),
                  customer="王先生", phone="13800138000")
    fields.update(over)
    return make_finding("followup_overdue", **fields)


@pytest.mark.parametrize("field", ["message", "header", "sheet", "source", "assignee", "url", "cell", "column", "table"])
@pytest.mark.parametrize("many", [1, 3, 400], ids=["one", "few", "many"])
def test_odd_texts_in_every_column_give_the_encoders_text(field, many):
    # few rows: every column goes through the memo; many: mostly distinct columns take the map of C escaping
    findings = []
    for i in range(many):
        for j, text in enumerate(ODD_TEXTS):
            findings.append(_finding(i * 100 + j, **{field: text + (str(i) if many > 3 else "")}))
    result = _result(findings)
    from scripts.output import render_json

    assert render_json(result) == _encoder_text(result)


@pytest.mark.parametrize("over", [
    {"header": 7}, {"header": 7.5}, {"message": 12}, {"row": None}, {"due": None}, {"cell": None, "header": None},
    {"due": dt.datetime(2026, 11, 27, 9)}, {"due": dt.datetime(2026, 11, 27, 9, tzinfo=dt.timezone.utc)},
    {"row": -0}, {"header": float("nan")}, {"header": float("inf")}, {"header": 10**30},
    pytest.param({"row": True}),
    pytest.param({"header": 1.0}),
])
def test_non_text_values_among_texts_give_the_encoders_text(over):
    from scripts.output import render_json

    for count in (2, 50):
        findings = [_finding(i, header=1) if i % 2 else _finding(i, row=1) for i in range(count)]
        findings += [_finding(i, **over) for i in range(count)]
        result = _result(findings)
        assert render_json(result) == _encoder_text(result)


def test_many_findings_with_mixed_none_give_the_encoders_text():
    from scripts.output import render_json

    rnd = random.Random(3)
    pool = [None, "张伟", "張偉", "%s", "a\u2028b", "x" * 2500, "M7", "\ud83d"]
    findings = [_finding(i, assignee=rnd.choice(pool), cell=rnd.choice(pool) if i % 3 else f"A{i}",
                         header=rnd.choice(pool), sheet=rnd.choice(pool), url=rnd.choice(pool),
                         due=rnd.choice([None, NOW, NOW + dt.timedelta(days=i)]), row=rnd.choice([None, i]))
                for i in range(20_000)]
    result = _result(findings)
    assert render_json(result) == _encoder_text(result)


def test_deadlines_an_hour_apart_across_the_fall_back_keep_their_offsets():
    from scripts.output import render_json

    ny = ZoneInfo("America/New_York")
    first = dt.datetime(2026, 11, 1, 1, 30, tzinfo=ny)
    findings = [_finding(1, due=first), _finding(2, due=first.replace(fold=1))]
    got = [f["due"] for f in json.loads(render_json(_result(findings)))["findings"]]
    assert got == [f.to_json()["due"] for f in findings] == ["2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00"]


# --- 4. check --jobs: workers that validate find exactly what one process finds -----------------------

def _staff_sheet(*people):
    return [["姓名", "邮箱", "角色", "在职"]] + [[n, f"u{i}@example.com", "销售顾问", active] for i, (n, active) in enumerate(people)]


def _visit(name, phone):
    from tests.helpers import visitor

    return visitor(登记时间=dt.datetime(2026, 11, 20, 10), 来访方式="来店", 客户姓名="陈先生", 联系电话=phone, 信息来源="网络",
                   销售顾问=name, 是否建卡="是")


def _complaint(number, phone, owner, day):
    from tests.helpers import complaint

    return complaint(投诉编号=number, 受理时间=dt.datetime(2026, 11, day, 10), 投诉渠道="电话", 客户姓名="陈先生", 联系电话=phone,
                     投诉内容="等太久", 责任人=owner, 处理状态="处理中")


def _scenario(tmp_path: Path, name: str):
    from scripts.config import parse_config
    from tests.helpers import STAFF, VISITOR_HEADERS, write_xlsx

    from tests.helpers import COMPLAINT_HEADERS

    books = {
        "名单甲.xlsx": {"员工名单": _staff_sheet(("張偉", "是"), ("王芳", "否"))},
        "店1.xlsx": {"来店登记": [VISITOR_HEADERS, _visit("张伟", 13800000001), _visit("王芳", 13800000002),
                                 _visit("孙磊", 13800000003)]},
        "店2.xlsx": {"来店登记": [VISITOR_HEADERS, _visit("劉洋", 13800000004), _visit("周杰", 13800000005)],
                    "员工": _staff_sheet(("刘洋", "是"))},
        "客服.xlsx": {"投诉": [COMPLAINT_HEADERS, _complaint("T1", 13900000001, "趙敏", 10), _complaint("T1", 13900000001, "赵敏", 20),
                               _complaint("T2", 13900000002, "钱七", 21)]},
        "名单乙.xlsx": {"员工名单": _staff_sheet(("钱七", "否"))},
    }
    sources = []
    for book, sheets in books.items():
        write_xlsx(tmp_path / book, sheets)
        sources.append({"name": book, "path": book})
    document = {"sources": sources}
    if name in ("config-staff", "csv-and-unreadable"):
        document["staff"] = [dict(s) for s in STAFF]
    if name == "csv-and-unreadable":
        import csv

        with (tmp_path / "店3.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(VISITOR_HEADERS)
            writer.writerow(["2026-11-20 10:00", "来店", "陈先生", "13800000009", "", "网络", "", "", "孫磊", "是", "", "", "", ""])
        (tmp_path / "坏.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
        sources += [{"name": "店3.csv", "path": "店3.csv"}, {"name": "坏.xlsx", "path": "坏.xlsx"},
                    {"name": "无.xlsx", "path": "无.xlsx"}]
    if name == "only-sheets-no-staff-anywhere":
        sources = [s for s in sources if not s["name"].startswith("名单")]
        for s in sources:
            if s["name"] == "店2.xlsx":
                write_xlsx(tmp_path / "店2.xlsx", {"来店登记": books["店2.xlsx"]["来店登记"]})
    document["sources"] = sources
    return parse_config(document, tmp_path / "huifang.yaml", tmp_path)


def _same_run(one, lean):
    assert lean.findings == one.findings
    assert [(r.name, r.error) for r in lean.sources] == [(r.name, r.error) for r in one.sources]
    assert lean.notices == one.notices
    assert lean.staff.names() == one.staff.names()


@pytest.mark.parametrize("name", ["sheets-only", "config-staff", "csv-and-unreadable", "only-sheets-no-staff-anywhere"])
def test_lean_workers_find_what_one_process_finds(tmp_path, monkeypatch, name):
    from scripts import check

    monkeypatch.setattr(check, "PARALLEL_MIN_BYTES", 0)
    config = _scenario(tmp_path, name)
    one = check.run_check(config, NOW)
    rules = {f.rule for f in one.findings}
    assert {"duplicate_id", "repeat_complainant"} <= rules  # the attack reaches the rules it means to
    if name != "only-sheets-no-staff-anywhere":
        unknown = sorted((f.source, f.row) for f in one.findings if f.rule == "unknown_staff")
        assert unknown and ("店1.xlsx", 4) in unknown  # 孙磊 is nobody's
        assert not any(f.rule == "unknown_staff" and f.source == "店1.xlsx" and f.row in (2, 3) for f in one.findings)
    _same_run(one, check.run_check(config, NOW, jobs=2, keep_records=False))
    _same_run(one, check.run_check(config, NOW, jobs=3, keep_records=True))


def test_lean_workers_on_the_demo(monkeypatch):
    from scripts import check
    from scripts.config import load_config
    from scripts.demo import DEMO_CONFIG

    monkeypatch.setattr(check, "PARALLEL_MIN_BYTES", 0)
    config = load_config(DEMO_CONFIG)
    one = check.run_check(config, NOW)
    assert len(one.findings) > 20
    _same_run(one, check.run_check(config, NOW, jobs=2, keep_records=False))


def test_a_staff_list_in_the_config_and_a_sheet_marking_one_of_them_inactive(tmp_path, monkeypatch):
    # the sheet names 张伟 (in the config) as no longer employed: the directory keeps the config's entry
    from scripts import check
    from scripts.config import parse_config
    from tests.helpers import STAFF, VISITOR_HEADERS, write_xlsx

    monkeypatch.setattr(check, "PARALLEL_MIN_BYTES", 0)
    write_xlsx(tmp_path / "名单.xlsx", {"员工名单": _staff_sheet(("張偉", "否"), ("刘洋", "是"))})
    write_xlsx(tmp_path / "店.xlsx", {"来店登记": [VISITOR_HEADERS, _visit("张伟", 1), _visit("劉洋", 2), _visit("孙磊", 3)]})
    write_xlsx(tmp_path / "店b.xlsx", {"来店登记": [VISITOR_HEADERS, _visit("王芳", 4), _visit("刘 洋", 5)]})
    config = parse_config({"sources": [{"name": n, "path": n} for n in ("店.xlsx", "名单.xlsx", "店b.xlsx")],
                           "staff": [dict(s) for s in STAFF]}, tmp_path / "huifang.yaml", tmp_path)
    one = check.run_check(config, NOW)
    assert [(f.source, f.row) for f in one.findings if f.rule == "unknown_staff"][:1] == [("店.xlsx", 4)]
    _same_run(one, check.run_check(config, NOW, jobs=2, keep_records=False))


def test_a_book_that_changes_before_it_is_read_again_costs_no_other_books_findings(tmp_path, monkeypatch):
    from scripts import check

    monkeypatch.setattr(check, "PARALLEL_MIN_BYTES", 0)
    config = _scenario(tmp_path, "sheets-only")
    one = check.run_check(config, NOW)
    real = check._read_source
    main = os.getpid()

    def saving_meanwhile(source, *args, **kwargs):
        if source.name == "店1.xlsx" and os.getpid() == main:  # the read again, not the worker's (a fork inherits this)
            (tmp_path / "店1.xlsx").write_bytes(b"PK\x03\x04 half written")
        return real(source, *args, **kwargs)

    monkeypatch.setattr(check, "_read_source", saving_meanwhile)
    lean = check.run_check(config, NOW, jobs=2, keep_records=False)
    others = [f for f in one.findings if f.source != "店1.xlsx"]
    assert [f for f in lean.findings if f.source != "店1.xlsx"] == others


@pytest.mark.parametrize("name", ["sheets-only", "csv-and-unreadable"])
def test_what_check_prints_and_writes_is_the_same_with_lean_workers(tmp_path, monkeypatch, name):
    # `run.py check` hands the lean result to render_json / render_text / the findings workbook / sheet_hints
    import openpyxl

    from scripts import check
    from scripts.findings_book import write_findings_workbook
    from scripts.init import sheet_hints
    from scripts.output import render_json, render_text
    from scripts.schema import load_schemas

    monkeypatch.setattr(check, "PARALLEL_MIN_BYTES", 0)
    config = _scenario(tmp_path, name)
    schemas = load_schemas(*config.schema_dirs)
    runs = [check.run_check(config, NOW, schemas=schemas),
            check.run_check(config, NOW, schemas=schemas, jobs=2, keep_records=False)]
    texts, books = [], []
    for i, result in enumerate(runs):
        hints = sheet_hints(config, result, schemas)
        texts.append((render_json(result, "c.yaml", hints), render_text(result, verbose=True, hints=hints)))
        path = write_findings_workbook(result, tmp_path / f"out{i}.xlsx", NOW, relative_links=True)
        wb = openpyxl.load_workbook(path)
        books.append([[list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets])
    assert texts[0] == texts[1]
    assert books[0] == books[1]


@pytest.mark.parametrize("ref", [b"", b"Z", b"30", b"zz30", b"Z030"])
def test_a_cell_reference_without_letters_or_digits_sends_the_chunk_tag_by_tag(ref):
    # An empty, letters-only or digits-only r is not a reference the fast path may trust: the chunk is
    # read tag by tag, which places such a cell as calamine places one without r (after the previous cell).
    body = A1 + b'<row r="30">' + b"".join(b'<c r="' + ref + b'"><v>1</v></c>' for _ in range(3)) + b"</row>"
    fast = scan_sheet(io.BytesIO(HEAD + body + TAIL), max_cells=10**12)
    exact = xlsx_scan.SheetScan()
    xlsx_scan._scan_exact(body, exact, [0, 0, 1])
    assert fast.span == exact.span


@pytest.mark.parametrize("written", ["来店 &amp; 回访", "A&lt;B&gt;&quot;C&quot;&apos;D&apos;", "表&#38;单", "x&#x4E00;y",
                                     "&amp;amp;", "&#0;"])
def test_sheet_titles_are_unescaped_as_xml_reads_them(tmp_path, written):
    # worksheet_parts maps titles to parts with its own entity decoding (no html import at start-up):
    # every title must come out as calamine names the sheet, or a sheet would go unmeasured.
    import zipfile as zf

    from scripts.sources.xlsx_scan import worksheet_parts

    path = write_xlsx(tmp_path / "t.xlsx", {written: A1})
    try:
        names = calamine.CalamineWorkbook.from_path(str(path)).sheet_names
    except calamine.CalamineError:
        pytest.skip("calamine refuses the title")
    with zf.ZipFile(path) as archive:
        assert list(worksheet_parts(archive)) == names


def test_formatting_dragged_after_the_last_value_keeps_the_chunk_on_the_fast_path(monkeypatch):
    # The box starts from the chunk's first and last value cells; with formatting dragged below the data
    # the last value cell is far from the chunk's end, and growing the box row by row would give up and
    # read the whole chunk tag by tag (a 46 MB sheet: 0.5 -> 1.6 s). Only the chunk's tail is read so.
    values = b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c><c r="B%d"><v>2</v></c></row>' % (r, r, r) for r in range(1, 301))
    dragged = b"".join(b'<row r="%d"><c r="D%d" s="1"/></row>' % (r, r) for r in range(301, 5000))
    read_by_tag = []
    real = xlsx_scan._scan_exact
    monkeypatch.setattr(xlsx_scan, "_scan_exact", lambda data, *a: read_by_tag.append(len(data)) or real(data, *a))
    assert scan_sheet(io.BytesIO(HEAD + values + dragged + TAIL)).span == "A1:B300"
    assert max(read_by_tag) < 200


@pytest.mark.parametrize("body", [
    pytest.param(A1 + b'<row r="2"><c r="B2" x="' + b"a" * 5000 + b'"><v>1</v></c></row>', id="long-attribute"),
    pytest.param(A1 + b"<!-- " + b"x" * 5000 + b" -->" + FAR, id="long-comment"),
])
def test_a_tag_or_comment_past_the_bound_is_refused_in_one_line_naming_the_sheet(tmp_path, monkeypatch, body):
    # Tags and comments longer than a chunk are read on until they end, but not without bound: past
    # MAX_TAG the sheet is refused, as one SourceError that names it (not a crash, not a silent skip).
    from scripts.errors import SourceError

    monkeypatch.setattr(xlsx_scan, "CHUNK", 512)
    monkeypatch.setattr(xlsx_scan, "MAX_TAG", 2048)
    path = write_xlsx(tmp_path / "long.xlsx", {"来店登记": body})
    with pytest.raises(SourceError, match=r"sheet '来店登记' holds a (tag|comment) longer than 0 MB") as info:
        read_workbook(path)
    assert "\n" not in str(info.value)
