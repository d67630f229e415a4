"""What the CLI prints: one language per run (golden files in both), no English left in zh-CN output,
no terminal escapes or giant cells from the sheets.

Regenerate the golden files after an intended change with: python -m tests.test_output_language
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from scripts.check import run_check
from scripts.config import load_config, parse_config
from scripts.doctor import doctor
from scripts.i18n import LANGUAGES, translation
from scripts.init import run_init, sheet_hints
from scripts.output import clean, render_json, render_text
from scripts.schema import load_schemas
from tests.helpers import NOW, STAFF, VISITOR_HEADERS, visitor, write_xlsx

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "cli"
DEMO = ROOT / "demo" / "huifang.yaml"
SCHEMAS = load_schemas()


class QuietSender:
    def __init__(self, settings, password, retries=0):
        pass

    def check(self):
        pass

    def close(self):
        pass


def _check_text(language: str, verbose: bool) -> str:
    config = load_config(DEMO)
    result = run_check(config, NOW, schemas=SCHEMAS)
    text = render_text(result, verbose=verbose, language=language, config_path="demo/huifang.yaml",
                       hints=sheet_hints(config, result, SCHEMAS))
    return text.replace(str(ROOT), "<ROOT>")


def _problem_setup(folder: Path) -> Path:
    """A set-up with one of most mistakes doctor knows (and no SMTP server to reach)."""
    headers = [h for h in VISITOR_HEADERS if h != "信息来源"] + ["来源说明"]
    row = visitor(登记时间="2026-11-26 10:00", 来访方式="来店", 客户姓名="陈先生", 联系电话=13812345678,
                  销售顾问="张伟", 是否建卡="是")
    write_xlsx(folder / "店.xlsx", {
        "来店": [headers, row[:5] + row[6:] + ["网络"]],
        "员工": [["姓名", "邮箱", "角色", "上级"], ["李娜", "lina@example.com", "销售经理", None],
                 ["张伟", None, "销售顾问", "老板"]],
        "回访": [["客户姓名", "联系电话", "回访时间", "回访方式"], ["陈先生", 13812345678, "2026-11-26 10:00", "电话"]],
    })
    return folder


def _doctor_text(language: str, folder: Path) -> str:
    document = {"language": language, "sources": [{"name": "店", "path": "店.xlsx"}], "state": "state.sqlite3",
                "escalation": {"escalate_to": "总经理"},
                "mail": {"outbox": "outbox", "smtp": {"host": "mail.example.com", "port": 25, "security": "none",
                                                      "username": "me@example.com"}}}
    config = parse_config(document, folder / "huifang.yaml", folder)
    lines: list[str] = []
    doctor(config, NOW, out=lines.append, smtp_factory=QuietSender)
    return "\n".join(lines).replace(str(folder), "<DIR>") + "\n"


def _init_text(language: str, folder: Path) -> str:
    from tests.store_books import STORE_BOOKS

    books = [make(folder) for make, *_ in STORE_BOOKS]
    lines: list[str] = []
    run_init(books, folder / f"huifang-{language}.yaml", language=language, echo=lines.append)
    return "\n".join(lines).replace(str(folder), "<DIR>") + "\n"


def rendered(folder: Path) -> dict[str, str]:
    out = {}
    for language in ("zh-CN", "en"):
        out[f"check-{language}.txt"] = _check_text(language, verbose=False)
        out[f"check-v-{language}.txt"] = _check_text(language, verbose=True)
        out[f"doctor-{language}.txt"] = _doctor_text(language, _problem_setup(folder))
        out[f"init-{language}.txt"] = _init_text(language, folder)
    return out


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    return rendered(tmp_path_factory.mktemp("cli"))


@pytest.mark.parametrize("name", [f"{kind}-{lang}.txt" for kind in ("check", "check-v", "doctor", "init")
                                  for lang in ("zh-CN", "en")])
def test_cli_output_matches_its_golden_file(outputs, name):
    assert outputs[name] == (GOLDEN / name).read_text(encoding="utf-8"), f"python -m tests.test_output_language; diff {name}"


# ASCII words a Chinese reader may meet in zh-CN output: identifiers and the names of things.
_IDENTIFIERS = {f.name for s in SCHEMAS.values() for f in s.fields} | set(SCHEMAS) | {"visit_at", "TODO", "YAML", "smtp",
                "starttls", "ssl", "none", "chmod", "security", "Excel", "WPS", "OpenDocument", "CSV", "python"}
_TECHNICAL = re.compile(
    r"<[A-Z]+>\S*"                      # <ROOT>/..., <DIR>/... paths
    r"|\S*/\S*"                          # paths, time zones, URLs
    r"|[\w.+-]+@[\w.-]+"                 # emails
    r"|run\.py(?: [\w.-]+)*"             # commands
    r"|--\w+"                            # options
    r"|\w+(?:[._]\w+)+:?"                # rule ids, config keys (sources.tables, escalate_to), file names
    r"|\[[a-z_]+\]"                      # rule ids in -v
)


def english_words(text: str) -> list[str]:
    stripped = _TECHNICAL.sub(" ", text)
    return [w for w in re.findall(r"[A-Za-z]{3,}", stripped) if w not in _IDENTIFIERS]


@pytest.mark.parametrize("kind", ["check", "check-v", "doctor", "init"])
def test_zh_cn_output_has_no_english_sentence(outputs, kind):
    assert english_words(outputs[f"{kind}-zh-CN.txt"]) == []


def test_the_english_scan_catches_an_english_sentence():
    assert english_words("来店登记!E11  错误 联系电话 is empty (required)") == ["empty", "required"]
    assert english_words("使用的配置：/a/b.yaml；sources.tables、visitor_log、[missing_required]、me@example.com") == []


def test_english_output_has_its_plurals_right(outputs):
    text = outputs["check-en.txt"]
    assert re.search(r"\b1 row\b", outputs["check-v-en.txt"]) or "rows" in text
    assert re.search(r"Total: \d+ errors, \d+ warnings, \d+ notes?\n", text)
    t = translation("en", "cli")
    assert t.ngettext("{n} error", "{n} errors", 1).format(n=1) == "1 error"
    assert t.ngettext("{n} error", "{n} errors", 2).format(n=2) == "2 errors"


def test_assignee_is_labelled_and_rule_ids_only_with_verbose(outputs):
    assert "负责人：王芳" in outputs["check-zh-CN.txt"] and "assignee: 王芳" in outputs["check-en.txt"]
    assert "[missing_required]" not in outputs["check-zh-CN.txt"]
    assert "[missing_required]" in outputs["check-v-zh-CN.txt"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_a_catalogue_covering_the_zh_cn_one(language):
    zh = translation("zh-CN", "cli")
    t = translation(language, "cli")
    assert t.gettext("assignee: {name}") == {"zh-CN": "负责人：{name}", "zh-TW": "負責人：{name}",
                                             "zh-HK": "負責人：{name}", "en": "assignee: {name}"}[language]
    catalog = (ROOT / "locale" / "zh_CN" / "LC_MESSAGES" / "cli.po").read_text(encoding="utf-8")
    ids = re.findall(r'^msgid "(.+)"$', catalog, re.M)
    assert len(ids) > 80
    if language != "en":
        untranslated = [i for i in ids if t.gettext(i) == i and zh.gettext(i) != i]
        assert untranslated == []


def test_traditional_catalogues_are_the_opencc_conversion_of_zh_cn(tmp_path, monkeypatch):
    import scripts.i18n as i18n

    for sub in ("zh_CN",):
        (tmp_path / sub / "LC_MESSAGES").mkdir(parents=True)
        (tmp_path / sub / "LC_MESSAGES" / "cli.po").write_bytes((ROOT / "locale" / sub / "LC_MESSAGES" / "cli.po").read_bytes())
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    try:
        for path in i18n.build_traditional("cli"):
            committed = ROOT / "locale" / path.relative_to(tmp_path)
            assert path.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8"), "python -m scripts.i18n"
    finally:
        i18n.translation.cache_clear()


def test_an_unknown_language_is_a_config_error():
    from scripts.errors import ConfigError

    with pytest.raises(ConfigError, match="fr-FR"):
        translation("fr-FR", "cli")


# Cells are other people's text: nothing in them may drive the terminal or flood it.
HOSTILE = "\x1b[31m红\x1b[0m\r\n第二行\u202e反转\u2028\x85\x07"


def _csv_log(path: Path, consultant: str) -> Path:
    """A CSV log (CSV, unlike xlsx, carries any character and any length)."""
    import csv

    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(VISITOR_HEADERS)
        writer.writerow(visitor(登记时间="2026-11-26 10:00", 来访方式="来店", 客户姓名="陈先生", 联系电话=13812345678,
                                信息来源="网络", 销售顾问=consultant, 是否建卡="是"))
    return path


def test_control_characters_in_cells_never_reach_the_terminal(tmp_path):
    _csv_log(tmp_path / "坏\u202e.csv", f"张伟{HOSTILE}")
    config = parse_config({"sources": [{"name": "坏\u202e", "path": "坏\u202e.csv"}], "staff": STAFF},
                          tmp_path / "c.yaml", tmp_path)
    result = run_check(config, NOW)
    assert any(f.rule == "unknown_staff" for f in result.findings)
    for language in ("zh-CN", "en"):
        text = render_text(result, verbose=True, language=language)
        assert "张伟" in text
        assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", text)
    data = render_json(result)
    assert "\u202e" not in data and "\\u001b" not in data and "\\r" not in data


def test_a_huge_cell_is_clipped_in_text_and_json(tmp_path):
    _csv_log(tmp_path / "大.csv", "张" * 100_000)
    config = parse_config({"sources": [{"name": "大", "path": "大.csv"}], "staff": STAFF}, tmp_path / "c.yaml", tmp_path)
    result = run_check(config, NOW)
    assert any(f.rule == "unknown_staff" for f in result.findings)
    assert len(render_text(result, verbose=True)) < 5_000
    assert len(render_json(result)) < 50_000


def test_clean_keeps_ordinary_text_and_clips_with_an_ellipsis():
    assert clean("王芳 13812345678") == "王芳 13812345678"
    assert clean("a\tb\r\nc") == "a b  c"
    assert clean("x" * 500, 10) == "x" * 9 + "…"
    assert clean(None) == ""


def run(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=cwd, capture_output=True, text=True)


def test_check_with_paths_uses_the_config_in_the_working_folder_and_says_so(tmp_path):
    from tests.store_books import delivery

    book = delivery(tmp_path)
    assert run("init", book.name, "--language", "en", cwd=tmp_path).returncode == 0
    proc = run("check", book.name, "--now", "2026-11-27T09:00", cwd=tmp_path)
    assert f"Configuration: {tmp_path / 'huifang.yaml'}" in proc.stdout or "needs sources.columns" in proc.stderr \
        or "columns" in proc.stderr, proc.stdout + proc.stderr
    data = json.loads(run("check", book.name, "--now", "2026-11-27T09:00", "--format", "json", "--config",
                          str(ROOT / "demo/huifang.yaml"), cwd=tmp_path).stdout)
    assert data["config"] == str(DEMO) and data["sources"][0]["name"] == "交车.xlsx"


def test_the_config_applies_its_staff_and_tables_to_the_paths_given(tmp_path):
    """`check 展厅.xlsx` in the demo folder: the demo config's staff and table names still apply."""
    proc = run("check", "展厅.xlsx", "--now", "2026-11-27T09:00", "--format", "json", cwd=ROOT / "demo")
    data = json.loads(proc.stdout)
    assert data["config"] == str(DEMO)
    assert [s["name"] for s in data["sources"]] == ["展厅"]  # the configured source, not a bare file
    assert not any(f["rule"] == "unknown_staff" and f["assignee"] == "王芳" for f in data["findings"])


