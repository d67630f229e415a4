"""Time and peak memory of `check` on each hostile file of tests/adversarial, beside a normal 10k-row
workbook, in one run; then what the pre-read scans cost on a plain 100k-row sheet.

    python bench/hostile_bench.py [--out bench/out/hostile] [--small]

Every `check` runs in a fresh interpreter; memory is that program's peak resident size (VmHWM), so it
includes the interpreter and imports (~40 MB). `--small` leaves out the 17 MB file whose sheet
unpacks to 1.9 GB (writing it takes a minute).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.adversarial.make_corpus import make, rows_of_cells, run_measured, write_xlsx  # noqa: E402


def check(path: Path) -> tuple[str, float, int]:
    code, out, err, seconds, peak = run_measured(
        [sys.executable, str(ROOT / "run.py"), "check", str(path), "--format", "json", "--now", "2026-11-27T09:00"],
        ROOT, timeout=300)
    try:
        (source,) = json.loads(out)["sources"]
        outcome = "read" if source["error"] is None else "refused: " + source["error"][:70]
    except (ValueError, KeyError):
        outcome = f"exit {code}: " + (err.strip().splitlines() or ["?"])[-1][:70]
    return outcome, seconds, peak


def baseline(out: Path) -> Path:
    path = out / "visitors_10000.xlsx"
    if not path.exists():
        from bench.check_bench import make_visitors  # noqa: PLC0415

        make_visitors(path, 10_000)
    return path


def scan_cost(out: Path) -> None:
    """The .xlsx scan against calamine's own read of a 100k x 20 sheet, with and without error cells."""
    import python_calamine  # noqa: PLC0415

    from scripts.sources.xlsx_scan import scan_sheet  # noqa: PLC0415

    plain = out / "plain_100k.xlsx"
    with_errors = out / "errors_100k.xlsx"
    if not plain.exists():
        write_xlsx(plain, {"S": rows_of_cells(100_000, 20)})
    if not with_errors.exists():
        write_xlsx(with_errors, {"S": [*rows_of_cells(100_000, 20),
                                       b'<row r="100001"><c r="A100001" t="e"><v>#N/A</v></c></row>']})
    for path in (plain, with_errors):
        scans, reads = [], []
        for _ in range(3):
            started = time.perf_counter()
            with zipfile.ZipFile(path) as z, z.open("xl/worksheets/sheet1.xml") as fh:
                result = scan_sheet(fh)
            scans.append(time.perf_counter() - started)
            started = time.perf_counter()
            book = python_calamine.CalamineWorkbook.from_path(str(path))
            book.get_sheet_by_name("S").to_python()
            reads.append(time.perf_counter() - started)
        print(f"{path.name:24} scan {statistics.median(scans):6.2f} s   calamine read {statistics.median(reads):6.2f} s"
              f"   box {result.span}, {len(result.errors)} error cells")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "hostile")
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    files = make(args.out, big=not args.small)
    files = {"baseline (10k-row log)": baseline(args.out.parent), **files}
    print(f"{'file':28} {'size':>10} {'seconds':>8} {'peak MB':>8}  outcome")
    for key, path in files.items():
        if key == "unreadable":
            continue  # root reads it; tests/test_hostile_inputs.py drops root's powers for it
        size = path.stat().st_size if path.is_file() else 0
        outcome, seconds, peak = check(path)
        print(f"{key:28} {size:>10,} {seconds:8.2f} {(peak or 0) / 1024**2:8.0f}  {outcome}")
    scan_cost(args.out)


if __name__ == "__main__":
    main()
