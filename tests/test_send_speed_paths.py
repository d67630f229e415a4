"""The faster email paths of issue #16 write what the plain ones wrote.

Renderer.build writes an email's bytes directly; EmailMessage + as_bytes(policy=SMTP) is the plain path.
With the same random state (the MIME boundary is the one random part) the bytes must be the same, and
so must the header values the ledger and the outbox keep.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from dataclasses import replace
from email import message_from_bytes, policy

import pytest

from scripts.config import StaffMember
from scripts.demo import DEMO_NOW
from scripts.i18n import LANGUAGES
from scripts.mailer import OutboxMeta, OutboxSender, outbox_meta
from scripts.messages import Message
from scripts.render import Renderer, _boundary, check_headers
from tests.golden_cases import golden_messages
from tests.helpers import demo_two_books
from tests.test_templates import reminder


RENDERER = Renderer(demo_two_books())


def same_email(renderer: Renderer, message: Message, now: dt.datetime = DEMO_NOW, seed: int = 7):
    """(plain bytes, fast Built) with the same random state, and the plain message's outbox fields."""
    random.seed(seed)
    mail = renderer.email(message, now)
    plain = mail.as_bytes(policy=policy.SMTP)
    random.seed(seed)
    built = renderer.build(message, now)
    return plain, built, outbox_meta(mail)


def assert_same(renderer: Renderer, message: Message, now: dt.datetime = DEMO_NOW, seed: int = 7) -> bytes:
    plain, built, meta = same_email(renderer, message, now, seed)
    assert built.raw == plain
    assert OutboxMeta(built.kind, built.message_id, built.to, built.subject, built.html) == meta
    return built.raw


@pytest.mark.parametrize("language", LANGUAGES)
def test_built_bytes_equal_email_message_bytes_for_every_golden_email(language):
    renderer = Renderer(replace(demo_two_books(), language=language))
    for seed, (_, message, _) in enumerate(golden_messages(language)):
        raw = assert_same(renderer, message, seed=seed)
        assert check_headers(raw) is raw


class Fixed(Renderer):
    """A renderer whose parts are given: for bodies the templates never produce."""

    def __init__(self, config, subject, text, html):
        super().__init__(config)
        self.given = (subject, text, html)

    def parts(self, message, extra=None):
        return self.given


LONG_ASCII = "x" * 120
LONG_HAN = "回访" * 60
BOUNDARY_LIKE = "--===============1234567890123456789==\n--===============1234567890123456789==--"


@pytest.mark.parametrize("subject, text, html", [
    ("plain", "short ascii lines\nonly\n", "<p>ascii</p>\n"),  # 7bit
    ("中文", "短的中文行\n第二行\n", "<p>中文</p>\n"),  # 8bit
    ("long", LONG_ASCII + "\n", LONG_ASCII),  # quoted-printable
    ("长行", LONG_HAN + "\n" * 12 + LONG_HAN, "<p>" + LONG_HAN + "</p>"),  # base64 or qp, more than 10 lines
    ("", "", ""),  # empty parts
    ("cr", "a\rb\r\nc\nd", "<p>\r\n</p>\r"),  # every line end
    ("dots", ".\n..\nFrom here\n.", "<p>.</p>\n."),
    ("boundary", BOUNDARY_LIKE, BOUNDARY_LIKE),
    ("trailing", "space at the end \ntab\t\n", "<p>x</p> \t\n" + LONG_ASCII + " "),
    ("=?utf-8?q?=0D=0ABcc:_evil@example.com?= " + "主题" * 60, "x\n", "<p>x</p>"),  # long, and an encoded word
    ("ctrl\x0b\x0c\x1c\u2028\x85", "v\x0bw\x0cx\x1cy\u2028z\x85", "<p>\x0b\x1c\u2028\x85</p>"),
])
@pytest.mark.parametrize("seed", [1, 2])
def test_built_bytes_equal_email_message_bytes_for_odd_bodies(subject, text, html, seed):
    renderer = Fixed(demo_two_books(), subject, text, html)
    assert_same(renderer, reminder(), seed=seed)


