"""`check` of many small workbooks with --jobs 1 beside --jobs 2 (and the CPU count), whole processes.

    python bench/many_bench.py [--books 200] [--rows 300] [--repeat 3]

The workbooks (visitor logs, generated once into bench/out/many/) are passed as paths; each run is a
fresh `run.py check --format json` process, timed from outside. Target (issue #16): >= 1.7x on 2 cores.
The findings of every run are compared: they must be identical whatever --jobs is.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from check_bench import make_visitors  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--books", type=int, default=200)
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    folder = ROOT / "bench" / "out" / "many"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(args.books):
        path = folder / f"visitors_{args.rows}_{i:03d}.xlsx"
        if not path.exists():
            make_visitors(path, args.rows + i)  # a different seed per book
        paths.append(str(path))
    settings = sorted({1, 2, os.cpu_count() or 1})
    times: dict[int, list[float]] = {j: [] for j in settings}
    outputs: dict[int, bytes] = {}
    for _ in range(args.repeat):  # interleaved, so a busy moment hits every setting alike
        for jobs in settings:
            t = time.perf_counter()
            done = subprocess.run([sys.executable, "run.py", "check", *paths, "--format", "json", "--now",
                                   "2026-11-27T09:00", "--jobs", str(jobs)], cwd=ROOT, capture_output=True)
            times[jobs].append(time.perf_counter() - t)
            outputs[jobs] = done.stdout
    same = len(set(outputs.values())) == 1
    print(f"{args.books} workbooks x ~{args.rows} rows, {os.cpu_count()} CPUs; whole process, min/median of {args.repeat}")
    for jobs in settings:
        ts = sorted(times[jobs])
        print(f"  --jobs {jobs}: {ts[0]:.2f}/{ts[len(ts) // 2]:.2f} s  speed-up {min(times[1]) / ts[0]:.2f}x")
    print(f"  target (issue #16): >= 1.7x with --jobs 2 on 2 cores; output identical across --jobs: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
