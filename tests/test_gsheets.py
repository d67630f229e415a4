"""Google Sheets as a source, against a local server that speaks the Sheets API v4."""

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from scripts.check import run_check
from scripts.config import parse_config
from scripts.errors import ConfigError, SourceError
from scripts.sources.gsheets import SheetsSession, read_google_sheet, spreadsheet_key
from tests.helpers import SHANGHAI
from tests.sheets_server import SheetsServer, tabs_from_xlsx

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "demo"
NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)
SHOWROOM_KEY = "1showroomSPREADSHEETkeyAAAAAAAAAAAAAAAAAAAA"
SERVICE_KEY = "1serviceSPREADSHEETkeyBBBBBBBBBBBBBBBBBBBBBB"
TABLES = {"来店登记": "visitor_log", "试乘试驾": "test_drive_log", "交车登记": "delivery_log", "员工名单": "staff"}


@pytest.fixture
def sheets():
    with SheetsServer() as server:
        server.api.spreadsheets[SHOWROOM_KEY] = tabs_from_xlsx(DEMO / "展厅.xlsx")
        server.api.spreadsheets[SERVICE_KEY] = tabs_from_xlsx(DEMO / "客服.xlsx")
        yield server


def session_for(server, **kw):
    return SheetsSession(base_url=server.url, timeout=(1, 1), sleep=lambda s: None, **kw)


def config(tmp_path, google):
    showroom = {"google_sheet": f"https://docs.google.com/spreadsheets/d/{SHOWROOM_KEY}/edit#gid=0"} if google \
        else {"path": str(DEMO / "展厅.xlsx")}
    service = {"google_sheet": SERVICE_KEY} if google else {"path": str(DEMO / "客服.xlsx")}
    return parse_config({"sources": [
        {"name": "展厅", **showroom, "tables": TABLES},
        {"name": "客服", **service, "tables": {"投诉登记": "complaint_log"}},
    ]}, tmp_path / "huifang.yaml", tmp_path)


def opener_for(session):
    def open_source(source):
        return read_google_sheet(source.name, source.google_sheet, session, account="bot@store.iam.gserviceaccount.com")
    return open_source


def comparable(result):
    return [(f.rule, f.source, f.sheet, f.row, f.column, f.cell, f.header, f.assignee, f.due, f.message)
            for f in result.findings]


def test_the_same_data_gives_the_same_findings_from_sheets_and_excel(tmp_path, sheets):
    excel = run_check(config(tmp_path, google=False), NOW)
    session = session_for(sheets)
    google = run_check(config(tmp_path, google=True), NOW, opener=opener_for(session))
    assert comparable(google) == comparable(excel)
    assert len(excel.findings) > 30
    assert [(s.title, s.table, s.rows) for s in google.sources[0].sheets] == \
        [(s.title, s.table, s.rows) for s in excel.sources[0].sheets]


def test_two_requests_per_spreadsheet_per_run(tmp_path, sheets):
    session = session_for(sheets)
    run_check(config(tmp_path, google=True), NOW, opener=opener_for(session))
    assert session.requests_made == 4 and len(sheets.api.requests) == 4
    paths = [p for _, p in sheets.api.requests]
    assert paths == [f"/v4/spreadsheets/{SHOWROOM_KEY}", f"/v4/spreadsheets/{SHOWROOM_KEY}/values:batchGet",
                     f"/v4/spreadsheets/{SERVICE_KEY}", f"/v4/spreadsheets/{SERVICE_KEY}/values:batchGet"]


def test_findings_link_to_the_exact_cell(tmp_path, sheets):
    result = run_check(config(tmp_path, google=True), NOW, opener=opener_for(session_for(sheets)))
    phone = next(f for f in result.findings if f.rule == "missing_required" and f.column == "phone")
    gid = next(t["sheetId"] for t in sheets.api.spreadsheets[SHOWROOM_KEY] if t["title"] == "来店登记")
    assert phone.url == f"https://docs.google.com/spreadsheets/d/{SHOWROOM_KEY}/edit#gid={gid}&range={phone.cell}"
    excel = run_check(config(tmp_path, google=False), NOW)
    assert all(f.url is None for f in excel.findings)