def test_json_is_compact_unless_indent_is_asked(tmp_path):
    proc = run("check", "--config", str(DEMO), "--now", "2026-11-27T09:00", "--format", "json", cwd=tmp_path)
    assert "\n  " not in proc.stdout.strip()
    indented = run("check", "--config", str(DEMO), "--now", "2026-11-27T09:00", "--format", "json", "--indent", "2",
                   cwd=tmp_path)
    assert json.loads(indented.stdout) == json.loads(proc.stdout) and "\n  " in indented.stdout


def test_source_errors_are_said_in_the_run_language(tmp_path):
    config = parse_config({"sources": [{"name": "展厅", "path": str(ROOT / "demo/展厅.xlsx"),
                                        "tables": {"来店登记表": "visitor_log"}}]}, tmp_path / "c.yaml", tmp_path)
    result = run_check(config, NOW)
    zh = render_text(result, language="zh-CN")
    assert "无法读取：找不到工作表 来店登记表（工作簿中有：" in zh and "not found" not in zh
    assert "Cannot read: worksheet 来店登记表 not found" in render_text(result, language="en")


def test_english_findings_are_sentences_built_from_the_rule(tmp_path):
    result = run_check(replace(load_config(DEMO)), NOW)
    text = render_text(result, language="en")
    assert "联系电话 is empty (required)" in text
    assert "follow-up call overdue: was due by" in text
    assert "未填写" not in text


