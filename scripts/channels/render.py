"""Messages to chat text: the same facts the email templates use, as a platform-neutral document.

A ``ChatDoc`` is a title and a list of blocks; a block is one item (a finding, a person's line) and
is never split across two chat messages. Each transport turns a document into its own markup
(WeCom/DingTalk markdown, Feishu post). All words a reader sees are in ``WORDS``, one dict per
language, so a message catalogue can replace them later without touching the layout code.

Group chats are read by everyone in them: with ``mask=True`` customers' phones and any phone-shaped
number inside a text are masked (138****8000); personal channels pass ``mask=False``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..findings import mask_phone
from ..messages import Message
from ..render import one_line

WORDS: dict[str, dict[str, Any]] = {
    "zh-CN": {
        "title.reminder": "回访提醒 {date} 周{weekday}",
        "title.digest": "回访日报 {date} 周{weekday}",
        "title.escalation": "超时升级 {date} {time}",
        "title.escalation2": "二级升级 {date} {time}",
        "title.alert": "回访提醒故障：已 {hours} 个工作小时没有成功运行",
        "title.report": "投诉月报 {month}",
        "reminder.head": "{name}：{counts}",
        "reminder.overdue": "{n} 项已逾期", "reminder.due_soon": "{n} 项今日到期", "reminder.blanks": "{n} 处漏填/填错",
        "reminder.notes": "{n} 条提醒", "reminder.unassigned": "{n} 项没有填写负责人", "sep": "，", "list_sep": "、",
        "section.overdue": "【已逾期，请优先处理】", "section.due_soon": "【今日到期】",
        "section.blanks": "【漏填或无法识别的单元格】", "section.notes": "【其他提醒】",
        "section.unassigned": "【没有填写负责人的】",
        "reminder.call": "最好在 {call_window} 回电，避开客户休息时段 {quiet_hours}。",
        "item.overdue": "{n}. {customer} {phone} — {what}，已逾期 {late}",
        "item.due_soon": "{n}. {customer} {phone} — {what}",
        "item.blank": "- {source} {location}：{what}",
        "item.where": "位置：{source} {location}",
        "late.days": "{n} 天", "late.hours": "{n} 小时",
        "digest.head": "{name} 团队（{team}）",
        "digest.totals": "今日来店/来电 {visitors_today} 批，新投诉 {complaints_today} 件，回访 {callbacks_done}/{callbacks_due}",
        "digest.person": "- {name}：逾期 {overdue}，漏填 {blanks}，回访 {done}/{due}",
        "digest.near": "接近或超过 24 小时未答复的投诉：",
        "digest.near_item": "- {customer} {phone}（{assignee}）：{what} — {source} {location}",
        "digest.repeats": "重复投诉的客户：",
        "digest.repeat_item": "- {customer} {phone}（{assignee}）— {source} {location}",
        "digest.unknown": "表格中不在员工名单里的姓名：", "digest.unknown_item": "- {name}：{count} 处",
        "digest.unreadable": "无法读取的表格：", "digest.unreadable_item": "- {name}：{error}",
        "digest.failed_sends": "发送失败的消息：", "digest.failed_send_item": "- {kind} → {recipient}：{error}",
        "digest.failed_runs": "运行失败：", "digest.failed_run_item": "- {job} {started_at}：{detail}",
        "escalation.head": "{name}，以下事项已超过时限仍未完成：",
        "escalation.item": "{n}. {customer} {phone} — {what}；负责人：{assignee}；已超时 {late}{second}",
        "escalation.second": "；已超过一个工作日仍未处理",
        "nobody": "（未填写）",
        "alert.body": "回访提醒自 {since} 以来没有一次成功运行，提醒可能没有发出。请运行 `python run.py doctor` 查看原因。",
        "alert.failure": "- {at} {job}：{detail}",
        "report.head": "{month} 客户投诉情况及处理月报（{file_name}）",
        "report.row": "- {name}：{now}（{previous}：{before}）",
        "report.categories": "主要投诉类别：{list}", "report.category": "{name} {count} 件",
        "report.satisfaction": "客户满意度：{list}", "report.satisfaction_item": "{name} {count}",
        "part": "（{i}/{n}）",
        "footer.group": "—— 回访提醒（Huifang）自动发送。客户电话已隐去中间四位。",
        "footer.personal": "—— 回访提醒（Huifang）自动发送。",
        "mention.text": "请查看上面的{title}",
        "labels": {},
    },
    "en": {
        "title.reminder": "Callback reminders {date}",
        "title.digest": "Team digest {date}",
        "title.escalation": "Deadlines passed {date} {time}",
        "title.escalation2": "Second escalation {date} {time}",
        "title.alert": "Huifang has not run for {hours} working hours",
        "title.report": "Complaint report {month}",
        "reminder.head": "{name}: {counts}",
        "reminder.overdue": "{n} overdue", "reminder.due_soon": "{n} due today", "reminder.blanks": "{n} cells to fix",
        "reminder.notes": "{n} notes", "reminder.unassigned": "{n} rows that name nobody", "sep": ", ", "list_sep": ", ",
        "section.overdue": "OVERDUE", "section.due_soon": "DUE TODAY", "section.blanks": "CELLS TO FIX",
        "section.notes": "NOTES", "section.unassigned": "ROWS THAT NAME NOBODY",
        "reminder.call": "Best time to call: {call_window}; avoid the rest hours {quiet_hours}.",
        "item.overdue": "{n}. {customer} {phone} - {what}, {late} late",
        "item.due_soon": "{n}. {customer} {phone} - {what}",
        "item.blank": "- {source} {location}: {what}",
        "item.where": "Where: {source} {location}",
        "late.days": "{n} days", "late.hours": "{n} hours",
        "digest.head": "Team of {name} ({team})",
        "digest.totals": "Visitors today {visitors_today}, new complaints {complaints_today}, callbacks {callbacks_done} of {callbacks_due}",
        "digest.person": "- {name}: {overdue} overdue / {blanks} to fix / {done} of {due} callbacks",
        "digest.near": "Complaints near or past 24 hours without a reply:",
        "digest.near_item": "- {customer} {phone} ({assignee}): {what} - {source} {location}",
        "digest.repeats": "Repeat complainants:",
        "digest.repeat_item": "- {customer} {phone} ({assignee}) - {source} {location}",
        "digest.unknown": "Names not in the staff list:", "digest.unknown_item": "- {name}: {count}",
        "digest.unreadable": "Sources that could not be read:", "digest.unreadable_item": "- {name}: {error}",
        "digest.failed_sends": "Messages that could not be delivered:", "digest.failed_send_item": "- {kind} to {recipient}: {error}",
        "digest.failed_runs": "Failed runs:", "digest.failed_run_item": "- {job} {started_at}: {detail}",
        "escalation.head": "{name}, these deadlines have passed and the work is still open:",
        "escalation.item": "{n}. {customer} {phone} - {what}; owner: {assignee}; {late} late{second}",
        "escalation.second": "; still open a working day later",
        "nobody": "(none)",
        "alert.body": "No run has succeeded since {since}; reminders may not have gone out. Run `python run.py doctor`.",
        "alert.failure": "- {at} {job}: {detail}",
        "report.head": "Complaint report for {month} ({file_name})",
        "report.row": "- {en}: {now} ({previous}: {before})",
        "report.categories": "Main categories: {list}", "report.category": "{name} {count}",
        "report.satisfaction": "Satisfaction: {list}", "report.satisfaction_item": "{name} {count}",
        "part": " ({i}/{n})",
        "footer.group": "-- Sent by Huifang. Customers' phone numbers are masked.",
        "footer.personal": "-- Sent by Huifang.",
        "mention.text": "Please see the {title} above",
        "labels": {
            "followup": "follow-up call", "complaint_reply": "first reply to complaint", "dept_order": "department work order",
            "complaint_callback": "callback after complaint", "thank_you_call": "thank-you call after delivery",
            "delivery_callback": "callback after delivery", "callback": "next callback",
            "missing_required": "required cell is empty", "invalid_value": "value cannot be read",
            "missing_column": "required column is missing", "card_not_created": "phone given but no customer card",
            "test_drive_without_license": "test drive without a driving licence",
            "callback_in_quiet_hours": "callback in the customer's rest hours",
            "repeat_complainant": "customer complained before within 30 days", "unknown_staff": "name not in the staff list",
        },
        "overdue_since": "{label} overdue since {due}", "due_at": "{label} due {due}",
    },
}
LANGUAGES = tuple(WORDS)

_MOBILE = re.compile(r"(?<![\d*])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?![\d*])")
_LANDLINE = re.compile(r"(?<![\d*])0\d{2,3}-\d{7,8}(?![\d*])")
_LONG_NUMBER = re.compile(r"(?<![\d*])\d{7,}(?![\d*])")
_URL = re.compile(r"(https?://\S+)")


@dataclass(frozen=True)
class Person:
    """Someone a chat message @-mentions; the ids come from the staff table when it has them."""

    name: str
    mobile: str | None = None
    userid: str | None = None  # WeCom userid (wecom_userid)
    feishu_id: str | None = None  # Feishu open_id / user_id, if the staff table ever carries one


@dataclass(frozen=True)
class Block:
    lines: tuple[str, ...]
    mention: tuple[Person, ...] = ()
    heading: bool = False  # the first line is a heading (a person's or a section's)


@dataclass(frozen=True)
class ChatDoc:
    title: str
    blocks: tuple[Block, ...]
    footer: str

    @property
    def mentions(self) -> tuple[Person, ...]:
        seen: dict[str, Person] = {}
        for block in self.blocks:
            for p in block.mention:
                seen.setdefault(p.name, p)
        return tuple(seen.values())


def person_of(member: Any) -> Person:
    return Person(member.name, getattr(member, "mobile", None) or None, getattr(member, "wecom_userid", None) or None,
                  getattr(member, "feishu_id", None) or None)


def _mask_digits(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 11:
        return mask_phone(digits[-11:]) or ""
    return "*" * (len(digits) - 2) + digits[-2:]


def mask_text(text: str) -> str:
    """Phone-shaped numbers in free text masked; URLs (sheet links with long ids) left as they are."""
    parts = _URL.split(text)
    for i in range(0, len(parts), 2):  # even parts are outside URLs
        s = _MOBILE.sub(lambda m: _mask_digits(m.group()), parts[i])
        s = _LANDLINE.sub(lambda m: m.group().split("-")[0] + "-****" + m.group()[-4:], s)
        parts[i] = _LONG_NUMBER.sub(lambda m: _mask_digits(m.group()), s)
    return "".join(parts)


def clean(value: Any, limit: int = 80) -> str:
    """One line, clipped, without the angle brackets chat markup uses (<@all>, <font>, <at>)."""
    text = one_line(str(value if value is not None else ""), 10_000).replace("<", "‹").replace(">", "›")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Writer:
    def __init__(self, language: str):
        if language not in WORDS:
            language = "zh-CN" if language.startswith("zh") else "en"
        self.language = language
        self.w = WORDS[language]

    def __call__(self, key: str, **values: Any) -> str:
        return self.w[key].format(**values)

    def what(self, i: Mapping[str, Any]) -> str:
        labels = self.w["labels"]
        if not labels:
            return clean(i.get("message"), 80)
        rule, base = i.get("rule", ""), i.get("base_rule", "")
        if rule.endswith("_overdue"):
            return self("overdue_since", label=labels.get(base, base), due=i.get("due"))
        if rule.endswith("_due_soon"):
            return self("due_at", label=labels.get(base, base), due=i.get("due"))
        label = labels.get(rule, rule)
        return f"{label} ({clean(i['header'], 20)})" if i.get("header") else label

    def late(self, i: Mapping[str, Any]) -> str:
        return self("late.days" if i.get("late_unit") == "days" else "late.hours", n=i.get("late"))

    def item(self, key: str, n: int, i: Mapping[str, Any], **extra: Any) -> str:
        return self(key, n=n, customer=clean(i.get("customer"), 20), phone=i.get("phone") or "", what=self.what(i),
                    source=clean(i.get("source"), 40), location=clean(i.get("location"), 40),
                    assignee=clean(i.get("assignee") or self.w["nobody"], 20), **extra).replace("  ", " ")

    def where(self, i: Mapping[str, Any]) -> str:
        line = self("item.where", source=clean(i.get("source"), 40), location=clean(i.get("location"), 40))
        return f"{line} {i['url']}" if i.get("url") else line


def _reminder(w: _Writer, m: Message) -> list[Block]:
    c = m.context
    counts = [w(f"reminder.{k}", n=len(c[k])) for k in ("overdue", "due_soon", "blanks", "unassigned") if c.get(k)]
    counts = counts or [w("reminder.notes", n=len(c.get("notes", ())))]
    blocks = [Block((w("reminder.head", name=clean(c["name"], 20), counts=w.w["sep"].join(counts)),),
                    (person_of(m.recipient),), heading=True)]
    for section in ("overdue", "due_soon", "blanks", "unassigned", "notes"):
        for n, i in enumerate(c.get(section, ()), 1):
            head = (w(f"section.{section}"),) if n == 1 else ()
            if section == "overdue":
                lines = (w.item("item.overdue", n, i, late=w.late(i)), "   " + w.where(i))
            elif section == "due_soon":
                lines = (w.item("item.due_soon", n, i), "   " + w.where(i))
            else:
                lines = (w.item("item.blank", n, i),)
            blocks.append(Block(head + lines))
    return blocks


def _digest(w: _Writer, m: Message) -> list[Block]:
    c = m.context
    sep = w.w["list_sep"]
    blocks = [Block((w("digest.head", name=clean(c["name"], 20), team=sep.join(clean(n, 20) for n in c["team"])),
                     w("digest.totals", **{k: c[k] for k in ("visitors_today", "complaints_today", "callbacks_done",
                                                            "callbacks_due")})),
                    (person_of(m.recipient),), heading=True)]
    blocks += [Block((w("digest.person", **{**p, "name": clean(p["name"], 20)}),)) for p in c.get("people", ())]
    sections = [
        ("complaints_near", "digest.near", lambda i: w.item("digest.near_item", 0, i)),
        ("repeats", "digest.repeats", lambda i: w.item("digest.repeat_item", 0, i)),
        ("unknown_staff", "digest.unknown", lambda u: w("digest.unknown_item", name=clean(u["name"], 20), count=u["count"])),
        ("unreadable", "digest.unreadable", lambda s: w("digest.unreadable_item", name=clean(s["name"], 40),
                                                        error=clean(s["error"], 160))),
        ("failed_sends", "digest.failed_sends", lambda f: w("digest.failed_send_item", kind=f["kind"],
                                                            recipient=clean(f["recipient"], 60), error=clean(f["error"], 120))),
        ("failed_runs", "digest.failed_runs", lambda r: w("digest.failed_run_item", job=r["job"], started_at=r["started_at"],
                                                          detail=clean(r["detail"], 120))),
    ]
    for key, head, line in sections:
        entries = list(c.get(key, ()))
        for n, entry in enumerate(entries):
            blocks.append(Block(((w.w[head],) if n == 0 else ()) + (line(entry),)))
    return blocks


def _escalation(w: _Writer, m: Message) -> list[Block]:
    c = m.context
    blocks = [Block((w("escalation.head", name=clean(c["name"], 20)),), (person_of(m.recipient),), heading=True)]
    for n, i in enumerate(c.get("breaches", ()), 1):
        second = w.w["escalation.second"] if i.get("level") == 2 else ""
        blocks.append(Block((w.item("escalation.item", n, i, late=w.late(i), second=second), "   " + w.where(i))))
    return blocks


def _alert(w: _Writer, m: Message) -> list[Block]:
    c = m.context
    return [Block((w("alert.body", since=c["since"]),)),
            *(Block((w("alert.failure", at=f["at"], job=f["job"], detail=clean(f["detail"], 160)),))
              for f in c.get("failures", ()))]


def _report(w: _Writer, m: Message) -> list[Block]:
    c = m.context
    sep = w.w["list_sep"]
    blocks = [Block((w("report.head", month=c["month"], file_name=clean(c["file_name"], 80)),), heading=True)]
    blocks += [Block((w("report.row", previous=c["previous"], **r),)) for r in c.get("rows", ())]
    if c.get("categories"):
        items = sep.join(w("report.category", name=clean(x["name"], 20), count=x["count"]) for x in c["categories"])
        blocks.append(Block((w("report.categories", list=items),)))
    if c.get("satisfaction"):
        items = sep.join(w("report.satisfaction_item", **s) for s in c["satisfaction"])
        blocks.append(Block((w("report.satisfaction", list=items),)))
    return blocks


def _generic(w: _Writer, m: Message) -> list[Block]:
    """A kind this module does not know yet: its scalar facts, then one block per list entry."""
    blocks = [Block((clean(m.context.get("name", m.recipient.name), 20),), (person_of(m.recipient),), heading=True)]
    for key, value in m.context.items():
        if isinstance(value, (str, int, float)) and key != "name":
            blocks.append(Block((f"{key}: {clean(value, 160)}",)))
        elif isinstance(value, (list, tuple)):
            for entry in value:
                text = ", ".join(f"{clean(v, 60)}" for v in entry.values()) if isinstance(entry, Mapping) else clean(entry, 160)
                blocks.append(Block((f"- {text}",)))
    return blocks


_BODIES = {"reminder": _reminder, "digest": _digest, "escalation": _escalation, "alert": _alert, "report": _report}
_SHARED = ("alert", "report")  # the same facts for every recipient: a group sees them once


def render_chat(messages: Sequence[Message], language: str, *, mask: bool) -> ChatDoc:
    """One chat document for messages of one kind (a group's morning list combines every person)."""
    if not messages:
        raise ValueError("render_chat needs at least one message")
    w = _Writer(language)
    first = messages[0]
    kind, c = first.kind, first.context
    if kind == "escalation" and any(m.context.get("second_level") for m in messages):
        title_key = "title.escalation2"
    else:
        title_key = f"title.{kind}"
    title = w(title_key, **c) if title_key in w.w else clean(kind, 40)
    body = _BODIES.get(kind, _generic)
    blocks: list[Block] = []
    if kind == "reminder":
        blocks.append(Block((w("reminder.call", call_window=c["call_window"], quiet_hours=c["quiet_hours"]),)))
    if kind in _SHARED:
        blocks += body(w, first)
        blocks[0] = Block(blocks[0].lines, tuple(person_of(m.recipient) for m in messages), blocks[0].heading)
    else:
        for m in messages:
            blocks += body(w, m)
    if mask:
        blocks = [Block(tuple(mask_text(line) for line in b.lines), b.mention, b.heading) for b in blocks]
    footer = w.w["footer.group" if mask else "footer.personal"]
    if language in ("zh-TW", "zh-HK"):  # the words are kept in Simplified; Traditional readers get them converted
        from ..i18n import script_converter  # noqa: PLC0415

        to_script = script_converter(language)
        title, footer = to_script(title), to_script(footer)
        blocks = [Block(tuple(to_script(line) for line in b.lines), b.mention, b.heading) for b in blocks]
    return ChatDoc(title, tuple(blocks), footer)


def part_suffix(language: str, i: int, n: int) -> str:
    return _Writer(language)("part", i=i, n=n)


def mention_text(language: str, title: str) -> str:
    return _Writer(language)("mention.text", title=title)
