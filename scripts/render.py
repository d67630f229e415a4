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
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_INLINER = css_inline.CSSInliner(keep_style_tags=False)


def one_line(text: str, limit: int = 200) -> str:
    """Control characters (CR/LF above all) become spaces: a sheet value never creates a header."""
    text = _CONTROL.sub(" ", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def address(name: str, email: str) -> Address:
    addr = one_line(email, 254)
    if not addr.isascii() or not re.fullmatch(r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+", addr):
        raise ValueError(f"not a usable email address: {addr!r}")
    user, domain = addr.rsplit("@", 1)
    return Address(display_name=one_line(name, 80), username=user, domain=domain)


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

    def email(self, message: Message, now: dt.datetime) -> EmailMessage:
        subject, text, html = self.parts(message)
        mail = EmailMessage()
        mail["Subject"] = subject
        mail["From"] = self.sender
        mail["To"] = address(message.recipient.name, message.recipient.email)
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
