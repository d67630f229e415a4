"""Write the hostile files of issue #12 into a folder: each must read or be refused in one line.

    python tests/adversarial/make_corpus.py OUT_DIR

Files are made here rather than committed: most are a few KB of XML that expand to absurd sizes.
"""

from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script from anywhere
from scripts.sources.xlsx_scan import column_letters  # noqa: E402

CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                 'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>')
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
BOOK_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def write_xlsx(path: Path, sheets: dict[str, bytes | list[bytes]]) -> Path:
    """A minimal .xlsx: sheet title -> the XML between <sheetData> and </sheetData> (or pieces of it)."""
    overrides = f'<Override PartName="/xl/workbook.xml" ContentType="{BOOK_TYPE}"/>' + "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{SHEET_TYPE}"/>' for i in range(1, len(sheets) + 1))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES.format(overrides=overrides))
        z.writestr("_rels/.rels", f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
                                  f'2006/relationships"><Relationship Id="rId1" Type="{REL}/officeDocument" '
                                  'Target="xl/workbook.xml"/></Relationships>')
        entries = "".join(f'<sheet name="{title}" sheetId="{i}" r:id="rId{i}"/>' for i, title in enumerate(sheets, 1))
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
                                      f"{entries}</sheets></workbook>")
        rels = "".join(f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                       for i in range(1, len(sheets) + 1))
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                                                 f'openxmlformats.org/package/2006/relationships">{rels}</Relationships>')
        for i, body in enumerate(sheets.values(), 1):
            with z.open(f"xl/worksheets/sheet{i}.xml", "w") as fh:
                fh.write(f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData>'.encode())
                for piece in [body] if isinstance(body, bytes) else body:
                    fh.write(piece)
                fh.write(b"</sheetData></worksheet>")
    return path


ODS_CONTENT = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
               'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
               'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" '
               'office:version="1.2"><office:body><office:spreadsheet>{tables}</office:spreadsheet></office:body>'
               "</office:document-content>")
ODS_VALUE = '<table:table-cell office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell>'


def write_ods(path: Path, tables: dict[str, str]) -> Path:
    """A minimal .ods in LibreOffice's shape: table name -> the rows XML."""
    body = "".join(f'<table:table table:name="{name}">{rows}</table:table>' for name, rows in tables.items())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
                   '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry '
                   'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                   '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                   "</manifest:manifest>")
        z.writestr("content.xml", ODS_CONTENT.format(tables=body))
    return path


def patch_first_xls_cell(source: Path, target: Path, row: int, col: int) -> Path:
    """A LibreOffice .xls with its first shared-string cell moved to (row, col), both 0-based."""
    import struct  # noqa: PLC0415

    data = bytearray(source.read_bytes())
    at = data.find(b"\xfd\x00\x0a\x00")  # LABELSST, 10 bytes: row, col, xf, string index
    assert at > 0, "no LABELSST record"
    data[at + 4:at + 8] = struct.pack("<HH", row, col)
    target.write_bytes(bytes(data))
    return target


def cell(ref: str, value: str = "1") -> bytes:
    return f'<c r="{ref}"><v>{value}</v></c>'.encode()


def rows_of_cells(rows: int, cols: int, chunk: int = 2000):
    """Pieces of sheetData for a full grid of numbers, written lazily (for the 2 GB sheet)."""
    names = [column_letters(c).encode() for c in range(1, cols + 1)]
    for start in range(1, rows + 1, chunk):
        yield b"".join(b'<row r="%d">' % r + b"".join(b'<c r="%s%d"><v>%d</v></c>' % (n, r, r) for n in names)
                       + b"</row>" for r in range(start, min(start + chunk, rows + 1)))


