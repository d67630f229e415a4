"""Time and peak memory of `check` beside the raw python-calamine read and pandas, in one run.

    pip install -r bench/requirements.txt && python bench/check_bench.py [--sizes 10000 100000]

Workbooks are generated once into bench/out/. Every measurement runs in a fresh interpreter; memory
is the peak resident size during the work minus the resident size after imports (VmHWM - VmRSS).
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


CHILD = r"""
import json, sys, time
def status(key):
    for line in open('/proc/self/status'):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
mode, path = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
import datetime as dt
from zoneinfo import ZoneInfo
if mode == 'calamine':
    import python_calamine
elif mode == 'pandas':
    import pandas
else:
    import python_calamine
    from pathlib import Path
    from scripts.check import run_check
    from scripts.config import config_for_files
    from scripts.schema import load_schemas
    load_schemas()
base = status('VmRSS')
t = time.perf_counter()
if mode == 'calamine':
    book = python_calamine.CalamineWorkbook.from_path(path)
    n = sum(len(book.get_sheet_by_name(s).to_python()) for s in book.sheet_names)
elif mode == 'pandas':
    n = sum(len(df) for df in pandas.read_excel(path, sheet_name=None, engine='openpyxl').values())
else:
    result = run_check(config_for_files([Path(path)]), dt.datetime(2026, 11, 27, 9, tzinfo=ZoneInfo('Asia/Shanghai')))
    n = len(result.findings)
elapsed = time.perf_counter() - t
print(json.dumps({'seconds': elapsed, 'peak': status('VmHWM') - base, 'n': n}))
"""


def measure(mode: str, path: Path, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(path), str(ROOT)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{mode} on {path.name} failed:\n{proc.stderr}")
        runs.append(json.loads(proc.stdout))
    return {"seconds": statistics.median(r["seconds"] for r in runs),
            "peak": statistics.median(r["peak"] for r in runs), "n": runs[0]["n"]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--complaints", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument("--no-dragged", action="store_true", help="skip the log with formatting down to row 1,048,576")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    files = []
    for size in args.sizes:
        path = OUT / f"visitors_{size}.xlsx"
        if not path.exists():
            make_visitors(path, size)
        files.append(path)
    if not args.no_dragged:
        path = OUT / f"visitors_{args.sizes[0]}_dragged.xlsx"
        if not path.exists():
            make_visitors(path, args.sizes[0], drag_to=1_048_576)
        files.append(path)
    path = OUT / f"complaints_{args.complaints}.xlsx"
    if not path.exists():
        make_complaints(path, args.complaints)
    files.append(path)

    modes = ["calamine", "check"] + ([] if args.no_pandas else ["pandas"])
    print(f"{'file':<26}{'calamine s':>11}{'check s':>9}{'ratio':>7}{'pandas s':>10}"
          f"{'calamine MB':>13}{'check MB':>10}{'ratio':>7}{'pandas MB':>11}{'findings':>10}")
    for path in files:
        r = {m: measure(m, path, args.repeat) for m in modes}
        p = r.get("pandas", {"seconds": float("nan"), "peak": float("nan")})
        print(f"{path.name:<26}{r['calamine']['seconds']:>11.2f}{r['check']['seconds']:>9.2f}"
              f"{r['check']['seconds'] / r['calamine']['seconds']:>7.2f}{p['seconds']:>10.2f}"
              f"{r['calamine']['peak'] / 2**20:>13.1f}{r['check']['peak'] / 2**20:>10.1f}"
              f"{r['check']['peak'] / max(r['calamine']['peak'], 1):>7.2f}{p['peak'] / 2**20:>11.1f}{r['check']['n']:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
