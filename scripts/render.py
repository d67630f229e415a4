"""Messages to MIME emails: one builder, three templates per message (subject, text, HTML).

Jinja2 with StrictUndefined, so a typo in a template fails a test instead of printing nothing; the
HTML environment autoescapes everything it renders (names and complaint texts come from the sheet),
and its CSS is inlined so that mail clients which drop <style> still show it.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import sys
from dataclasses import dataclass
from email import contentmanager, generator, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any

import css_inline
import jinja2
import markupsafe
from babel.dates import format_date

from .config import Config
from .errors import ConfigError
from .i18n import babel_locale, script_converter, translation
from .messages import Message

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# C0 and C1 controls (ESC, CR, LF...), line/paragraph separators and the bidi overrides that reorder text.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
_ENCODED_WORD = re.compile(r"=(?=\?)")
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+")
# The only header lines an email of ours carries (checked on the bytes that go out).
HEADERS = frozenset({"subject", "from", "to", "date", "message-id", "x-huifang-kind", "mime-version", "content-type",
                     "content-transfer-encoding", "content-disposition"})
_INLINER = css_inline.CSSInliner(keep_style_tags=False)


def one_line(text: str, limit: int = 200) -> str:
    """Control characters (CR/LF above all) become spaces: a sheet value never creates a header."""
    text = _CONTROL.sub(" ", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header_text(text: str, limit: int = 200) -> str:
    """A display name or subject safe in a header on every Python: one line, and no RFC 2047 encoded word.

    Python's email package decodes ``=?utf-8?q?...?=`` inside a display name, and before the fix for
    CVE-2024-6923 (3.11.7, 3.12.1) wrote the decoded CR LF out raw: a forged Bcc or Reply-To. A value
    from a sheet never means an encoded word, so ``=?`` becomes ``= ?``.
    """
    return _ENCODED_WORD.sub("= ", one_line(text, limit))


def valid_address(email: str) -> str:
    """The one check of an email address: the same cleaned value goes in the To header and RCPT TO.

    Surrounding spaces are dropped; a control character anywhere (``zhangwei@example.com\\a``), a
    non-ASCII address or anything that is not ``user@domain.tld`` raises ValueError.
    """
    addr = str(email).strip()
    if len(addr) > 254 or not addr.isascii() or _CONTROL.search(addr) or not _ADDRESS.fullmatch(addr):
        raise ValueError(f"not a usable email address: {one_line(addr, 80)!r}")
    return addr


def address(name: str, email: str) -> Address:
    user, domain = valid_address(email).rsplit("@", 1)
    return Address(display_name=header_text(name, 80), username=user, domain=domain)


def domain_of(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def check_headers(raw: bytes) -> bytes:
    """Raise ValueError unless every header line of ``raw`` is one of ours, each once, with no stray CR/LF."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    names: list[str] = []
    for line in head.split(b"\r\n"):
        if b"\r" in line or b"\n" in line:
            raise ValueError("a header holds a bare CR or LF")
        if line[:1] in (b" ", b"\t"):
            continue  # a folded continuation line
        name = line.split(b":", 1)[0].decode("ascii", "replace").lower()
        if name not in HEADERS or name in names:
            raise ValueError(f"unexpected header line {name!r}")
        names.append(name)
    return raw


def _truncate(text: Any, limit: int = 60) -> str:
    text = one_line(str(text or ""), 10_000)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@lru_cache(maxsize=4096)
def _weekday(value: Any, locale: str) -> str:
    """The short weekday as the locale writes it: 周四 (zh_Hans_CN), 週四 (zh_Hant_TW), Thu (en).
    Cached: every message of a run asks for the same few days, and Babel takes ~17 µs each time."""
    return format_date(_as_date(value), "EEE", locale=locale)


def _as_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _direct_gettext(func: Any) -> Any:
    """jinja2.ext's newstyle ``gettext``, calling the catalogue directly: ``_()`` is a template's most
    frequent call, and Jinja's own goes through ``_`` -> ``gettext`` -> the catalogue, each by
    ``Context.call``. Same text: translated, marked safe where autoescaping, then always %-formatted."""

    @jinja2.pass_context
    def gettext(context: jinja2.runtime.Context, string: str, **variables: Any) -> str:
        text = func(string)
        if context.eval_ctx.autoescape:
            text = markupsafe.Markup(text)
        return text % variables

    return gettext


