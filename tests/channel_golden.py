"""Chat messages kept as golden files: the demo data's messages as each platform would receive them.

Regenerate after an intended change with: python -m tests.channel_golden
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import requests

from scripts.channels.dispatch import TRANSPORTS
from scripts.channels.render import render_chat
from scripts.channels.settings import Channel
from scripts.check import run_check
from scripts.demo import DEMO_NOW
from scripts.jobs import build_messages, calendar_of
from tests.helpers import demo_two_books

GOLDEN = Path(__file__).resolve().parent / "golden" / "channels"
# (job, platform, group?) — one case per kind and platform shape
CASES = [("reminders", "wecom_bot", True), ("digest", "dingtalk_bot", True), ("escalations", "feishu_bot", True),
         ("reminders", "wecom_app", False)]


def _text(payload: dict) -> str:
    if "markdown" in payload:
        return payload["markdown"].get("content") or payload["markdown"]["text"]
    if "text" in payload:
        return f"[text, mentioned_mobile_list={payload['text'].get('mentioned_mobile_list')}] {payload['text']['content']}"
    return json.dumps(payload, ensure_ascii=False, indent=1)


def rendered() -> dict[str, str]:
    out: dict[str, str] = {}
    base = demo_two_books()
    session = requests.Session()  # never used: payloads are built, not sent
    for language in ("zh-CN", "zh-TW", "zh-HK", "en"):
        config = replace(base, language=language)
        for job, platform, group in CASES:
            now = DEMO_NOW.replace(hour=17) if job == "digest" else DEMO_NOW
            messages = build_messages(job, run_check(config, now), config, now, None, calendar_of(config))
            if not group:
                messages = messages[:1]
            transport = TRANSPORTS[platform](Channel("golden", platform, corp_id="ww1", agent_id="1"), session)
            doc = render_chat(messages, language, mask=group)
            payloads = transport.payloads(doc, language, recipient="userid") + transport.extra_payloads(doc, language)
            out[f"{language}-{messages[0].kind}-{platform}.txt"] = "\n\n=====\n\n".join(map(_text, payloads)) + "\n"
    return out


if __name__ == "__main__":
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, content in rendered().items():
        (GOLDEN / name).write_text(content, encoding="utf-8")
        print(GOLDEN / name)
