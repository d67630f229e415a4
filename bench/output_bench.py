"""Time of rendering a big check result: compact JSON (C encoder), indented JSON, and text.

    python bench/output_bench.py [--findings 100000]

The result is synthetic (findings built directly), so only the rendering is measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.check import CheckResult, SheetReport, SourceReport, StaffDirectory  # noqa: E402
from scripts.findings import make_finding  # noqa: E402
from scripts.output import as_json, render_json, render_text  # noqa: E402

NOW = dt.datetime(2026, 11, 27, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


def result(n: int) -> CheckResult:
    findings = [make_finding("missing_required" if i % 3 else "followup_overdue", source="展厅", sheet="来店登记",
                             row=i + 2, column="phone", cell=f"E{i + 2}", header="联系电话",
                             message="联系电话未填写（必填）", table="visitor_log", assignee="张伟",
                             due=NOW if i % 3 == 0 else None) for i in range(n)]
    sources = [SourceReport("展厅", "展厅.xlsx", sheets=[SheetReport("来店登记", "visitor_log", n)])]
    return CheckResult(NOW, sources, findings, [], StaffDirectory(()))


def timed(label: str, fn) -> None:
    best = min(_once(fn) for _ in range(3))
    print(f"{label:<28} {best * 1000:8.0f} ms")


def _once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--findings", type=int, default=100_000)
    n = parser.parse_args().findings
    r = result(n)
    data = as_json(r)
    print(f"{n} findings")
    timed("as_json (dicts, clean)", lambda: as_json(r))
    timed("json compact (C encoder)", lambda: json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    timed("json indent=2 (Python)", lambda: json.dumps(data, ensure_ascii=False, indent=2))
    timed("render_json (default)", lambda: render_json(r))
    timed("render_text zh-CN", lambda: render_text(r, language="zh-CN"))
    timed("render_text en", lambda: render_text(r, language="en"))


if __name__ == "__main__":
    main()
