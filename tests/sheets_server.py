"""A local HTTP server that speaks the parts of the Sheets API v4 gspread uses, on 127.0.0.1.

Response shapes are replayed from the real API's recordings in shared/corpus/gspread-cassettes
(metadata properties, error bodies); the cell values come from workbooks converted the way the API
returns them unformatted (dates as serial numbers, trailing empty cells and rows left out).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import openpyxl
import requests

CASSETTES = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "gspread-cassettes"
EPOCH = dt.datetime(1899, 12, 30)


def _cassette_body(name: str, status: int | None = None, contains: str = "") -> dict[str, Any] | None:
    path = CASSETTES / name
    if not path.exists():
        return None
    for interaction in json.loads(path.read_text(encoding="utf-8"))["interactions"]:
        response = interaction["response"]
        if (status is None or response["status"]["code"] == status) and contains in interaction["request"]["uri"]:
            return json.loads(response["body"]["string"])
    return None


RECORDED_METADATA = _cassette_body("SpreadsheetTest.test_values_batch_get.json", 200, "includeGridData=false")
RECORDED_403 = _cassette_body("ClientTest.test_access_private_spreadsheet.json", 403) or {
    "error": {"code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}}
RECORDED_404 = _cassette_body("ClientTest.test_access_non_existing_spreadsheet.json", 404) or {
    "error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}}


def unformatted(value: Any) -> Any:
    """A cell as the API's UNFORMATTED_VALUE + SERIAL_NUMBER rendering returns it."""
    if isinstance(value, dt.datetime):
        return (value - EPOCH).total_seconds() / 86400
    if isinstance(value, dt.date):
        return (dt.datetime.combine(value, dt.time()) - EPOCH).days
    if value is None:
        return ""
    return value


def tabs_from_xlsx(path: Path) -> list[dict[str, Any]]:
    book = openpyxl.load_workbook(path, data_only=True)
    tabs = []
    for index, ws in enumerate(book.worksheets):
        rows = [[unformatted(v) for v in row] for row in ws.iter_rows(values_only=True)]
        for row in rows:
            while row and row[-1] == "":
                row.pop()
        while rows and not rows[-1]:
            rows.pop()
        tabs.append({"sheetId": 1000 + index * 7, "title": ws.title, "index": index,
                     "hidden": ws.sheet_state != "visible", "values": rows})
    return tabs


@dataclass
class Raw:
    """A reply that is not Google's JSON, or not delivered as Google delivers it."""

    body: bytes
    content_type: str = "text/html; charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)
    trickle: float = 0.0  # seconds between bytes of the body
    length: int | None = None  # Content-Length to announce (more than sent: a cut-off reply)
    slow_header: int = 0  # bytes of an extra header sent one by one, `trickle` seconds apart


CAPTIVE_PORTAL = Raw(b"<html><head><title>Sign in to Guest Wi-Fi</title></head><body>Accept the terms</body></html>")
BAD_GATEWAY = Raw(b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>")


@dataclass
class SheetsApi:
    spreadsheets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # per request, in order: 429, 500, 403, 404, "timeout", None, or (status, Raw) for a reply as given
    faults: list[Any] = field(default_factory=list)
    token_faults: list[Any] = field(default_factory=list)  # the same, for the token endpoint
    delay: float = 1.5
    token: str | None = None  # when set, the OAuth token endpoint grants it and GETs must carry it
    authorizations: list[str] = field(default_factory=list)

    def grant(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any] | Raw]:
        """The OAuth2 token endpoint a service account's JWT is exchanged at."""
        fault = self.token_faults.pop(0) if self.token_faults else None
        if isinstance(fault, tuple):
            return fault
        if isinstance(fault, int):
            return fault, {"error": "internal_failure", "error_description": "simulated"}
        if self.token is None or form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        return 200, {"access_token": self.token, "expires_in": 3600, "token_type": "Bearer"}

    def answer(self, method: str, url: str) -> tuple[int, dict[str, Any] | Raw]:
        parsed = urlparse(url)
        self.requests.append((method, parsed.path))
        fault = self.faults.pop(0) if self.faults else None
        if isinstance(fault, tuple):
            return fault
        if fault == "timeout":
            time.sleep(self.delay)
        elif fault in (403, 404):
            return fault, RECORDED_403 if fault == 403 else RECORDED_404
        elif isinstance(fault, int):
            return fault, {"error": {"code": fault, "message": "simulated", "status": "UNAVAILABLE"}}
        parts = parsed.path.split("/")
        if len(parts) < 4 or parts[1:3] != ["v4", "spreadsheets"]:
            return 404, RECORDED_404
        key = unquote(parts[3].split(":")[0])
        if key not in self.spreadsheets:
            return 404, RECORDED_404
        tabs = self.spreadsheets[key]
        if parts[3].endswith(":batchGet") or (len(parts) > 4 and parts[4] == "values:batchGet"):
            query = parse_qs(parsed.query)
            if query.get("valueRenderOption") != ["UNFORMATTED_VALUE"]:
                return 400, {"error": {"code": 400, "message": "test server serves unformatted values only"}}
            ranges = []
            for wanted in query.get("ranges", []):
                title = wanted.strip("'").replace("''", "'")
                tab = next((t for t in tabs if t["title"] == title), None)
                if tab is None:
                    return 400, {"error": {"code": 400, "message": f"Unable to parse range: {wanted}"}}
                block: dict[str, Any] = {"range": f"{wanted}!A1:Z1000", "majorDimension": "ROWS"}
                if tab["values"]:
                    block["values"] = tab["values"]
                ranges.append(block)
            return 200, {"spreadsheetId": key, "valueRanges": ranges}
        meta = json.loads(json.dumps(RECORDED_METADATA or {"properties": {"title": key}}))
        meta["spreadsheetId"] = key
        meta["properties"]["title"] = key
        meta["sheets"] = [{"properties": {
            "sheetId": t["sheetId"], "title": t["title"], "index": t["index"], "sheetType": "GRID",
            "gridProperties": {"rowCount": 1000, "columnCount": 26}, **({"hidden": True} if t["hidden"] else {}),
        }} for t in tabs]
        return 200, meta


