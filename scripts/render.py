"""Messages to MIME emails: one builder, three templates per message (subject, text, HTML).

Jinja2 with StrictUndefined, so a typo in a template fails a test instead of printing nothing; the
HTML environment autoescapes everything it renders (names and complaint texts come from the sheet),
and its CSS is inlined so that mail clients which drop <style> still show it.
"""

from __future__ import annotations

import datetime as dt
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any

import css_inline
import jinja2
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


def _weekday(value: Any, locale: str) -> str:
    """The short weekday as the locale writes it: 周四 (zh_Hans_CN), 週四 (zh_Hant_TW), Thu (en)."""
    return format_date(_as_date(value), "EEE", locale=locale)


def _as_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _environment(autoescape: bool, language: str = "zh-CN") -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,  # every HTML template, whatever its file name
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    locale = babel_locale(language)
    env.install_gettext_translations(translation(language), newstyle=True)
    env.filters["clip"] = _truncate
    env.filters["weekday"] = lambda value: _weekday(value, locale)
    env.filters["fmt_date"] = lambda value, form="medium": format_date(_as_date(value), form, locale=locale)
    # Findings' messages and error texts are Chinese written by the core: in the language's script.
    env.filters["script"] = script_converter(language)
    env.globals["html_lang"] = language
    env.globals["core_text"] = language.startswith("zh")  # the core's Chinese texts read as they are
    return env


class Renderer:
    def __init__(self, config: Config):
        self.config = config
        self.language = config.language
        self.text_env = _environment(autoescape=False, language=self.language)
        self.html_env = _environment(autoescape=True, language=self.language)
        self._templates: dict[tuple[bool, str], tuple[jinja2.Template, Any]] = {}
        name, addr = parseaddr(config.mail_from)
        try:
            self.sender = address(name or "Huifang", addr)
        except ValueError as exc:
            raise ConfigError(f"mail.from: {exc}") from None

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
