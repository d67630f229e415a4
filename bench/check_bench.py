"""Whole-process time and peak memory of `run.py check` beside the raw python-calamine read, in one run.

    python bench/check_bench.py [--sizes 1000 10000 100000 300000 1000000] [--repeat 5]

Workbooks are generated once into bench/out/ (the 1M-row one takes a few minutes the first time).
Every measurement is a fresh process timed from outside, as a user or a scheduler runs it; memory is
the process's peak resident size (ru_maxrss). The baseline is the least any tool must do: start
Python, open the file with python-calamine and walk every row of every sheet. The figures are
printed beside the issue #16 targets; nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

VISITOR_HEADERS = ["登记时间", "来访方式", "客户姓名", "联系电话", "客户不留电话", "信息来源", "意向车型", "意向级别",
                   "销售顾问", "是否建卡", "下次跟进日期", "最近跟进日期", "跟进状态", "备注"]
COMPLAINT_HEADERS = ["投诉编号", "受理时间", "投诉渠道", "客户姓名", "联系电话", "投诉内容", "投诉类别", "紧急程度",
                     "责任人", "协办部门", "工单时限", "处理状态", "首次回复时间", "解决时间", "处理结果", "回访时间",
                     "客户满意度"]
STAFF = ["张伟", "王芳", "刘洋", "赵敏", "孙磊"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
NOW = dt.datetime(2026, 11, 27, 9)


def make_visitors(path: Path, rows: int, drag_to: int = 0) -> None:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import PatternFill

    # A log as stores keep it: visits up to the bench's "now", old ones mostly closed or followed up,
    # ~2% without a phone, ~1% typed dates, a few blanks; the newest rows are still open.
    rnd = random.Random(rows)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("来店登记")
    ws.append(["来店(来电)客户登记表"])
    ws.append(VISITOR_HEADERS)
    start = NOW - dt.timedelta(minutes=3 * rows)
    for i in range(rows):
        visit = start + dt.timedelta(minutes=3 * i)
        phone = None if rnd.random() < 0.02 else 13800000000 + rnd.randrange(10**8)
        old = (NOW - visit).days > 7
        status = rnd.choice(["已成交", "已战败", "无效", "跟进中"]) if old and rnd.random() < 0.6 else None
        followed = old and rnd.random() < 0.95
        ws.append([
            visit if rnd.random() > 0.01 else visit.strftime("%Y年%m月%d日"),
            rnd.choice(["来店", "来电"]), rnd.choice(SURNAMES) + rnd.choice(["先生", "女士"]), phone, None,
            rnd.choice(["网络", "汽车之家", "老客户介绍", "路过"]) if rnd.random() < 0.99 else None, rnd.choice(["朗逸", "速腾", "帕萨特", "途观L"]),
            rnd.choice("HABCN"), rnd.choice(STAFF), "是" if rnd.random() < 0.97 else "否",
            (visit + dt.timedelta(days=3)).date() if followed else None,
            (visit + dt.timedelta(days=3)).date() if followed else None,
            status, "备注" if rnd.random() < 0.1 else None,
        ])
    # Formatting dragged down to the last row, as staff do: styled cells with no value.
    fill = PatternFill("solid", fgColor="FFF2CC")
    for _ in range(rows + 3, drag_to + 1):
        cell = WriteOnlyCell(ws)
        cell.fill = fill
        ws.append([None, None, None, cell])
    wb.save(path)


def make_complaints(path: Path, rows: int) -> None:
    import openpyxl

    rnd = random.Random(rows + 1)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("投诉登记")
    ws.append(COMPLAINT_HEADERS)
    start = NOW - dt.timedelta(minutes=20 * rows)
    for i in range(rows):
        received = start + dt.timedelta(minutes=20 * i)
        old = (NOW - received).days > 5
        status = "已关闭" if old and rnd.random() < 0.97 else rnd.choice(["待处理", "处理中", "已解决", "已关闭"])
        closed = status in ("已解决", "已关闭")
        ws.append([
            f"TS-{i:06d}", received, rnd.choice(["电话", "微信", "面诉"]), rnd.choice(SURNAMES) + "先生",
            13900000000 + rnd.randrange(10**8 if rnd.random() < 0.97 else 100), "服务问题", rnd.choice(["维修质量", "服务态度"]), rnd.choice(["一般", "紧急"]),
            rnd.choice(STAFF), None, None, status, received + dt.timedelta(hours=2),
            received + dt.timedelta(days=1) if closed else None, "已处理" if closed else None,
            (received + dt.timedelta(days=2)).replace(hour=10) if status == "已关闭" else None, "满意" if status == "已关闭" else None,
        ])
    wb.save(path)


RAW = r"""
import sys, python_calamine
book = python_calamine.CalamineWorkbook.from_path(sys.argv[1])
n = 0
for name in book.sheet_names:
    for row in book.get_sheet_by_name(name).iter_rows():
        n += 1
