"""Google Sheets through gspread: one metadata request and one values:batchGet per spreadsheet.

Cells are read unformatted (numbers as numbers, dates as serial numbers of the 1899-12-30 epoch,
which is Excel's 1900 system), so the same coercion code as for Excel files applies; a formula error
comes as its text ("#N/A"), which the coercion reads as an error, as it does for Excel files.
gspread's own back-off client retries without end and sets no timeout; this session retries 429/5xx
and connection errors a bounded number of times with jitter (waiting as long as a Retry-After header
asks, up to a cap), and gives every attempt a total deadline: requests' timeout only bounds each
socket read, so a server trickling a byte a second would otherwise hold the run for ever.
Every request, a retry included, first passes a RequestPacer: at most 60 in any 60 seconds, Google's
per-user read quota, so a run over 1,000 spreadsheets waits its turn instead of meeting HTTP 429.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import socket
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import requests

from ..errors import ConfigError, SourceError
from . import Grid, Row, Sheet, Workbook

log = logging.getLogger("huifang.gsheets")

API_BASE = "https://sheets.googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/spreadsheets.readonly",)
_KEY = re.compile(r"/spreadsheets/d/([a-zA-Z0-9_-]+)")
_START = re.compile(r"!?\$?([A-Z]+)\$?(\d+)")
MAX_REPLY = 256 * 1024**2  # a values:batchGet of a 100k-row log is ~30 MB
# Google's "Read requests, per minute per user per project: 60" (300 per project), refilled every
# minute; more gives HTTP 429 (https://developers.google.com/workspace/sheets/api/limits).
READS_PER_MINUTE = 60
REQUESTS_PER_SPREADSHEET = 2  # metadata, then one values:batchGet


class RequestPacer:
    """At most ``limit`` requests in any ``window`` seconds: the send times of the last ``limit``
    requests are kept, and a request waits until the oldest of them is ``window`` seconds old.

    No schedule within the quota is faster: any ``limit`` + 1 requests span a window, so request k
    cannot go before window k // limit, and here (requests taking no time) it goes exactly then.
    Unlike a token bucket it never lets the first burst and the refill share one window.
    ``clock`` is monotonic seconds; ``sleep`` waits. One thread uses it.
    """

    def __init__(self, limit: int = READS_PER_MINUTE, window: float = 60.0, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self.sent: deque[float] = deque(maxlen=limit)

    def wait(self) -> None:
        """Return when one more request may go, and count it as sent now."""
        now = self.clock()
        if len(self.sent) == self.limit:
            due = self.sent[0] + self.window
            if due > now:
                self.sleep(due - now)
                now = max(self.clock(), due)  # a sleep that returns early does not let a request through early
        self.sent.append(now)  # the deque drops the oldest


def reading_minutes(spreadsheets: int, per_minute: int) -> int:
    """Whole minutes the pacing alone makes ``spreadsheets`` Google sources take (0: no waiting).

    With two requests each and at most ``per_minute`` in any minute, request k cannot go before
    minute k // per_minute, so the last one goes at minute (requests - 1) // per_minute.
    """
    requests_needed = REQUESTS_PER_SPREADSHEET * spreadsheets
    return (requests_needed - 1) // per_minute if requests_needed else 0


class ReplyTooLarge(requests.RequestException):
    """Google (or something pretending to be it) sent more than MAX_REPLY bytes."""


def spreadsheet_key(url_or_key: str) -> str:
    """The key of a spreadsheet URL (https://docs.google.com/spreadsheets/d/<key>/edit), or the key itself."""
    match = _KEY.search(url_or_key)
    key = match.group(1) if match else url_or_key.strip()
    if not re.fullmatch(r"[a-zA-Z0-9_-]{10,}", key):
        raise ConfigError(f"google_sheet: {url_or_key!r} is neither a Google Sheets URL nor a spreadsheet key")
    return key


class SheetsSession(requests.Session):
    """A requests session for gspread: bounded retries with jitter, a total deadline on every attempt.

    ``inner`` does the HTTP (google-auth's AuthorizedSession in production, a plain session in
    tests); ``base_url`` points the Sheets API elsewhere (a local test server). ``timeout`` bounds
    each socket read; ``deadline`` is the most one attempt may take, answer and body included
    (default: four read timeouts, 120 s for the configured 30, room for a 30 MB reply on a slow line).
    ``requests_per_minute`` paces every request, retries included (None: no pacing); ``monotonic``
    is the pacer's clock, ``clock`` the wall clock that Retry-After dates are read against.
    """

    def __init__(self, inner: requests.Session | None = None, *, base_url: str | None = None,
                 timeout: float | tuple[float, float] = (10, 60), retries: int = 4, backoff: float = 1.0,
                 deadline: float | None = None, max_retry_after: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep, jitter: Callable[[], float] = random.random,
                 clock: Callable[[], float] = time.time, requests_per_minute: int | None = READS_PER_MINUTE,
                 monotonic: Callable[[], float] = time.monotonic):
        super().__init__()
        self.inner = inner or requests.Session()
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout
        self.deadline = deadline if deadline is not None else 4.0 * (
            timeout[1] if isinstance(timeout, tuple) else timeout)
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.jitter = jitter
        self.clock = clock
        self.requests_made = 0
        self.pacer = None if requests_per_minute is None else RequestPacer(requests_per_minute, clock=monotonic,
                                                                            sleep=sleep)

    def announce(self, spreadsheets: int) -> None:
        """Say, before reading, how long the pacing makes a run over ``spreadsheets`` take (when it waits)."""
        if self.pacer is None:
            return
        minutes = reading_minutes(spreadsheets, self.pacer.limit)
        if minutes:
            log.warning("Reading %s at %s a minute takes about %s", _count(spreadsheets, "Google spreadsheet"),
                        _count(self.pacer.limit, "request"), _count(minutes, "minute"))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.base_url and url.startswith(API_BASE):
            url = self.base_url + url[len(API_BASE):]
        kwargs["timeout"] = kwargs.get("timeout") or self.timeout
        last: requests.Response | Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                delay = self.backoff * 2 ** (attempt - 1) * (0.5 + self.jitter())
                asked = _retry_after(last, self.clock) if isinstance(last, requests.Response) else None
                if asked is not None:
                    delay = min(max(asked, 0.0), self.max_retry_after)
                reason = f"HTTP {last.status_code}" if isinstance(last, requests.Response) else type(last).__name__
                log.warning("Google Sheets: retrying %s in %.1fs after %s", method.upper(), delay, reason)
                self.sleep(delay)
            if self.pacer is not None:
                self.pacer.wait()
            self.requests_made += 1
            try:
                response = self._attempt(method, url, args, kwargs)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                last = exc
                continue
            if response.status_code == 429 or response.status_code >= 500:
                last = response
                continue
            return response
        if isinstance(last, requests.Response):
            return last  # gspread turns it into an APIError
        assert last is not None
        raise last

    def _attempt(self, method: str, url: str, args: tuple, kwargs: dict[str, Any]) -> requests.Response:
        """One request, body read in full, within ``deadline`` seconds or requests.Timeout.

        The request runs in a daemon thread: a server that trickles its headers keeps that thread
        waiting, not the run; its socket is shut when the deadline passes.
        """
        until = time.monotonic() + self.deadline
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                response = self.inner.request(method, url, *args, stream=True, **kwargs)
                box["response"] = response
                body = bytearray()
                for piece in response.iter_content(16384):
                    body += piece
                    if len(body) > MAX_REPLY:
                        raise ReplyTooLarge(f"reply over {MAX_REPLY // 1024**2} MB")
                    if time.monotonic() > until:
                        raise requests.Timeout("deadline passed while reading the reply")
                response._content = bytes(body)  # what response.json()/.text read
                box["done"] = response
            except BaseException as exc:  # handed to the caller's thread
                box["error"] = exc

        worker = threading.Thread(target=work, name="sheets-request", daemon=True)
        worker.start()
        worker.join(max(until - time.monotonic(), 0.0))
        if worker.is_alive():
            _abort(box.get("response"))
            raise requests.Timeout(f"no complete answer within {self.deadline:g} s")
        if "error" in box:
            raise box["error"]
        return box["done"]


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _abort(response: requests.Response | None) -> None:
    """Shut the socket of a reply still arriving so its reader thread ends (best effort)."""
    if response is None:
        return
    try:
        sock = response.raw._fp.fp.raw._sock  # urllib3 -> http.client -> socket.SocketIO
        sock.shutdown(socket.SHUT_RDWR)
    except (AttributeError, OSError):
        pass
    try:
        response.close()
    except Exception:  # noqa: BLE001  (the worker may be inside the same response)
        pass


def _retry_after(response: requests.Response, clock: Callable[[], float]) -> float | None:
    """Seconds a 429/503 asks us to wait: `Retry-After: 120` or an HTTP date."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.timestamp() - clock()


def credentials_session(key_file: Path | None, environ: Mapping[str, str]) -> requests.Session:
    """google-auth's AuthorizedSession for the service account named in the config or the environment."""
    from google.auth.exceptions import GoogleAuthError  # noqa: PLC0415
    from google.auth.transport.requests import AuthorizedSession  # noqa: PLC0415
    from google.oauth2 import service_account  # noqa: PLC0415

    name = key_file or environ.get("HUIFANG_GOOGLE_CREDENTIALS") or environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not name:
        raise ConfigError("google.service_account_file: no service-account key file configured "
                          "(or set HUIFANG_GOOGLE_CREDENTIALS)")
    path = Path(name)
    try:
        credentials = service_account.Credentials.from_service_account_file(str(path), scopes=list(SCOPES))
    except FileNotFoundError:
        raise ConfigError(f"google.service_account_file: {path} not found") from None
    except (ValueError, KeyError, GoogleAuthError) as exc:
        raise ConfigError(f"google.service_account_file: {path} is not a service-account key ({exc})") from None
    return AuthorizedSession(credentials)


def _start(range_text: str) -> tuple[int, int]:
    """(first row number, 0-based first column) of a returned range such as 'Sheet 1'!B3:F20."""
    cells = range_text.rsplit("!", 1)[-1]
    match = _START.match(cells)
    if not match:
        return 1, 0
    letters, row = match.groups()
    col = 0
    for ch in letters:
        col = col * 26 + (ord(ch) - 64)
    return int(row), col - 1


def _quote(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def read_google_sheet(name: str, url_or_key: str, session: requests.Session, *, account: str = "the service account"
                      ) -> Workbook:
    """All tabs of one spreadsheet, in two requests. Raises SourceError naming the spreadsheet."""
    import gspread  # noqa: PLC0415
    from google.auth.exceptions import RefreshError, TransportError  # noqa: PLC0415

    key = spreadsheet_key(url_or_key)
    client = gspread.http_client.HTTPClient(auth=None, session=session)  # type: ignore[arg-type]
    try:
        meta = client.fetch_sheet_metadata(key, params={"includeGridData": "false",
                                                        "fields": "properties.title,sheets.properties"})
        grids = [s["properties"] for s in meta.get("sheets", [])
                 if s.get("properties", {}).get("sheetType", "GRID") == "GRID"]
        values = client.values_batch_get(key, [_quote(p["title"]) for p in grids], params={
            "valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER",
            "majorDimension": "ROWS"}) if grids else {"valueRanges": []}
        base = f"https://docs.google.com/spreadsheets/d/{key}/edit"
        sheets = []
        for props, block in zip(grids, values.get("valueRanges", [])):
            rows = block.get("values", [])
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise TypeError("values is not a list of rows")
            sheets.append(Sheet(
                title=str(props["title"]),
                read=_reader(block),
                hidden=bool(props.get("hidden", False)),
                url=f"{base}#gid={props.get('sheetId', 0)}",
            ))
    except gspread.exceptions.APIError as exc:
        raise SourceError(name, _api_reason(exc, key, account)) from exc
    except RefreshError as exc:
        if getattr(exc, "retryable", False):
            raise SourceError(name, f"Google's sign-in service answered with an error on its side while opening "
                                    f"spreadsheet {key}; the next run will try again") from exc
        raise SourceError(name, f"Google rejected the service-account credentials while opening spreadsheet {key}: "
                                "create a new key for the service account") from exc
    except requests.Timeout as exc:
        raise SourceError(name, f"Google Sheets did not answer within {_deadline(session)} for spreadsheet {key}; "
                                "the next run will try again") from exc
    except ReplyTooLarge as exc:
        raise SourceError(name, f"Google Sheets sent more than {MAX_REPLY // 1024**2} MB for spreadsheet {key}; "
                                "refusing it") from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # JSONDecodeError is a ValueError
        raise SourceError(name, f"the answer for Google spreadsheet {key} was not spreadsheet data (a Wi-Fi sign-in "
                                "page or a reply cut short?); the next run will try again") from exc
    except (requests.RequestException, TransportError) as exc:  # the connection, or a reply cut off mid-way
        raise SourceError(name, f"Google Sheets could not be reached for spreadsheet {key} ({type(exc).__name__}); "
                                "check the internet connection") from exc
    return Workbook(name=name, path=f"{base}", sheets=tuple(sheets))


def _deadline(session: requests.Session) -> str:
    deadline = getattr(session, "deadline", None)
    return f"{deadline:g} s" if deadline else "the time limit"


def _reader(block: Mapping[str, Any]) -> Callable[[], Grid]:
    def read() -> Grid:
        first_row, first_col = _start(block.get("range", "A1"))
        rows: Iterator[Row] = ((first_row + i, values) for i, values in enumerate(block.get("values", [])))
        return Grid(rows=rows, first_col=first_col)

    return read


def _api_reason(exc: Any, key: str, account: str) -> str:
    # The HTTP status, not gspread's code: that is -1 when the body is not Google's JSON (a proxy's 502 page).
    code = getattr(getattr(exc, "response", None), "status_code", None) or getattr(exc, "code", None)
    if code == 403:
        return f"access to Google spreadsheet {key} was denied: share it with {account} (Viewer is enough)"
    if code == 404:
        return f"Google spreadsheet {key} does not exist: check the URL in the config"
    if code == 401:
        return (f"Google refused the credentials for spreadsheet {key} (HTTP 401): "
                "create a new key for the service account")
    if code == 429:
        return f"Google's read quota is used up (HTTP 429) for spreadsheet {key}; the next run will try again"
    return f"Google Sheets answered HTTP {code} for spreadsheet {key}; the next run will try again"
