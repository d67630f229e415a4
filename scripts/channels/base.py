"""What every chat transport shares: outcomes, pacing, back-off, the per-request deadline, splitting.

These APIs answer HTTP 200 with an error code in the body. Each transport names its codes for
"too many messages" (deferred, retried in the run with jittered back-off, then left to the next
run) and everything else that is not 0 is a refusal (failed, shown in the next digest). HTTP 5xx,
connection errors and bodies that are not JSON are deferred.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import requests

from ..errors import ConfigError
from .render import Block, ChatDoc, part_suffix
from .settings import Channel

log = logging.getLogger("huifang.channels")


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | deferred | failed
    reason: str = ""
    rate_limited: bool = False


SENT = Outcome("sent")


class Pacer:
    """At most ``per_minute`` requests in any 60 seconds (the bots allow 20), sleeping when needed."""

    def __init__(self, per_minute: int, clock: Callable[[], float], sleep: Callable[[float], None]):
        self.per_minute, self.clock, self.sleep = per_minute, clock, sleep
        self.times: deque[float] = deque()

    def wait(self) -> None:
        now = self.clock()
        while self.times and now - self.times[0] >= 60:
            self.times.popleft()
        if len(self.times) >= self.per_minute:
            pause = 60 - (now - self.times[0])
            log.info("pacing: %d messages in the last minute, waiting %.1fs", len(self.times), pause)
            self.sleep(pause)
            self.times.popleft()
        self.times.append(self.clock())


def dumps(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes recorded in the ledger and sent (signatures and tokens are added at send time)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


class Transport:
    """One chat endpoint. Subclasses build payloads and name their error codes."""

    type = ""
    size_limit = 4096  # bytes of the text field the platform measures
    rate_limit_codes: frozenset[int] = frozenset()
    transient_codes: frozenset[int] = frozenset()  # "system busy": deferred, not retried in the run
    personal = False

    def __init__(self, channel: Channel, session: requests.Session, *, environ: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 wall_clock: Callable[[], float] = time.time,
                 rand: Callable[[], float] = random.random, timeout: float = 10.0, deadline: float = 60.0,
                 retries: int = 3, backoff: float = 2.0, per_minute: int = 20):
        self.channel, self.session, self.environ = channel, session, environ
        # clock paces and times out (monotonic); wall_clock stamps signatures (DingTalk, Feishu)
        self.clock, self.sleep, self.rand, self.wall_clock = clock, sleep, rand, wall_clock
        self.timeout, self.deadline, self.retries, self.backoff = timeout, deadline, retries, backoff
        self.pacer = Pacer(per_minute, clock, sleep)

    # -- building ---------------------------------------------------------------------------------

    def build(self, title: str, blocks: Sequence[Block], footer: str, language: str,
              recipient: Any = None) -> dict[str, Any]:
        raise NotImplementedError

    def size(self, payload: Mapping[str, Any]) -> int:
        raise NotImplementedError

    def extra_payloads(self, doc: ChatDoc, language: str) -> list[dict[str, Any]]:
        """Payloads sent after the parts (WeCom: the @-mention of people known only by mobile)."""
        return []

    def payloads(self, doc: ChatDoc, language: str, recipient: Any = None) -> list[dict[str, Any]]:
        """The document as one or more payloads under the size limit, split between blocks only."""
        widest = part_suffix(language, 99, 99)

        def build(chunk: Sequence[Block], suffix: str, footer: bool) -> dict[str, Any]:
            return self.build(doc.title + suffix, chunk, doc.footer if footer else "", language, recipient)

        parts: list[list[Block]] = [[]]
        for block in doc.blocks:
            block = self._fit(block, lambda b: self.size(build([b], widest, True)))
            if parts[-1] and self.size(build([*parts[-1], block], widest, True)) > self.size_limit:
                parts.append([])
            parts[-1].append(block)
        n = len(parts)
        return [build(chunk, part_suffix(language, i, n) if n > 1 else "", i == n)
                for i, chunk in enumerate(parts, 1)]

    def _fit(self, block: Block, size: Callable[[Block], int]) -> Block:
        """A single block too big for one message is clipped (never spread over two messages)."""
        while size(block) > self.size_limit:
            lines = list(block.lines)
            longest = max(range(len(lines)), key=lambda k: len(lines[k]))
            if len(lines[longest]) <= 8:
                break
            lines[longest] = lines[longest][: int(len(lines[longest]) * 0.8)] + "…"
            block = Block(tuple(lines), block.mention, block.heading)
        return block

    # -- sending ----------------------------------------------------------------------------------

    def send(self, raw: bytes) -> Outcome:
        """Send one recorded payload; rate limits are retried with jittered back-off within the deadline."""
        try:
            payload = json.loads(raw)
            started = self.clock()
            for attempt in range(self.retries + 1):
                self.pacer.wait()
                outcome = self._send_once(payload, started)
                if not outcome.rate_limited or attempt == self.retries:
                    return outcome
                delay = min(60.0, self.backoff * 2 ** attempt) * (0.5 + self.rand() / 2)
                if self.clock() - started + delay > self.deadline:
                    return outcome
                log.warning("%s: %s; retrying in %.1fs", self.label, outcome.reason, delay)
                self.sleep(delay)
            return outcome
        except ConfigError as exc:
            return Outcome("failed", str(exc))

    @property
    def label(self) -> str:
        return f"{self.type}:{self.channel.name}"

    def _send_once(self, payload: dict[str, Any], started: float) -> Outcome:
        raise NotImplementedError

    def post(self, url: str, started: float, **kwargs: Any) -> tuple[Outcome | None, dict[str, Any]]:
        """POST within what is left of the deadline; (an outcome if it already failed, the JSON body)."""
        left = max(1.0, self.deadline - (self.clock() - started))
        return self.request("POST", url, timeout=min(self.timeout, left), **kwargs)

    def request(self, method: str, url: str, **kwargs: Any) -> tuple[Outcome | None, dict[str, Any]]:
        try:
            response = self.session.request(method, url, **kwargs)
        except requests.RequestException as exc:
            # The URL (it carries the key) is never in the reason: only the kind of failure.
            return Outcome("deferred", f"{self.label}: no answer ({type(exc).__name__})"), {}
        if response.status_code == 429:
            return Outcome("deferred", f"{self.label}: HTTP 429 too many requests", rate_limited=True), {}
        if response.status_code >= 500:
            return Outcome("deferred", f"{self.label}: HTTP {response.status_code}"), {}
        try:
            body = response.json()
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            kind = response.headers.get("Content-Type", "?").split(";")[0]
            status = "failed" if 400 <= response.status_code < 500 else "deferred"
            return Outcome(status, f"{self.label}: HTTP {response.status_code} answered {kind}, not JSON "
                                   f"(a proxy or a wrong URL?)"), {}
        return None, body

    def judge(self, code: int | None, message: str) -> Outcome:
        if code == 0:
            return SENT
        reason = f"{self.label}: error {code} {message}".strip()
        if code in self.rate_limit_codes:
            return Outcome("deferred", reason, rate_limited=True)
        if code in self.transient_codes or code is None:
            return Outcome("deferred", reason)
        return Outcome("failed", reason)


def lines_markdown(blocks: Sequence[Block], mention: Callable[[Block], str], newline: str = "\n",
                   between: str = "\n") -> str:
    """Blocks as markdown: a heading block's first line in bold, followed by its mentions."""
    out = []
    for block in blocks:
        lines = list(block.lines)
        if block.heading and lines:
            lines[0] = f"**{lines[0]}**"
        if block.mention and lines:
            lines[0] = f"{lines[0]} {mention(block)}".rstrip()
        out.append(newline.join(lines))
    return between.join(out)
