"""Render and send 500 reminders through one SMTP connection, beside plain smtplib in the same run.

    pip install -r requirements-dev.txt && python bench/send_bench.py [--count 500] [--down] [--dry-run]

The server is aiosmtpd on loopback. Baseline: the same number of already-built messages of the same
size sent with smtplib over one connection (what the network and server cost anyway).

``--down`` adds what a run costs when the server is down (connection refused, 421 on every message,
a server that accepts the connection and never answers): the whole run, with the circuit breaker
(one message spends its retries, the rest is deferred at once), beside one message's retries times
the count, which is what the run cost before the breaker.
"""

from __future__ import annotations

import argparse
import datetime as dt
import smtplib
import socket
import sys
import tempfile
import time
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.config import SmtpConfig, StaffMember, load_config  # noqa: E402
from scripts.demo import DEMO_CONFIG  # noqa: E402
from scripts.jobs import deliver  # noqa: E402
from scripts.ledger import Ledger  # noqa: E402
from scripts.mailer import OutboxSender, SmtpSender  # noqa: E402
from scripts.messages import Message  # noqa: E402
from scripts.render import Renderer  # noqa: E402
from tests.smtp_server import SmtpServer  # noqa: E402

NOW = dt.datetime(2026, 11, 27, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


def reminders(count: int) -> list[Message]:
    def item(i: int, j: int) -> dict:
        return {"rule": "followup_overdue", "base_rule": "followup", "severity": "error",
                "message": f"跟进回访已逾期：应于 11-2{j % 7}（周三） 前完成", "customer": f"客户{i}-{j}",
                "phone": f"138{i:04d}{j:04d}", "source": "展厅", "location": f"来店登记!M{j + 2}", "header": "",
                "url": None, "assignee": f"员工{i}", "due": "11-25", "due_date": "2026-11-25", "weekday": "三",
                "late": 2, "late_unit": "days"}

    out = []
    for i in range(count):
        context = {"name": f"员工{i}", "date": "2026-11-27", "weekday": "五", "call_window": "09:30–11:30",
                   "quiet_hours": "12:00–14:00、21:00–09:00", "overdue": [item(i, j) for j in range(5)],
                   "due_soon": [item(i, j) for j in range(5, 8)], "blanks": [item(i, j) for j in range(8, 12)], "notes": [],
                   "unassigned": []}
        out.append(Message("reminder", StaffMember(f"员工{i}", f"staff{i}@example.com"), "2026-11-27", context, (str(i),)))
    return out


def down_run(renderer: Renderer, messages: list[Message], settings: SmtpConfig, label: str) -> None:
    """One whole run against a server that is down, and one message's retries (the old cost per message)."""
    sender = SmtpSender(settings)
    t = time.perf_counter()
    report = deliver(messages, renderer, Ledger(":memory:"), sender, NOW)
    sender.close()
    run_s = time.perf_counter() - t
    one = SmtpSender(settings)
    t = time.perf_counter()
    deliver(messages[:1], renderer, Ledger(":memory:"), one, NOW)
    one.close()
    one_s = time.perf_counter() - t
    assert len(report.deferred) == len(messages) and not report.sent
    print(f"{label:<40}{run_s:>8.2f} s  (all {len(report.deferred)} deferred; without the breaker: "
          f"{one_s:.1f} s x {len(messages)} = {one_s * len(messages) / 3600:.1f} h)")


def outbox_run(renderer: Renderer, messages: list[Message], folder: Path) -> tuple[float, float]:
    """Seconds for a dry run's delivery into ``folder`` (render + write each), and for its index.html."""
    sender = OutboxSender(folder)
    t = time.perf_counter()
    deliver(messages, renderer, None, sender, NOW)
    send_s = time.perf_counter() - t
    t = time.perf_counter()
    sender.write_index()
    return send_s, time.perf_counter() - t


def dry_run(renderer: Renderer, messages: list[Message], held: int = 15_000) -> int:
    """Day 1 (an empty outbox) beside day 30 (one already holding ``held`` messages of earlier runs)."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh, full = Path(tmp) / "fresh", Path(tmp) / "full"
        raw = renderer.email(messages[0], NOW).as_bytes(policy=policy.SMTP)
        full.mkdir()
        for i in range(held):  # earlier days' messages, listed once by an earlier run's index
            (full / f"reminder-old{i}_example.com-{i:012d}.eml").write_bytes(raw)
        OutboxSender(full).write_index()
        day1 = outbox_run(renderer, messages, fresh)
        day30 = outbox_run(renderer, messages, full)
    n = len(messages)
    print(f"{n} reminders, dry run (outbox)        {'empty outbox':>16}{f'holding {held:,}':>18}")
    print(f"{'render + write, per message':<40}{day1[0] / n * 1000:>13.2f} ms{day30[0] / n * 1000:>15.2f} ms  (target <= 2 ms)")
    print(f"{'index.html':<40}{day1[1] * 1000:>13.1f} ms{day30[1] * 1000:>15.1f} ms")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--down", action="store_true", help="also measure runs against a server that is down")
    parser.add_argument("--dry-run", action="store_true",
                        help="only the outbox: render + write the reminders into a fresh outbox and one holding 15,000")
    args = parser.parse_args()
    renderer = Renderer(load_config(DEMO_CONFIG))
    messages = reminders(args.count)
    if args.dry_run:
        return dry_run(renderer, messages)

    t = time.perf_counter()
    built = [renderer.email(m, NOW).as_bytes(policy=policy.SMTP) for m in messages]
    render_s = time.perf_counter() - t

    with SmtpServer() as server:
        t = time.perf_counter()
        conn = smtplib.SMTP("127.0.0.1", server.port, timeout=30)
        for i, raw in enumerate(built):
            conn.sendmail("noreply@example.com", [f"staff{i}@example.com"], raw)
        conn.quit()
        baseline_s = time.perf_counter() - t

    with SmtpServer() as server:
        ledger = Ledger(":memory:")
        sender = SmtpSender(SmtpConfig("127.0.0.1", server.port, "none"))
        t = time.perf_counter()
        report = deliver(messages, renderer, ledger, sender, NOW)
        sender.close()
        full_s = time.perf_counter() - t
        assert len(report.sent) == args.count and len(server.received) == args.count
        connections = server.handler.connections

    size = sum(map(len, built)) / len(built)
    print(f"{args.count} reminders, {size / 1024:.1f} KiB each, {connections} SMTP connection(s)")
    print(f"{'smtplib, prebuilt (baseline)':<40}{baseline_s:>8.2f} s")
    print(f"{'render only (subject+text+html, inline)':<40}{render_s:>8.2f} s")
    print(f"{'render + ledger + send (huifang)':<40}{full_s:>8.2f} s  ({full_s / baseline_s:.1f}x baseline, "
          f"{full_s / args.count * 1000:.1f} ms per message)")
    if args.down:
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connection refused
        down_run(renderer, messages, SmtpConfig("127.0.0.1", closed.getsockname()[1], "none"), "server down (connection refused)")
        with SmtpServer() as server:
            server.handler.faults[:] = ["421"] * 100
            down_run(renderer, messages, SmtpConfig("127.0.0.1", server.port, "none"), "server answers 421 to every message")
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(100)  # accepts the connection, never says a word
        down_run(renderer, messages, SmtpConfig("127.0.0.1", silent.getsockname()[1], "none", timeout=5),
                 "silent server (timeout: 5)")
        closed.close()
        silent.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
