"""The ledger: what was sent to whom, and the lock that keeps two runs from sending at once.

SQLite in WAL mode, readable by its owner only (0600: it holds full phone numbers). A message is
recorded as ``pending`` (with its exact bytes) before it is handed to the mail server and marked
``sent`` after; a run that finds a ``pending`` message (the previous run died in between) sends those
same bytes again, so the same Message-ID arrives at most twice.

The lock is an OS lock on ``state.sqlite3.lock`` (``fcntl.flock``, ``msvcrt.locking`` on Windows): the
system releases it when the process holding it ends, however it ends (``kill -9`` included), and it
holds for as long as the run lasts, with nothing to renew.

Every SQLite failure (not a database, damaged, read-only, locked too long, disk full) becomes a
StateError naming the file and what to do.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from .errors import LockedError, StateError

BUSY_TIMEOUT = 30.0  # seconds to wait for another program holding the database

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
    updated_at TEXT NOT NULL,
    via TEXT
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
CREATE TABLE IF NOT EXISTS recipients (
    address TEXT PRIMARY KEY,
    first_seen TEXT NOT NULL,
    initial INTEGER NOT NULL DEFAULT 0
);
"""

F = TypeVar("F", bound=Callable[..., Any])


def state_error(path: str | Path, exc: sqlite3.Error) -> StateError:
    """One sentence for a store manager: which file, what is wrong with it, what to do."""
    text = str(exc)
    low = text.lower()
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        advice = (f"the ledger {path} is damaged ({text}): move it aside (rename it) and run again; a new one is "
                  "created and today's emails may go out once more")
    elif "readonly" in low or "read-only" in low:
        advice = (f"the ledger {path} cannot be written ({text}): give the account that runs Huifang write "
                  "permission on the file and its folder")
    elif "locked" in low or "busy" in low:
        advice = (f"the ledger {path} is held by another program ({text}): close whatever has it open "
                  "(a database viewer, a backup or sync tool) and run again")
    elif "full" in low:
        advice = f"the disk holding the ledger {path} is full ({text}): free some space and run again"
    elif "unable to open" in low or "disk i/o" in low:
        advice = f"the ledger {path} cannot be opened ({text}): check that its folder exists and can be written"
    else:
        advice = f"the ledger {path} cannot be used ({text}): move it aside and run again"
    return StateError(advice)


