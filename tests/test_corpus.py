"""Every file of the shared corpus either reads or gives one clear SourceError, and never hangs."""

import time
from pathlib import Path

import pytest

from scripts.check import run_check
from scripts.config import config_for_files
from tests.helpers import NOW

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "sheetjs"
FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file()) if CORPUS.is_dir() else []
HANG_GUARD_SECONDS = 10


@pytest.mark.skipif(not FILES, reason="shared corpus not present")
@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus_file_reads_or_fails_with_one_line(path):
    started = time.monotonic()
    result = run_check(config_for_files([path]), NOW)
    elapsed = time.monotonic() - started
    assert elapsed < HANG_GUARD_SECONDS
    (source,) = result.sources
    if source.error is not None:
        assert "\n" not in source.error and len(source.error) < 300
        assert result.exit_code == 2
    else:
        assert source.sheets, "a readable workbook lists its sheets"


@pytest.mark.skipif(not FILES, reason="shared corpus not present")
def test_corpus_reasons_are_specific():
    reasons = {}
    for name in ["password_2002_128_strong.xls", "Attendance.numbers", "LICENSE", "LO7322.fods"]:
        result = run_check(config_for_files([CORPUS / name]), NOW)
        reasons[name] = result.sources[0].error
    assert "password-protected" in reasons["password_2002_128_strong.xls"]
    assert "Apple Numbers" in reasons["Attendance.numbers"]
    assert "unsupported file type" in reasons["LICENSE"]
    assert ".fods" in reasons["LO7322.fods"]
