"""The check result for people (text) and for programs (JSON)."""

from __future__ import annotations

import json
from itertools import groupby
from typing import Any

from .check import CheckResult
from .findings import ERROR, INFO, WARNING

_MARK = {ERROR: "错误", WARNING: "警告", INFO: "提示"}


def as_json(result: CheckResult) -> dict[str, Any]:
    return {
        "now": result.now.isoformat(),
        "sources": [
            {
                "name": s.name,
                "path": s.path,
                "error": s.error,
                "sheets": [{"title": sh.title, "table": sh.table, "rows": sh.rows} for sh in s.sheets],
            }
            for s in result.sources
        ],
        "findings": [f.to_json() for f in result.findings],
        "notices": list(result.notices),
    }


def render_json(result: CheckResult) -> str:
    return json.dumps(as_json(result), ensure_ascii=False, indent=2)


def render_text(result: CheckResult, verbose: bool = False) -> str:
    lines: list[str] = [f"检查时间 {result.now:%Y-%m-%d %H:%M %Z}"]
    by_source = {s: list(fs) for s, fs in groupby(result.findings, key=lambda f: f.source)}
    for source in result.sources:
        lines.append("")
        lines.append(f"== {source.name} ({source.path})")
        if source.error:
            lines.append(f"  无法读取：{source.error}")
        for sheet in source.sheets:
            if sheet.table is None:
                if verbose:
                    lines.append(f"  [{sheet.title}] 未识别为任何登记表，已跳过")
                continue
            lines.append(f"  [{sheet.title}] {sheet.table}，{sheet.rows} 行")
        findings = by_source.get(source.name, [])
        for sheet_title, group in groupby(findings, key=lambda f: f.sheet):
            lines.append(f"  -- {sheet_title}")
            for f in group:
                who = f"  → {f.assignee}" if f.assignee else ""
                lines.append(f"    {f.location:<16} {_MARK[f.severity]} {f.rule}: {f.message}{who}")
    for note in result.notices:
        lines.append(f"注意：{note}")
    counts = {sev: sum(1 for f in result.findings if f.severity == sev) for sev in (ERROR, WARNING, INFO)}
    failed = sum(1 for s in result.sources if s.error)
    lines.append("")
    lines.append(
        f"共 {counts[ERROR]} 个错误，{counts[WARNING]} 个警告，{counts[INFO]} 个提示"
        + (f"；{failed} 个数据源无法读取" if failed else "")
    )
    return "\n".join(lines) + "\n"
