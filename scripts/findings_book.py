"""The findings as a workbook (问题清单.xlsx): one sheet per person, a summary, links to the exact cells.

Written for people who work through a list and forward it: every value from a staff member's sheet
is written as text (a customer called "=HYPERLINK(...)" stays a name), phones are masked unless the
reader is the sheet's own assignee, and the file is replaced atomically.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote

from .check import CheckResult
from .findings import Finding, mask_phone
from .textnorm import fold

NO_ASSIGNEE = "未指定负责人"
SUMMARY = "汇总"
HEADERS = ("规则", "数据源", "位置", "客户", "电话", "说明", "期限", "逾期", "打开")
WIDTHS = (22, 10, 16, 12, 14, 48, 17, 10, 10)
RULE_LABELS = {
    "followup": "跟进回访",
    "complaint_reply": "投诉首次答复",
    "dept_order": "协办工单",
    "complaint_callback": "投诉处理后回访",
    "thank_you_call": "交车 1 小时感谢电话",
    "delivery_callback": "交车三日回访",
    "callback": "预约回访",
    "maintenance_reminder": "首保提醒",
    "assignment_contact": "分配客户一周内联系",
    "missing_required": "必填项漏填",
    "invalid_value": "无法识别的值",
    "missing_column": "缺少必填列",
    "card_not_created": "留了电话未建卡",
    "test_drive_without_license": "无驾照试驾",
    "duplicate_id": "编号重复",
    "unknown_staff": "姓名不在员工名单",
    "repeat_complainant": "30 天内重复投诉",
    "callback_in_quiet_hours": "休息时段回访",
    "unclear_done_mark": "完成标记看不懂",
}
_SHEET_BAD = re.compile(r"[\[\]:*?/\\']")


def rule_words(rule: str) -> str:
    """A rule id in words: ``followup_overdue`` -> 跟进回访（已逾期）."""
    for suffix, words in (("_overdue", "已逾期"), ("_due_soon", "即将到期")):
        if rule.endswith(suffix):
            base = rule.removesuffix(suffix)
            return f"{RULE_LABELS.get(base, base)}（{words}）"
    return RULE_LABELS.get(rule, rule)


def how_late(due: dt.datetime | None, now: dt.datetime) -> str:
    """``3 天`` or ``5 小时`` past the deadline; empty when not late."""
    if due is None or now <= due:
        return ""
    late = now - due
    if late >= dt.timedelta(days=1):
        return f"{late.days} 天"
    return f"{max(1, int(late.total_seconds() // 3600))} 小时"


def cell_link(f: Finding, paths: Mapping[str, str], base: Path | None = None) -> str | None:
    """A link that opens the finding's cell: the Google Sheets deep link, else ``file#'Sheet'!G7``.

    With ``base`` (the folder of the workbook being written) a file link is relative to it, which
    survives moving both together; without it the link is an absolute ``file:///`` URI.
    """
    if f.url:
        return f.url
    path = paths.get(f.source)
    if not path or path.startswith(("http://", "https://")):
        return None
    target = Path(path)
    if base is not None:
        try:
            href = Path(os.path.relpath(target, base)).as_posix()
        except ValueError:  # another drive on Windows
            href = target.resolve().as_uri()
        else:
            href = quote(href, safe="/._-~")
    else:
        href = target.resolve().as_uri()
    if f.sheet is None:
        return href
    cell = f.cell or (f"A{f.row}" if f.row else "A1")
    return f"{href}#'{f.sheet.replace(chr(39), chr(39) * 2)}'!{cell}"


def sheet_title(name: str, taken: Iterable[str]) -> str:
    """A worksheet title Excel accepts (31 characters, no []:*?/\\'), unique among ``taken``."""
    title = _SHEET_BAD.sub("_", name).strip() or "_"
    title = title[:31]
    used = {t.casefold() for t in taken}
    n = 2
    candidate = title
    while candidate.casefold() in used:
        candidate = f"{title[:28]}({n})"
        n += 1
    return candidate


def put_text(ws: Any, row: int, col: int, value: Any, fmt: str | None = None) -> Any:
    """Write one cell; strings always as text (never a formula), datetimes without their zone."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # noqa: PLC0415

    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=None)
        fmt = fmt or "yyyy-mm-dd hh:mm"
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if fmt:
        cell.number_format = fmt
    return cell


def save_atomic(wb: Any, path: Path, *, follow_umask: bool = False) -> Path:
    """Save ``wb`` under a temporary name in the same folder, then rename it over ``path``.

    The temporary file is private (0600); ``follow_umask`` gives it the mode any new file would get
    before the rename (the monthly report, which colleagues sharing the folder must open)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".~" + path.stem, suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        wb.save(tmp)
        if follow_umask:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def header_row(ws: Any, headers: Sequence[str], widths: Sequence[int] = ()) -> None:
    from openpyxl.styles import Font, PatternFill  # noqa: PLC0415
    from openpyxl.utils import get_column_letter  # noqa: PLC0415

    for c, text in enumerate(headers, start=1):
        cell = put_text(ws, 1, c, text)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        if c - 1 < len(widths):
            ws.column_dimensions[get_column_letter(c)].width = widths[c - 1]
    ws.freeze_panes = "A2"


def _hyperlink(cell: Any, link: str) -> None:
    """Link a cell; a file link's ``#'Sheet'!G7`` goes in the location attribute, as Excel writes it."""
    from openpyxl.styles import Font  # noqa: PLC0415
    from openpyxl.worksheet.hyperlink import Hyperlink  # noqa: PLC0415

    target, location = link, None
    if not link.startswith(("http://", "https://")) and "#" in link:
        target, location = link.split("#", 1)
    cell.hyperlink = Hyperlink(ref=cell.coordinate, target=target or None, location=location)
    cell.font = Font(color="1D4ED8", underline="single")


def _group(result: CheckResult, findings: Sequence[Finding]) -> dict[str, tuple[str, list[Finding]]]:
    """folded assignee ('' for nobody) -> (name as the staff list spells it, findings)."""
    groups: dict[str, tuple[str, list[Finding]]] = {}
    for f in findings:
        key = fold(f.assignee) if f.assignee else ""
        if key not in groups:
            member = result.staff.get(f.assignee) if f.assignee else None
            groups[key] = (member.name if member else (f.assignee or "").strip() or NO_ASSIGNEE, [])
        groups[key][1].append(f)
    return groups


def write_findings_workbook(result: CheckResult, path: Path, now: dt.datetime, *, reader: str | None = None,
                            findings: Sequence[Finding] | None = None, relative_links: bool = False) -> Path:
    """Write the findings (default: all of ``result``) as a workbook at ``path`` and return it.

    One sheet per assignee (``未指定负责人`` for findings that name nobody), most late first, and a
    summary sheet counting findings per person and rule with a link to each sheet. A phone is shown
    in full only on the sheet of ``reader`` (the person the workbook is for); elsewhere it is masked.
    """
    import openpyxl  # noqa: PLC0415
    from openpyxl.styles import Font  # noqa: PLC0415
    from openpyxl.utils import get_column_letter  # noqa: PLC0415

    findings = list(result.findings if findings is None else findings)
    tz = now.tzinfo
    paths = {s.name: s.path for s in result.sources}
    base = path.resolve().parent if relative_links else None
    groups = _group(result, findings)
    order = sorted(groups, key=lambda k: (k == "", groups[k][0]))
    reader_key = fold(reader) if reader else None
    wb = openpyxl.Workbook()
    summary = wb.active
    summary.title = SUMMARY
    titles: dict[str, str] = {}
    far = dt.datetime.max.replace(tzinfo=tz)
    for key in order:
        name, items = groups[key]
        title = titles[key] = sheet_title(name, [SUMMARY, *titles.values()])
        ws = wb.create_sheet(title)
        header_row(ws, HEADERS, WIDTHS)
        show_phone = reader_key is not None and key == reader_key
        items = sorted(items, key=lambda f: (f.due.astimezone(tz) if f.due else far, f.source, f.sheet or "", f.row or 0))
        for r, f in enumerate(items, start=2):
            due = f.due.astimezone(tz) if f.due else None
            values = (rule_words(f.rule), f.source, f.location, (f.customer or "").strip(),
                      (f.phone if show_phone else mask_phone(f.phone)) or "", f.message, due, how_late(due, now))
            for c, value in enumerate(values, start=1):
                day_deadline = isinstance(value, dt.datetime) and value.time() == dt.time(23, 59, 59)
                put_text(ws, r, c, value, "yyyy-mm-dd" if day_deadline else None)
            link = cell_link(f, paths, base)
            if link:
                cell = put_text(ws, r, len(HEADERS), "打开")
                _hyperlink(cell, link)
        ws.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS))}{max(1, len(items) + 1)}"
    rules = sorted({f.rule for f in findings}, key=lambda r: (not r.endswith("_overdue"), r))
    header_row(summary, ["负责人", "合计", *(rule_words(r) for r in rules)], [14, 8, *([14] * len(rules))])
    for r, key in enumerate(order, start=2):
        name, items = groups[key]
        counts = Counter(f.rule for f in items)
        _hyperlink(put_text(summary, r, 1, name), f"#'{titles[key]}'!A1")
        summary.cell(r, 2, len(items))
        for c, rule in enumerate(rules, start=3):
            if counts.get(rule):
                summary.cell(r, c, counts[rule])
    total_row = len(order) + 2
    put_text(summary, total_row, 1, "合计").font = Font(bold=True)
    summary.cell(total_row, 2, len(findings)).font = Font(bold=True)
    per_rule = Counter(f.rule for f in findings)
    for c, rule in enumerate(rules, start=3):
        summary.cell(total_row, c, per_rule[rule]).font = Font(bold=True)
    summary.auto_filter.ref = f"A1:{get_column_letter(2 + len(rules))}{max(1, len(order) + 1)}"
    put_text(summary, total_row + 2, 1, f"生成时间 {now:%Y-%m-%d %H:%M}；客户电话" + ("仅在本人的表中显示完整号码" if reader else "已隐去中间四位"))
    return save_atomic(wb, path)


def findings_by_supervisor(result: CheckResult) -> dict[str, list[Finding]]:
    """folded supervisor name -> the findings of everyone under them (for the digest attachment)."""
    from .messages import subtree  # noqa: PLC0415

    out: dict[str, list[Finding]] = defaultdict(list)
    for boss in result.staff.members:
        if not result.staff.team_of(boss):
            continue
        keys = {fold(m.name) for m in subtree(result.staff, boss)}
        out[fold(boss.name)] = [f for f in result.findings if f.assignee and fold(f.assignee) in keys]
    return out