def make(out: Path, *, big: bool = True) -> dict[str, Path]:
    """Every hostile file, by a short name. ``big`` adds the ~17 MB file with a 2 GB sheet (slow to write)."""
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    def add(key: str, path: Path) -> None:
        files[key] = path

    add("huge_extent", write_xlsx(out / "huge_extent.xlsx", {"来店登记": b'<row r="1">' + cell("A1") + b"</row>"
                                                              b'<row r="1048576">' + cell("XFD1048576") + b"</row>"}))
    add("xfd20000", write_xlsx(out / "xfd20000.xlsx", {"S": b'<row r="1">' + cell("A1")
                                                                                 + b'</row><row r="20000">'
                                                                                 + cell("XFD20000") + b"</row>"}))
    # Cells without r: calamine places them one after the other; 16,384 of them make a full-width row.
    add("no_refs_wide", write_xlsx(out / "no_refs_wide.xlsx", {"S": b'<row r="1"><c><v>1</v></c></row><row r="1048576">'
                                                               + b"<c><v>1</v></c>" * 16384 + b"</row>"}))
    add("wide_sheet", write_xlsx(out / "wide.xlsx", {"S": [b'<row r="1">' + b"".join(
        cell(f"{column_letters(c)}1") for c in range(1, 16385)) + b"</row>"]}))
    add("many_sheets", write_xlsx(out / "many_sheets.xlsx", {f"S{i}": b'<row r="1">' + cell("A1") + b"</row>"
                                                             for i in range(2000)}))
    deep = b"<is>" + b"<r>" * 50000 + b"<t>x</t>" + b"</r>" * 50000 + b"</is>"
    add("deep_xml", write_xlsx(out / "deep.xlsx", {"S": b'<row r="1"><c r="A1" t="inlineStr">' + deep + b"</c></row>"}))
    laughs = out / "laughs.xlsx"
    write_xlsx(laughs, {"S": b'<row r="1">' + cell("A1") + b"</row>"})
    _rewrite(laughs, "xl/workbook.xml", lambda data: data.replace(
        b"?>", b'?><!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>', 1))
    add("billion_laughs", laughs)
    bomb = out / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (200 * 1024 * 1024))
    add("zip_bomb", bomb)
    (out / "empty.xlsx").write_bytes(b"")
    add("empty_xlsx", out / "empty.xlsx")
    (out / "empty.csv").write_bytes(b"")
    add("empty_csv", out / "empty.csv")
    big5 = ("登記時間,來訪方式,客戶姓名,聯系電話,信息來源,銷售顧問,是否建卡\n"
            "2026/11/26 10:00,來店,陳先生,13812345678,網絡,張偉,是\n")
    (out / "big5.csv").write_bytes(big5.encode("big5"))
    add("big5_csv", out / "big5.csv")
    (out / "long_field.csv").write_text("a,b\n1," + "x" * 200_000 + "\n", encoding="utf-8")
    add("long_field_csv", out / "long_field.csv")
    (out / "open_quote.csv").write_text('登记时间,客户姓名\n2026/11/26,"陈先生\n2026/11/27,李女士\n', encoding="utf-8")
    add("unterminated_quote_csv", out / "open_quote.csv")
    truncated = out / "truncated.xlsx"
    whole = write_xlsx(out / "whole.xlsx", {"S": b'<row r="1">' + cell("A1") + b"</row>"}).read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])
    add("truncated_zip", truncated)
    disguised = out / "disguised.xls"
    disguised.write_bytes(whole)
    add("xlsx_named_xls", disguised)
    (out / "folder.xlsx").mkdir(exist_ok=True)
    add("directory", out / "folder.xlsx")
    fifo = out / "fifo.csv"
    if hasattr(os, "mkfifo") and not fifo.exists():
        os.mkfifo(fifo)
    if fifo.exists():
        add("fifo", fifo)
    locked = out / "locked.csv"
    locked.write_text("a,b\n1,2\n", encoding="utf-8")
    locked.chmod(0)
    add("unreadable", locked)
    add("ods_repeated_values", write_ods(out / "repeated.ods", {"来店登记": (
        '<table:table-row table:number-rows-repeated="8000"><table:table-cell table:number-columns-repeated="8000" '
        'office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>')}))
    add("ods_far_cell", write_ods(out / "far.ods", {"S": (
        f'<table:table-row>{ODS_VALUE}</table:table-row><table:table-row table:number-rows-repeated="1048574">'
        '<table:table-cell/></table:table-row><table:table-row><table:table-cell table:number-columns-repeated='
        f'"16383"/>{ODS_VALUE}</table:table-row>')}))
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "producer_libreoffice.xls"
    add("xls_far_column", patch_first_xls_cell(fixture, out / "far_column.xls", 0xFFFF, 0x3FFF))
    add("xls_last_cell", patch_first_xls_cell(fixture, out / "last_cell.xls", 0xFFFF, 0xFF))
    if big:
        # ~17 MB on disk, a 1.9 GB sheet when unpacked: 20M numbers over 1M rows x 20 columns.
        add("gigabyte_sheet", write_xlsx(out / "gigabyte_sheet.xlsx", {"S": rows_of_cells(1_000_000, 20)}))
    return files


PEAK_MARK = "huifang-peak-bytes="
# Runs a script and reports its own high-water mark: ru_maxrss of a child counts the parent's memory it
# was forked from, VmHWM counts only what the new program touched.
_PEAK_WRAPPER = (
    "import atexit, runpy, sys\n"
    "def peak():\n"
    "    try:\n"
    "        kb = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
    "        sys.stderr.write('\\n%s%d\\n' % (MARK, int(kb) * 1024))\n"
    "    except OSError:\n"
    "        pass\n"
    "atexit.register(peak)\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def run_measured(command: list[str], cwd: Path, timeout: float = 120) -> tuple[int, str, str, float, int | None]:
    """Run ``[*prefix, python, script, *args]``: (exit code, stdout, stderr, seconds, peak resident bytes).

    The peak is the program's own (Linux /proc VmHWM); None where /proc is missing.
    """
    import subprocess  # noqa: PLC0415
    import time  # noqa: PLC0415

    python = next(i for i, part in enumerate(command) if part.endswith(("python", "python3")) or "python" in Path(part).name)
    wrapped = [*command[:python + 1], "-c", _PEAK_WRAPPER.replace("MARK", repr(PEAK_MARK)), *command[python + 1:]]
    started = time.monotonic()
    done = subprocess.run(wrapped, capture_output=True, text=True, cwd=cwd, timeout=timeout)
    seconds = time.monotonic() - started
    peak = None
    err_lines = []
    for line in done.stderr.splitlines():
        if line.startswith(PEAK_MARK):
            peak = int(line[len(PEAK_MARK):])
        else:
            err_lines.append(line)
    return done.returncode, done.stdout, "\n".join(err_lines), seconds, peak



def _rewrite(path: Path, member: str, change) -> None:
    with zipfile.ZipFile(path) as zin:
        items = [(item, zin.read(item)) for item in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item, data in items:
            zout.writestr(item, change(data) if item.filename == member else data)


if __name__ == "__main__":
    for key, path in make(Path(sys.argv[1]), big="--small" not in sys.argv).items():
        print(f"{key:28} {path}")
