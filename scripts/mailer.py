"""Delivery: a real SMTP server over one connection, or an outbox folder of .eml files to preview.

Only transient problems are retried (4xx replies, dropped connections, timeouts), a few times with
jittered back-off, and each retry is logged; 5xx replies are permanent and reported.
"""

from __future__ import annotations

import contextlib
import html
import logging
import random
import re
import smtplib
import socket
import ssl
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Callable, Sequence

from .config import SmtpConfig

log = logging.getLogger("huifang.mail")


class DeliveryError(Exception):
    def __init__(self, reason: str, refused: Sequence[str] = ()):
        super().__init__(reason)
        self.reason = reason
        self.refused = tuple(refused)


class TransientError(DeliveryError):
    """Worth trying again later (4xx, connection lost)."""


class PermanentError(DeliveryError):
    """The server refused for good (5xx): report it, do not retry."""


class SmtpSender:
    """Sends raw messages over one SMTP connection per run (opened lazily, reopened if dropped)."""

    def __init__(self, settings: SmtpConfig, password: str | None = None, *, retries: int = 3, backoff: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep, jitter: Callable[[], float] = random.random,
                 ssl_context: ssl.SSLContext | None = None):
        self.settings = settings
        self.password = password  # resolved from the environment or a file by the caller; never logged
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.jitter = jitter
        self.ssl_context = ssl_context
        self.conn: smtplib.SMTP | None = None
        self.connections = 0

    def __enter__(self) -> "SmtpSender":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.conn.quit()
            self.conn = None

    def _connect(self) -> smtplib.SMTP:
        if self.conn is not None:
            return self.conn
        s = self.settings
        context = self.ssl_context or ssl.create_default_context()
        if s.security == "ssl":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.security == "starttls":
                conn.starttls(context=context)
        if s.username:
            conn.login(s.username, self.password or "")
        self.conn = conn
        self.connections += 1
        return conn

    def _drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None

    def check(self) -> None:
        """Connect (and log in) without sending anything: for `doctor`."""
        try:
            self._connect().noop()
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientError(f"cannot reach {self.settings.host}:{self.settings.port}: {exc}") from exc

    def send(self, raw: bytes, sender: str, recipients: Sequence[str]) -> None:
        last: DeliveryError | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                delay = self.backoff * 2 ** (attempt - 1) * (0.5 + self.jitter())
                log.warning("retrying in %.1fs after: %s", delay, last.reason if last else "")
                self.sleep(delay)
            try:
                refused = self._connect().sendmail(sender, list(recipients), raw)
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                reason = "; ".join(f"{r}: {c} {m.decode(errors='replace') if isinstance(m, bytes) else m}"
                                   for r, (c, m) in exc.recipients.items())
                if all(400 <= c < 500 for c in codes):
                    last = TransientError(reason, exc.recipients)
                    continue
                raise PermanentError(reason, exc.recipients) from exc
            except smtplib.SMTPResponseException as exc:
                reason = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
                if 400 <= exc.smtp_code < 500:
                    last = TransientError(reason)
                    self._reset()
                    continue
                self._reset()
                raise PermanentError(reason) from exc
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPException, socket.timeout, OSError) as exc:
                last = TransientError(f"connection problem: {exc}")
                self._drop()
                continue
            if refused:
                # Some recipients accepted, some not: the message went; report the others.
                reason = "; ".join(f"{r}: {c}" for r, (c, _) in refused.items())
                raise PermanentError(f"refused recipients: {reason}", list(refused))
            return
        assert last is not None
        raise last

    def _reset(self) -> None:
        try:
            if self.conn is not None:
                self.conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()


_SAFE = re.compile(r"[^\w.@-]+")


class OutboxSender:
    """Writes each message as an .eml file plus an .html preview, and an index.html listing them all."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.written: list[Path] = []

    def __enter__(self) -> "OutboxSender":
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.write_index()

    def close(self) -> None:
        self.write_index()

    def send(self, raw: bytes, sender: str, recipients: Sequence[str]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        mail = message_from_bytes(raw, policy=policy.default)
        kind = mail.get("X-Huifang-Kind", "mail")
        ident = _SAFE.sub("", str(mail["Message-ID"]).strip("<>").split("@")[0])[:12]
        stem = f"{kind}-{_SAFE.sub('_', recipients[0])}-{ident}"
        eml = self.folder / f"{stem}.eml"
        tmp = eml.with_suffix(".eml.tmp")
        tmp.write_bytes(raw)
        tmp.replace(eml)
        body = mail.get_body(("html",))
        if body is not None:
            (self.folder / f"{stem}.html").write_text(body.get_content(), encoding="utf-8")
        self.written.append(eml)

    def write_index(self) -> Path:
        rows = []
        for eml in sorted(self.folder.glob("*.eml")):
            mail = message_from_bytes(eml.read_bytes(), policy=policy.default)
            preview = eml.with_suffix(".html")
            link = f'<a href="{html.escape(preview.name)}">{html.escape(str(mail["Subject"]))}</a>' if preview.exists() \
                else html.escape(str(mail["Subject"]))
            rows.append(f"<tr><td>{html.escape(mail.get('X-Huifang-Kind', ''))}</td><td>{html.escape(str(mail['To']))}</td>"
                        f"<td>{link}</td><td><a href=\"{html.escape(eml.name)}\">.eml</a></td></tr>")
        index = self.folder / "index.html"
        index.write_text(
            "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>Huifang outbox</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}</style>"
            "</head><body><h1>Huifang outbox</h1><table><tr><th>kind</th><th>to</th><th>subject</th><th>file</th></tr>"
            + "".join(rows) + "</table></body></html>",
            encoding="utf-8",
        )
        return index
