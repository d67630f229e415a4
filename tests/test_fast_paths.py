"""The faster paths of issue #16 give the same results as the plain ones they replace."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scripts.check import CheckResult, StaffDirectory
from scripts.findings import make_finding
from scripts.output import _JSON_CLIP, clean, render_json
from tests.helpers import VISITOR_HEADERS, visitor

NOW = dt.datetime(2026, 11, 27, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


def _plain(finding):
    """Finding.to_json with every text value cleaned one by one: what the JSON output promises."""
    item = finding.to_json()
    return {k: clean(v, _JSON_CLIP) if isinstance(v, str) else v for k, v in item.items()}


def _finding(i, **over):
    fields = dict(source="展厅.xlsx", sheet="来店登记", row=i, column="last_followup_on", cell=f"M{i}",
                  header="最近跟进日期", message="跟进回访已逾期（王先生）", table="visitor_log", assignee="张伟",
                  due=NOW + dt.timedelta(hours=i % 3), customer="王先生", phone="13800138000")
    fields.update(over)
    return make_finding("followup_overdue", **fields)


@pytest.mark.parametrize("odd", [
    {},
    {"due": None, "assignee": None, "cell": None},
    {"message": "line\nbreak\x1b[31m"},
    {"header": "\u202eevil"},
    {"sheet": "长" * (_JSON_CLIP + 5)},
    {"source": "a\u2028b", "url": "https://example.com/\x00"},
])
def test_json_findings_are_each_findings_cleaned_to_json(odd):
    findings = [_finding(i) for i in range(1, 6)] + [_finding(9, **odd)]
    result = CheckResult(NOW, [], findings, [], StaffDirectory(()))
    got = json.loads(render_json(result))["findings"]
    assert got == [_plain(f) for f in findings]
    assert "13800138000" not in render_json(result) and "王先生\"" not in render_json(result)


def _rows(folder):
    """The index's table rows, and the preview files, after the index is rebuilt."""
    index = (folder / "index.html").read_text(encoding="utf-8")
    return index.split("<table>", 1)[1].split("</tr>")[1:-1]


