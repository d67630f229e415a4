"""Time of the monthly report's figures and workbook for a big complaint log.

    python bench/report_bench.py [--complaints 20000]

Records are built directly (a year of complaints, a quarter still open), so only the report is measured:
the figures of the month, the previous month and the six-month trend, then the workbook.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.report import month_stats, previous_month, trend, write_report  # noqa: E402
from scripts.tables import Record  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")


def records(n: int) -> list[Record]:
    out = []
    start = dt.datetime(2025, 12, 1, 9)
    step = dt.timedelta(days=365) / n
    for i in range(n):
        r = Record(i + 2)
        received = start + step * i
        r.update(complaint_id=f"TS{i:06d}", received_at=received, phone=f"139{i % 5000:08d}", channel="电话",
                 customer_name=f"客户{i}", category=("维修质量", "服务态度", "配件供应")[i % 3], owner=("赵敏", "孙磊")[i % 2],
                 status="处理中", content="等待时间过长", first_reply_at=received + dt.timedelta(hours=i % 30))
        if i % 4:
            r.update(resolved_at=received + dt.timedelta(hours=i % 90 + 2), status="已解决")
        if i % 3 == 0:
            r.update(department="售后部", dept_due_at=received + dt.timedelta(days=2))
        out.append(r)
    return out


def timed(label: str, fn) -> None:
    best = min(_once(fn) for _ in range(3))
    print(f"{label:<36} {best * 1000:8.0f} ms")


def _once(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--complaints", type=int, default=20000)
    args = parser.parse_args()
    log = records(args.complaints)
    month = "2026-11"
    print(f"{args.complaints} complaints over 12 months")
    timed("month_stats (one month)", lambda: month_stats(log, month, TZ))
    timed("trend (six months)", lambda: trend(log, month, TZ))
    stats, previous = month_stats(log, month, TZ), month_stats(log, previous_month(month), TZ)
    history = trend(log, month, TZ)
    with tempfile.TemporaryDirectory() as folder:
        timed("write_report", lambda: write_report(stats, previous, Path(folder) / "r.xlsx", history=history))


if __name__ == "__main__":
    main()
