"""Delivery: a real SMTP server over one connection, or an outbox folder of .eml files to preview.

Only transient problems are retried (4xx replies, dropped connections, timeouts), a few times with
jittered back-off, and each retry is logged; 5xx replies are permanent and reported.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import os
import random
import re
import secrets
import smtplib
import ssl
import time
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .config import SmtpConfig

log = logging.getLogger("huifang.mail")


class DeliveryError(Exception):
    def __init__(self, reason: str, refused: Sequence[str] = ()):
        super().__init__(reason)
        self.reason = reason
        self.refused = tuple(refused)


class TransientError(DeliveryError):
    """Worth trying again later (4xx, connection lost)."""

    #: The server itself is unreachable or shutting down (connection errors, 421): the rest of the run
    #: would only wait for the same retries, so the caller defers it at once (a circuit breaker).
    server_down = False


class ServerDownError(TransientError):
    """Retries exhausted on a connection-level error or a 421 reply."""

    server_down = True


class UnknownOutcome(TransientError):
    """The whole message was handed over but no reply came (RFC 5321 §4.5.3.2): it may have been
    delivered. Never retried within the run; the next run sends it once more with the same Message-ID."""


class PermanentError(DeliveryError):
    """The server refused for good (5xx): report it, do not retry."""


def _data_bytes(raw: bytes) -> bytes:
    """The DATA payload as smtplib sends it: CRLF line ends, leading dots doubled, the final ``.``."""
    data = re.sub(rb"(?:\r\n|\n|\r(?!\n))", b"\r\n", raw)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


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
        try:
            if s.security == "starttls":
                conn.starttls(context=context)
            if s.username:
                conn.login(s.username, self.password or "")
        except BaseException:
            conn.close()
            raise
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
        down = False
        for attempt in range(self.retries + 1):
            if attempt:
                delay = self.backoff * 2 ** (attempt - 1) * (0.5 + self.jitter())
                log.warning("retrying in %.1fs after: %s", delay, last.reason if last else "")
                self.sleep(delay)
            try:
                refused = self._transaction(raw, sender, recipients)
            except UnknownOutcome:
                self._drop()
                raise
            except smtplib.SMTPAuthenticationError as exc:  # the same password fails again: no retry, defer the run
                self._drop()
                raise ServerDownError(f"the mail server refused the login ({exc.smtp_code}): check mail.smtp.username "
                                      "and the password") from exc
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                reason = "; ".join(f"{r}: {c} {m.decode(errors='replace') if isinstance(m, bytes) else m}"
                                   for r, (c, m) in exc.recipients.items())
                self._reset()
                if all(400 <= c < 500 for c in codes):
                    last, down = TransientError(reason, exc.recipients), all(c == 421 for c in codes)
                    continue
                raise PermanentError(reason, exc.recipients) from exc
            except smtplib.SMTPResponseException as exc:
                reason = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace') if isinstance(exc.smtp_error, bytes) else exc.smtp_error}"
                if exc.smtp_code == 421:  # the server is closing the connection
                    last, down = TransientError(reason), True
                    self._drop()
                    continue
                self._reset()
                if 400 <= exc.smtp_code < 500:
                    last, down = TransientError(reason), False
                    continue
                raise PermanentError(reason) from exc
            except (smtplib.SMTPException, OSError) as exc:  # refused, dropped, timed out
                last, down = TransientError(f"connection problem: {exc or type(exc).__name__}"), True
                self._drop()
                continue
            if refused:
                # Some recipients accepted, some not: the message went; report the others.
                reason = "; ".join(f"{r}: {c}" for r, (c, _) in refused.items())
                raise PermanentError(f"refused recipients: {reason}", list(refused))
            return
        assert last is not None
        raise (ServerDownError(last.reason, last.refused) if down else last)

    def _transaction(self, raw: bytes, sender: str, recipients: Sequence[str]) -> dict:
        """MAIL, RCPT, DATA as ``smtplib.sendmail`` does, except that a lost reply after the final ``.``
        raises UnknownOutcome instead of looking like any other dropped connection."""
        conn = self._connect()
        conn.ehlo_or_helo_if_needed()
        code, resp = conn.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, resp, sender)
        refused = {}
        for rcpt in recipients:
            code, resp = conn.rcpt(rcpt)
            if code not in (250, 251):
                refused[rcpt] = (code, resp)
        if len(refused) == len(recipients):
            raise smtplib.SMTPRecipientsRefused(refused)
        code, resp = conn.docmd("data")
        if code != 354:
            raise smtplib.SMTPDataError(code, resp)
        conn.send(_data_bytes(raw))
        try:
            code, resp = conn.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise UnknownOutcome(f"no reply after the message was handed over ({exc or type(exc).__name__}); "
                                 "it may have arrived, so it is sent once more on the next run only") from exc
        if code != 250:
            raise smtplib.SMTPDataError(code, resp)
        return refused

    def _reset(self) -> None:
        try:
            if self.conn is not None:
                self.conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()


_SAFE = re.compile(r"[^\w.@-]+")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def write_private(path: Path, data: bytes) -> None:
    """Write ``path`` (mode 0600) through a new temporary name, then rename it over.

    The temporary file is created with O_EXCL (and O_NOFOLLOW where the system has it), so a symlink
    planted in the folder is never followed; the rename replaces a link at ``path`` instead of writing
    through it.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _header(mail: Message, name: str) -> str:
    try:
        return str(mail.get(name, ""))
    except Exception:  # noqa: BLE001 - a damaged header in an .eml of the folder must not stop the index
        return "(unreadable header)"