def _guarded(method: F) -> F:
    @functools.wraps(method)
    def wrapper(self: "Ledger", *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise state_error(self.path, exc) from exc

    return wrapper  # type: ignore[return-value]


def _private(path: Path) -> None:
    """Create ``path`` as 0600 (SQLite gives its -wal and -shm files the same mode), or narrow it to that."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
    except OSError:
        pass  # not ours to change, or not there: SQLite says what is wrong when it opens it


class FileLock:
    """An exclusive lock the operating system drops when the process ends, however it ends."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self, owner: str) -> bool:
        if self.fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if sys.platform == "win32":
                import msvcrt  # noqa: PLC0415

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # byte 0; the owner is written after it
            else:
                import fcntl  # noqa: PLC0415

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.lseek(fd, 1, os.SEEK_SET)
        os.write(fd, owner.encode("utf-8")[:200].ljust(200))
        self.fd = fd
        return True

    def holder(self) -> str:
        with contextlib.suppress(OSError), open(self.path, "rb") as f:
            f.seek(1)
            return f.read(200).decode("utf-8", "replace").strip() or "unknown"
        return "unknown"

    def release(self) -> None:
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        if sys.platform == "win32":
            import msvcrt  # noqa: PLC0415

            with contextlib.suppress(OSError):
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        os.close(fd)  # closing drops the flock


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
    via: str | None = None  # "outbox" when the message was only written to the outbox folder

    @property
    def shown_status(self) -> str:
        """What `history` calls it: a message written to the outbox was not sent to anyone."""
        return "outbox" if self.status == "sent" and self.via == "outbox" else self.status


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

    def __init__(self, path: str | Path, *, busy_timeout: float | None = None):
        self.path = str(path)
        self.file_lock: FileLock | None = None
        if self.path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise state_error(path, sqlite3.OperationalError(f"unable to open database file: {exc.strerror}")) from exc
            _private(Path(path))
            self.file_lock = FileLock(Path(f"{path}.lock"))
        timeout = BUSY_TIMEOUT if busy_timeout is None else busy_timeout
        self.db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            self.db.row_factory = sqlite3.Row
            if self.path != ":memory:":
                self._wal()
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(messages)")}
            if "via" not in columns:  # ledgers made before the outbox was told apart from sending
                try:
                    self.db.execute("ALTER TABLE messages ADD COLUMN via TEXT")
                except sqlite3.OperationalError as exc:  # another process added it a moment ago
                    if "duplicate column" not in str(exc):
                        raise
        except sqlite3.Error as exc:
            self.db.close()
            raise state_error(path, exc) from exc

    def _wal(self) -> None:
        # Switching a new database to WAL needs a moment alone with it; SQLite answers "locked" at once
        # (without waiting) when another process is opening it too, so wait here.
        for attempt in range(100):
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if attempt == 99 or "locked" not in str(exc):
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        if self.file_lock is not None:
            self.file_lock.release()
        self.db.close()

    # -- messages ---------------------------------------------------------------------------------

    @_guarded
    def get(self, key: str) -> Entry | None:
        row = self.db.execute("SELECT * FROM messages WHERE key = ?", (key,)).fetchone()
        return Entry(**dict(row)) if row else None

    @_guarded
    def slot_taken(self, kind: str, recipient: str, period: str) -> bool:
        """Whether a message of this kind already went (or is going) to this person this period."""
        row = self.db.execute(
            "SELECT 1 FROM messages WHERE kind = ? AND recipient = ? AND period = ? AND status IN ('sent', 'pending')",
            (kind, recipient, period),
        ).fetchone()
        return row is not None

    @_guarded
    def period_done(self, kind: str, period: str) -> bool:
        """Whether any message of this kind went out for this period (to anyone)."""
        row = self.db.execute("SELECT 1 FROM messages WHERE kind = ? AND period = ? AND status = 'sent'",
                              (kind, period)).fetchone()
        return row is not None

    @_guarded
    def items_done(self, kind: str) -> set[str]:
        """Items (e.g. escalation levels of findings) already carried by a sent or pending message."""
        rows = self.db.execute(
            "SELECT i.item FROM message_items i JOIN messages m USING (key) "
            "WHERE m.kind = ? AND m.status IN ('sent', 'pending')",
            (kind,),
        )
        return {r[0] for r in rows}

    @_guarded
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

    @_guarded
    def mark(self, key: str, status: str, now: dt.datetime, error: str | None = None, via: str | None = None) -> None:
        self.db.execute(
            "UPDATE messages SET status = ?, error = ?, via = ?, attempts = attempts + 1, updated_at = ? WHERE key = ?",
            (status, error, via, now.isoformat(), key),
        )

    @_guarded
    def record_refused(self, *, key: str, kind: str, recipient: str, period: str, reason: str, now: dt.datetime) -> None:
        """A message not sent because its recipient was refused: kept as failed, so the digest reports it."""
        stamp = now.isoformat()
        self.db.execute(
            "INSERT INTO messages (key, kind, recipient, period, subject, message_id, raw, status, error, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, '', '', x'', 'failed', ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            (key, kind, recipient, period, reason, stamp, stamp),
        )

    @_guarded
    def unfinished(self) -> list[Entry]:
        """Messages a previous run left pending (it died between send and record) or deferred (4xx)."""
        rows = self.db.execute("SELECT * FROM messages WHERE status IN ('pending', 'deferred') ORDER BY created_at, key")
        return [Entry(**dict(r)) for r in rows]

    @_guarded
    def history(self, since: dt.datetime | None = None) -> list[Entry]:
        query, args = "SELECT * FROM messages", ()
        if since is not None:
            query, args = query + " WHERE updated_at >= ?", (since.isoformat(),)
        return [Entry(**dict(r)) for r in self.db.execute(query + " ORDER BY updated_at, key", args)]

    @_guarded
    def failures_since(self, since: dt.datetime) -> list[Entry]:
        rows = self.db.execute(
            "SELECT * FROM messages WHERE status IN ('failed', 'deferred') AND updated_at >= ? ORDER BY updated_at",
            (since.isoformat(),),
        )
        return [Entry(**dict(r)) for r in rows]

    # -- recipients ---------------------------------------------------------------------------------

    @_guarded
    def note_recipients(self, addresses: Iterable[str], now: dt.datetime) -> list[str]:
        """Remember every address a run could write to; return the ones never seen before.

        The very first set (an empty ledger) is remembered as initial and not reported as new.
        """
        wanted = sorted({a.lower() for a in addresses})
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            known = {r[0] for r in self.db.execute("SELECT address FROM recipients")}
            initial = not known
            new = [a for a in wanted if a not in known]
            self.db.executemany("INSERT INTO recipients (address, first_seen, initial) VALUES (?, ?, ?)",
                                [(a, now.isoformat(), int(initial)) for a in new])
        return [] if initial else new

    @_guarded
    def known_recipients(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT address FROM recipients")}

    @_guarded
    def new_recipients(self, since: dt.datetime) -> list[str]:
        """Addresses first seen at or after ``since`` (not counting the ledger's first run)."""
        rows = self.db.execute("SELECT address FROM recipients WHERE initial = 0 AND first_seen >= ? ORDER BY address",
                               (since.isoformat(),))
        return [r[0] for r in rows]

    # -- runs ---------------------------------------------------------------------------------------

    @_guarded
    def start_run(self, job: str, now: dt.datetime) -> int:
        cur = self.db.execute("INSERT INTO runs (job, started_at) VALUES (?, ?)", (job, now.isoformat()))
        return int(cur.lastrowid)

    @_guarded
    def end_run(self, run_id: int, now: dt.datetime, outcome: str, detail: str = "") -> None:
        self.db.execute("UPDATE runs SET ended_at = ?, outcome = ?, detail = ? WHERE id = ?",
                        (now.isoformat(), outcome, detail, run_id))

    @_guarded
    def runs(self, since: dt.datetime | None = None) -> list[Run]:
        query, args = "SELECT * FROM runs", ()
        if since is not None:
            query, args = query + " WHERE started_at >= ?", (since.isoformat(),)
        return [Run(**dict(r)) for r in self.db.execute(query + " ORDER BY id", args)]

    # -- lock ---------------------------------------------------------------------------------------

    @_guarded
    def acquire(self, owner: str, now: dt.datetime, ttl: dt.timedelta = dt.timedelta(hours=1), name: str = "jobs") -> None:
        """Take the lock or raise LockedError.

        On a file the OS lock decides (a killed run's lock is gone with it); the ``locks`` row only
        says who holds it. In memory the row decides, and one older than ``ttl`` is taken over.
        """
        try:
            got = self.file_lock is None or self.file_lock.acquire(owner)
        except OSError as exc:  # the lock file cannot be created beside the ledger
            problem = sqlite3.OperationalError(f"unable to open {self.file_lock.path}: {exc.strerror}")
            raise state_error(self.path, problem) from exc
        if not got:
            assert self.file_lock is not None
            raise LockedError(f"another Huifang run ({self.file_lock.holder()}) is working now; try again later")
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            row = self.db.execute("SELECT owner, expires_at FROM locks WHERE name = ?", (name,)).fetchone()
            if (self.file_lock is None and row is not None and row["owner"] != owner
                    and dt.datetime.fromisoformat(row["expires_at"]) > now):
                raise LockedError(f"another Huifang run ({row['owner']}) is working until {row['expires_at']}; try again later")
            self.db.execute(
                "INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at",
                (name, owner, (now + ttl).isoformat()),
            )

    @_guarded
    def release(self, owner: str, name: str = "jobs") -> None:
        try:
            self.db.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))
        finally:
            if self.file_lock is not None:
                self.file_lock.release()

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

