"""`run.py init`: from workbooks to a config that `check` uses with no hand edits."""

from __future__ import annotations

import os
from pathlib import Path

import openpyxl
import pytest
import yaml

from scripts.check import run_check
from scripts.cli import main
from scripts.config import load_config, parse_config
from scripts.errors import ConfigError
from scripts.init import plan_books, run_init
from scripts.schema import load_schemas
from tests.helpers import NOW, libreoffice_convert, rules_at, write_xlsx
from tests.store_books import STORE_BOOKS

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = load_schemas()


def init(paths, out, **kw):
    lines: list[str] = []
    code = run_init(paths, out, echo=lines.append, **kw)
    return code, "\n".join(lines)


def test_init_on_the_demo_workbooks_checks_exactly_like_the_demo_config(tmp_path):
    out = tmp_path / "huifang.yaml"
    code, text = init([ROOT / "demo/展厅.xlsx", ROOT / "demo/客服.xlsx", ROOT / "demo/二店登记.xlsx"], out)
    assert code == 0, text
    written = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert [s["tables"] for s in written["sources"]] == [
        {"来店登记": "visitor_log", "试乘试驾": "test_drive_log", "交车登记": "delivery_log", "员工名单": "staff"},
        {"投诉登记": "complaint_log", "回访记录": "callback_log"},
        {"11月來店": "visitor_log", "交車登記": "delivery_log", "投訴登記": "complaint_log"}]
    assert "staff" not in written
    config = load_config(out)
    assert config.outbox == tmp_path / "outbox" and config.state == tmp_path / "state.sqlite3"
    assert rules_at(run_check(config, NOW)) == rules_at(run_check(load_config(ROOT / "demo/huifang.yaml"), NOW))
    assert "[月度汇总] 不是登记表，未列入" in text and "[下拉选项] 不是登记表，未列入" in text


@pytest.mark.parametrize("make, tables, columns, findings", STORE_BOOKS, ids=lambda v: getattr(v, "__name__", ""))
def test_init_recognises_each_store_sheet_and_column(tmp_path, make, tables, columns, findings):
    book = make(tmp_path)
    [plan] = plan_books([book], SCHEMAS)
    mapped = {s.title: s.guess.schema.name for s in plan.sheets if s.recognised}
    assert mapped == tables
    log = next(s.guess for s in plan.sheets if s.recognised and s.guess.schema.name != "staff")
    assert {log.headers[letter]: target for letter, target in log.columns.items()} == columns
    assert log.missing == []

    out = tmp_path / "huifang.yaml"
    code, text = init([book], out)
    assert code == 0, text
    source = yaml.safe_load(out.read_text(encoding="utf-8"))["sources"][0]
    assert source["tables"] == tables
    # Every header the table's own words do not name is written out, for the user to see and correct.
    for header, target in columns.items():
        exact = SCHEMAS[log.schema.name].match_header(header)
        if exact != target:
            assert source["columns"][header] == target
    assert set(source.get("columns", {})) <= set(columns)


@pytest.mark.parametrize("make, tables, columns, findings", STORE_BOOKS, ids=lambda v: getattr(v, "__name__", ""))
def test_the_mapping_init_found_gives_the_expected_findings(tmp_path, make, tables, columns, findings):
    """Today's reader with the mapping applied by hand to the sheet (headers renamed, date and time joined)."""
    out = tmp_path / "huifang.yaml"
    init([make(tmp_path)], out)
    document = yaml.safe_load(out.read_text(encoding="utf-8"))
    source = document["sources"][0]
    _apply(tmp_path / source["path"], source.pop("columns", {}), tables)
    config = parse_config(document, out, tmp_path)
    assert rules_at(run_check(config, NOW)) == sorted(findings)


@pytest.mark.parametrize("make, tables, columns, findings", STORE_BOOKS, ids=lambda v: getattr(v, "__name__", ""))
def test_check_with_the_config_init_wrote_gives_the_expected_findings(tmp_path, make, tables, columns, findings):
    out = tmp_path / "huifang.yaml"
    init([make(tmp_path)], out)
    assert rules_at(run_check(load_config(out), NOW)) == sorted(findings)


def _apply(path: Path, columns: dict[str, str], tables: dict[str, str]) -> None:
    """Rename each mapped header to its field's own header; a date+time pair becomes one value in the date cell."""
    wb = openpyxl.load_workbook(path)
    for title, table in tables.items():
        ws = wb[title]
        schema = SCHEMAS[table]
        for row in ws.iter_rows(max_row=10):
            if not any(isinstance(c.value, str) and c.value in columns for c in row):
                continue
            by_target = {columns[c.value]: c for c in row if isinstance(c.value, str) and c.value in columns}
            for target, cell in by_target.items():
                name, _, part = target.partition(".")
                cell.value = schema.field(name).header if part != "time" else "（时刻，已并入日期）"
                if part == "date":
                    time_col = by_target[f"{name}.time"].column
                    for r in range(cell.row + 1, ws.max_row + 1):
                        day, clock = ws.cell(r, cell.column).value, ws.cell(r, time_col).value
                        if day is not None and clock:
                            ws.cell(r, cell.column).value = f"{day:%Y-%m-%d} {clock}"
    wb.save(path)


