"""Chat channels: settings, rendering, each platform against its local server, exactly-once delivery."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from scripts.channels import (check_channel, deliver_to_channels, is_channel_recipient, make_senders, mask_text,
                              parse_channels, render_chat)
from scripts.channels.base import Transport
from scripts.channels.dispatch import ChannelDelivery
from scripts.channels.settings import ChannelSettings, Route
from scripts.config import StaffMember
from scripts.errors import ConfigError
from scripts.ledger import Ledger
from scripts.messages import Message
from tests.channel_golden import GOLDEN, rendered
from tests.chat_servers import TOKEN, ChatServer
from tests.helpers import NOW


@dataclass(frozen=True)
class Staff(StaffMember):  # the staff table's mobile and wecom_userid columns (added by another change)
    mobile: str | None = None
    wecom_userid: str | None = None


LINA = Staff("李娜", "lina@example.com", "销售经理", mobile="13900000001", wecom_userid="lina")
ZHANG = Staff("张伟", "zhangwei@example.com", "销售顾问", "李娜", mobile="13900000002", wecom_userid="zhangwei")
WANG = Staff("王芳", "wangfang@example.com", "销售顾问", "李娜", mobile="13900000003")  # mobile only
LIU = Staff("刘洋", "liuyang@example.com", "销售顾问", "周杰", mobile="13900000004", wecom_userid="liuyang")


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def item(n: int, phone: str = "13812345678", **extra: object) -> dict:
    return {"rule": "followup_overdue", "base_rule": "followup", "severity": "error",
            "message": f"跟进回访已逾期：应于 11-25 前完成（客户{n}）", "customer": f"客户{n}", "phone": phone,
            "source": "展厅", "location": f"来店登记!M{n}", "header": "最近跟进日期", "url": None, "assignee": "张伟",
            "due": "11-25", "due_date": "2026-11-25", "weekday": "三", "late": 2, "late_unit": "days", **extra}


def reminder(member: StaffMember, n: int = 2, phone: str = "13812345678") -> Message:
    items = [item(k, phone) for k in range(1, n + 1)]
    context = {"name": member.name, "date": "2026-11-27", "weekday": "五", "call_window": "09:30–11:30",
               "quiet_hours": "12:00–14:00", "overdue": items, "due_soon": [], "blanks": [], "notes": []}
    return Message("reminder", member, "2026-11-27", context, tuple(f"{member.name}:{k}" for k in range(n)))


def escalation(member: StaffMember, n: int = 1) -> Message:
    context = {"name": member.name, "date": "2026-11-27", "time": "09:00", "second_level": False,
               "breaches": [{**item(k, "138****5678"), "level": 1} for k in range(1, n + 1)]}
    return Message("escalation", member, "2026-11-27T09:00", context, tuple(f"1:{member.name}{k}" for k in range(n)),
                   once_per_period=False)


def settings_for(server: ChatServer, route: dict | str = "bot", kind: str = "reminders", **channel: object) -> ChannelSettings:
    spec = {"type": server.platform, **channel}
    spec.setdefault("webhook_env", "HUIFANG_HOOK") if server.platform != "wecom_app" else None
    return parse_channels({"bot": spec}, {kind: [route]}, "huifang.yaml")


def senders(settings: ChannelSettings, server: ChatServer, fake: FakeTime, **env: str) -> dict[str, Transport]:
    environ = {"HUIFANG_HOOK": server.url, **env}
    return make_senders(settings, requests.Session(), environ, clock=fake.clock, sleep=fake.sleep, rand=lambda: 0.5)


# -- settings --------------------------------------------------------------------------------------

def test_channels_and_routes_load_into_settings(tmp_path: Path):
    (tmp_path / "feishu.secret").write_text("s3cret\n", encoding="utf-8")
    settings = parse_channels(
        {"showroom_group": {"type": "wecom_bot", "webhook_env": "HUIFANG_WECOM_SHOWROOM"},
         "managers": {"type": "dingtalk_bot", "webhook_env": "U", "secret_env": "S"},
         "cs_group": {"type": "feishu_bot", "webhook_env": "X", "secret_file": "feishu.secret"},
         "wecom_app": {"type": "wecom_app", "corp_id": "ww123", "agent_id": 1000002, "secret_env": "W"}},
        {"reminders": ["email", "showroom_group"], "digest": ["email", {"channel": "managers", "show_phone": False}],
         "escalations": [{"channel": "managers", "team": "李娜"}]}, "huifang.yaml", tmp_path)
    assert settings.channels["wecom_app"].agent_id == "1000002"
    assert settings.channels["cs_group"].secret({}) == "s3cret"
    assert settings.routes_for("reminder") == (Route("email"), Route("showroom_group"))
    assert settings.routes_for("escalation") == (Route("managers", team="李娜"),)
    assert settings.routes_for("alert") == (Route("email"),)  # not routed: email as before
    assert not settings.emails("escalation")


@pytest.mark.parametrize("channels, routes, expected", [
    ({"g": {"type": "wecom_bot", "webhook": "https://qyapi.weixin.qq.com/x"}}, {}, "channels.g"),
    ({"g": {"type": "wecom_bot"}}, {}, "channels.g"),
    ({"g": {"type": "slack_bot", "webhook_env": "X"}}, {}, "channels.g.type"),
    ({"g": {"type": "wecom_app", "corp_id": "ww1", "agent_id": 1}}, {}, "channels.g"),
    ({"g": {"type": "wecom_bot", "webhook_env": "X"}}, {"reminders": ["nope"]}, "no channel named 'nope'"),
    ({}, {"weekly": ["email"]}, "routes"),
])
def test_bad_channel_settings_name_the_key(channels, routes, expected):
    with pytest.raises(ConfigError, match=expected):
        parse_channels(channels, routes, "huifang.yaml")


def test_missing_secret_names_the_variable_never_a_value(tmp_path: Path):
    settings = parse_channels({"m": {"type": "dingtalk_bot", "webhook_env": "U", "secret_env": "S"}}, {}, "h.yaml")
    with pytest.raises(ConfigError, match="channels.m.secret_env: the environment variable S is not set"):
        settings.channels["m"].secret({"U": "https://oapi.dingtalk.com/robot/send?access_token=abc"})


# -- rendering -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("客户 13812345678 来电", "客户 138****5678 来电"),
    ("tel 138-1234-5678", "tel 138****5678"),
    ("+86 13812345678", "138****5678"),
    ("座机 0755-12345678", "座机 0755-****5678"),
    ("订单 1234567", "订单 *****67"),
    ("已遮 138****5678", "已遮 138****5678"),
    ("2026-11-27 09:00 第 12 行", "2026-11-27 09:00 第 12 行"),
    ("https://docs.google.com/spreadsheets/d/1/edit#gid=123456789", "https://docs.google.com/spreadsheets/d/1/edit#gid=123456789"),
])
def test_phone_shaped_numbers_are_masked_in_text(text, expected):
    assert mask_text(text) == expected


def test_group_text_masks_phones_and_personal_text_keeps_them():
    message = reminder(ZHANG, 1)
    message = Message(message.kind, message.recipient, message.period,
                      {**message.context, "overdue": [item(1, message="客户说改打 13900001111")]}, message.items)
    group = "\n".join(l for b in render_chat([message], "zh-CN", mask=True).blocks for l in b.lines)
    personal = "\n".join(l for b in render_chat([message], "zh-CN", mask=False).blocks for l in b.lines)
    assert "138****5678" in group and "139****1111" in group and "13812345678" not in group
    assert "13812345678" in personal and "13900001111" in personal


def test_sheet_text_cannot_mention_everyone_or_inject_markup():
    message = reminder(ZHANG, 1)
    message = Message(message.kind, message.recipient, message.period,
                      {**message.context, "overdue": [item(1, customer='<@all><font color="warning">x')]}, message.items)
    text = "\n".join(l for b in render_chat([message], "zh-CN", mask=True).blocks for l in b.lines)
    assert "<@all>" not in text and "<font" not in text


def test_unknown_kind_renders_its_facts_generically():
    message = Message("morning_brief", LINA, "2026-11-27", {"name": "李娜", "visits": 3, "open": [{"customer": "陈先生"}]})
    lines = [l for b in render_chat([message], "en", mask=True).blocks for l in b.lines]
    assert "visits: 3" in lines and "- 陈先生" in lines


@pytest.mark.parametrize("name, content", sorted(rendered().items()))
def test_chat_text_matches_its_golden_file(name, content):
    assert (GOLDEN / name).read_text(encoding="utf-8") == content, "run: python -m tests.channel_golden"


# -- WeCom group robot -----------------------------------------------------------------------------

def test_wecom_group_gets_one_morning_list_with_everyone_mentioned():
    fake = FakeTime()
    with ChatServer("wecom_bot") as server:
        settings = settings_for(server)
        report = deliver_to_channels([reminder(ZHANG), reminder(WANG)], None, settings, Ledger(":memory:"),
                                     senders(settings, server, fake), NOW)
    assert report.sent == ["wecom_bot:bot", "wecom_bot:bot"]
    markdown, mention = server.received
    content = markdown["markdown"]["content"]
    assert "<@zhangwei>" in content and "张伟" in content and "王芳" in content
    assert "138****5678" in content and "13812345678" not in content
    # 王芳 has no WeCom userid: markdown cannot ring her, a text message with her mobile does
    assert mention["msgtype"] == "text" and mention["text"]["mentioned_mobile_list"] == ["13900000003"]
    assert server.notified == ["zhangwei", "13900000003"]


def test_show_phone_route_keeps_numbers_in_the_group():
    fake = FakeTime()
    with ChatServer("wecom_bot") as server:
        settings = settings_for(server, {"channel": "bot", "show_phone": True})
        deliver_to_channels([reminder(ZHANG)], None, settings, None, senders(settings, server, fake), NOW)
    assert "13812345678" in server.received[0]["markdown"]["content"]


def test_long_list_is_split_between_items_and_numbered():
    fake = FakeTime()
    with ChatServer("wecom_bot") as server:
        settings = settings_for(server)
        report = deliver_to_channels([reminder(ZHANG, 80)], None, settings, Ledger(":memory:"),
                                     senders(settings, server, fake), NOW)
    contents = [m["markdown"]["content"] for m in server.received if m["msgtype"] == "markdown"]
    assert len(contents) >= 2 and not report.failed and not server.rejected
    assert all(len(c.encode("utf-8")) <= 4096 for c in contents)
    assert [c.splitlines()[0] for c in contents] == [f"**回访提醒 2026-11-27 周五（{i}/{len(contents)}）**"
                                                     for i in range(1, len(contents) + 1)]
    for k in range(1, 81):  # every item whole, in exactly one part, with its location line
        holders = [c for c in contents if f"\n{k}. 客户{k} " in c]
        assert len(holders) == 1 and f"来店登记!M{k}\n" in holders[0] + "\n"


def test_monthly_report_file_is_uploaded_then_sent_as_file(tmp_path: Path):
    path = tmp_path / "客户投诉月报_2026-11.xlsx"
    path.write_bytes(b"PK\x03\x04 report bytes")
    context = {"name": "李娜", "month": "2026-11", "previous": "2026-10", "file_name": path.name,
               "rows": [{"name": "投诉总数", "en": "Complaints", "now": "5", "before": "3"}],
               "categories": [{"name": "服务态度", "count": 2}], "satisfaction": [{"name": "满意", "count": 4}]}
    messages = [Message("report", boss, "2026-11", {**context, "name": boss.name}, ("report:2026-11",),
                        attachments=(str(path),)) for boss in (LINA, LIU)]
    fake = FakeTime()
    with ChatServer("wecom_bot") as server:
        settings = settings_for(server, kind="report")
        deliver_to_channels(messages, None, settings, Ledger(":memory:"), senders(settings, server, fake), NOW)
    kinds = [m["msgtype"] for m in server.received]
    assert kinds == ["markdown", "file"]  # one summary for the group, not one per supervisor
    assert "投诉总数：5（2026-10：3）" in server.received[0]["markdown"]["content"]
    assert server.uploads["media1"] == (path.name, path.read_bytes())


@pytest.mark.parametrize("answer, status, reason", [
    (93000, "failed", "error 93000"),
    (40058, "failed", "error 40058"),
    (-1, "deferred", "system busy"),
    (502, "deferred", "HTTP 502"),
    ("html", "deferred", "not JSON"),
])
def test_wecom_answers_become_outcomes(answer, status, reason):
    fake = FakeTime()
    ledger = Ledger(":memory:")
    with ChatServer("wecom_bot") as server:
        server.answers = [answer]
        settings = settings_for(server)
        report = deliver_to_channels([reminder(LIU)], None, settings, ledger, senders(settings, server, fake), NOW)
    (recipient, why), = report.failed if status == "failed" else report.deferred
    assert recipient == "wecom_bot:bot" and reason in why and TOKEN not in why
    (entry,) = ledger.history()
    assert entry.status == status and reason in entry.error
    if status == "failed":  # shown in the next digest
        assert [e.recipient for e in ledger.failures_since(NOW - dt.timedelta(hours=1))] == ["wecom_bot:bot"]


def test_unreachable_webhook_is_deferred_without_the_key_in_the_reason():
    settings = parse_channels({"bot": {"type": "wecom_bot", "webhook_env": "H"}}, {"reminders": ["bot"]}, "h.yaml")
    url = f"http://127.0.0.1:9/cgi-bin/webhook/send?key={TOKEN}"
    sender = make_senders(settings, requests.Session(), {"H": url}, timeout=2)
    report = deliver_to_channels([reminder(LIU)], None, settings, None, sender, NOW)
    (_, why), = report.deferred
    assert "no answer" in why and TOKEN not in why


# -- rate limits and pacing ------------------------------------------------------------------------

def test_rate_limit_is_retried_with_backoff_then_sent():
    fake = FakeTime()
    with ChatServer("wecom_bot") as server:
        server.answers = [45009, 45009]
        settings = settings_for(server)
        report = deliver_to_channels([reminder(LIU)], None, settings, Ledger(":memory:"),
                                     senders(settings, server, fake), NOW)
    assert report.sent == ["wecom_bot:bot"] and len(server.received) == 1
    assert fake.sleeps == [1.5, 3.0]  # 2s then 4s, times the jitter factor (0.5 + 0.5/2)


def test_rate_limit_that_persists_is_deferred_and_sent_by_the_next_run():
    fake = FakeTime()
    ledger = Ledger(":memory:")
    with ChatServer("dingtalk_bot") as server:
        server.answers = [130101] * 4
        settings = settings_for(server, kind="escalations")
        first = deliver_to_channels([escalation(LINA)], None, settings, ledger, senders(settings, server, fake), NOW)
        second = deliver_to_channels([], None, settings, ledger, senders(settings, server, fake), NOW)
    assert first.deferred and "130101" in first.deferred[0][1] and len(fake.sleeps) == 3
    assert second.resent == 1 and second.sent == ["dingtalk_bot:bot"] and len(server.received) == 1


def test_pacing_keeps_a_bot_under_twenty_messages_a_minute():
    fake = FakeTime()
    with ChatServer("wecom_bot") as server:
        settings = settings_for(server, kind="escalations")
        messages = [escalation(Staff(f"主管{k}", f"m{k}@example.com")) for k in range(25)]
        for m in messages:  # one period each: 25 separate group messages
            deliver_to_channels([m], None, settings, None, senders_cache(settings, server, fake), NOW)
    assert len(server.received) == 25
    # the 21st message waits until the first is a minute old; the clock then allows the next 20
    assert fake.sleeps == [pytest.approx(60.0)]


_CACHE: dict[int, dict[str, Transport]] = {}


def senders_cache(settings: ChannelSettings, server: ChatServer, fake: FakeTime) -> dict[str, Transport]:
    return _CACHE.setdefault(id(server), senders(settings, server, fake))


# -- DingTalk and Feishu signatures ---------------------------------------------------------------

@pytest.mark.parametrize("platform", ["dingtalk_bot", "feishu_bot"])
def test_signed_bots_accept_our_signature_and_refuse_a_wrong_secret(platform):
    fake = FakeTime()
    with ChatServer(platform, secret="SEC0123") as server:
        settings = settings_for(server, kind="escalations", secret_env="HUIFANG_SECRET")
        good = deliver_to_channels([escalation(LINA)], None, settings, None,
                                   senders(settings, server, fake, HUIFANG_SECRET="SEC0123"), NOW)
        bad = deliver_to_channels([escalation(ZHANG)], None, settings, None,
                                  senders(settings, server, fake, HUIFANG_SECRET="wrong"), NOW)
    assert good.sent and len(server.received) == 1
    (_, why), = bad.failed
    assert ("310000" if platform == "dingtalk_bot" else "19021") in why and "wrong" not in why


def test_dingtalk_mentions_ring_only_when_in_at_mobiles_and_text():
    fake = FakeTime()
    with ChatServer("dingtalk_bot") as server:
        settings = settings_for(server, kind="escalations")
        deliver_to_channels([escalation(LINA), escalation(ZHANG)], None, settings, None,
                            senders(settings, server, fake), NOW)
    (message,) = server.received
    assert message["at"]["atMobiles"] == ["13900000001", "13900000002"]
    assert server.notified == ["13900000001", "13900000002"]


def test_dingtalk_quota_used_up_is_deferred_without_waiting():
    fake = FakeTime()
    with ChatServer("dingtalk_bot") as server:
        server.answers = [90030]
        settings = settings_for(server, kind="escalations")
        report = deliver_to_channels([escalation(LINA)], None, settings, None, senders(settings, server, fake), NOW)
    assert "90030" in report.deferred[0][1] and fake.sleeps == []


def test_feishu_rate_limit_code_defers():
    fake = FakeTime()
    with ChatServer("feishu_bot") as server:
        server.answers = [11232] * 4
        settings = settings_for(server, kind="escalations")
        report = deliver_to_channels([escalation(LINA)], None, settings, None, senders(settings, server, fake), NOW)
    assert report.deferred and "11232" in report.deferred[0][1]


# -- WeCom app messages ----------------------------------------------------------------------------

def app_settings(server: ChatServer) -> ChannelSettings:
    return parse_channels({"app": {"type": "wecom_app", "corp_id": "ww123", "agent_id": 1000002,
                                   "secret_env": "HUIFANG_WECOM_SECRET", "api_base": server.url}},
                          {"reminders": ["email", "app"]}, "huifang.yaml")


def app_senders(settings: ChannelSettings, fake: FakeTime, secret: str = "corpsecret") -> dict[str, Transport]:
    return make_senders(settings, requests.Session(), {"HUIFANG_WECOM_SECRET": secret}, clock=fake.clock,
                        sleep=fake.sleep)


def test_app_message_goes_to_each_person_with_full_phones_and_one_token():
    fake = FakeTime()
    with ChatServer("wecom_app") as server:
        settings = app_settings(server)
        report = deliver_to_channels([reminder(ZHANG), reminder(LIU), reminder(WANG)], None, settings,
                                     Ledger(":memory:"), app_senders(settings, fake), NOW)
    assert [m["touser"] for m in server.received] == ["zhangwei", "liuyang"]
    assert "13812345678" in server.received[0]["markdown"]["content"]
    assert server.tokens_issued == 1
    assert report.not_sent == [("wecom_app:app:王芳", "no wecom_userid in the staff table")]


def test_expired_token_is_refreshed_once_and_the_message_sent():
    fake = FakeTime()
    with ChatServer("wecom_app") as server:
        settings = app_settings(server)
        sender = app_senders(settings, fake)
        deliver_to_channels([reminder(ZHANG)], None, settings, None, sender, NOW)
        server.expire_token()
        report = deliver_to_channels([reminder(LIU)], None, settings, None, sender, NOW)
        fake.now += 7200  # past the cached expiry: fetched again before sending
        deliver_to_channels([reminder(LINA)], None, settings, None, sender, NOW)
    assert report.sent == ["wecom_app:app:liuyang"] and len(server.received) == 3
    assert server.tokens_issued == 3 and (42001, "") in server.rejected


def test_wrong_corp_secret_fails_without_showing_it():
    fake = FakeTime()
    with ChatServer("wecom_app") as server:
        settings = app_settings(server)
        report = deliver_to_channels([reminder(ZHANG)], None, settings, None, app_senders(settings, fake, "bad-secret"), NOW)
    (_, why), = report.failed
    assert "40001" in why and "bad-secret" not in why


# -- exactly once ----------------------------------------------------------------------------------

def test_rerun_sends_nothing_new():
    fake = FakeTime()
    ledger = Ledger(":memory:")
    with ChatServer("wecom_bot") as server:
        settings = settings_for(server)
        sender = senders(settings, server, fake)
        deliver_to_channels([reminder(ZHANG)], None, settings, ledger, sender, NOW)
        # later that day a new finding appears: the morning list already went, nothing more is sent
        again = deliver_to_channels([reminder(ZHANG, 3)], None, settings, ledger, sender, NOW + dt.timedelta(hours=2))
    assert len(server.received) == 1 and again.skipped == 1 and not again.sent


class Killed(BaseException):
    pass


class DiesAfter:
    """A sender that sends ``n`` payloads and then dies as a killed process would."""

    def __init__(self, inner: Transport, n: int):
        self.inner, self.n = inner, n
        self.channel = inner.channel

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def send(self, raw: bytes):
        if self.n == 0:
            raise Killed()
        self.n -= 1
        return self.inner.send(raw)


def test_run_killed_mid_message_is_completed_once_by_the_next_run():
    fake = FakeTime()
    ledger = Ledger(":memory:")
    with ChatServer("wecom_bot") as server:
        settings = settings_for(server)
        real = senders(settings, server, fake)
        with pytest.raises(Killed):
            deliver_to_channels([reminder(ZHANG, 80)], None, settings, ledger, {"bot": DiesAfter(real["bot"], 1)}, NOW)
        pending = [e for e in ledger.unfinished()]
        rerun = deliver_to_channels([reminder(ZHANG, 80)], None, settings, ledger, real, NOW)
        third = deliver_to_channels([reminder(ZHANG, 80)], None, settings, ledger, real, NOW)
    parts = [m["markdown"]["content"].splitlines()[0] for m in server.received]
    assert len(parts) == len(set(parts)) == len(pending) + 1 >= 2  # every part exactly once
    assert rerun.resent == len(pending) and rerun.skipped == 1 and not third.sent and not third.resent
    assert all(e.status == "sent" for e in ledger.history())


def test_channel_entries_are_not_email_entries():
    assert is_channel_recipient("wecom_bot:showroom_group") and is_channel_recipient("wecom_app:app:zhangwei")
    assert not is_channel_recipient("zhangwei@example.com")


def test_team_route_sends_only_that_team():
    fake = FakeTime()
    with ChatServer("wecom_bot") as server:
        settings = settings_for(server, {"channel": "bot", "team": "李娜"})
        deliver_to_channels([reminder(ZHANG), reminder(LIU)], None, settings, None, senders(settings, server, fake), NOW)
    content = server.received[0]["markdown"]["content"]
    assert "张伟" in content and "刘洋" not in content


def test_two_teams_routed_to_one_group_each_get_their_list():
    fake = FakeTime()
    ledger = Ledger(":memory:")
    with ChatServer("wecom_bot") as server:
        settings = parse_channels({"bot": {"type": "wecom_bot", "webhook_env": "HUIFANG_HOOK"}},
                                  {"reminders": [{"channel": "bot", "team": "李娜"}, {"channel": "bot", "team": "周杰"}]},
                                  "huifang.yaml")
        report = deliver_to_channels([reminder(ZHANG), reminder(LIU)], None, settings, ledger,
                                     senders(settings, server, fake), NOW)
    assert report.sent == ["wecom_bot:bot:李娜", "wecom_bot:bot:周杰"]
    assert ["张伟" in m["markdown"]["content"] for m in server.received] == [True, False]


def test_email_only_route_sends_nothing_to_channels():
    fake = FakeTime()
    with ChatServer("wecom_bot") as server:
        settings = settings_for(server, "email")
        report = deliver_to_channels([reminder(ZHANG)], None, settings, None, senders(settings, server, fake), NOW)
    assert report == ChannelDelivery() and not server.received


# -- doctor ----------------------------------------------------------------------------------------

def test_doctor_checks_url_shapes_and_secrets_without_sending(tmp_path: Path):
    settings = parse_channels(
        {"w": {"type": "wecom_bot", "webhook_env": "W"}, "d": {"type": "dingtalk_bot", "webhook_env": "D", "secret_env": "DS"},
         "f": {"type": "feishu_bot", "webhook_file": "missing.url"},
         "a": {"type": "wecom_app", "corp_id": "123", "agent_id": "x", "secret_env": "AS"}}, {}, "h.yaml", tmp_path)
    environ = {"W": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123",
               "D": "https://oapi.dingtalk.com/robot/send?token=abc", "AS": "s"}
    problems = check_channel(settings, environ)
    assert not any(p.startswith("channels.w") for p in problems)
    assert "channels.d: the webhook URL does not look like https://oapi.dingtalk.com/robot/send?access_token=…" in problems
    assert "channels.d.secret_env: the environment variable DS is not set" in problems
    assert any(p.startswith("channels.f.webhook_file: cannot read") for p in problems)
    assert any(p.startswith("channels.a.corp_id") for p in problems) and any(p.startswith("channels.a.agent_id") for p in problems)
    assert not any("abc" in p for p in problems)


def test_silence_alert_reaches_a_group_once_mentioning_every_supervisor():
    context = {"since": "2026-11-26 09:00", "hours": 8, "failures": [{"at": "2026-11-26 17:00", "job": "digest",
                                                                      "detail": "SourceError: 客服.xlsx locked"}]}
    messages = [Message("alert", boss, "2026-11-26T09:00", {**context, "name": boss.name}, ("silence:x",))
                for boss in (LINA, LIU)]
    fake = FakeTime()
    with ChatServer("dingtalk_bot") as server:
        settings = settings_for(server, kind="alert")
        deliver_to_channels(messages, None, settings, None, senders(settings, server, fake), NOW)
    (message,) = server.received
    assert message["markdown"]["title"] == "回访提醒故障：已 8 个工作小时没有成功运行"
    assert "客服.xlsx locked" in message["markdown"]["text"]
    assert server.notified == ["13900000001", "13900000004"]


@pytest.mark.parametrize("language", ["zh-TW", "zh-HK"])
def test_traditional_groups_read_traditional_chat_text(language):
    import opencc

    from scripts.channels.render import render_chat

    doc = render_chat([reminder(ZHANG, 3)], language, mask=True)
    text = "\n".join([doc.title, *(line for b in doc.blocks for line in b.lines), doc.footer])
    back = opencc.OpenCC("t2s").convert(text)
    assert back != text  # there was Chinese to convert
    assert opencc.OpenCC("s2twp" if language == "zh-TW" else "s2hk").convert(back) == text
    assert "逾期" in text and "（" in text