"""
RUSAGE = r"""
import resource, subprocess, sys, time
t = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
elapsed = time.perf_counter() - t
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(elapsed, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime, code)
"""


def run_once(command: list[str]) -> tuple[float, int, float]:
    out = subprocess.run([sys.executable, "-c", RUSAGE, *command], capture_output=True, text=True, cwd=ROOT)
    seconds, peak, cpu, code = out.stdout.split()
    if int(code) not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {code}")
    return float(seconds), int(peak), float(cpu)


def summary(runs: list[tuple[float, int, float]]) -> dict:
    """Wall time (min, median), CPU time (min: on a shared machine the steadier figure) and peak memory."""
    return {"min": min(r[0] for r in runs), "median": statistics.median(r[0] for r in runs),
            "cpu": min(r[2] for r in runs), "peak": statistics.median(r[1] for r in runs)}


def json_speed(findings: int) -> tuple[float, float]:
    """Seconds to render `findings` findings as JSON: ours, and json.dumps of the same dicts (baseline)."""
    import time

    from scripts.check import CheckResult, StaffDirectory
    from scripts.findings import make_finding
    from scripts.output import render_json

    now = dt.datetime(2026, 11, 27, 9, tzinfo=__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    items = [make_finding("followup_overdue", source="s", sheet="来店登记", row=i, column="last_followup_on",
                          cell=f"M{i}", header="最近跟进日期", message="跟进回访已逾期：应于 11-24（周二）前完成（王先生）",
                          table="visitor_log", assignee="张伟", due=now) for i in range(findings)]
    result = CheckResult(now, [], items, [], StaffDirectory(()))
    plain = [f.to_json() for f in items]
    ours = baseline = float("inf")
    for _ in range(5):  # interleaved, fastest of 5
        t = time.perf_counter()
        render_json(result)
        ours = min(ours, time.perf_counter() - t)
        t = time.perf_counter()
        json.dumps(plain, ensure_ascii=False)
        baseline = min(baseline, time.perf_counter() - t)
    return ours, baseline


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000, 300_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    import compileall  # an installed copy has its .pyc files; writing them here too keeps start-up comparable

    compileall.compile_dir(str(ROOT / "scripts"), quiet=1)
    rows = []
    print(f"{'visitor rows':>12} {'check min/med s':>16} {'raw min/med s':>14} {'time ratio':>10} {'cpu ratio':>9} "
          f"{'check MB':>9} {'raw MB':>7} {'mem ratio':>9}")
    for size in args.sizes:
        path = OUT / f"visitors_{size}.xlsx"
        if not path.exists():
            make_visitors(path, size)
        repeat = args.repeat if size <= 100_000 else max(1, args.repeat // 2)
        check_command = [sys.executable, "run.py", "check", str(path), "--format", "json", "--now", NOW.isoformat()]
        raw_command = [sys.executable, "-c", RAW, str(path)]
        runs = [(run_once(check_command), run_once(raw_command)) for _ in range(repeat)]  # interleaved
        check, raw = (summary([r[i] for r in runs]) for i in (0, 1))
        rows.append((size, check, raw))
        print(f"{size:>12} {check['min']:>7.2f}/{check['median']:<8.2f} {raw['min']:>6.2f}/{raw['median']:<7.2f} "
              f"{check['median'] / raw['median']:>10.2f} {check['cpu'] / raw['cpu']:>9.2f} {check['peak'] / 2**20:>9.0f} "
              f"{raw['peak'] / 2**20:>7.0f} {check['peak'] / raw['peak']:>9.2f}")
    print()
    print("targets (issue #16)")
    by_size = {size: (check, raw) for size, check, raw in rows}
    if 1_000 in by_size:
        print(f"  start-up: check of 1k rows, fastest of {args.repeat}: {by_size[1_000][0]['min']:.3f} s (target <= 0.15 s)")
    for size in (100_000, 300_000, 1_000_000):
        if size in by_size:
            check, raw = by_size[size]
            print(f"  {size:,} rows: time {check['median'] / raw['median']:.2f}x raw (CPU {check['cpu'] / raw['cpu']:.2f}x; "
                  f"target <= 1.3), memory {check['peak'] / raw['peak']:.2f}x raw (target <= 1.2)")
    if 100_000 in by_size and 1_000_000 in by_size:
        import math

        c1, r1 = by_size[100_000]
        c2, r2 = by_size[1_000_000]
        print(f"  growth 100k -> 1M: check exponent {math.log10(c2['median'] / c1['median']):.2f}, "
              f"raw {math.log10(r2['median'] / r1['median']):.2f} (target <= 1.05)")
    ours, plain = json_speed(35_000)
    print(f"  JSON of 35k findings: {ours:.3f} s (target <= 0.1 s); json.dumps of the same dicts {plain:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