class SheetsServer:
    def __init__(self) -> None:
        self.api = SheetsApi()
        api = self.api
        stopping = self.stopping = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode("utf-8"))
                self._reply(*api.grant(form))

            def do_GET(self) -> None:  # noqa: N802
                api.authorizations.append(self.headers.get("Authorization", ""))
                if api.token is not None and self.headers.get("Authorization") != f"Bearer {api.token}":
                    self._reply(401, {"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                                                "status": "UNAUTHENTICATED"}})
                    return
                self._reply(*api.answer("GET", self.path))

            def _reply(self, status: int, body: dict[str, Any] | Raw) -> None:
                raw = body if isinstance(body, Raw) else Raw(json.dumps(body).encode("utf-8"),
                                                             "application/json; charset=UTF-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", raw.content_type)
                    self.send_header("Content-Length", str(raw.length or len(raw.body)))
                    for name, value in raw.headers.items():
                        self.send_header(name, value)
                    if raw.slow_header:
                        self.flush_headers()
                        for byte in b"X-Slow: " + b"a" * raw.slow_header + b"\r\n":
                            if stopping.is_set():
                                return
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(raw.trickle)
                        raw = Raw(raw.body, raw.content_type, length=raw.length)
                    self.end_headers()
                    if not raw.trickle:
                        self.wfile.write(raw.body)
                        return
                    for i in range(len(raw.body)):
                        if stopping.is_set():
                            return
                        self.wfile.write(raw.body[i:i + 1])
                        self.wfile.flush()
                        time.sleep(raw.trickle)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if raw.length:
                    self.close_connection = True

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "SheetsServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


class SimulatedTime:
    """A clock that moves only when slept on: 1,000 spreadsheets' half hour of pacing in milliseconds."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class InProcessSession(requests.Session):
    """``SheetsApi`` answering without a socket, as the inner session of a SheetsSession; ``sent`` holds
    the (simulated) moment of every request that reached it."""

    def __init__(self, api: SheetsApi, clock: Any = None) -> None:
        super().__init__()
        self.api = api
        self.clock = clock or time.monotonic
        self.sent: list[float] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append(self.clock())
        url = requests.Request(method, url, params=kwargs.get("params")).prepare().url or url
        status, body = self.api.answer(method.upper(), url)
        raw = body if isinstance(body, Raw) else Raw(json.dumps(body).encode("utf-8"), "application/json; charset=UTF-8")
        response = requests.Response()
        response.status_code = status
        response.url = url
        response.headers.update({"Content-Type": raw.content_type, **raw.headers})
        response._content = raw.body
        response._content_consumed = True  # iter_content() hands back _content
        return response


def busiest_window(times: list[float], window: float = 60.0) -> int:
    """The most of ``times`` (sorted) that fall in any half-open ``window`` [t, t + window)."""
    most = start = 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most
