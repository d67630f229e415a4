"""Feishu/Lark custom bot (飞书自定义机器人): ``post`` (rich text) messages, signed when a secret is set.

The signature is ``base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))`` with the timestamp in
seconds, both in the JSON body. A custom bot can @ someone only by open_id/user_id; people known only
by name or mobile are written as ``@name`` (seen, but no notification).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any, Mapping, Sequence

from .base import Outcome, Transport, dumps
from .render import Block

URL_SHAPE = re.compile(r"^https://open\.(feishu\.cn|larksuite\.com)/open-apis/bot/v2/hook/[A-Za-z0-9-]+$")


def sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode("utf-8"), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class FeishuBot(Transport):
    type = "feishu_bot"
    size_limit = 19_000  # bytes of the whole request body; Feishu takes at most 20 KB
    rate_limit_codes = frozenset({11232})  # frequency limited (100 a minute, 5 a second per bot)
    transient_codes = frozenset({9499})  # "Bad Request" from an overloaded gateway is retried next run


    def build(self, title: str, blocks: Sequence[Block], footer: str, language: str,
              recipient: Any = None) -> dict[str, Any]:
        content: list[list[dict[str, Any]]] = []
        for block in blocks:
            for n, line in enumerate(block.lines):
                row: list[dict[str, Any]] = [{"tag": "text", "text": line}]
                if n == 0 and block.heading:
                    row[0]["style"] = ["bold"]
                if n == 0:
                    for p in block.mention:
                        row.append({"tag": "at", "user_id": p.feishu_id} if p.feishu_id
                                   else {"tag": "text", "text": f" @{p.name}"})
                content.append(row)
        if footer:
            content.append([{"tag": "text", "text": footer}])
        lang = "zh_cn" if language.startswith("zh") else "en_us"
        return {"msg_type": "post", "content": {"post": {lang: {"title": title, "content": content}}}}

    def size(self, payload: Mapping[str, Any]) -> int:
        return len(dumps(payload)) + 64  # room for timestamp and sign

    def _send_once(self, payload: dict[str, Any], started: float) -> Outcome:
        url = self.channel.webhook(self.environ)
        secret = self.channel.secret(self.environ)
        if secret:
            timestamp = int(self.wall_clock())
            payload = {**payload, "timestamp": str(timestamp), "sign": sign(secret, timestamp)}
        outcome, body = self.post(url, started, json=payload)
        if outcome is not None:
            return outcome
        code = body.get("code", body.get("StatusCode"))
        return self.judge(code, str(body.get("msg", body.get("StatusMessage", ""))))
