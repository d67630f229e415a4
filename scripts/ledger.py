"""The ledger: what was sent to whom, and the lock that keeps two runs from sending at once.

SQLite in WAL mode. A message is recorded as ``pending`` (with its exact bytes) before it is handed
to the mail server and marked ``sent`` after; a run that finds a ``pending`` message (the previous
run died in between) sends those same bytes again, so the same Message-ID arrives at most twice.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .errors import LockedError

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    period TEXT NOT NULL,
    subject TEXT NOT NULL,
    message_id TEXT NOT NULL,
    raw BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'deferred', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_slot ON messages (kind, recipient, period);
CREATE TABLE IF NOT EXISTS message_items (
    key TEXT NOT NULL REFERENCES messages (key),
    item TEXT NOT NULL,
    PRIMARY KEY (key, item)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    outcome TEXT,
    detail TEXT
);
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Entry:
    key: str
    kind: str
    recipient: str
    period: str
    subject: str
    message_id: str
    raw: bytes
    status: str
    attempts: int
    error: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Run:
    id: int
    job: str
    started_at: str
    ended_at: str | None
    outcome: str | None
    detail: str | None


class Ledger:
    """``Ledger(path)`` or ``Ledger(":memory:")``; every method takes the moment it acts at."""

    def __init__(self, path: str | Path):
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=10, isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        if str(path) != ":memory:":
            self._wal()
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)

    def _wal(self) -> None:
        # Switching a new database to WAL needs a moment alone with it; SQLite answers "locked" at once
        # (without waiting) when another process is opening it too, so wait here.
        for attempt in range(100):
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError:
                if attempt == 99:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self.db.close()

    # -- messages ---------------------------------------------------------------------------------

    def get(self, key: str) -> Entry | None:
        row = self.db.execute("SELECT * FROM messages WHERE key = ?", (key,)).fetchone()
        return Entry(**dict(row)) if row else None

    def slot_taken(self, kind: str, recipient: str, period: str) -> bool:
        """Whether a message of this kind already went (or is going) to this person this period."""
        row = self.db.execute(
            "SELECT 1 FROM messages WHERE kind = ? AND recipient = ? AND period = ? AND status IN ('sent', 'pending')",
            (kind, recipient, period),
        ).fetchone()
        return row is not None

    def period_done(self, kind: str, period: str) -> bool:
        """Whether any message of this kind went out for this period (to anyone)."""
        row = self.db.execute("SELECT 1 FROM messages WHERE kind = ? AND period = ? AND status = 'sent'",
                              (kind, period)).fetchone()
        return row is not None

    def items_done(self, kind: str) -> set[str]:
        """Items (e.g. escalation levels of findings) already carried by a sent or pending message."""
        rows = self.db.execute(
            "SELECT i.item FROM message_items i JOIN messages m USING (key) "
            "WHERE m.kind = ? AND m.status IN ('sent', 'pending')",
            (kind,),
        )
        return {r[0] for r in rows}

    def record_pending(self, *, key: str, kind: str, recipient: str, period: str, subject: str, message_id: str,
                       raw: bytes, items: Iterable[str], now: dt.datetime) -> None:
        stamp = now.isoformat()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT INTO messages (key, kind, recipient, period, subject, message_id, raw, status, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET status = 'pending', updated_at = excluded.updated_at",
                (key, kind, recipient, period, subject, message_id, raw, stamp, stamp),
            )
            self.db.executemany("INSERT OR IGNORE INTO message_items (key, item) VALUES (?, ?)",
                                [(key, item) for item in items])

    def mark(self, key: str, status: str, now: dt.datetime, error: str | None = None) -> None:
        self.db.execute(
            "UPDATE messages SET status = ?, error = ?, attempts = attempts + 1, updated_at = ? WHERE key = ?",
            (status, error, now.isoformat(), key),
        )

    def unfinished(self) -> list[Entry]:
        """Messages a previous run left pending (it died between send and record) or deferred (4xx)."""
        rows = self.db.execute("SELECT * FROM messages WHERE status IN ('pending', 'deferred') ORDER BY created_at, key")
        return [Entry(**dict(r)) for r in rows]

    def history(self, since: dt.datetime | None = None) -> list[Entry]:
        query, args = "SELECT * FROM messages", ()
        if since is not None:
            query, args = query + " WHERE updated_at >= ?", (since.isoformat(),)
        return [Entry(**dict(r)) for r in self.db.execute(query + " ORDER BY updated_at, key", args)]

    def failures_since(self, since: dt.datetime) -> list[Entry]:
        rows = self.db.execute(
            "SELECT * FROM messages WHERE status IN ('failed', 'deferred') AND updated_at >= ? ORDER BY updated_at",
            (since.isoformat(),),
        )
        return [Entry(**dict(r)) for r in rows]

    # -- runs ---------------------------------------------------------------------------------------

    def start_run(self, job: str, now: dt.datetime) -> int:
        cur = self.db.execute("INSERT INTO runs (job, started_at) VALUES (?, ?)", (job, now.isoformat()))
        return int(cur.lastrowid)

    def end_run(self, run_id: int, now: dt.datetime, outcome: str, detail: str = "") -> None:
        self.db.execute("UPDATE runs SET ended_at = ?, outcome = ?, detail = ? WHERE id = ?",
                        (now.isoformat(), outcome, detail, run_id))

    def runs(self, since: dt.datetime | None = None) -> list[Run]:
        query, args = "SELECT * FROM runs", ()
        if since is not None:
            query, args = query + " WHERE started_at >= ?", (since.isoformat(),)
        return [Run(**dict(r)) for r in self.db.execute(query + " ORDER BY id", args)]

    # -- lock ---------------------------------------------------------------------------------------

    def acquire(self, owner: str, now: dt.datetime, ttl: dt.timedelta = dt.timedelta(hours=1), name: str = "jobs") -> None:
        """Take the lock or raise LockedError; a lock older than ``ttl`` (a crashed run) is taken over."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            row = self.db.execute("SELECT owner, expires_at FROM locks WHERE name = ?", (name,)).fetchone()
            if row is not None and row["owner"] != owner and dt.datetime.fromisoformat(row["expires_at"]) > now:
                raise LockedError(f"another Huifang run ({row['owner']}) is working until {row['expires_at']}; try again later")
            self.db.execute(
                "INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at",
                (name, owner, (now + ttl).isoformat()),
            )

    def release(self, owner: str, name: str = "jobs") -> None:
        self.db.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))

    def locked(self, owner: str, now: dt.datetime, ttl: dt.timedelta = dt.timedelta(hours=1)) -> "_Held":
        return _Held(self, owner, now, ttl)


class _Held:
    def __init__(self, ledger: Ledger, owner: str, now: dt.datetime, ttl: dt.timedelta):
        self.ledger, self.owner, self.now, self.ttl = ledger, owner, now, ttl

    def __enter__(self) -> Ledger:
        self.ledger.acquire(self.owner, self.now, self.ttl)
        return self.ledger

    def __exit__(self, *exc: object) -> None:
        self.ledger.release(self.owner)

