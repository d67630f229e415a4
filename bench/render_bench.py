"""Render 500 reminders (subject, text, HTML; no sending) per language, best of a few rounds.

    python bench/render_bench.py [--count 500] [--rounds 3] [--languages zh-CN en]

Uses send_bench's message maker so both benches render the same reminders (5 overdue, 3 due today,
4 cells to fix each). Reports the time to build the Renderer and to render all messages.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scripts.config import load_config  # noqa: E402
from scripts.demo import DEMO_CONFIG  # noqa: E402
from scripts.render import Renderer  # noqa: E402
from send_bench import reminders  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--languages", nargs="+", default=["zh-CN", "en"])
    args = parser.parse_args()
    messages = reminders(args.count)
    base = load_config(DEMO_CONFIG)
    for language in args.languages:
        t = time.perf_counter()
        renderer = Renderer(replace(base, language=language))
        setup_s = time.perf_counter() - t
        best = float("inf")
        for _ in range(args.rounds):
            t = time.perf_counter()
            for m in messages:
                renderer.parts(m)
            best = min(best, time.perf_counter() - t)
        print(f"{language}: renderer {setup_s * 1000:.0f} ms; {args.count} reminders in {best:.2f} s "
              f"({best / args.count * 1000:.2f} ms each, best of {args.rounds})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
