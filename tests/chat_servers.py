"""Local HTTP servers that speak the chat APIs Huifang posts to, on 127.0.0.1.

Each checks what the platform's documentation requires and answers the way the platform does
(HTTP 200 with an error code in the body):
- WeCom group robot: ``send?key=`` (markdown content ≤ 4096 bytes, text with mentioned_mobile_list,
  file with a media_id it issued) and ``upload_media?key=&type=file`` (multipart field ``media``);
- DingTalk custom robot: ``robot/send?access_token=``, the ``timestamp``/``sign`` query parameters
  recomputed from the secret, an @mobile counted as notified only when in atMobiles and in the text;
- Feishu custom bot: ``bot/v2/hook/<token>``, ``timestamp``/``sign`` in the body recomputed, post shape;
- WeCom app: ``gettoken`` then ``message/send?access_token=`` (old tokens answer 42001).
``answers`` is a queue of what the next sends get instead: an error code, ``"html"`` or an HTTP status.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "tok123"
ERRMSG = {0: "ok", 45009: "api freq out of limit", 93000: "invalid webhook url", 40058: "content exceed max length",
          130101: "send too fast", 90030: "webhook over limit", 410100: "flow control", 310000: "sign not match", 300001: "token is not exist",
          460101: "message too long", 11232: "frequency limited psm", 19021: "sign match fail or timestamp is not within one hour from current time",
          19001: "param invalid: incoming webhook access token invalid", 9499: "Bad Request",
          42001: "access_token expired", 40014: "invalid access_token", 40001: "invalid credential",
          40013: "invalid corpid", 81013: "user & party & tag all invalid", -1: "system busy"}


class ChatServer:
    def __init__(self, platform: str, secret: str | None = None, corp_secret: str = "corpsecret"):
        self.platform, self.secret, self.corp_secret = platform, secret, corp_secret
        self.answers: list[Any] = []
        self.received: list[dict[str, Any]] = []  # accepted messages, as sent
        self.rejected: list[tuple[int, str]] = []
        self.notified: list[str] = []  # mobiles / userids the platform would ring
        self.uploads: dict[str, tuple[str, bytes]] = {}
        self.tokens_issued = 0
        self.token = ""
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "ChatServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    @property
    def url(self) -> str:
        """The webhook URL as the platform shows it (with our host)."""
        return {"wecom_bot": f"{self.base}/cgi-bin/webhook/send?key={TOKEN}",
                "dingtalk_bot": f"{self.base}/robot/send?access_token={TOKEN}",
                "feishu_bot": f"{self.base}/open-apis/bot/v2/hook/{TOKEN}",
                "wecom_app": f"{self.base}/cgi-bin"}[self.platform]

    def expire_token(self) -> None:
        self.token = "expired-" + self.token

    # -- handling ---------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._answer(server.handle("GET", self.path, self.headers, b""))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._answer(server.handle("POST", self.path, self.headers, body))

            def _answer(self, answer: tuple[int, str, bytes]) -> None:
                status, kind, data = answer
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def handle(self, method: str, path: str, headers: Any, body: bytes) -> tuple[int, str, bytes]:
        url = urlparse(path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self.lock:
            try:
                code = getattr(self, "_" + self.platform)(method, url.path, query, headers, body)
            except _Forced as forced:
                return forced.answer
            except (KeyError, TypeError, ValueError, AssertionError) as exc:
                code = (9499 if self.platform == "feishu_bot" else 40058, {"detail": f"bad request: {exc!r}"})
        errcode, extra = code if isinstance(code, tuple) else (code, {})
        if errcode:
            self.rejected.append((errcode, extra.get("detail", "")))
        key = ("code", "msg") if self.platform == "feishu_bot" else ("errcode", "errmsg")
        data = json.dumps({key[0]: errcode, key[1]: ERRMSG.get(errcode, "error"), **extra}).encode()
        return 200, "application/json", data

    def _forced(self) -> int | None:
        if not self.answers:
            return None
        answer = self.answers.pop(0)
        if answer == "html":
            raise _Forced((200, "text/html", b"<html>gateway login</html>"))
        if isinstance(answer, int) and 500 <= answer < 600:
            raise _Forced((answer, "text/plain", b"upstream error"))
        return answer

    def _accept(self, message: dict[str, Any]) -> int:
        forced = self._forced()
        if forced:
            return forced
        self.received.append(message)
        return 0

    def _wecom_bot(self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes) -> Any:
        if query.get("key") != TOKEN:
            return 93000
        if path.endswith("/upload_media"):
            assert query.get("type") == "file"
            parsed = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + headers["Content-Type"].encode() + b"\r\n\r\n" + body)
            part = next(p for p in parsed.iter_parts() if p.get_param("name", header="content-disposition") == "media")
            media_id = f"media{len(self.uploads) + 1}"
            self.uploads[media_id] = (part.get_filename(), part.get_payload(decode=True))
            return 0, {"type": "file", "media_id": media_id, "created_at": str(int(time.time()))}
        message = json.loads(body)
        kind = message["msgtype"]
        if kind == "markdown":
            content = message["markdown"]["content"]
            if not content or len(content.encode("utf-8")) > 4096:
                return 40058, {"detail": f"markdown.content is {len(content.encode('utf-8'))} bytes"}
            self.notified += [part.split(">")[0] for part in content.split("<@")[1:]]
        elif kind == "text":
            assert isinstance(message["text"]["content"], str) and len(message["text"]["content"].encode()) <= 2048
            mobiles = message["text"].get("mentioned_mobile_list", [])
            assert all(isinstance(m, str) for m in mobiles)
            self.notified += mobiles
        elif kind == "file":
            if message["file"]["media_id"] not in self.uploads:
                return 40007, {"detail": "invalid media_id"}
        else:
            return 40008
        return self._accept(message)

    def _dingtalk_bot(self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes) -> Any:
        if query.get("access_token") != TOKEN:
            return 300001
        if self.secret:
            timestamp = query.get("timestamp", "")
            if not timestamp.isdigit() or abs(int(timestamp) - time.time() * 1000) > 3_600_000:
                return 310000, {"detail": "timestamp"}
            expected = base64.b64encode(hmac.new(self.secret.encode(), f"{timestamp}\n{self.secret}".encode(),
                                                 hashlib.sha256).digest()).decode()
            if query.get("sign") != expected:
                return 310000, {"detail": "sign"}
        message = json.loads(body)
        assert message["msgtype"] == "markdown"
        title, text = message["markdown"]["title"], message["markdown"]["text"]
        assert isinstance(title, str) and title and isinstance(text, str)
        if len(text.encode("utf-8")) > 20_000:
            return 460101
        mobiles = message.get("at", {}).get("atMobiles", [])
        self.notified += [m for m in mobiles if f"@{m}" in text]
        return self._accept(message)

    def _feishu_bot(self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes) -> Any:
        if path != f"/open-apis/bot/v2/hook/{TOKEN}":
            return 19001
        if len(body) > 20 * 1024:
            return 9499, {"detail": "body over 20 KB"}
        message = json.loads(body)
        if self.secret:
            timestamp = message.get("timestamp", "")
            key = f"{timestamp}\n{self.secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            if (not timestamp.isdigit() or abs(int(timestamp) - time.time()) > 3600
                    or message.get("sign") != expected):
                return 19021
        assert message["msg_type"] == "post"
        (post,) = message["content"]["post"].values()
        assert isinstance(post["title"], str)
        for row in post["content"]:
            for element in row:
                assert element["tag"] in ("text", "a", "at", "img")
                if element["tag"] == "at":
                    self.notified.append(element["user_id"])
        return self._accept(message)

    def _wecom_app(self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes) -> Any:
        if path == "/cgi-bin/gettoken":
            if query.get("corpid") != "ww123":
                return 40013
            if query.get("corpsecret") != self.corp_secret:
                return 40001
            self.tokens_issued += 1
            self.token = f"token{self.tokens_issued}"
            return 0, {"access_token": self.token, "expires_in": 7200}
        assert path == "/cgi-bin/message/send" and method == "POST"
        token = query.get("access_token", "")
        if token != self.token:
            return 42001 if token.startswith("token") else 40014
        message = json.loads(body)
        assert message["msgtype"] == "markdown" and isinstance(message["agentid"], int)
        assert isinstance(message["touser"], str) and message["touser"]
        if len(message["markdown"]["content"].encode("utf-8")) > 2048:
            return 40058
        return self._accept(message)


class _Forced(Exception):
    def __init__(self, answer: tuple[int, str, bytes]):
        self.answer = answer
