"""Google Sheets pacing (issue #16): a run over 1,000 spreadsheets stays within Google's 60 reads a minute
per user, and says up front how long that takes. Time is simulated: no test waits for the quota."""

import datetime as dt
import logging

import pytest
import requests

from scripts.check import run_check
from scripts.config import parse_config
from scripts.errors import ConfigError
from scripts.sources import gsheets
from scripts.sources.gsheets import RequestPacer, SheetsSession, read_google_sheet, reading_minutes
from tests.helpers import SHANGHAI
from tests.sheets_server import InProcessSession, Raw, SheetsApi, SheetsServer, SimulatedTime, busiest_window

NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)
HEADERS = ["登记时间", "来访方式", "客户姓名", "联系电话", "信息来源", "销售顾问", "是否建卡"]


def key(i):
    return f"1store{i:04d}SPREADSHEETkeyAAAAAAAAAAAAAAAAAAAA"


def visitor_tab(i):
    return [{"sheetId": 1, "title": "来店登记", "index": 0, "hidden": False, "values": [
        HEADERS, [46352.4375 + i / 10_000, "来店", f"客户{i}", 13800000000 + i, "网络", "张伟", "是"]]}]


def api_with(count):
    api = SheetsApi()
    for i in range(count):
        api.spreadsheets[key(i)] = visitor_tab(i)
    return api


def google_config(tmp_path, count, **google):
    return parse_config({"sources": [{"name": f"门店{i}", "google_sheet": key(i), "tables": {"来店登记": "visitor_log"}}
                                     for i in range(count)], **({"google": google} if google else {})},
                        tmp_path / "huifang.yaml", tmp_path)


def pace_the_default_opener(monkeypatch, inner, clock, **extra):
    """check.default_opener as in production, but its session talks to ``inner`` on a simulated clock."""
    made = []

    def session(inner_, **settings):
        made.append(SheetsSession(inner_, sleep=clock.sleep, monotonic=clock, jitter=lambda: 0.5, **settings, **extra))
        return made[-1]

    monkeypatch.setattr(gsheets, "SheetsSession", session)
    monkeypatch.setattr(gsheets, "credentials_session", lambda key_file, environ: inner)
    return made


def test_a_thousand_spreadsheets_never_put_more_than_sixty_requests_in_a_minute(tmp_path, monkeypatch, caplog):
    clock = SimulatedTime()
    inner = InProcessSession(api_with(1000), clock)
    made = pace_the_default_opener(monkeypatch, inner, clock)
    with caplog.at_level(logging.WARNING, logger="huifang.gsheets"):
        result = run_check(google_config(tmp_path, 1000), NOW)
    assert [s.error for s in result.sources] == [None] * 1000 and len(result.tables) == 1000
    assert len(inner.sent) == 2000 and made[0].requests_made == 2000
    assert busiest_window(inner.sent) == 60
    assert inner.sent[-1] == (2000 - 1) // 60 * 60  # the fastest the quota allows: 33 minutes, not more
    said = [r.getMessage() for r in caplog.records if r.name == "huifang.gsheets"]
    assert said == ["Reading 1,000 Google spreadsheets at 60 requests a minute takes about 33 minutes"]


@pytest.mark.parametrize("spreadsheets, per_minute", [(1000, 60), (1000, 45), (1000, 300), (31, 60), (30, 60), (7, 1)])
def test_pacing_is_as_fast_as_the_quota_allows_and_the_announced_minutes_are_the_run(spreadsheets, per_minute):
    clock = SimulatedTime()
    inner = InProcessSession(api_with(spreadsheets), clock)
    session = SheetsSession(inner, sleep=clock.sleep, monotonic=clock, requests_per_minute=per_minute)
    for i in range(spreadsheets):
        read_google_sheet(f"门店{i}", key(i), session)
    assert len(inner.sent) == 2 * spreadsheets
    assert busiest_window(inner.sent) == min(per_minute, 2 * spreadsheets)
    assert inner.sent[-1] == reading_minutes(spreadsheets, per_minute) * 60
    assert all(later >= earlier for earlier, later in zip(inner.sent, inner.sent[1:]))


def test_without_pacing_the_same_run_would_break_the_quota():
    clock = SimulatedTime()
    inner = InProcessSession(api_with(100), clock)
    session = SheetsSession(inner, sleep=clock.sleep, monotonic=clock, requests_per_minute=None)
    for i in range(100):
        read_google_sheet(f"门店{i}", key(i), session)
    assert busiest_window(inner.sent) == 200 and clock.sleeps == []


QUOTA_429 = (429, Raw(b'{"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}',
                      "application/json", headers={"Retry-After": "30"}))


