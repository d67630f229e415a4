"""The emails kept as golden files: the demo data's messages, rendered in both languages.

Regenerate after an intended change with: python -m tests.update_golden
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from scripts.check import run_check
from scripts.config import load_config
from scripts.demo import DEMO_CONFIG, DEMO_NOW
from tests.helpers import demo_two_books
from scripts.jobs import build_messages, calendar_of
from scripts.render import Renderer

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = [("reminders", "zhangwei@example.com"), ("digest", "chenjing@example.com"), ("escalations", "zhoujie@example.com")]


def rendered() -> dict[str, str]:
    """file name -> content, for every golden case in zh-CN and en."""
    out: dict[str, str] = {}
    base = demo_two_books()
    for language in ("zh-CN", "en"):
        config = replace(base, language=language)
        renderer = Renderer(config)
        for job, email in CASES:
            now = DEMO_NOW.replace(hour=17) if job == "digest" else DEMO_NOW
            result = run_check(config, now)
            messages = build_messages(job, result, config, now, None, calendar_of(config))
            message = next(m for m in messages if m.recipient.email == email)
            subject, text, html = renderer.parts(message)
            stem = f"{language}-{message.kind}-{email.split('@')[0]}"
            out[f"{stem}.subject.txt"] = subject + "\n"
            out[f"{stem}.txt"] = text
            out[f"{stem}.html"] = html
    return out