if __name__ == "__main__":
    import tempfile

    GOLDEN.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        for file_name, content in rendered(Path(folder)).items():
            (GOLDEN / file_name).write_text(content, encoding="utf-8")
            print(GOLDEN / file_name)


def test_traditional_output_has_traditional_findings_and_labels():
    config = load_config(DEMO)
    text = render_text(run_check(config, NOW, schemas=SCHEMAS), language="zh-TW")
    assert "負責人：" in text and "聯繫電話未填寫（必填）" in text  # characters converted, words kept
    assert "负责人" not in text and "未填写" not in text


def test_every_message_the_cli_writes_is_in_the_zh_cn_catalogue():
    from babel.messages.extract import extract_from_file

    from scripts.output import _ERROR_MSGIDS

    used = set()
    for module in ("output", "doctor", "init", "cli"):
        for _line, message, _comments, _context in extract_from_file(
                "python", str(ROOT / "scripts" / f"{module}.py"), keywords={"_": None, "n_": (1, 2)}):
            used.add(message if isinstance(message, str) else message[0])
    used |= set(_ERROR_MSGIDS)
    zh = translation("zh-CN", "cli")
    assert len(used) > 80
    assert sorted(m for m in used if zh.gettext(m) == m and m not in {"", ", "}) == []


def test_verbose_and_json_show_what_the_reader_reports_about_each_sheet():
    """The fields #10 adds to SheetReport (header row, columns, pairs, skipped rows, done marks) are shown."""
    from dataclasses import dataclass, field

    from scripts.check import CheckResult, SheetReport, SourceReport, StaffDirectory

    @dataclass
    class Understood(SheetReport):
        header_row: int | None = 3
        headers: dict = field(default_factory=lambda: {"A": "序号", "B": "进店日期", "C": "进店时刻", "D": "顾客"})
        columns: dict = field(default_factory=lambda: {"A": None, "B": "visit_at.date", "C": "visit_at.time",
                                                       "D": "customer_name"})
        pairs: list = field(default_factory=lambda: [("visit_at", "B", "C")])
        skipped_rows: list = field(default_factory=lambda: [20, 21])
        done_unknown: int = 1

    @dataclass
    class Unknown(SheetReport):
        near_table: str | None = "visitor_log"
        near_missing: list = field(default_factory=lambda: ["channel", "info_source"])

    source = SourceReport("展厅", "展厅.xlsx", sheets=[Understood("来店", "visitor_log", 18), Unknown("统计", None, 0)])
    result = CheckResult(NOW, [source], [], [], StaffDirectory(()))
    zh = render_text(result, verbose=True, language="zh-CN")
    assert "表头：第 3 行" in zh and "A 序号 → （未使用）" in zh and "B 进店日期 → visit_at.date" in zh
    assert "日期+时间：B + C → visit_at" in zh and "非记录行，已跳过：第 20, 21 行" in zh
    assert "1 个完成标记按“已完成、时间不详”处理" in zh
    assert "[统计] 未识别为登记表：最接近 visitor_log，缺少 channel, info_source" in zh
    en = render_text(result, verbose=True, language="en")
    assert "skipped as not a record: rows 20, 21" in en and "1 done-mark read as done, time unknown" in en
    sheets = json.loads(render_json(result))["sources"][0]["sheets"]
    assert sheets[0]["header_row"] == 3 and sheets[0]["columns"]["A"] is None and sheets[0]["pairs"] == [["visit_at", "B", "C"]]
    assert sheets[0]["skipped_rows"] == [20, 21] and sheets[0]["done_unknown"] == 1
    assert sheets[1]["near_table"] == "visitor_log" and sheets[1]["near_missing"] == ["channel", "info_source"]