def _environment(autoescape: bool, language: str = "zh-CN") -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,  # every HTML template, whatever its file name
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
        # Templates are read once per run: no stat of each imported or extended file at every render.
        auto_reload=False,
    )
    locale = babel_locale(language)
    catalogue = translation(language)
    env.install_gettext_translations(catalogue, newstyle=True)
    env.globals["_"] = env.globals["gettext"] = _direct_gettext(catalogue.gettext)
    env.filters["clip"] = _truncate
    env.filters["weekday"] = lambda value: _weekday(value, locale)
    env.filters["fmt_date"] = lambda value, form="medium": format_date(_as_date(value), form, locale=locale)
    # Findings' messages and error texts are Chinese written by the core: in the language's script.
    env.filters["script"] = script_converter(language)
    env.globals["html_lang"] = language
    env.globals["core_text"] = language.startswith("zh")  # the core's Chinese texts read as they are
    return env


@dataclass(frozen=True)
class Built:
    """An email as the bytes that go out, with the header values the ledger and the outbox keep.

    ``subject``, ``message_id`` and ``to`` are the headers as the email package reads them back;
    ``html`` is the HTML part as a mail client decodes it (the outbox's preview).
    """

    raw: bytes
    kind: str
    subject: str
    message_id: str
    to: str
    html: str | None


# The email package's own body encoder and boundary format, so that Renderer.build writes the very bytes
# EmailMessage + as_bytes(policy=SMTP) would (tests/test_send_speed_paths.py compares them byte for byte).
_ENCODE_TEXT = getattr(contentmanager, "_encode_text", None)
_BOUNDARY_FORMAT = getattr(generator, "_fmt", None)
_NEWLINES = re.compile(r"\r\n|\r|\n")


def _header(name: str, value: Any) -> tuple[bytes, str]:
    """(folded line, value as read back) of one header, as ``mail[name] = value`` then ``as_bytes`` make it."""
    stored = policy.default.header_store_parse(name, value)[1]
    return policy.SMTP.fold_binary(name, stored), str(stored)


def _boundary(text: bytes) -> str:
    """The generator's boundary (the same random draw), without compiling a new regex for each message:
    only when the boundary occurs in the text at all is it looked for as a line of its own."""
    token = random.randrange(sys.maxsize)
    boundary = "=" * 15 + _BOUNDARY_FORMAT % token + "=="
    candidate, counter = boundary, 0
    while (b"--" + candidate.encode() in text
           and re.search(b"^--" + re.escape(candidate.encode()) + b"(--)?$", text, re.MULTILINE)):
        candidate, counter = f"{boundary}.{counter}", counter + 1
    return candidate


def _body(head: bytes, payload: str) -> bytes:
    """A part as the generator writes it: its headers, a blank line, the payload with CRLF line ends."""
    # The encoder ends lines with \n only (a CR in the text is split on or quoted); the regex is the generator's.
    payload = _NEWLINES.sub("\r\n", payload) if "\r" in payload else payload.replace("\n", "\r\n")
    return head + b"\r\n" + payload.encode("ascii", "surrogateescape")