def test_retries_count_against_the_budget_and_a_429_still_waits_its_retry_after():
    clock = SimulatedTime()
    api = api_with(300)
    # a 500 every 37th request, a 429 asking for 30 s every 101st: 600 reads, 16 + 6 retries
    api.faults[:] = [QUOTA_429 if n % 101 == 100 else 500 if n % 37 == 36 else None for n in range(622)]
    inner = InProcessSession(api, clock)
    session = SheetsSession(inner, sleep=clock.sleep, monotonic=clock, jitter=lambda: 0.5)
    for i in range(300):
        assert read_google_sheet(f"门店{i}", key(i), session).sheets
    assert len(inner.sent) == session.requests_made == 622
    assert busiest_window(inner.sent) <= 60
    retried_429 = [n for n in range(622) if n % 101 == 100]
    assert retried_429 and all(inner.sent[n + 1] - inner.sent[n] >= 30 for n in retried_429)
    assert 30.0 in clock.sleeps  # the Retry-After itself, as before pacing
    # retries are paced, not free: the run is at least as long as 622 paced requests
    assert inner.sent[-1] >= (622 - 1) // 60 * 60


def test_a_wait_already_spent_on_a_retry_is_not_waited_again():
    clock = SimulatedTime()
    pacer = RequestPacer(2, 60.0, clock=clock, sleep=clock.sleep)
    pacer.wait()
    pacer.wait()
    clock.sleep(45)  # a back-off between attempts
    pacer.wait()  # the oldest request is 45 s old: 15 s more
    assert clock.sleeps == [45, 15] and clock.now == 60


def test_a_sleep_returning_early_does_not_let_requests_through_early():
    clock = SimulatedTime()
    pacer = RequestPacer(1, 60.0, clock=clock, sleep=lambda seconds: None)  # the clock never moves
    for _ in range(3):
        pacer.wait()
    assert list(pacer.sent) == [120.0]


@pytest.mark.parametrize("spreadsheets, per_minute, sentence", [
    (1000, 60, "Reading 1,000 Google spreadsheets at 60 requests a minute takes about 33 minutes"),
    (1000, 300, "Reading 1,000 Google spreadsheets at 300 requests a minute takes about 6 minutes"),
    (31, 60, "Reading 31 Google spreadsheets at 60 requests a minute takes about 1 minute"),
    (30, 60, None),  # 60 requests go at once: no waiting to announce
    (1, 1, "Reading 1 Google spreadsheet at 1 request a minute takes about 1 minute"),
    (2000, 1, "Reading 2,000 Google spreadsheets at 1 request a minute takes about 3,999 minutes"),
    (0, 60, None),
])
def test_the_run_says_how_long_the_pacing_makes_it(caplog, spreadsheets, per_minute, sentence):
    session = SheetsSession(InProcessSession(SheetsApi()), requests_per_minute=per_minute)
    with caplog.at_level(logging.INFO, logger="huifang.gsheets"):
        session.announce(spreadsheets)
    said = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "huifang.gsheets"]
    assert said == ([(logging.WARNING, sentence)] if sentence else [])


def test_through_the_local_server_the_run_is_paced_and_announced(tmp_path, monkeypatch, caplog):
    clock = SimulatedTime()

    class Timed(requests.Session):  # real HTTP, noting the simulated moment of each request
        sent = []

        def request(self, *args, **kwargs):
            self.sent.append(clock())
            return super().request(*args, **kwargs)

    with SheetsServer() as server:
        for i in range(40):
            server.api.spreadsheets[key(i)] = visitor_tab(i)
        inner = Timed()
        pace_the_default_opener(monkeypatch, inner, clock, base_url=server.url)
        with caplog.at_level(logging.WARNING, logger="huifang.gsheets"):
            result = run_check(google_config(tmp_path, 40, requests_per_minute=60), NOW)
    assert [s.error for s in result.sources] == [None] * 40
    assert len(server.api.requests) == 80 and busiest_window(inner.sent) == 60
    assert clock.sleeps == [60.0] and inner.sent[60:] == [60.0] * 20
    assert "Reading 40 Google spreadsheets at 60 requests a minute takes about 1 minute" in caplog.messages


def test_the_configured_rate_paces_the_run(tmp_path, monkeypatch):
    clock = SimulatedTime()
    inner = InProcessSession(api_with(50), clock)
    made = pace_the_default_opener(monkeypatch, inner, clock)
    run_check(google_config(tmp_path, 50, requests_per_minute=20), NOW)
    assert made[0].pacer.limit == 20 and busiest_window(inner.sent) == 20 and inner.sent[-1] == 99 // 20 * 60


@pytest.mark.parametrize("value", [0, -1, 1.5, "60", True, 301, None])
def test_config_refuses_a_rate_that_is_not_a_whole_number_from_1_to_300(tmp_path, value):
    with pytest.raises(ConfigError, match="google.requests_per_minute"):
        parse_config({"sources": [], "google": {"requests_per_minute": value}}, tmp_path / "c.yaml", tmp_path)


@pytest.mark.parametrize("google, expected", [({}, 60), ({"requests_per_minute": 1}, 1),
                                              ({"requests_per_minute": 300}, 300), ({"requests_per_minute": 120.0}, 120)])
def test_config_rate_defaults_to_googles_per_user_quota(tmp_path, google, expected):
    config = parse_config({"sources": [], "google": google}, tmp_path / "c.yaml", tmp_path)
    assert config.google.requests_per_minute == expected and isinstance(config.google.requests_per_minute, int)