# json.dumps(e, ensure_ascii=False) builds a new encoder at each call: one for every line of the list.
_ENTRY = json.JSONEncoder(ensure_ascii=False)


class OutboxSender:
    """Writes each message as an .eml file plus an .html preview, and an index.html listing them all.

    The index is built from a private list of what was written (``.outbox-index.jsonl``: stem, kind, to,
    subject, whether a preview exists), so no message is parsed back: ``deliver`` hands over the fields it
    rendered (``meta``). An .eml the list does not know (an older outbox, a file copied in) is parsed once and
    added; a listed message whose file is gone is dropped.
    """

    writes_to_outbox = True  # nothing reaches anyone: the ledger and the CLI say "outbox", not "sent"
    takes_meta = True  # send(..., meta=OutboxMeta) skips parsing the message it was just given
    INDEX = ".outbox-index.jsonl"

    def __init__(self, folder: Path, language: str = "zh-CN"):
        self.folder = folder
        self.language = language  # of the index page a person opens
        self.written: list[Path] = []
        self._entries: dict[str, dict[str, Any]] = {}  # stem -> entry, this run's messages

    def __enter__(self) -> "OutboxSender":
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.write_index()

    def close(self) -> None:
        self.write_index()

    def send(self, raw: bytes, sender: str, recipients: Sequence[str], meta: OutboxMeta | None = None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if meta is None:
            meta = outbox_meta(message_from_bytes(raw, policy=policy.default))
        kind = _SAFE.sub("", meta.kind) or "mail"
        ident = _SAFE.sub("", meta.message_id.strip("<>").split("@")[0])[:12]
        stem = f"{kind}-{_SAFE.sub('_', recipients[0])}-{ident}"
        eml = self.folder / f"{stem}.eml"
        write_private(eml, raw)
        if meta.html is not None:
            text = meta.html.replace("\r\n", "\n").replace("\n", "\r\n")  # line ends as in the .eml
            write_private(self.folder / f"{stem}.html", text.encode("utf-8"))
        self._entries[stem] = {"stem": stem, "kind": meta.kind, "to": meta.to, "subject": meta.subject}
        self.written.append(eml)

    def _known(self) -> dict[str, dict[str, Any]]:
        """The entries of the private list, then this run's (a message written again replaces its entry)."""
        known: dict[str, dict[str, Any]] = {}
        path = self.folder / self.INDEX
        if path.is_file() and not path.is_symlink():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                    known[str(entry["stem"])] = {k: str(entry[k]) for k in ("stem", "kind", "to", "subject")}
                except (ValueError, KeyError, TypeError):
                    continue  # a damaged line: that message is parsed again below
        known.update(self._entries)
        return known

    def write_index(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        known = self._known()
        names = {e.name: e for e in os.scandir(self.folder)}
        entries = []
        for name in sorted(n for n in names if n.endswith(".eml")):
            item = names[name]
            if item.is_symlink() or not item.is_file():
                continue
            stem = name[: -len(".eml")]
            entry = known.get(stem)
            if entry is None:  # not written through this list: parsed once, then listed
                meta = outbox_meta(message_from_bytes(Path(item.path).read_bytes(), policy=policy.default))
                entry = {"stem": stem, "kind": meta.kind, "to": meta.to, "subject": meta.subject}
            entries.append(entry)
        rows = []
        for entry in entries:
            subject = html.escape(entry["subject"])
            preview = f"{entry['stem']}.html"
            link = f'<a href="{html.escape(preview)}">{subject}</a>' if preview in names else subject
            rows.append(f"<tr><td>{html.escape(entry['kind'])}</td><td>{html.escape(entry['to'])}</td>"
                        f"<td>{link}</td><td><a href=\"{html.escape(entry['stem'] + '.eml')}\">.eml</a></td></tr>")
        write_private(self.folder / self.INDEX, "".join(_ENTRY.encode(e) + "\n" for e in entries).encode("utf-8"))
        from .i18n import translation  # noqa: PLC0415

        _ = translation(self.language, "cli").gettext
        title = html.escape(_("Huifang outbox (written here, not sent)"))
        heads = "".join(f"<th>{html.escape(_(h))}</th>" for h in ("kind", "to", "subject", "file"))
        index = self.folder / "index.html"
        write_private(index, (
            f"<!DOCTYPE html><html lang=\"{html.escape(self.language)}\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}</style>"
            f"</head><body><h1>{title}</h1><table><tr>{heads}</tr>"
            + "".join(rows) + "</table></body></html>"
        ).encode("utf-8"))
        self._entries = {}
        return index


@dataclass(frozen=True)
class OutboxMeta:
    """What the outbox lists of a message, as rendered: no need to parse the message back."""

    kind: str
    message_id: str
    to: str
    subject: str
    html: str | None  # the HTML part, written beside the .eml as a preview


def outbox_meta(mail: Message) -> OutboxMeta:
    """The outbox fields of a message: one just built, or one parsed from an .eml of the folder."""
    body = mail.get_body(("html",)) if hasattr(mail, "get_body") else None
    return OutboxMeta(_header(mail, "X-Huifang-Kind"), _header(mail, "Message-ID"), _header(mail, "To"),
                      _header(mail, "Subject"), body.get_content() if body is not None else None)