def test_unreadable_files_are_explained_in_chinese(tmp_path):
    """The one-line reasons of broken files (#12) follow `language:` like the rest of the output."""
    (tmp_path / "坏.csv").write_text('客户姓名,联系电话\n"王先生,138\n', encoding="utf-8")
    (tmp_path / "空.csv").write_bytes(b"")
    (tmp_path / "文件夹.xlsx").mkdir()
    proc = run("check", "坏.csv", "空.csv", "文件夹.xlsx", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout.count("无法读取：") == 3
    assert english_words(proc.stdout.replace("Excel", "").replace("WPS", "").replace("CSV", "")) == []
    assert proc.stderr == ""  # nothing said twice, in English, on stderr


def test_hints_come_from_the_header_rows_the_check_kept_without_reading_the_book_again(tmp_path, monkeypatch):
    # A store workbook with a notes sheet and a log missing a column: before, the hints re-read the whole
    # book (a 100k-row log: +1.2 s); now the check keeps those sheets' header rows and nothing is read again.
    import dataclasses

    from scripts import init
    from scripts.config import config_for_files

    book = _problem_setup(tmp_path) / "店.xlsx"
    write_xlsx(tmp_path / "说明.xlsx", {"说明": [["填表说明"], ["登记时间请填写到分钟"]],
                                      "来店": [VISITOR_HEADERS[:3] + ["意向", "顾问"], ["2026-11-26", "来店", "陈先生", "A", "张伟"]]})
    config = config_for_files([book, tmp_path / "说明.xlsx"])
    result = run_check(config, NOW, schemas=SCHEMAS)
    bare = dataclasses.replace(result, sources=[dataclasses.replace(s, sheets=[dataclasses.replace(sh, head=None)
                                                                                for sh in s.sheets])
                                                for s in result.sources])
    reread = sheet_hints(config, bare, SCHEMAS)  # a result without kept rows: the files are read again
    assert reread  # the set-up does need hints
    monkeypatch.setattr(init, "read_heads", lambda *a: pytest.fail("the workbook was read again"))
    assert sheet_hints(config, result, SCHEMAS) == reread
