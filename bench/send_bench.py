"""Render and send 500 reminders through one SMTP connection, beside plain smtplib in the same run.

    pip install -r requirements-dev.txt && python bench/send_bench.py [--count 500] [--down] [--dry-run]

The server is aiosmtpd on loopback. Baseline: the same number of already-built messages of the same
size sent with smtplib over one connection (what the network and server cost anyway).

``--down`` adds what a run costs when the server is down (connection refused, 421 on every message,
a server that accepts the connection and never answers): the whole run, with the circuit breaker
(one message spends its retries, the rest is deferred at once), beside one message's retries times
the count, which is what the run cost before the breaker.

``--dry-run`` measures the outbox instead (issue #16: <= 2 ms per reminder, the index as cheap on day 30
as on day 1): per message, Huifang's dry run (deliver into an OutboxSender) beside a baseline that builds
each message with EmailMessage and writes it and its HTML preview with plain writes, best of ``--rounds``,
interleaved; then index.html after today's run into an empty outbox beside one that earlier days' runs
filled (29 x the count of messages).
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
from typing import Callable
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.config import SmtpConfig, StaffMember, load_config  # noqa: E402
from scripts.demo import DEMO_CONFIG  # noqa: E402
from scripts.jobs import deliver  # noqa: E402
from scripts.ledger import Ledger  # noqa: E402
from scripts.mailer import OutboxMeta, OutboxSender, SmtpSender, write_private  # noqa: E402
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


def plain_outbox(renderer: Renderer, messages: list[Message], folder: Path) -> None:
    """The baseline: each message built with EmailMessage, flattened, and written with its HTML preview by
    plain file writes (no ledger, no index, no O_EXCL temporary files)."""
    folder.mkdir()
    for i, message in enumerate(messages):
        mail = renderer.email(message, NOW)
        (folder / f"{i}.eml").write_bytes(mail.as_bytes(policy=policy.SMTP))
        (folder / f"{i}.html").write_text(mail.get_body(("html",)).get_content(), encoding="utf-8")


def huifang_outbox(renderer: Renderer, messages: list[Message], folder: Path) -> OutboxSender:
    """What a dry run does: deliver (build, header check) into an OutboxSender (private files, via O_EXCL)."""
    sender = OutboxSender(folder)
    deliver(messages, renderer, None, sender, NOW)
    return sender


def fill(folder: Path, renderer: Renderer, messages: list[Message], days: int) -> None:
    """An outbox as ``days`` daily runs leave it: each day's messages written and the index rebuilt."""
    sender = OutboxSender(folder)
    built = [renderer.build(m, NOW) for m in messages]
    for day in range(days):
        for b, m in zip(built, messages):
            meta = OutboxMeta(b.kind, f"<d{day:02d}{b.message_id[1:]}", b.to, b.subject, b.html)
            sender.send(b.raw, "noreply@example.com", [m.recipient.email], meta=meta)
        sender.write_index()


def write_both(renderer: Renderer, messages: list[Message], folder: Path) -> float:
    """Only the two private writes per message (built beforehand): what the disk costs."""
    built = [renderer.build(m, NOW) for m in messages]
    folder.mkdir()
    t = time.perf_counter()
    for i, b in enumerate(built):
        write_private(folder / f"{i}.eml", b.raw)
        write_private(folder / f"{i}.html", (b.html or "").encode("utf-8"))
    return time.perf_counter() - t


def dry_run(renderer: Renderer, messages: list[Message], rounds: int, days: int = 29, where: str | None = None) -> int:
    """Per message: the baseline beside Huifang's dry run; then the index on day 1 beside day ``days + 1``."""
    n = len(messages)
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        root = Path(tmp)
        times = dict.fromkeys(("baseline", "huifang", "render", "build", "writes"), float("inf"))
        for i in range(rounds):  # interleaved, best of each
            # (each run its own folder, all removed at the end: deleting between runs slows the next one's writes)
            times["baseline"] = min(times["baseline"], timed(lambda: plain_outbox(renderer, messages, root / f"b{i}")))
            times["huifang"] = min(times["huifang"], timed(lambda: huifang_outbox(renderer, messages, root / f"h{i}")))
            times["render"] = min(times["render"], timed(lambda: [renderer.parts(m) for m in messages]))
            times["build"] = min(times["build"], timed(lambda: [renderer.build(m, NOW) for m in messages]))
            times["writes"] = min(times["writes"], write_both(renderer, messages, root / f"w{i}"))
        full = root / "full"
        fill(full, renderer, messages, days)
        day1 = day30 = float("inf")
        for i in range(rounds):
            fresh = root / f"fresh{i}"
            day1 = min(day1, timed(huifang_outbox(renderer, messages, fresh).write_index))
            # today's run into the folder of earlier days
            day30 = min(day30, timed(huifang_outbox(renderer, messages, full).write_index))
        held = sum(1 for p in full.iterdir() if p.suffix == ".eml")
    ms = {k: v / n * 1000 for k, v in times.items()}
    print(f"{n} reminders, dry run into the outbox, best of {rounds} (ms per message)")
    print(f"{'baseline: EmailMessage + as_bytes + 2 plain writes':<52}{ms['baseline']:>8.2f} ms")
    print(f"{'huifang: deliver into OutboxSender (target <= 2 ms)':<52}{ms['huifang']:>8.2f} ms  "
          f"({ms['huifang'] / ms['baseline']:.2f}x baseline)")
    print(f"{'  of which: templates + CSS inlining (parts)':<52}{ms['render']:>8.2f} ms")
    print(f"{'  of which: parts + MIME bytes (Renderer.build)':<52}{ms['build']:>8.2f} ms")
    print(f"{'  of which: .eml + .html preview (write_private x 2)':<52}{ms['writes']:>8.2f} ms")
    print(f"index.html after today's run: day 1 (empty outbox) {day1 * 1000:.1f} ms, day {days + 1} "
          f"(holding {held:,} .eml) {day30 * 1000:.1f} ms ({day30 / day1:.1f}x; target 1x)")
    return 0


def timed(work: Callable[[], object]) -> float:
    t = time.perf_counter()
    work()
    return time.perf_counter() - t


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--down", action="store_true", help="also measure runs against a server that is down")
    parser.add_argument("--dry-run", action="store_true",
                        help="only the outbox: per message beside the baseline, and the index on day 1 beside day 30")
    parser.add_argument("--rounds", type=int, default=5, help="--dry-run: best of this many runs")
    parser.add_argument("--dir", default=None, help="--dry-run: where the outbox folders go (default: the system's temp)")
    args = parser.parse_args()
    renderer = Renderer(load_config(DEMO_CONFIG))
    messages = reminders(args.count)
    if args.dry_run:
        return dry_run(renderer, messages, args.rounds, where=args.dir)

    t = time.perf_counter()
    built = [renderer.build(m, NOW).raw for m in messages]
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
