"""Workbook builders and check runners shared by the tests."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

import openpyxl

from scripts.check import CheckResult, run_check
from scripts.config import parse_config

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)  # a Friday morning

VISITOR_HEADERS = ["登记时间", "来访方式", "客户姓名", "联系电话", "客户不留电话", "信息来源", "意向车型", "意向级别",
                   "销售顾问", "是否建卡", "下次跟进日期", "最近跟进日期", "跟进状态", "备注"]
COMPLAINT_HEADERS = ["投诉编号", "受理时间", "投诉渠道", "客户姓名", "联系电话", "投诉内容", "投诉类别", "紧急程度",
                     "责任人", "协办部门", "工单时限", "处理状态", "首次回复时间", "解决时间", "处理结果", "回访时间",
                     "客户满意度"]
STAFF = [
    {"name": "李娜", "email": "lina@example.com", "role": "销售经理"},
    {"name": "张伟", "email": "zhangwei@example.com", "role": "销售顾问", "supervisor": "李娜"},
    {"name": "王芳", "email": "wangfang@example.com", "role": "销售顾问", "supervisor": "李娜"},
    {"name": "赵敏", "email": "zhaomin@example.com", "role": "客服专员", "supervisor": "李娜"},
]


def write_xlsx(path: Path, sheets: Mapping[str, Sequence[Sequence[Any]]], **options: Any) -> Path:
    """A workbook with one sheet per entry; rows are lists of cell values (None = empty)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(list(row))
    if options.get("epoch1904"):
        wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    wb.save(path)
    return path


def row(headers: Sequence[str], **values: Any) -> list[Any]:
    """A row in ``headers`` order from keyword values named by header."""
    return [values.get(h) for h in headers]


def visitor(**values: Any) -> list[Any]:
    return row(VISITOR_HEADERS, **values)


def complaint(**values: Any) -> list[Any]:
    return row(COMPLAINT_HEADERS, **values)


def check_files(tmp_path: Path, sheets: Mapping[str, Mapping[str, Sequence[Sequence[Any]]]], *,
                now: dt.datetime = NOW, staff: Iterable[Mapping[str, Any]] | None = STAFF,
                extra: Mapping[str, Any] | None = None, tables: Mapping[str, Mapping[str, str]] | None = None,
                ) -> CheckResult:
    """Write each workbook, build a config naming them, and run the check at ``now``."""
    sources = []
    for name, book in sheets.items():
        write_xlsx(tmp_path / name, book)
        source: dict[str, Any] = {"name": name, "path": name}
        if tables and name in tables:
            source["tables"] = dict(tables[name])
        sources.append(source)
    document: dict[str, Any] = {"sources": sources, **(extra or {})}
    if staff is not None:
        document["staff"] = [dict(s) for s in staff]
    config = parse_config(document, tmp_path / "huifang.yaml", tmp_path)
    return run_check(config, now)


def rules_at(result: CheckResult) -> list[tuple[str, str | None]]:
    """(rule, sheet!cell) of every finding, sorted: the shape most tests compare."""
    return sorted((f.rule, f.location) for f in result.findings)


def demo_two_books():
    """The demo configuration with its first two workbooks (展厅, 客服) only: the figures that tests
    computed by hand (briefs, weekly counts, golden emails) were worked out on those two. The third,
    store-kept workbook has its own test (tests/test_demo.py)."""
    from dataclasses import replace

    from scripts.config import load_config
    from scripts.demo import DEMO_CONFIG

    config = load_config(DEMO_CONFIG)
    return replace(config, sources=tuple(s for s in config.sources if s.name in ("展厅", "客服")))


def libreoffice_convert(source: Path, to: str, out: Path, timeout: int = 180) -> Path:
    """``source`` saved by LibreOffice as ``to`` (ods, xls, pdf...) into ``out``, with a profile of its own
    (tests run in parallel); the test is skipped where LibreOffice is not installed."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        import pytest  # noqa: PLC0415

        pytest.skip("LibreOffice is not installed")
    proc = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{out}/profile", "--convert-to", to,
                           "--outdir", str(out), str(source)], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return out / f"{source.stem}.{to.split(':')[0]}"
