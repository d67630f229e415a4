"""Where a `check` of one big log spends its time, stage by stage, in one process (CPU seconds, best of N).

    python bench/stages_bench.py [--rows 100000] [--repeat 3]

The stages are the ones `run.py check FILE --format json` goes through, timed one by one on the bench's
generated visitor log (bench/out/, made by check_bench.py), beside the raw python-calamine read of the
same sheet: measuring the sheet from its XML (the guard of issue #12), calamine's parse, walking the
rows, building typed records, deadlines, validation and the JSON text.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from check_bench import NOW, OUT, make_visitors  # noqa: E402


def best(repeat: int, work) -> tuple[float, object]:
    seconds, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        out = work()
        seconds = min(seconds, time.process_time() - start)
    return seconds, out


def main() -> int:
    import python_calamine

    from scripts.check import CheckResult, StaffDirectory
    from scripts.deadlines import deadline_findings
    from scripts.output import render_json
    from scripts.schema import load_schemas
    from scripts.sources import Grid
    from scripts.sources.excel import _measure_zip, read_workbook
    from scripts.tables import read_sheet_table
    from scripts.validation import Rules, validate
    from scripts.workcal import WorkCalendar

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"visitors_{args.rows}.xlsx"
    if not path.exists():
        make_visitors(path, args.rows)
    now = NOW.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    schemas = list(load_schemas(ROOT / "sheets_schema").values())
    gc.disable()  # as `check` runs

    def raw():
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        return sum(1 for name in book.sheet_names for _ in book.get_sheet_by_name(name).iter_rows())

    def parse():
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        return book.get_sheet_by_name(book.sheet_names[0])

    sheet = read_workbook(path).sheets[0]
    rows = list(sheet.read().rows)

    def records():
        return read_sheet_table("bench", type(sheet)(sheet.title, lambda: Grid(iter(rows))), None, schemas, now=now)

    t_raw, _ = best(args.repeat, raw)
    t_scan, _ = best(args.repeat, lambda: _measure_zip(path, "bench"))
    t_parse, _ = best(args.repeat, parse)
    t_walk, _ = best(args.repeat, lambda: sum(1 for _ in sheet.read().rows) and None)
    t_records, table = best(args.repeat, records)
    calendar = WorkCalendar("CN", frozenset(), frozenset())
    tz = ZoneInfo("Asia/Shanghai")
    t_deadlines, due = best(args.repeat, lambda: list(deadline_findings(table, calendar, tz, now)))
    t_validate, checked = best(args.repeat, lambda: validate(table, Rules()))
    result = CheckResult(now, [], [*table.findings, *due, *checked], [table], StaffDirectory(()))
    t_json, _ = best(args.repeat, lambda: render_json(result))
    stages = [("measure the sheet (zip + XML scan)", t_scan), ("calamine parse", t_parse),
              ("walk the rows (calamine -> Python)", t_walk - t_parse if t_walk > t_parse else t_walk),
              ("typed records", t_records), ("deadlines", t_deadlines), ("validation", t_validate),
              (f"JSON text ({len(result.findings):,} findings)", t_json)]
    total = sum(s for _, s in stages)
    print(f"{args.rows:,} visitor rows, CPU seconds, best of {args.repeat}")
    print(f"  raw python-calamine read (baseline): {t_raw:.3f} s")
    for label, seconds in stages:
        print(f"  {label:<40} {seconds:6.3f} s  {seconds / total:5.1%}  {seconds / t_raw:5.2f}x raw")
    print(f"  {'sum of the stages':<40} {total:6.3f} s         {total / t_raw:5.2f}x raw (plus start-up, about 0.1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
