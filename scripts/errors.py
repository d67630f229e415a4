"""Problems that stop a run. Problems in the data are findings, never exceptions."""

from __future__ import annotations


class HuifangError(Exception):
    """Base of every error that ends a run (or one source) with a sentence a person can act on."""

    exit_code = 2


class ConfigError(HuifangError):
    """The configuration file is missing, malformed, or names something that does not exist."""


class SchemaError(HuifangError):
    """A table schema in sheets_schema/ does not follow the meta-schema."""


class SourceError(HuifangError):
    """One workbook or spreadsheet could not be read; the other sources still are."""

    def __init__(self, source: str, reason: str):
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class LockedError(HuifangError):
    """Another run holds the lock; this one did nothing."""

    exit_code = 3


class StateError(HuifangError):
    """The ledger file (state.sqlite3) cannot be opened, read or written; the sentence says what to do."""
