"""DingTalk custom robot (钉钉自定义机器人): markdown with ``at.atMobiles``, signed when a secret is set.

DingTalk notifies a person only when their mobile is both in ``at.atMobiles`` and written as
``@mobile`` in the text. The signature is ``base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))``
with the timestamp in milliseconds, both passed as query parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any, Mapping, Sequence

from .base import Outcome, Transport, lines_markdown
from .render import Block

URL_SHAPE = re.compile(r"^https://oapi\.dingtalk\.com/robot/send\?access_token=[A-Za-z0-9]+$")


def sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")  # requests url-encodes it as a query parameter


class DingTalkBot(Transport):
    type = "dingtalk_bot"
    size_limit = 18_000  # bytes of markdown.text; DingTalk refuses messages of about 20,000 bytes
    rate_limit_codes = frozenset({130101, 410100})  # send too fast (20 a minute) / flow control
    # 90030 "webhook over limit": the robot's daily/monthly call quota is used up. Deferred to the
    # next run, not retried now (waiting seconds does not help).
    transient_codes = frozenset({-1, 90030})


    def build(self, title: str, blocks: Sequence[Block], footer: str, language: str,
              recipient: Any = None) -> dict[str, Any]:
        def mention(block: Block) -> str:
            return " ".join(f"@{p.mobile}" for p in block.mention if p.mobile)

        text = f"#### {title}\n\n" + lines_markdown(blocks, mention, newline="  \n", between="\n\n")
        if footer:
            text += f"\n\n> {footer}"
        mobiles = [p.mobile for b in blocks for p in b.mention if p.mobile]
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text},
                "at": {"atMobiles": list(dict.fromkeys(mobiles)), "isAtAll": False}}

    def size(self, payload: Mapping[str, Any]) -> int:
        return len(payload["markdown"]["text"].encode("utf-8"))

    def _send_once(self, payload: dict[str, Any], started: float) -> Outcome:
        url = self.channel.webhook(self.environ)
        params = {}
        secret = self.channel.secret(self.environ)
        if secret:
            timestamp = int(self.wall_clock() * 1000)
            params = {"timestamp": str(timestamp), "sign": sign(secret, timestamp)}
        outcome, body = self.post(url, started, json=payload, params=params)
        return outcome or self.judge(body.get("errcode"), str(body.get("errmsg", "")))