def test_without_a_staff_sheet_the_names_in_the_logs_become_a_staff_stub(tmp_path):
    out = tmp_path / "huifang.yaml"
    code, text = init([STORE_BOOKS[0][0](tmp_path), STORE_BOOKS[2][0](tmp_path)], out)
    document = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert [s["name"] for s in document["staff"]] == ["张伟", "王芳", "赵敏", "孙磊"]
    assert all(s["email"].endswith("@example.invalid") for s in document["staff"])
    assert out.read_text(encoding="utf-8").count("# TODO") == 4
    assert code == 0 and "[统计] 不是登记表，未列入" in text and "[说明] 不是登记表，未列入" in text


def test_with_a_staff_sheet_the_names_it_lacks_are_named_not_added(tmp_path):
    out = tmp_path / "huifang.yaml"
    code, text = init([make(tmp_path) for make, *_ in STORE_BOOKS], out)
    document = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert "staff" not in document  # 张伟 and 刘洋 are in 交车.xlsx's 员工 sheet
    assert "不在员工名单中（检查时会报告为未知员工）：王芳, 赵敏, 孙磊" in text


def test_a_missing_required_field_is_reported_with_the_three_closest_headers(tmp_path):
    book = write_xlsx(tmp_path / "来店.xlsx", {"登记": [
        ["来店日期", "来店时间", "客户", "电话", "来源", "顾问", "车型"],
        ["2026-11-26", "10:00", "陈先生", 13812345678, "网络", "张伟", "帕萨特"]]})
    code, text = init([book], tmp_path / "huifang.yaml")
    assert code == 1
    assert "必填字段 channel 未找到；最接近的表头：" in text
    closest = text.split("必填字段 channel 未找到；最接近的表头：")[1].splitlines()[0].split(", ")
    assert len(closest) == 3


def test_init_speaks_english_when_asked(tmp_path):
    book = STORE_BOOKS[0][0](tmp_path)
    code, text = init([book], tmp_path / "huifang.yaml", language="en")
    assert "[来店客户] → visitor_log (header row 2)" in text
    assert "B 进店日期 → visit_at.date (date + time pair)" in text and "[统计] not a log, left out" in text
    assert "language: en" in (tmp_path / "huifang.yaml").read_text(encoding="utf-8")


def test_init_never_overwrites_a_config_without_force(tmp_path, capsys):
    out = tmp_path / "huifang.yaml"
    out.write_text("sources: []\n", encoding="utf-8")
    book = str(STORE_BOOKS[1][0](tmp_path))
    assert main(["init", book, "--out", str(out)]) == 2
    assert "已存在" in capsys.readouterr().err and out.read_text(encoding="utf-8") == "sources: []\n"
    assert main(["init", book, "--out", str(out), "--force"]) == 0
    assert "交车登记: delivery_log" in out.read_text(encoding="utf-8")
    with pytest.raises(ConfigError):
        run_init([Path(book)], out, echo=lambda s: None)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_the_written_config_is_readable_by_its_owner_only(tmp_path):
    out = tmp_path / "huifang.yaml"
    init([STORE_BOOKS[1][0](tmp_path)], out)
    assert out.stat().st_mode & 0o077 == 0


def test_odd_sheet_titles_and_headers_are_quoted_so_the_yaml_still_loads(tmp_path):
    book = write_xlsx(tmp_path / "a: b #1.xlsx", {"yes": [
        ["顾客 #", "电话: 手机", "来源", "接待人", "来店时间", "方式"],
        ["陈先生", 13812345678, "网络", "张伟", "2026-11-26 10:00", "来店"]]})
    out = tmp_path / "huifang.yaml"
    init([book], out)
    document = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert document["sources"][0]["path"] == "a: b #1.xlsx"
    assert document["sources"][0]["tables"] == {"yes": "visitor_log"}
    assert document["sources"][0]["columns"]["顾客 #"] == "customer_name"


@pytest.mark.skipif(not __import__("shutil").which("soffice"), reason="LibreOffice not installed")
def test_init_reads_a_libreoffice_saved_copy_the_same_way(tmp_path):
    make, tables, columns, _findings = STORE_BOOKS[0]
    book = make(tmp_path)
    (tmp_path / "ods").mkdir()
    [plan] = plan_books([libreoffice_convert(book, "ods", tmp_path / "ods")], SCHEMAS)
    log = next(s.guess for s in plan.sheets if s.recognised)
    assert {s.title: s.guess.schema.name for s in plan.sheets if s.recognised} == tables
    assert {log.headers[letter]: target for letter, target in log.columns.items()} == columns


def test_an_unreadable_workbook_is_named_and_the_config_still_loads(tmp_path):
    bad = tmp_path / "坏.xlsx"
    bad.write_bytes(b"PK\x03\x04broken")
    good = STORE_BOOKS[1][0](tmp_path)
    out = tmp_path / "huifang.yaml"
    code, text = init([bad, good], out)
    assert code == 1
    assert "== 坏.xlsx\n  无法读取：文件不完整或已损坏（是否还在保存中？）" in text
    written = out.read_text(encoding="utf-8")
    assert "# 无法读取：文件不完整或已损坏" in written
    config = parse_config(yaml.safe_load(written) | {"sources": [yaml.safe_load(written)["sources"][0]]}, out, tmp_path)
    assert config.sources[0].path == bad
