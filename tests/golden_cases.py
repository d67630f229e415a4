"""The emails kept as golden files: the demo data's messages, rendered in every language.

Regenerate after an intended change with: python -m tests.update_golden
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from scripts.check import run_check
from scripts.demo import DEMO_NOW
from scripts.i18n import LANGUAGES
from scripts.jobs import build_messages, calendar_of
from scripts.messages import Message
from scripts.render import Renderer
from tests.helpers import demo_two_books

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = [("reminders", "zhangwei@example.com"), ("digest", "chenjing@example.com"), ("escalations", "zhoujie@example.com")]


def golden_messages(language: str) -> list[tuple[str, Message, tuple[str, str, str]]]:
    """(file stem, message, (subject, text, html)) of every golden case in one language."""
    config = replace(demo_two_books(), language=language)
    renderer = Renderer(config)
    out = []
    for job, email in CASES:
        now = DEMO_NOW.replace(hour=17) if job == "digest" else DEMO_NOW
        result = run_check(config, now)
        messages = build_messages(job, result, config, now, None, calendar_of(config))
        message = next(m for m in messages if m.recipient.email == email)
        out.append((f"{language}-{message.kind}-{email.split('@')[0]}", message, renderer.parts(message)))
    return out


def rendered() -> dict[str, str]:
    """file name -> content, for every golden case in every language."""
    out: dict[str, str] = {}
    for language in LANGUAGES:
        for stem, _, (subject, text, html) in golden_messages(language):
            out[f"{stem}.subject.txt"] = subject + "\n"
            out[f"{stem}.txt"] = text
            out[f"{stem}.html"] = html
    return out
