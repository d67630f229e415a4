"""WeCom group robot (企业微信群机器人): markdown messages, @-mentions, files for the monthly report.

In a ``markdown`` message WeCom notifies only people written as ``<@userid>`` in the content;
``mentioned_mobile_list`` works for ``text`` messages only. So people with a ``wecom_userid`` are
mentioned inside the markdown, and people known only by ``mobile`` get one short ``text`` message
after it whose ``mentioned_mobile_list`` names them: that is what makes their phones ring.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping, Sequence
from urllib.parse import parse_qs, urlsplit, urlunsplit

from .base import Outcome, Transport, lines_markdown
from .render import Block, ChatDoc, mention_text

URL_SHAPE = re.compile(r"^https://qyapi\.weixin\.qq\.com/cgi-bin/webhook/send\?key=[A-Za-z0-9_-]+$")


class WeComBot(Transport):
    type = "wecom_bot"
    size_limit = 4096  # markdown.content, bytes of UTF-8
    rate_limit_codes = frozenset({45009})  # api freq out of limit (20 messages a minute per robot)
    transient_codes = frozenset({-1})  # system busy

    def build(self, title: str, blocks: Sequence[Block], footer: str, language: str,
              recipient: Any = None) -> dict[str, Any]:
        def mention(block: Block) -> str:
            return " ".join(f"<@{p.userid}>" for p in block.mention if p.userid)

        content = f"**{title}**\n" + lines_markdown(blocks, mention)
        if footer:
            content += f'\n<font color="comment">{footer}</font>'
        return {"msgtype": "markdown", "markdown": {"content": content}}

    def size(self, payload: Mapping[str, Any]) -> int:
        return len(payload["markdown"]["content"].encode("utf-8"))

    def extra_payloads(self, doc: ChatDoc, language: str) -> list[dict[str, Any]]:
        mobiles = [p.mobile for p in doc.mentions if p.mobile and not p.userid]
        if not mobiles:
            return []
        return [{"msgtype": "text", "text": {"content": mention_text(language, doc.title),
                                             "mentioned_mobile_list": mobiles}}]

    @staticmethod
    def file_payload(path: str) -> dict[str, Any]:
        """Recorded in the ledger as the path; uploaded when sent (a media_id lives three days)."""
        return {"msgtype": "file", "file": {"path": str(path)}}

    def _send_once(self, payload: dict[str, Any], started: float) -> Outcome:
        url = self.channel.webhook(self.environ)
        if payload.get("msgtype") == "file" and "path" in payload["file"]:
            outcome, media_id = self._upload(url, Path(payload["file"]["path"]), started)
            if outcome is not None:
                return outcome
            payload = {"msgtype": "file", "file": {"media_id": media_id}}
        outcome, body = self.post(url, started, json=payload)
        return outcome or self.judge(body.get("errcode"), str(body.get("errmsg", "")))

    def _upload(self, url: str, path: Path, started: float) -> tuple[Outcome | None, str]:
        parts = urlsplit(url)
        key = parse_qs(parts.query).get("key", [""])[0]
        upload = urlunsplit((parts.scheme, parts.netloc, parts.path.rsplit("/", 1)[0] + "/upload_media",
                             f"key={key}&type=file", ""))
        try:
            data = path.read_bytes()
        except OSError as exc:
            return Outcome("failed", f"{self.label}: cannot read {path.name} ({exc.strerror})"), ""
        outcome, body = self.post(upload, started, files={"media": (path.name, data, "application/octet-stream")})
        if outcome is not None:
            return outcome, ""
        judged = self.judge(body.get("errcode"), str(body.get("errmsg", "")))
        if judged.status != "sent":
            return judged, ""
        return None, str(body.get("media_id", ""))