def test_reminders_render_the_cell_link(tmp_path, sheets):
    from scripts.jobs import build_messages, calendar_of
    from scripts.render import Renderer

    cfg = config(tmp_path, google=True)
    result = run_check(cfg, NOW, opener=opener_for(session_for(sheets)))
    message = next(m for m in build_messages("reminders", result, cfg, NOW, None, calendar_of(cfg))
                   if m.recipient.name == "张伟")
    subject, text, html = Renderer(cfg).parts(message)
    assert f'<a href="https://docs.google.com/spreadsheets/d/{SHOWROOM_KEY}/edit#gid=' in html
    assert "&amp;range=" in html and "&range=" in text


@pytest.mark.parametrize("faults", [[429], [500, 503], ["timeout"], [429, 500, "timeout"]])
def test_transient_faults_are_retried_then_read(tmp_path, sheets, faults):
    sheets.api.faults[:] = faults
    session = session_for(sheets)
    book = read_google_sheet("展厅", SHOWROOM_KEY, session)
    assert [s.title for s in book.sheets][:2] == ["来店登记", "试乘试驾"]
    assert session.requests_made == 2 + len(faults)


def test_persistent_faults_become_a_source_error_and_the_other_sources_go_on(tmp_path, sheets):
    sheets.api.faults[:] = [500] * 5
    session = session_for(sheets, retries=4)
    result = run_check(config(tmp_path, google=True), NOW, opener=opener_for(session))
    assert "HTTP 500" in result.sources[0].error and SHOWROOM_KEY in result.sources[0].error
    assert result.sources[1].error is None and result.findings
    assert result.exit_code == 2


@pytest.mark.parametrize("status, words", [(403, "share it with bot@store.iam.gserviceaccount.com"),
                                           (404, "does not exist")])
def test_access_denied_and_missing_spreadsheets_are_named(tmp_path, sheets, status, words):
    sheets.api.faults[:] = [status]
    with pytest.raises(SourceError) as info:
        read_google_sheet("展厅", SHOWROOM_KEY, session_for(sheets), account="bot@store.iam.gserviceaccount.com")
    assert words in str(info.value) and SHOWROOM_KEY in str(info.value) and str(info.value).startswith("展厅: ")


def test_an_unreachable_api_is_a_source_error(tmp_path):
    session = SheetsSession(base_url="http://127.0.0.1:9", timeout=(0.5, 0.5), retries=1, sleep=lambda s: None)
    with pytest.raises(SourceError, match="could not be reached"):
        read_google_sheet("展厅", SHOWROOM_KEY, session)


def test_ragged_rows_and_empty_tabs(sheets):
    sheets.api.spreadsheets["1raggedSPREADSHEETkeyCCCCCCCCC"] = [
        {"sheetId": 1, "title": "空", "index": 0, "hidden": False, "values": []},
        {"sheetId": 2, "title": "来店", "index": 1, "hidden": True, "values": [
            ["登记时间", "来访方式", "客户姓名", "联系电话", "信息来源", "销售顾问", "是否建卡"],
            [46352.4375, "来店", "陈先生", 13812345678],  # ragged: trailing cells missing
            [],
            ["2026/11/26 10:00", "来电", "李女士", "139-8765-4321", "网络", "王芳", True],
        ]},
    ]
    book = read_google_sheet("表", "1raggedSPREADSHEETkeyCCCCCCCCC", session_for(sheets))
    assert [(s.title, s.hidden) for s in book.sheets] == [("空", False), ("来店", True)]
    assert list(book.sheets[0].read().rows) == []
    from scripts.config import config_for_files
    cfg = replace(config_for_files([]), sources=(replace(config_for_files([Path("x")]).sources[0], path=None,
                                                          google_sheet="1raggedSPREADSHEETkeyCCCCCCCCC", name="表"),))
    result = run_check(cfg, NOW, opener=opener_for(session_for(sheets)))
    assert [(f.rule, f.location) for f in result.findings] == [
        ("missing_required", "来店!E2"), ("missing_required", "来店!F2"), ("card_not_created", "来店!G2")]
    assert result.tables[0].records[0]["visit_at"] == dt.datetime(2026, 11, 26, 10, 30)


@pytest.mark.parametrize("text", ["https://docs.google.com/spreadsheets/d/1abcDEF_-ghijklmnop/edit#gid=0",
                                  "1abcDEF_-ghijklmnop"])
def test_spreadsheet_key_from_url_or_key(text):
    assert spreadsheet_key(text) == "1abcDEF_-ghijklmnop"


