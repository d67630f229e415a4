"""Rendered emails: golden files, escaping, header injection, masking, strict templates."""

import datetime as dt
from dataclasses import replace

import jinja2
import pytest

from scripts.config import StaffMember
from scripts.demo import DEMO_NOW
from scripts.messages import Message
from scripts.render import Renderer, address, one_line
from tests.golden_cases import GOLDEN, rendered
from tests.helpers import demo_two_books


@pytest.mark.parametrize("name, content", sorted(rendered().items()))
def test_rendered_email_matches_its_golden_file(name, content):
    assert (GOLDEN / name).read_text(encoding="utf-8") == content, "run: python -m tests.update_golden"


def reminder(name="张伟", email="zhangwei@example.com", customer="陈先生", message="跟进回访已逾期"):
    item = {"rule": "followup_overdue", "base_rule": "followup", "severity": "error", "message": message,
            "customer": customer, "phone": "13812345678", "source": "展厅", "location": "来店登记!M7", "header": "",
            "url": None, "assignee": name, "due": "11-25", "due_date": "2026-11-25", "weekday": "三", "late": 2,
            "late_unit": "days"}
    context = {"name": name, "date": "2026-11-27", "weekday": "五", "call_window": "09:30–11:30",
               "quiet_hours": "12:00–14:00", "overdue": [item], "due_soon": [], "blanks": [], "notes": [], "unassigned": []}
    return Message("reminder", StaffMember(name, email), "2026-11-27", context, ("x",))


RENDERER = Renderer(demo_two_books())


def test_cr_lf_in_a_name_never_creates_a_header():
    mail = RENDERER.email(reminder(name="张伟\r\nBcc: evil@example.com"), DEMO_NOW)
    headers = mail.as_bytes().split(b"\n\n", 1)[0]
    assert b"\nBcc:" not in headers and mail["Bcc"] is None
    assert mail["To"].addresses[0].display_name == "张伟 Bcc: evil@example.com"
    assert "\n" not in str(mail["Subject"])


def test_an_address_with_control_characters_is_refused():
    with pytest.raises(ValueError):
        address("x", "a@example.com\r\nBcc: evil@example.com")
    assert one_line("a\r\nb\x00c\u2028d") == "a b c d"


def test_sheet_text_is_escaped_in_html_and_never_marked_safe():
    message = reminder(customer="<b>陈</b>", message='<script>alert("x")</script> & <img src=x onerror=alert(1)>')
    subject, text, html = RENDERER.parts(message)
    assert "<script>" not in html and "&lt;script&gt;" in html and "<img" not in html
    assert "<b>陈</b>" not in html and "&lt;b&gt;陈&lt;/b&gt;" in html
    assert '<script>alert("x")</script>' in text  # plain text stays as typed


def test_long_sheet_text_is_trimmed():
    _, text, _ = RENDERER.parts(reminder(message="很长" * 200))
    assert "很长" * 39 in text and "很长" * 41 not in text


def test_a_typo_in_a_template_fails_loudly():
    message = reminder()
    broken = replace(message, context={k: v for k, v in message.context.items() if k != "call_window"})
    with pytest.raises(jinja2.UndefinedError):
        RENDERER.parts(broken)


def test_english_templates():
    renderer = Renderer(replace(demo_two_books(), language="en"))
    subject, text, html = renderer.parts(reminder())
    assert subject.startswith("[Huifang] 张伟") and "follow-up call overdue since 11-25" in text
    assert "Good morning" in html


def test_the_same_message_gets_the_same_message_id():
    a = RENDERER.email(reminder(), DEMO_NOW)
    b = RENDERER.email(reminder(), DEMO_NOW + dt.timedelta(hours=1))
    assert a["Message-ID"] == b["Message-ID"]
    assert RENDERER.email(reminder(email="other@example.com"), DEMO_NOW)["Message-ID"] != a["Message-ID"]