def test_the_outbox_index_lists_exactly_the_messages_in_the_folder(tmp_path):
    from scripts.jobs import run_job
    from tests.test_email import MORNING, REMINDED, demo_config

    config = demo_config(tmp_path)
    folder = tmp_path / "outbox"
    folder.mkdir()
    run_job("reminders", config, MORNING, dry_run=True)
    first = sorted(p.name for p in folder.glob("*.eml"))
    old = folder / "reminder-old_example.com-abc.eml"  # an older outbox's message: no entry in the list
    old.write_bytes((folder / first[0]).read_bytes().replace(b"Subject: ", b"Subject: OLD ", 1))
    (folder / first[1]).unlink()  # a message removed by hand
    run_job("reminders", config, MORNING + dt.timedelta(minutes=5), dry_run=True)
    rows = _rows(folder)
    emls = sorted(p.name for p in folder.glob("*.eml"))
    assert len(emls) == len(REMINDED) + 1
    assert [r.rsplit('href="', 1)[1].split('"')[0] for r in rows] == emls
    assert sum("OLD " in r for r in rows) == 1
    stems = [line.split('"stem": "')[1].split('"')[0] for line in (folder / ".outbox-index.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(s + ".eml" for s in stems) == emls


def test_the_outbox_index_from_rendered_fields_equals_the_index_parsed_from_the_files(tmp_path):
    from scripts.jobs import run_job
    from tests.test_email import MORNING, demo_config

    config = demo_config(tmp_path)
    folder = tmp_path / "outbox"
    run_job("reminders", config, MORNING, dry_run=True)
    from_fields = (folder / "index.html").read_text(encoding="utf-8")
    previews = {p.name: p.read_bytes() for p in folder.glob("*.html") if p.name != "index.html"}
    (folder / ".outbox-index.jsonl").unlink()
    for name in previews:
        (folder / name).unlink()
    run_job("reminders", config, MORNING, dry_run=True, sender=_ParsingOutbox(folder))
    assert (folder / "index.html").read_text(encoding="utf-8") == from_fields
    assert {p.name: p.read_bytes() for p in folder.glob("*.html") if p.name != "index.html"} == previews


class _ParsingOutbox:
    """An outbox that is given no fields: each message is parsed, as before the index list."""

    writes_to_outbox = True

    def __init__(self, folder):
        from scripts.mailer import OutboxSender

        self.inner = OutboxSender(folder)
        self.folder = folder

    def send(self, raw, sender, recipients):
        self.inner.send(raw, sender, recipients)

    def close(self):
        self.inner.close()


ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]
STORE = sorted(str(p) for p in (ROOT / "tests" / "fixtures" / "store").iterdir() if p.suffix in (".xlsx", ".xls", ".ods"))


CORPUS = ROOT.parent / "shared" / "corpus" / "sheetjs"
READABLE = sorted(str(p) for p in CORPUS.iterdir() if p.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods", ".csv")) \
    if CORPUS.is_dir() else []


@pytest.mark.parametrize("args", [
    ["--config", str(ROOT / "demo" / "huifang.yaml")],
    STORE,
    pytest.param(READABLE, marks=pytest.mark.skipif(not READABLE, reason="shared corpus not beside the repository")),
], ids=["demo", "store-fixtures", "corpus"])
def test_check_findings_are_the_same_with_one_process_or_two(args, capsys, monkeypatch):
    from scripts import check
    from scripts.cli import main

    monkeypatch.setattr(check, "PARALLEL_MIN_BYTES", 0)  # small books: a pool all the same
    pools = []
    real_pool = check._pool
    monkeypatch.setattr(check, "_pool", lambda jobs, run=(): pools.append(jobs) or real_pool(jobs, run))
    outputs = []
    for jobs in ("1", "2"):
        main(["check", *args, "--format", "json", "--now", "2026-11-27T09:00", "--jobs", jobs])
        outputs.append(json.loads(capsys.readouterr().out))
    assert (outputs[0]["findings"] or args is READABLE) and len(outputs[0]["sources"]) > 1  # the corpus holds no logs
    assert outputs[0] == outputs[1]
    assert pools == [1, 2]  # the second run did read in two processes


def test_a_few_small_books_are_read_without_starting_processes():
    from scripts import check

    books = [ROOT / "demo" / n for n in ("展厅.xlsx", "客服.xlsx")]
    assert not check._worth_a_pool(books)
    assert not check._worth_a_pool(books[:1])  # one file: nothing to share out
    assert check._worth_a_pool(books * 40)  # the same size many times over: worth two processes


def test_the_precomputed_traditional_table_is_what_the_installed_opencc_makes(tmp_path):
    from scripts import t2s_data, textnorm
    from scripts.installed import installed_version

    assert textnorm.t2s_table() == textnorm.build_t2s_table()
    assert t2s_data.OPENCC_VERSION == installed_version("opencc")  # regenerate: python -m scripts.textnorm
    written = textnorm.write_t2s_data(tmp_path / "t2s_data.py")
    assert written.read_text(encoding="utf-8") == (ROOT / "scripts" / "t2s_data.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["holidays", "opencc", "jinja2"])
def test_installed_version_reads_what_importlib_metadata_reads(name):
    from importlib.metadata import version

    from scripts.installed import installed_version

    assert installed_version(name) == version(name)
    assert installed_version("no_such_package_here") is None


@given(low=st.integers(1, 2_000_000), span=st.integers(0, 3_000_000), probe=st.integers(1, 6_000_000))
def test_the_row_range_pattern_matches_exactly_the_rows_of_the_box(low, span, probe):
    # The sheet scan settles a chunk with one search for references outside the box; the box is a
    # regex of its row numbers and column letters, which must match those and nothing else.
    import re

    from scripts.sources.xlsx_scan import _DIGITS, in_range

    high = low + span
    pattern = re.compile(in_range(str(low), str(high), _DIGITS))
    for n in (probe, low, high, low - 1, high + 1):
        assert bool(pattern.fullmatch(str(n))) is (low <= n <= high), (low, high, n)
    assert not pattern.fullmatch("0" + str(low))  # a leading zero is spelt unusually: the exact path reads it


@given(low=st.integers(1, 16384), span=st.integers(0, 16384), probe=st.integers(1, 16384 * 3))
def test_the_column_range_pattern_matches_exactly_the_columns_of_the_box(low, span, probe):
    import re

    from scripts.sources.xlsx_scan import _LETTERS, column_letters, in_range

    high = low + span
    pattern = re.compile(in_range(column_letters(low), column_letters(high), _LETTERS))
    for n in (probe, low, high, low - 1, high + 1):
        if n >= 1:
            assert bool(pattern.fullmatch(column_letters(n))) is (low <= n <= high), (low, high, n)


_TEXTS = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["来店登记", "张伟", "M7", "a\"b\\c", "\u202e", "长" * 2001]))


@given(st.lists(st.fixed_dictionaries({
    "message": st.text(max_size=30), "assignee": _TEXTS, "cell": _TEXTS, "header": _TEXTS, "sheet": _TEXTS,
    "row": st.one_of(st.none(), st.integers(0, 10**6)), "url": _TEXTS,
    "due": st.one_of(st.none(), st.integers(0, 500).map(lambda h: NOW + dt.timedelta(hours=h))),
}), max_size=8))
def test_the_json_text_is_what_the_c_encoder_writes_for_the_findings(changes):
    # render_json writes the findings column by column; the text must be byte for byte the encoder's.
    from scripts.output import as_json

    findings = [_finding(i, **change) for i, change in enumerate(changes)]
    result = CheckResult(NOW, [], findings, [], StaffDirectory(()), ["2027 年的法定节假日"])
    assert render_json(result) == json.dumps(as_json(result), ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("config_staff, staff_sheet, unknown, read_again", [
    (True, ["刘洋"], ["店2.xlsx"], 0),  # the sheet adds a name a log uses: its unknown_staff goes
    (False, ["刘洋"], ["店2.xlsx"], 1),  # no list in the config: the book naming 孙磊 is read again
    (False, None, [], 0),  # nobody listed anywhere: no unknown_staff at all
    (True, None, ["店1.xlsx", "店2.xlsx"], 0),
], ids=["config+sheet", "sheet-only", "no-staff", "config-only"])
def test_workers_that_validate_find_what_one_process_finds(tmp_path, monkeypatch, config_staff, staff_sheet, unknown,
                                                           read_again):
    # `check` with --jobs lets workers validate and drop the records; staff names from a staff sheet in
    # another book are only known afterwards, so unknown_staff must still come out as in one process.
    from scripts import check
    from scripts.config import parse_config
    from tests.helpers import STAFF, write_xlsx

    monkeypatch.setattr(check, "PARALLEL_MIN_BYTES", 0)
    logs = {f"店{i}.xlsx": {"来店登记": [VISITOR_HEADERS, visitor(登记时间=dt.datetime(2026, 11, 20, 10), 来访方式="来店",
                                                                客户姓名="陈先生", 联系电话=13800000000 + i, 信息来源="网络",
                                                                销售顾问=name, 是否建卡="是")]}
            for i, name in enumerate(["张伟", "刘洋", "孙磊"])}
    if staff_sheet:
        logs["名单.xlsx"] = {"员工名单": [["姓名", "邮箱", "角色"]]
                             + [[n, f"u{i}@example.com", "销售顾问"] for i, n in enumerate(["张伟", *staff_sheet])]}
    for name, book in logs.items():
        write_xlsx(tmp_path / name, book)
    document = {"sources": [{"name": n, "path": n} for n in logs]}
    if config_staff:
        document["staff"] = [dict(s) for s in STAFF]
    config = parse_config(document, tmp_path / "huifang.yaml", tmp_path)
    one = check.run_check(config, NOW)
    here = []
    real = check._read_source
    monkeypatch.setattr(check, "_read_source", lambda *a, **k: here.append(a[0].name) or real(*a, **k))
    lean = check.run_check(config, NOW, jobs=2, keep_records=False)
    assert lean.findings == one.findings
    assert sorted(f.source for f in one.findings if f.rule == "unknown_staff") == unknown
    assert len(here) == read_again  # the workers' reads are in other processes; only a read again is here


@pytest.mark.parametrize("dies_again", [True, False], ids=["book-kills-its-reader", "worker-killed-once"])
def test_a_worker_killed_mid_run_costs_only_the_book_it_was_reading(tmp_path, monkeypatch, dies_again):
    # The kernel's OOM killer (or anyone) can stop a worker: every file still pending in the pool fails
    # with it. Each is read again alone; only a book that stops its own reader too is reported.
    import os
    import signal

    from scripts import check
    from scripts.config import config_for_files
    from tests.helpers import write_xlsx

    monkeypatch.setattr(check, "PARALLEL_MIN_BYTES", 0)
    paths = []
    for i, name in enumerate(["张伟", "王芳", "刘洋", "赵敏"]):
        paths.append(write_xlsx(tmp_path / f"店{i}.xlsx", {"来店登记": [VISITOR_HEADERS, visitor(
            登记时间=dt.datetime(2026, 11, 20, 10), 来访方式="来店", 客户姓名="陈先生", 联系电话=13800000000 + i,
            信息来源="网络", 销售顾问=name)]}))
    config = config_for_files(paths)
    one = check.run_check(config, NOW)
    main, marker = os.getpid(), tmp_path / "killed-once"
    real = check._read_source

    def reader(source, *args, **kwargs):
        if os.getpid() != main and source.name == "店2.xlsx" and (dies_again or not marker.exists()):
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(check, "_read_source", reader)
    result = check.run_check(config, NOW, jobs=2, keep_records=False)
    errors = {s.name: s.error for s in result.sources}
    if dies_again:
        assert errors == {"店0.xlsx": None, "店1.xlsx": None, "店2.xlsx": check.WORKER_STOPPED, "店3.xlsx": None}
        assert result.findings == [f for f in one.findings if f.source != "店2.xlsx"] and result.exit_code == 2
    else:
        assert set(errors.values()) == {None} and result.findings == one.findings