def test_bad_credentials_file_is_a_config_error_naming_it(tmp_path):
    from scripts.sources.gsheets import credentials_session

    (tmp_path / "sa.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError, match="sa.json"):
        credentials_session(tmp_path / "sa.json", {})
    with pytest.raises(ConfigError, match="not found"):
        credentials_session(tmp_path / "missing.json", {})
    with pytest.raises(ConfigError, match="HUIFANG_GOOGLE_CREDENTIALS"):
        credentials_session(None, {})
    config = parse_config({"sources": [], "google": {"service_account_file": "sa.json"}}, tmp_path / "c.yaml", tmp_path)
    assert config.google.service_account_file == tmp_path / "sa.json"


def service_account_file(tmp_path, token_uri):
    """A real service-account key file (a fresh RSA key), whose token endpoint is the local server."""
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path = tmp_path / "huifang-sa.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "huifang-test", "private_key_id": "k1", "private_key": pem,
        "client_email": "bot@huifang-test.iam.gserviceaccount.com", "client_id": "1", "token_uri": token_uri,
    }), encoding="utf-8")
    return path


def test_service_account_credentials_sign_in_and_every_request_carries_the_token(tmp_path, sheets):
    from scripts.sources.gsheets import credentials_session

    sheets.api.token = "ya29.local-test-token"
    inner = credentials_session(service_account_file(tmp_path, f"{sheets.url}/token"), {})
    session = SheetsSession(inner, base_url=sheets.url, timeout=(2, 2), sleep=lambda s: None)
    book = read_google_sheet("展厅", SHOWROOM_KEY, session, account=inner.credentials.service_account_email)
    assert [s.title for s in book.sheets][0] == "来店登记"
    assert sheets.api.authorizations == ["Bearer ya29.local-test-token"] * 2
    assert session.requests_made == 2


def test_rejected_credentials_are_a_source_error(tmp_path, sheets):
    from scripts.sources.gsheets import credentials_session

    sheets.api.token = None  # the token endpoint answers invalid_grant, as Google does for a revoked key
    inner = credentials_session(service_account_file(tmp_path, f"{sheets.url}/token"), {})
    session = SheetsSession(inner, base_url=sheets.url, timeout=(2, 2), sleep=lambda s: None, retries=1)
    with pytest.raises(SourceError, match="rejected the service-account credentials"):
        read_google_sheet("展厅", SHOWROOM_KEY, session)


# --- Replies that are not what Google sends (issue #12): each is one line naming the spreadsheet. ---

from tests.sheets_server import BAD_GATEWAY, CAPTIVE_PORTAL, Raw  # noqa: E402


@pytest.mark.parametrize("fault", [
    (200, CAPTIVE_PORTAL),  # a Wi-Fi sign-in page answering every request
    (200, Raw(b'{"spreadsheetId": "1showroom", "sheets": [{"properties": {"ti', "application/json")),  # cut short
    (200, Raw(b'["not", "a", "spreadsheet"]', "application/json")),
])
def test_a_reply_that_is_not_spreadsheet_data_is_a_source_error_naming_the_spreadsheet(sheets, fault):
    sheets.api.faults[:] = [fault]
    with pytest.raises(SourceError, match="was not spreadsheet data") as info:
        read_google_sheet("展厅", SHOWROOM_KEY, session_for(sheets))
    assert SHOWROOM_KEY in str(info.value) and "\n" not in str(info.value)


def test_a_non_json_reply_does_not_stop_the_other_sources(tmp_path, sheets):
    sheets.api.faults[:] = [(200, CAPTIVE_PORTAL)]
    result = run_check(config(tmp_path, google=True), NOW, opener=opener_for(session_for(sheets)))
    assert "not spreadsheet data" in result.sources[0].error
    assert result.sources[1].error is None and result.findings
    assert result.exit_code == 2


def test_a_body_announced_longer_than_sent_is_retried_then_reported(sheets):
    cut = Raw(b'{"spreadsheetId": "x"', "application/json", length=5000)
    sheets.api.faults[:] = [(200, cut)] * 2
    with pytest.raises(SourceError, match="could not be reached"):
        read_google_sheet("展厅", SHOWROOM_KEY, session_for(sheets, retries=1))


def test_a_gateway_error_page_is_reported_with_its_http_status(sheets):
    sheets.api.faults[:] = [(502, BAD_GATEWAY)] * 3
    with pytest.raises(SourceError) as info:
        read_google_sheet("展厅", SHOWROOM_KEY, session_for(sheets, retries=2))
    assert "HTTP 502" in str(info.value) and "-1" not in str(info.value) and SHOWROOM_KEY in str(info.value)


