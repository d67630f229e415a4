"""Google Sheets pacing (issue #16) over 1,000 spreadsheets on a simulated clock, beside the same run unpaced.

    python bench/sheets_bench.py [--spreadsheets 1000] [--per-minute 60] [--repeat 5]

Each spreadsheet is read by read_google_sheet through SheetsSession, whose inner session is the test
Sheets API answering in-process (tests/sheets_server.py): no sockets, and the clock only moves when the
pacer sleeps, so the half hour the quota imposes passes in about a second. Printed: requests, the most
in any 60 s (target <= the quota), the simulated run length against the least the quota allows, and the
CPU each request costs with the pacer beside without it (min of --repeat runs, same process), plus the
pacer's wait() alone beside an empty call.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.sources.gsheets import RequestPacer, SheetsSession, read_google_sheet, reading_minutes  # noqa: E402
from tests.sheets_server import InProcessSession, SheetsApi, SimulatedTime, busiest_window  # noqa: E402

HEADERS = ["登记时间", "来访方式", "客户姓名", "联系电话", "信息来源", "销售顾问", "是否建卡"]


def api_with(count: int) -> SheetsApi:
    api = SheetsApi()
    for i in range(count):
        row = [46352.4375, "来店", f"客户{i}", 13800000000 + i, "网络", "张伟", "是"]
        api.spreadsheets[f"1bench{i:05d}SPREADSHEETkey"] = [
            {"sheetId": 1, "title": "来店登记", "index": 0, "hidden": False, "values": [HEADERS, row]}]
    return api


def run(api: SheetsApi, per_minute: int | None) -> tuple[list[float], float]:
    """(simulated moment of every request, CPU seconds) of reading every spreadsheet of ``api`` once."""
    api.requests.clear()
    clock = SimulatedTime()
    inner = InProcessSession(api, clock)
    session = SheetsSession(inner, sleep=clock.sleep, monotonic=clock, requests_per_minute=per_minute)
    started = time.process_time()
    for key in api.spreadsheets:
        read_google_sheet(key, key, session)
    return inner.sent, time.process_time() - started


def pacer_alone(calls: int, per_minute: int) -> tuple[float, float]:
    """CPU seconds per call of RequestPacer.wait() on a simulated clock, and of an empty call beside it."""
    clock = SimulatedTime()
    pacer = RequestPacer(per_minute, clock=clock, sleep=clock.sleep)

    def empty() -> None:
        clock()

    timings = []
    for step in (pacer.wait, empty):
        started = time.process_time()
        for _ in range(calls):
            step()
        timings.append((time.process_time() - started) / calls)
    return timings[0], timings[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spreadsheets", type=int, default=1000)
    parser.add_argument("--per-minute", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    api = api_with(args.spreadsheets)
    paced_cpu, bare_cpu, alone, empty = [], [], [], []
    for _ in range(args.repeat):  # interleaved, so both see the same machine
        paced, cpu = run(api, args.per_minute)
        paced_cpu.append(cpu)
        bare, cpu = run(api, None)
        bare_cpu.append(cpu)
        wait_cost, empty_cost = pacer_alone(200_000, args.per_minute)
        alone.append(wait_cost)
        empty.append(empty_cost)
    n = len(paced)
    least = reading_minutes(args.spreadsheets, args.per_minute) * 60
    busiest = busiest_window(paced)
    print(f"{args.spreadsheets:,} spreadsheets, quota {args.per_minute} requests a minute, min of {args.repeat} runs")
    print(f"requests:                      {n:,} paced, {len(bare):,} unpaced")
    print(f"most requests in any 60 s:     {busiest} paced (target <= {args.per_minute}: "
          f"{'met' if busiest <= args.per_minute else 'MISSED'}), {busiest_window(bare)} unpaced")
    ratio = paced[-1] / least if least else 1.0
    print(f"simulated run length:          {paced[-1]:,.0f} s = {paced[-1] / 60:.1f} min paced; least the quota allows "
          f"{least:,} s = {least / 60:.1f} min (ratio {ratio:.3f}); unpaced {bare[-1]:.0f} s")
    per_paced, per_bare = min(paced_cpu) / n * 1e6, min(bare_cpu) / len(bare) * 1e6
    spread = max(bare_cpu) / len(bare) * 1e6 - per_bare
    print(f"CPU per request, whole read:   {per_paced:.1f} us paced, {per_bare:.1f} us unpaced "
          f"(difference {per_paced - per_bare:+.1f} us; unpaced runs spread over {spread:.1f} us)")
    print(f"CPU per RequestPacer.wait():   {min(alone) * 1e6:.2f} us, an empty call beside it {min(empty) * 1e6:.2f} us "
          f"(pacer's own cost {(min(alone) - min(empty)) * 1e6:.2f} us)")
    said: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: said.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("huifang.gsheets").addHandler(handler)
    SheetsSession(requests_per_minute=args.per_minute).announce(args.spreadsheets)
    print(f"said before reading:           {said[0] if said else '(nothing: no waiting)'}")
    return 0 if busiest <= args.per_minute else 1


if __name__ == "__main__":
    sys.exit(main())
