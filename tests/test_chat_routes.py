"""`channels:` and `routes:` in the config, end to end through `run_job`: a WeCom group gets the team's
morning list once, email still goes, a rerun sends nothing, and nothing of a chat is resent by SMTP."""

import datetime as dt

import pytest

from scripts.config import parse_config
from scripts.errors import ConfigError
from scripts.jobs import run_job
from scripts.ledger import Ledger
from tests.chat_servers import ChatServer
from tests.test_email import DEMO, MORNING, REMINDED, recipients, smtp


def chat_config(tmp_path, port, routes):
    doc = {
        "sources": [
            {"name": "展厅", "path": str(DEMO / "展厅.xlsx"),
             "tables": {"来店登记": "visitor_log", "试乘试驾": "test_drive_log", "交车登记": "delivery_log", "员工名单": "staff"}},
            {"name": "客服", "path": str(DEMO / "客服.xlsx"), "tables": {"投诉登记": "complaint_log"}},
        ],
        "mail": {"from": "回访提醒 <noreply@example.com>", "outbox": "outbox",
                 "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5}},
        "state": "state.sqlite3",
        "channels": {"showroom_group": {"type": "wecom_bot", "webhook_env": "HUIFANG_TEST_WECOM"}},
        "routes": routes,
    }
    return parse_config(doc, tmp_path / "huifang.yaml", tmp_path)


def test_reminders_go_to_the_group_once_and_by_email(tmp_path, smtp_server, monkeypatch):
    with ChatServer("wecom_bot") as chat:
        monkeypatch.setenv("HUIFANG_TEST_WECOM", chat.url)
        config = chat_config(tmp_path, smtp_server.port, {"reminders": ["email", "showroom_group"]})
        first = run_job("reminders", config, MORNING, sender=smtp(smtp_server))
        markdown = [m for m in chat.received if m["msgtype"] == "markdown"]
        assert markdown, chat.received
        text = "\n".join(m["markdown"]["content"] for m in markdown)
        assert "张伟" in text and "13311112222" not in text  # the group sees masked phones only
        assert set(recipients(smtp_server)) == REMINDED
        assert any(r.startswith("wecom_bot:showroom_group") for r in first.delivery.sent)
        sent_to_chat = len(chat.received)
        again = run_job("reminders", config, MORNING + dt.timedelta(hours=1), sender=smtp(smtp_server))
        assert len(chat.received) == sent_to_chat and again.delivery.sent == []
    ledger = Ledger(tmp_path / "state.sqlite3")
    try:
        chats = [e for e in ledger.history() if e.recipient.startswith("wecom_bot:")]
        assert chats and all(e.status == "sent" for e in chats)
    finally:
        ledger.close()


def test_a_kind_routed_only_to_a_group_sends_no_email(tmp_path, smtp_server, monkeypatch):
    with ChatServer("wecom_bot") as chat:
        monkeypatch.setenv("HUIFANG_TEST_WECOM", chat.url)
        config = chat_config(tmp_path, smtp_server.port, {"reminders": ["showroom_group"]})
        run_job("reminders", config, MORNING, sender=smtp(smtp_server))
        assert chat.received and smtp_server.received == []


def test_a_pending_chat_message_is_never_resent_by_smtp(tmp_path, smtp_server, monkeypatch):
    """A group message left pending (the bot was down) waits for its channel, not for the mail server."""
    monkeypatch.setenv("HUIFANG_TEST_WECOM", "http://127.0.0.1:9/cgi-bin/webhook/send?key=x")  # nothing listens
    config = chat_config(tmp_path, smtp_server.port, {"reminders": ["showroom_group"]})
    result = run_job("reminders", config, MORNING, sender=smtp(smtp_server))
    assert result.delivery.deferred and smtp_server.received == []
    run_job("reminders", config, MORNING + dt.timedelta(hours=1), sender=smtp(smtp_server))
    assert smtp_server.received == []  # the deferred chat entries were not pushed through SMTP


def test_a_route_to_an_unknown_channel_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="routes.reminders: no channel named 'nowhere'"):
        chat_config(tmp_path, 25, {"reminders": ["email", "nowhere"]})


def test_doctor_checks_each_bot_without_sending(tmp_path, monkeypatch):
    from scripts.doctor import doctor

    monkeypatch.setenv("HUIFANG_TEST_WECOM", "https://example.com/not-a-wecom-hook")
    config = chat_config(tmp_path, 25, {"reminders": ["email", "showroom_group"]})
    config = type(config)(**{**config.__dict__, "smtp": None})
    lines = []
    assert doctor(config, MORNING, out=lines.append, language="en") == 1
    assert any(line.startswith("✗ chat channel:") and "showroom_group" in line for line in lines)