def test_a_server_trickling_its_reply_is_cut_off_at_the_deadline(sheets):
    import time

    sheets.api.faults[:] = [(200, Raw(b"{" + b" " * 10_000 + b"}", "application/json", trickle=0.05))] * 2
    session = SheetsSession(base_url=sheets.url, timeout=(1, 1), deadline=1.0, retries=1, sleep=lambda s: None)
    started = time.monotonic()
    with pytest.raises(SourceError, match="did not answer within 1 s") as info:
        read_google_sheet("展厅", SHOWROOM_KEY, session)
    assert time.monotonic() - started < 4  # two attempts of 1 s, not 10,000 bytes x 0.05 s
    assert SHOWROOM_KEY in str(info.value)


def test_a_server_trickling_its_headers_is_cut_off_at_the_deadline(sheets):
    import time

    sheets.api.faults[:] = [(200, Raw(b"{}", "application/json", trickle=0.05, slow_header=10_000))] * 2
    session = SheetsSession(base_url=sheets.url, timeout=(1, 1), deadline=1.0, retries=1, sleep=lambda s: None)
    started = time.monotonic()
    with pytest.raises(SourceError, match="did not answer within 1 s"):
        read_google_sheet("展厅", SHOWROOM_KEY, session)
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("header, waited", [
    ("7", 7.0),
    ("3600", 60.0),  # capped
    ("Fri, 27 Nov 2026 01:00:05 GMT", 5.0),  # an HTTP date, 5 s after the (injected) clock
])
def test_retry_after_is_honoured_up_to_a_cap(sheets, header, waited):
    import datetime as dt_

    sheets.api.faults[:] = [(429, Raw(b'{"error": {"code": 429, "message": "quota"}}', "application/json",
                                      headers={"Retry-After": header}))]
    waits = []
    clock = dt_.datetime(2026, 11, 27, 1, 0, tzinfo=dt_.timezone.utc).timestamp
    session = SheetsSession(base_url=sheets.url, timeout=(1, 1), sleep=waits.append, clock=clock)
    book = read_google_sheet("展厅", SHOWROOM_KEY, session)
    assert book.sheets and waits == [pytest.approx(waited)]


def test_an_unauthorised_reply_names_the_spreadsheet(sheets):
    sheets.api.faults[:] = [(401, Raw(b'{"error": {"code": 401, "message": "Request had invalid authentication '
                                      b'credentials.", "status": "UNAUTHENTICATED"}}', "application/json"))]
    with pytest.raises(SourceError, match=f"credentials for spreadsheet {SHOWROOM_KEY} \\(HTTP 401\\)"):
        read_google_sheet("展厅", SHOWROOM_KEY, session_for(sheets))


def test_a_failing_sign_in_service_is_not_called_rejected_credentials(tmp_path, sheets):
    from scripts.sources.gsheets import credentials_session

    sheets.api.token = "ya29.local-test-token"
    sheets.api.token_faults[:] = [500] * 5  # google-auth tries the token endpoint 3 times itself
    inner = credentials_session(service_account_file(tmp_path, f"{sheets.url}/token"), {})
    session = SheetsSession(inner, base_url=sheets.url, timeout=(5, 5), sleep=lambda s: None, retries=0)
    with pytest.raises(SourceError) as info:
        read_google_sheet("展厅", SHOWROOM_KEY, session)
    assert "sign-in service" in str(info.value) and "next run will try again" in str(info.value)
    assert "rejected" not in str(info.value) and SHOWROOM_KEY in str(info.value)


def test_formula_errors_from_sheets_are_invalid_values_like_in_excel(sheets):
    from scripts.config import config_for_files

    # No recorded reply holds an error cell; with UNFORMATTED_VALUE the API gives an error as its text.
    sheets.api.spreadsheets["1errorsSPREADSHEETkeyDDDDDDDDD"] = [
        {"sheetId": 1, "title": "来店", "index": 0, "hidden": False, "values": [
            ["登记时间", "来访方式", "客户姓名", "联系电话", "信息来源", "销售顾问", "是否建卡"],
            [46352.4375, "来店", "陈先生", "#N/A", "网络", "张伟", "是"],
        ]},
    ]
    cfg = replace(config_for_files([]), sources=(replace(config_for_files([Path("x")]).sources[0], path=None,
                                                          google_sheet="1errorsSPREADSHEETkeyDDDDDDDDD", name="表"),))
    result = run_check(cfg, NOW, opener=opener_for(session_for(sheets)))
    assert [(f.rule, f.location) for f in result.findings] == [("invalid_value", "来店!D2")]