class Renderer:
    def __init__(self, config: Config):
        self.config = config
        self.language = config.language
        self.text_env = _environment(autoescape=False, language=self.language)
        self.html_env = _environment(autoescape=True, language=self.language)
        self._templates: dict[tuple[bool, str], tuple[jinja2.Template, Any]] = {}
        self._lines: dict[tuple[str, str], tuple[bytes, str]] = {}  # header lines the same in every message of a run
        name, addr = parseaddr(config.mail_from)
        try:
            self.sender = address(name or "Huifang", addr)
        except ValueError as exc:
            raise ConfigError(f"mail.from: {exc}") from None
        self._from_line: bytes | None = None  # folded at the first message, as EmailMessage would fold it there

    def _template(self, env: jinja2.Environment, name: str) -> tuple[jinja2.Template, Any]:
        """The single-set template, else the language's own file (zh-TW/zh-HK: zh-CN's, converted)."""
        key = (env.autoescape is True, name)
        if key not in self._templates:
            try:
                found = (env.get_template(name), str)
            except jinja2.TemplateNotFound:
                own = TEMPLATES / self.language / name
                folder = self.language if own.exists() or not self.language.startswith("zh") else "zh-CN"
                found = (env.get_template(f"{folder}/{name}"), str if folder == self.language else env.filters["script"])
            self._templates[key] = found
        return self._templates[key]

    def _render(self, env: jinja2.Environment, kind: str, part: str, context: dict[str, Any]) -> str:
        template, convert = self._template(env, f"{kind}.{part}")
        return convert(template.render(**context))

    def parts(self, message: Message, extra: dict[str, Any] | None = None) -> tuple[str, str, str]:
        """(subject, text, html) of a message."""
        context = {**message.context, **(extra or {})}
        subject = one_line(self._render(self.text_env, message.kind, "subject.txt", context))
        text = self._render(self.text_env, message.kind, "txt", context)
        html = _INLINER.inline(self._render(self.html_env, message.kind, "html", context))
        return subject, text, html

    def recipient(self, message: Message) -> Address:
        """The recipient's address, checked once: its addr_spec is also the envelope recipient."""
        return address(message.recipient.name, message.recipient.email)

    def email(self, message: Message, now: dt.datetime) -> EmailMessage:
        subject, text, html = self.parts(message)
        mail = EmailMessage()
        mail["Subject"] = header_text(subject)
        mail["From"] = self.sender
        mail["To"] = self.recipient(message)
        mail["Date"] = format_datetime(now)
        mail["Message-ID"] = f"<{message.key[:32]}@{self.sender.domain}>"
        mail["X-Huifang-Kind"] = message.kind
        mail.set_content(text)
        mail.add_alternative(html, subtype="html")
        for name in message.attachments:
            path = Path(name)
            mail.add_attachment(path.read_bytes(), maintype="application",
                                subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=path.name)
        return mail

    def _line(self, name: str, value: str) -> bytes:
        return self._header(name, value)[0]

    def _header(self, name: str, value: str) -> tuple[bytes, str]:
        """``_header`` of a value the same in many messages of the run, folded once."""
        key = (name, value)
        if key not in self._lines:
            self._lines[key] = _header(name, value)
        return self._lines[key]

    def _multipart_line(self, boundary: str) -> bytes:
        """The Content-Type line of the multipart/alternative root. A boundary of the usual shape (15 '=',
        19 digits, '==') folds the same whatever its digits: folded once, the digits put in."""
        placeholder = "=" * 15 + "0" * 19 + "=="
        if len(boundary) != len(placeholder) or not boundary[15:34].isdigit():
            return _header("Content-Type", f'multipart/alternative; boundary="{boundary}"')[0]
        line = self._line("Content-Type", f'multipart/alternative; boundary="{placeholder}"')
        if placeholder.encode() not in line:  # folded inside the boundary: no longer the same for every one
            return _header("Content-Type", f'multipart/alternative; boundary="{boundary}"')[0]
        return line.replace(placeholder.encode(), boundary.encode())

    def build(self, message: Message, now: dt.datetime) -> Built:
        """The email of ``message`` as bytes (SMTP line ends), the same bytes as ``email(...).as_bytes(policy=SMTP)``.

        Written directly rather than through EmailMessage, whose header objects and generator cost twice
        the rendering itself: per message only the Subject, To and Message-ID are folded; the other
        header lines are the same all run. A message with attachments goes through EmailMessage.
        """
        if message.attachments or _ENCODE_TEXT is None or _BOUNDARY_FORMAT is None:
            mail = self.email(message, now)
            body = mail.get_body(("html",))
            return Built(mail.as_bytes(policy=policy.SMTP), str(mail["X-Huifang-Kind"]), str(mail["Subject"]),
                         str(mail["Message-ID"]), str(mail["To"]), body.get_content() if body is not None else None)
        subject, text, html = self.parts(message)
        subject_line, subject = _header("Subject", header_text(subject))
        to_line, to = _header("To", self.recipient(message))
        id_line, message_id = _header("Message-ID", f"<{message.key[:32]}@{self.sender.domain}>")
        text_cte, text_payload = _ENCODE_TEXT(text, "utf-8", None, policy.default)
        html_cte, html_payload = _ENCODE_TEXT(html, "utf-8", None, policy.default)
        parts = [
            _body(self._line("Content-Type", 'text/plain; charset="utf-8"')
                  + self._line("Content-Transfer-Encoding", text_cte), text_payload),
            _body(self._line("Content-Type", 'text/html; charset="utf-8"')
                  + self._line("Content-Transfer-Encoding", html_cte) + self._line("MIME-Version", "1.0"), html_payload),
        ]
        boundary = _boundary(b"\r\n".join(parts))
        kind_line, kind = self._header("X-Huifang-Kind", message.kind)
        if self._from_line is None:
            self._from_line = _header("From", self.sender)[0]
        raw = b"".join([
            subject_line, self._from_line, to_line, self._line("Date", format_datetime(now)), id_line,
            kind_line, self._line("MIME-Version", "1.0"),
            self._multipart_line(boundary), b"\r\n",
            f"--{boundary}\r\n".encode(), parts[0], f"\r\n--{boundary}\r\n".encode(), parts[1],
            f"\r\n--{boundary}--\r\n".encode(),
        ])
        # What a client decodes from the HTML part: its lines (split as the encoder split them), newline-ended.
        preview = (b"\n".join(html.encode("utf-8").splitlines()) + b"\n").decode("utf-8")
        return Built(raw, kind, subject, message_id, to, preview)
