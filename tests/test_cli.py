"""`run.py check` and `run.py demo` as a user and a program see them."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.cli import main
from tests.helpers import VISITOR_HEADERS, visitor, write_xlsx

ROOT = Path(__file__).resolve().parents[1]
FINDING_KEYS = {"rule", "severity", "source", "sheet", "row", "column", "cell", "header", "assignee", "due", "message"}


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=cwd, capture_output=True, text=True)


def test_json_output_follows_the_contract():
    proc = run("check", "--config", "demo/huifang.yaml", "--now", "2026-11-27T09:00", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["now"] == "2026-11-27T09:00:00+08:00"
    assert [s["name"] for s in data["sources"]] == ["展厅", "客服", "二店"]
    assert all(s["error"] is None for s in data["sources"])
    sheets = {sh["title"]: (sh["table"], sh["rows"]) for sh in data["sources"][0]["sheets"]}
    assert sheets["来店登记"] == ("visitor_log", 14) and sheets["月度汇总"] == (None, 0)
    callback = data["sources"][1]["sheets"][1]
    assert {k: callback[k] for k in ("title", "table", "rows")} == {"title": "回访记录", "table": "callback_log", "rows": 6}
    assert callback["header_row"] == 1 and callback["columns"]["C"] == "callback_at"
    for f in data["findings"]:
        assert f.keys() >= FINDING_KEYS
    rules = {f["rule"] for f in data["findings"]}
    assert {"missing_required", "invalid_value", "card_not_created", "test_drive_without_license", "duplicate_id",
            "unknown_staff", "callback_in_quiet_hours", "repeat_complainant"} <= rules
    assert {"followup_overdue", "followup_due_soon", "complaint_reply_overdue", "complaint_reply_due_soon",
            "dept_order_overdue", "dept_order_due_soon", "complaint_callback_overdue", "thank_you_call_overdue",
            "thank_you_call_due_soon", "delivery_callback_overdue", "delivery_callback_due_soon", "callback_overdue",
            "callback_due_soon"} <= rules
    reply = next(f for f in data["findings"] if f["rule"] == "complaint_reply_overdue")
    assert (reply["sheet"], reply["cell"], reply["row"], reply["column"], reply["header"], reply["assignee"], reply["due"]) == (
        "投诉登记", "M9", 9, "first_reply_at", "首次回复时间", "赵敏", "2026-11-27T08:00:00+08:00")
    assert not any("13811112222" in f["message"] for f in data["findings"])


def test_text_output_names_sheet_and_cell():
    proc = run("check", "--config", "demo/huifang.yaml", "--now", "2026-11-27T09:00")
    assert proc.returncode == 1
    assert "来店登记!E11" in proc.stdout and "联系电话未填写（必填）" in proc.stdout
    assert "== 客服" in proc.stdout


def test_exit_0_when_clean_and_files_checked_directly(tmp_path):
    path = write_xlsx(tmp_path / "ok.xlsx", {"来店": [VISITOR_HEADERS, visitor(
        登记时间="2026-11-26 10:00", 来访方式="来店", 客户姓名="陈先生", 联系电话=13812345678, 信息来源="网络",
        销售顾问="张伟", 是否建卡="是")]})
    proc = run("check", str(path), "--now", "2026-11-27T09:00", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["findings"] == []


def test_exit_2_when_a_source_cannot_be_read_but_the_others_are_printed(tmp_path):
    bad = tmp_path / "坏.xlsx"
    bad.write_bytes(b"PK\x03\x04broken")
    good = write_xlsx(tmp_path / "好.xlsx", {"来店": [VISITOR_HEADERS, visitor(登记时间="2026-11-26 10:00")]})
    proc = run("check", str(bad), str(good), "--now", "2026-11-27T09:00", "--format", "json")
    assert proc.returncode == 2
    data = json.loads(proc.stdout)
    assert "incomplete or corrupt" in data["sources"][0]["error"]
    assert data["findings"] and all(f["source"] == "好.xlsx" for f in data["findings"])


@pytest.mark.parametrize("config, message", [
    ("sources: [{name: a}]", "sources.0"),
    ("sources: []\ntimezone: Mars/Base", "timezone"),
    ("sources: []\nquiet_hours: ['25:00-26:00']", "quiet_hours.0"),
    ("sources: [{name: a, path: a.xlsx, tables: {x: nosuch}}]", "unknown table 'nosuch'"),
    ("sources: []\nstaff: [{name: 张伟, email: zw@example.com, supervisor: 谁}]", "staff.0.supervisor"),
    ("sources: [\n  - name: a", "第 2 行第 3 列不是有效的 YAML"),
    ("sources: []\nemial: x", "'emial' was unexpected"),
])
def test_bad_config_exits_2_naming_the_key(tmp_path, config, message):
    (tmp_path / "huifang.yaml").write_text(config, encoding="utf-8")
    (tmp_path / "a.xlsx").write_bytes((ROOT / "tests/fixtures/producer_libreoffice.xlsx").read_bytes())
    proc = run("check", "--config", str(tmp_path / "huifang.yaml"), "--now", "2026-11-27T09:00")
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_bad_now_is_a_usage_error(capsys):
    assert main(["check", "--config", str(ROOT / "demo/huifang.yaml"), "--now", "tomorrow"]) == 2
    assert "--now" in capsys.readouterr().err


def test_sheets_matching_no_table_are_one_line_each_without_verbose():
    proc = run("check", "--config", "demo/huifang.yaml", "--now", "2026-11-27T09:00")
    assert "[月度汇总] 未识别为登记表：表头不像任何登记表" in proc.stdout


def test_demo_runs_without_configuration_and_says_where_output_went(tmp_path):
    proc = run("demo", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert str(tmp_path / "out" / "check.json") in proc.stdout
    data = json.loads((tmp_path / "out" / "check.json").read_text(encoding="utf-8"))
    assert data["now"] == "2026-11-27T09:00:00+08:00" and len(data["findings"]) >= 30


def test_bundled_demo_workbooks_match_their_generator(tmp_path):
    from python_calamine import CalamineWorkbook

    from scripts.demo import write_demo

    for fresh in write_demo(tmp_path):
        bundled = ROOT / "demo" / fresh.name
        a, b = CalamineWorkbook.from_path(str(fresh)), CalamineWorkbook.from_path(str(bundled))
        assert a.sheet_names == b.sheet_names
        for name in a.sheet_names:
            assert a.get_sheet_by_name(name).to_python() == b.get_sheet_by_name(name).to_python(), name


def test_the_commands_in_the_deploy_files_and_readme_parse():
    import re
    import shlex

    from scripts.cli import build_parser

    texts = [(ROOT / "deploy" / n).read_text(encoding="utf-8") for n in ("huifang.service", "crontab.example", "huifang-task.xml")]
    texts.append((ROOT / "README.md").read_text(encoding="utf-8"))
    commands = []
    for text in texts:
        for line in text.splitlines():
            match = re.search(r"run\.py ([^<>#`\n]+)", line)
            if match and not line.lstrip().startswith("#") and "|" not in match.group(1):  # a|b: prose
                commands.append(shlex.split(match.group(1)))
    assert len(commands) >= 15
    parser = build_parser()
    for args in commands:
        parser.parse_args(args)  # exits (SystemExit) on a command the CLI does not know


def test_check_names_the_closest_headers_and_the_nearest_table_without_verbose(tmp_path):
    headers = [h for h in VISITOR_HEADERS if h != "信息来源"] + ["来源说明"]
    row = visitor(登记时间="2026-11-26 10:00", 来访方式="来店", 客户姓名="陈先生", 联系电话=13812345678, 销售顾问="张伟",
                  是否建卡="是")
    path = write_xlsx(tmp_path / "店.xlsx", {
        "来店": [headers, row[:5] + row[6:] + ["网络"]],
        "回访": [["客户姓名", "联系电话", "回访时间", "回访方式"], ["陈先生", 13812345678, "2026-11-26 10:00", "电话"]]})
    proc = run("check", str(path), "--now", "2026-11-27T09:00", cwd=tmp_path)
    assert "缺少必填列「信息来源」；最接近的表头：来源说明、" in proc.stdout
    assert "[回访] 未识别为登记表：最接近 callback_log，缺少 result, staff" in proc.stdout
    assert "使用的配置：无（按表头识别登记表）" in proc.stdout
    en = run("check", str(path), "--now", "2026-11-27T09:00", "--language", "en", cwd=tmp_path).stdout
    assert "the required column 信息来源 is missing; closest headers: 来源说明, " in en
    assert "[回访] not recognised as a log: closest is callback_log, missing result, staff" in en


def _demo_copy(tmp_path, language="zh-CN"):
    """The demo configuration in a private folder, emails to the outbox (no SMTP), in ``language``."""
    import shutil

    for name in ("展厅.xlsx", "客服.xlsx"):
        shutil.copy(ROOT / "demo" / name, tmp_path / name)
    (tmp_path / "huifang.yaml").write_text(
        f"language: {language}\n"
        "sources:\n  - {name: 展厅, path: 展厅.xlsx, tables: {来店登记: visitor_log, 员工名单: staff}}\n"
        "  - {name: 客服, path: 客服.xlsx, tables: {投诉登记: complaint_log}}\n"
        "mail: {outbox: outbox}\nstate: state.sqlite3\n", encoding="utf-8")
    return tmp_path / "huifang.yaml"


@pytest.mark.parametrize("language, written, not_said", [
    ("en", "written to the outbox {n}", "sent {n}"),
    ("zh-CN", "已写入发件箱 {n} 封（未发送）", "已发送 {n}"),
])
def test_a_dry_run_says_written_to_the_outbox_not_sent(tmp_path, language, written, not_said):
    config = _demo_copy(tmp_path, language)
    proc = run("run", "reminders", "--dry-run", "--config", str(config), "--now", "2026-11-27T09:00", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    n = len(list((tmp_path / "outbox").glob("*.eml")))
    assert n >= 5 and written.format(n=n) in proc.stdout and not_said.format(n=n) not in proc.stdout
    page = (tmp_path / "outbox" / "index.html").read_text(encoding="utf-8")
    title = {"en": "Huifang outbox (written here, not sent)", "zh-CN": "回访提醒发件箱（仅写入此处，未发送）"}[language]
    assert f"<title>{title}</title>" in page and f'lang="{language}"' in page


def test_history_tells_outbox_from_sent(tmp_path):
    """Without SMTP the emails only land in the outbox folder: history must not call them sent."""
    config = _demo_copy(tmp_path, "en")
    proc = run("run", "reminders", "--config", str(config), "--now", "2026-11-27T09:00", cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    n = len(list((tmp_path / "outbox").glob("*.eml")))
    assert f"written to the outbox {n}," in proc.stdout
    history = run("history", "--config", str(config), cwd=tmp_path)
    lines = [line for line in history.stdout.splitlines() if " reminder " in line]
    assert n >= 5 and len(lines) == n
    assert all("  outbox " in line for line in lines) and not any("  sent " in line for line in lines)


def test_check_writes_a_findings_workbook_one_sheet_per_person(tmp_path):
    from python_calamine import CalamineWorkbook

    config = _demo_copy(tmp_path, "en")
    proc = run("check", "--config", str(config), "--now", "2026-11-27T09:00", "--format", "xlsx",
               "--output", str(tmp_path / "findings.xlsx"), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # errors found, as with text output
    book = CalamineWorkbook.from_path(str(tmp_path / "findings.xlsx"))
    assert {"张伟", "王芳"} <= set(book.sheet_names)
    missing = run("check", "--config", str(config), "--format", "xlsx", cwd=tmp_path)
    assert missing.returncode == 2 and "--output" in missing.stderr


def test_every_job_runs_from_the_command_line(tmp_path):
    config = _demo_copy(tmp_path, "en")
    for job, now in (("morning-brief", "2026-11-30T08:30"), ("weekly", "2026-11-30T09:00")):
        proc = run("run", job, "--dry-run", "--config", str(config), "--now", now, cwd=tmp_path)
        assert proc.returncode in (0, 1), proc.stderr
        assert proc.stdout.startswith(f"{job}: ") and "written to the outbox" in proc.stdout
