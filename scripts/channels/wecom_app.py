"""WeCom app messages (企业微信应用消息): each person's message to them alone, by ``wecom_userid``.

``gettoken`` gives an access token for about two hours; it is cached until shortly before it expires
and fetched again once when the API says it is expired or invalid (42001, 40014, 40001).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .base import Outcome, Transport, lines_markdown
from .render import Block

API = "https://qyapi.weixin.qq.com/cgi-bin"
TOKEN_ERRORS = frozenset({42001, 40014, 40001})


class WeComApp(Transport):
    type = "wecom_app"
    size_limit = 2048  # markdown.content of an app message, bytes
    rate_limit_codes = frozenset({45009, 45033})  # api freq out of limit / too many concurrent calls
    transient_codes = frozenset({-1})
    personal = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.token: str | None = None
        self.token_until = 0.0
        self.api = (self.channel.api_base or API).rstrip("/")

    def build(self, title: str, blocks: Sequence[Block], footer: str, language: str,
              recipient: Any = None) -> dict[str, Any]:
        content = f"**{title}**\n" + lines_markdown(blocks, lambda b: "")
        if footer:
            content += f'\n<font color="comment">{footer}</font>'
        return {"touser": recipient, "msgtype": "markdown", "agentid": int(self.channel.agent_id or 0),
                "markdown": {"content": content}}

    def size(self, payload: Mapping[str, Any]) -> int:
        return len(payload["markdown"]["content"].encode("utf-8"))

    def _access_token(self, started: float, refresh: bool) -> tuple[Outcome | None, str]:
        if self.token and not refresh and self.clock() < self.token_until:
            return None, self.token
        secret = self.channel.secret(self.environ)
        outcome, body = self.request("GET", f"{self.api}/gettoken", params={"corpid": self.channel.corp_id,
                                                                            "corpsecret": secret},
                                     timeout=self.timeout)
        if outcome is not None:
            return outcome, ""
        judged = self.judge(body.get("errcode"), str(body.get("errmsg", "")))
        if judged.status != "sent":
            return judged, ""
        self.token = str(body["access_token"])
        self.token_until = self.clock() + int(body.get("expires_in", 7200)) - 300
        return None, self.token

    def _send_once(self, payload: dict[str, Any], started: float) -> Outcome:
        for refresh in (False, True):
            outcome, token = self._access_token(started, refresh)
            if outcome is not None:
                return outcome
            outcome, body = self.post(f"{self.api}/message/send", started, params={"access_token": token}, json=payload)
            if outcome is not None:
                return outcome
            code = body.get("errcode")
            if code in TOKEN_ERRORS and not refresh:
                self.token = None
                continue
            judged = self.judge(code, str(body.get("errmsg", "")))
            if judged.status == "sent" and body.get("invaliduser"):
                return Outcome("failed", f"{self.label}: WeCom does not know user {body['invaliduser']}")
            return judged
        return Outcome("failed", f"{self.label}: the access token was refused twice")
