"""Messages to chat channels, each exactly once, through the same ledger as email.

A group channel gets one message per kind and period combining everyone's messages (the morning
list of a team, each person @-mentioned); a WeCom app channel gets one message per person. Every
part (a long list split in two, the WeCom @-mention text, the report file) is a ledger entry keyed
``sha256(channel, message key, part)`` with recipient ``<type>:<channel>`` (``<type>:<channel>:<team>``
for a team's route, ``wecom_app:<channel>:<userid>`` for a person). All parts are recorded as pending before the first is sent, so a run killed half way
leaves the rest pending and the next run sends them (a part sent just before the kill may arrive
twice, as with email); a rerun sends nothing new.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import requests

from ..jobs import Delivery
from ..ledger import Ledger
from ..messages import Message, subtree
from ..textnorm import fold
from . import dingtalk_bot, feishu_bot, wecom_app, wecom_bot
from .base import Transport, dumps
from .render import render_chat
from .settings import ChannelSettings, Route, is_channel_recipient

log = logging.getLogger("huifang.channels")
TRANSPORTS: dict[str, type[Transport]] = {
    "wecom_bot": wecom_bot.WeComBot, "dingtalk_bot": dingtalk_bot.DingTalkBot,
    "feishu_bot": feishu_bot.FeishuBot, "wecom_app": wecom_app.WeComApp,
}
URL_SHAPES = {"wecom_bot": (wecom_bot.URL_SHAPE, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"),
              "dingtalk_bot": (dingtalk_bot.URL_SHAPE, "https://oapi.dingtalk.com/robot/send?access_token=…"),
              "feishu_bot": (feishu_bot.URL_SHAPE, "https://open.feishu.cn/open-apis/bot/v2/hook/…")}


@dataclass
class ChannelDelivery(Delivery):
    """Delivery, plus the messages no channel could take (a person without a wecom_userid)."""

    not_sent: list[tuple[str, str]] = field(default_factory=list)  # (recipient, reason)


def channel_of(recipient: str) -> str:
    return recipient.split(":")[1]


def ledger_key(channel: str, message_key: str, part: int) -> str:
    return hashlib.sha256(f"{channel}\n{message_key}\n{part}".encode("utf-8")).hexdigest()


def make_senders(settings: ChannelSettings, session: requests.Session | None = None,
                 environ: Mapping[str, str] | None = None, **options: Any) -> dict[str, Transport]:
    """One transport per configured channel, sharing one HTTP session."""
    session = session or requests.Session()
    return {name: TRANSPORTS[c.type](c, session, environ=environ, **options) for name, c in settings.channels.items()}


def _in_team(message: Message, team: str, directory: Any) -> bool:
    if directory is not None:
        lead = directory.get(team)
        names = {fold(team)} | ({fold(m.name) for m in subtree(directory, lead)} if lead else set())
        return fold(message.recipient.name) in names
    return fold(team) in (fold(message.recipient.name), fold(message.recipient.supervisor or ""))


def deliver_to_channels(messages: Sequence[Message], route_for_kind: Callable[[str], Sequence[Route]] | None,
                        settings: ChannelSettings, ledger: Ledger | None, senders: Mapping[str, Transport],
                        now: dt.datetime, *, language: str = "zh-CN", directory: Any = None) -> ChannelDelivery:
    """Send ``messages`` to every chat channel their kind is routed to; email routes are left to jobs.deliver."""
    routes_of = route_for_kind or settings.routes_for
    report = ChannelDelivery()
    if ledger is not None:
        for entry in ledger.unfinished():
            if not is_channel_recipient(entry.recipient):
                continue
            sender = senders.get(channel_of(entry.recipient))
            if sender is None:
                continue  # the channel is no longer configured: left pending, doctor shows it
            _send(sender, entry.raw, entry.key, entry.recipient, ledger, now, report)
            report.resent += 1
    by_kind: dict[str, list[Message]] = defaultdict(list)
    for message in messages:
        by_kind[message.kind].append(message)
    for kind, group in by_kind.items():
        for route in routes_of(kind):
            if route.channel == "email":
                continue
            channel = settings.channels[route.channel]
            sender = senders[route.channel]
            chosen = [m for m in group if route.team is None or _in_team(m, route.team, directory)]
            if channel.personal:
                for m in chosen:
                    userid = getattr(m.recipient, "wecom_userid", None)
                    recipient = f"{channel.type}:{channel.name}:{userid or m.recipient.name}"
                    if not userid:
                        log.info("%s: %s has no wecom_userid; not sent there", channel.name, m.recipient.name)
                        report.not_sent.append((recipient, "no wecom_userid in the staff table"))
                        continue
                    _deliver_one(sender, [m], m.key, recipient, userid, language, False, ledger, now, report)
            else:
                by_period: dict[str, list[Message]] = defaultdict(list)
                for m in chosen:
                    by_period[m.period].append(m)
                for period, ms in by_period.items():
                    key = hashlib.sha256(json.dumps([kind, period, sorted(m.key for m in ms)]).encode()).hexdigest()
                    recipient = f"{channel.type}:{channel.name}" + (f":{route.team}" if route.team else "")
                    _deliver_one(sender, ms, key, recipient, None, language,
                                 not route.show_phone, ledger, now, report)
    return report


def _deliver_one(sender: Transport, ms: Sequence[Message], message_key: str, recipient: str, userid: str | None,
                 language: str, mask: bool, ledger: Ledger | None, now: dt.datetime, report: ChannelDelivery) -> None:
    first = ms[0]
    name = sender.channel.name
    if ledger is not None:
        once = all(m.once_per_period for m in ms)
        if ledger.get(ledger_key(name, message_key, 1)) is not None or (
                once and ledger.slot_taken(first.kind, recipient, first.period)):
            report.skipped += 1
            return
    doc = render_chat(ms, language, mask=mask)
    payloads = sender.payloads(doc, language, recipient=userid) + sender.extra_payloads(doc, language)
    if isinstance(sender, wecom_bot.WeComBot):
        files = dict.fromkeys(a for m in ms for a in m.attachments)
        payloads += [sender.file_payload(path) for path in files]
    items = sorted({item for m in ms for item in m.items})
    parts = [(ledger_key(name, message_key, i), dumps(p)) for i, p in enumerate(payloads, 1)]
    if ledger is not None:
        for i, (key, raw) in enumerate(parts, 1):
            ledger.record_pending(key=key, kind=first.kind, recipient=recipient, period=first.period,
                                  subject=f"{doc.title} [{i}/{len(parts)}]", message_id=key[:32], raw=raw,
                                  items=items, now=now)
    for key, raw in parts:
        _send(sender, raw, key, recipient, ledger, now, report)


def _send(sender: Transport, raw: bytes, key: str, recipient: str, ledger: Ledger | None, now: dt.datetime,
          report: Delivery) -> None:
    outcome = sender.send(raw)
    if outcome.status == "sent":
        report.sent.append(recipient)
    else:
        log.log(logging.ERROR if outcome.status == "failed" else logging.WARNING, "%s to %s: %s",
                outcome.status, recipient, outcome.reason)
        (report.failed if outcome.status == "failed" else report.deferred).append((recipient, outcome.reason))
    if ledger is not None:
        ledger.mark(key, outcome.status, now, outcome.reason or None)


def check_channel(settings: ChannelSettings, environ: Mapping[str, str] | None = None) -> list[str]:
    """What doctor reports about the channels, without sending anything: URL shapes, readable secrets."""
    from ..errors import ConfigError  # noqa: PLC0415

    problems = []
    for name, channel in settings.channels.items():
        try:
            if channel.personal:
                if not channel.secret(environ):
                    problems.append(f"channels.{name}: no secret_env or secret_file")
                if not (channel.corp_id or "").startswith("ww"):
                    problems.append(f"channels.{name}.corp_id: a WeCom corp id starts with 'ww' (My Company page)")
                if not str(channel.agent_id or "").isdigit():
                    problems.append(f"channels.{name}.agent_id: the AgentId is a number (app page)")
                continue
            url = channel.webhook(environ)
            shape, example = URL_SHAPES[channel.type]
            if not shape.match(url):
                problems.append(f"channels.{name}: the webhook URL does not look like {example}")
            if channel.type == "wecom_bot" and (channel.secret_env or channel.secret_file):
                problems.append(f"channels.{name}: WeCom robots are not signed; remove the secret")
            channel.secret(environ)
        except ConfigError as exc:
            problems.append(str(exc))
    for kind, routes in settings.routes.items():
        for route in routes:
            channel = settings.channels.get(route.channel)
            if channel is not None and channel.personal and route.show_phone:
                problems.append(f"routes.{kind}: show_phone has no effect on {route.channel} (personal messages show phones)")
    return problems