@pytest.mark.parametrize("name, email", [
    ("张伟\r\nBcc: evil@example.com", "zhangwei@example.com"),
    ("=?utf-8?b?QmNjOiBldmlsQGV4YW1wbGUuY29t?=", "zhangwei@example.com"),
    ("A very long display name " * 6, "someone.with.a.long.address@mail.example.com"),
    ('"quoted", with <brackets>', "x@example.com"),
])
def test_built_headers_equal_email_message_headers_and_carry_no_injected_line(name, email):
    raw = assert_same(RENDERER, reminder(name=name, email=email))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert check_headers(raw) is raw and b"\r\nBcc:" not in head
    assert message_from_bytes(raw, policy=policy.default)["Bcc"] is None


def drawn_boundary(seed: int) -> str:
    random.seed(seed)
    return f"{'=' * 15}{random.randrange(sys.maxsize):019d}=="


@pytest.mark.parametrize("text", ["", "--{b}\n", "x\r\n--{b}--", "--{b}\r\n", "--{b}.0\n--{b}\n", "a--{b}b"])
def test_the_boundary_is_the_email_packages_even_when_the_text_holds_it(text):
    from email.generator import BytesGenerator

    body = text.format(b=drawn_boundary(5)).encode()
    random.seed(5)
    expected = BytesGenerator._make_boundary(body)
    random.seed(5)
    assert _boundary(body) == expected


def test_a_body_holding_the_boundary_gives_the_same_bytes():
    boundary = drawn_boundary(3)
    renderer = Fixed(demo_two_books(), "s", f"--{boundary}\n", f"<p>x</p>\n--{boundary}--")
    plain, built, _ = same_email(renderer, reminder(), seed=3)
    assert built.raw == plain and f'boundary="{boundary}"'.encode() in plain


def test_a_message_with_attachments_is_built_by_the_email_package(tmp_path):
    book = tmp_path / "问题清单.xlsx"
    book.write_bytes(b"PK\x03\x04 not really a workbook")
    message = replace(reminder(), attachments=(str(book),))
    raw = assert_same(RENDERER, message)
    assert b'filename="' in raw or b"filename*=" in raw


def test_the_date_and_kind_lines_follow_each_message_not_the_first_one():
    renderer = Fixed(demo_two_books(), "s", "text\n", "<p>html</p>")
    later = DEMO_NOW + dt.timedelta(hours=5)
    assert_same(renderer, reminder(), DEMO_NOW)
    raw = assert_same(renderer, replace(reminder(), kind="escalation"), later)
    assert b"X-Huifang-Kind: escalation\r\n" in raw and b"14:00:00" in raw


def test_thirty_days_of_outbox_runs_list_exactly_the_messages_in_the_folder(tmp_path, monkeypatch):
    """The index after 30 daily runs: every .eml of every day, once, and nothing parsed back."""
    from scripts import mailer

    def no_parsing(*args, **kwargs):
        raise AssertionError("a message of the outbox was parsed back")

    monkeypatch.setattr(mailer, "message_from_bytes", no_parsing)
    folder = tmp_path / "outbox"
    people = [StaffMember(f"员工{i}", f"staff{i}@example.com") for i in range(4)]

    for day in range(30):
        now = DEMO_NOW + dt.timedelta(days=day)
        with OutboxSender(folder) as sender:
            for person in people:
                message = replace(reminder(name=person.name, email=person.email), recipient=person,
                                  period=now.date().isoformat())
                built = RENDERER.build(message, now)
                sender.send(built.raw, "noreply@example.com", [person.email],
                            meta=OutboxMeta(built.kind, built.message_id, built.to, built.subject, built.html))
    emls = sorted(p.name for p in folder.glob("*.eml"))
    index = (folder / "index.html").read_text(encoding="utf-8")
    rows = index.split("<table>", 1)[1].split("</tr>")[1:-1]
    assert len(emls) == 30 * len(people)
    assert [r.rsplit('href="', 1)[1].split('"')[0] for r in rows] == emls
    assert all('.html">' in r for r in rows)  # each with its preview
    listed = (folder / OutboxSender.INDEX).read_text(encoding="utf-8").splitlines()
    assert len(listed) == len(emls)
