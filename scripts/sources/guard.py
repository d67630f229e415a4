"""Checks made before a parser sees a file: format sniffing, zip bombs, XML entity tricks, encryption."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import SourceError

ZIP_MAGIC = b"PK\x03\x04"
CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
MAX_TOTAL_UNCOMPRESSED = 2 * 1024**3
MAX_RATIO = 1000  # dragged-down formatting compresses ~100-300x; zip bombs far more
RATIO_CHECK_FROM = 50 * 1024**2
# One XML part past this is more than a million-row log (a 1M-row log of 14 columns is a ~600 MB sheet
# with inline strings, ~350 MB with shared ones; `check` reads it at a ~3 GB peak).
MAX_PART = 1024**3
_XML_HEAD = 4096


class Retryable(SourceError):
    """The file looks half-written (a zip without its central directory): worth another try."""


def sniff(path: Path) -> str:
    """'zip', 'cfb', 'text' or 'other', from the first bytes."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(ZIP_MAGIC) or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head == CFB_MAGIC:
        return "cfb"
    return "other"


def check_zip(path: Path, name: str) -> bool:
    """Raise SourceError for bombs, DTDs and unknown packages; return whether the workbook uses 1904 dates."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise Retryable(name, "the file is incomplete or corrupt (is it still being saved?)") from exc
    with archive:
        members = archive.infolist()
        names = {m.filename for m in members}
        if "Index/Document.iwa" in names or any(n.startswith("Index/") and n.endswith(".iwa") for n in names):
            raise SourceError(name, "this is an Apple Numbers file; export it as .xlsx (File > Export To > Excel)")
        if "[Content_Types].xml" not in names and "content.xml" not in names:
            raise SourceError(name, "this zip file is not an Excel or OpenDocument workbook")
        if any(n.endswith("workbook.bin") for n in names):
            raise SourceError(name, "binary .xlsb workbooks are not supported; save it as .xlsx")
        total = 0
        for member in members:
            total += member.file_size
            if member.file_size > RATIO_CHECK_FROM and member.file_size > MAX_RATIO * max(member.compress_size, 1):
                raise SourceError(name, f"{member.filename} expands {member.file_size // max(member.compress_size, 1)}x: refusing a possible zip bomb")
        if total > MAX_TOTAL_UNCOMPRESSED:
            raise SourceError(name, f"the workbook expands to {total / 1024**3:.1f} GiB: refusing a possible zip bomb")
        big = next((m for m in members if m.file_size > MAX_PART), None)
        if big is not None:
            raise SourceError(name, f"{_part_title(archive, big.filename)} unpacks to {big.file_size / 1024**2:,.0f} MB, "
                                    f"more than the {MAX_PART // 1024**2} MB that can be read safely: delete the "
                                    "stray cells far from the table or split the workbook")
        epoch1904 = False
        try:
            for member in members:
                if not member.filename.endswith((".xml", ".rels")):
                    continue
                with archive.open(member) as fh:
                    head = fh.read(_XML_HEAD)
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise SourceError(name, f"{member.filename} declares a DTD or entities, which workbooks never do: refusing it")
                if member.filename.endswith("workbook.xml"):
                    epoch1904 = _date1904(archive.read(member))
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise Retryable(name, "the file is incomplete or corrupt (is it still being saved?)") from exc
        return epoch1904


def _part_title(archive: zipfile.ZipFile, part: str) -> str:
    from .xlsx_scan import worksheet_parts  # noqa: PLC0415

    try:
        titles = {p: t for t, p in worksheet_parts(archive).items()}
    except (zipfile.BadZipFile, KeyError, OSError, EOFError):
        titles = {}
    return f"sheet {titles[part]!r}" if part in titles else part


def _date1904(workbook_xml: bytes) -> bool:
    start = workbook_xml.find(b"<workbookPr")
    if start < 0:
        start = workbook_xml.find(b":workbookPr")
    if start < 0:
        return False
    tag = workbook_xml[start:workbook_xml.find(b">", start)]
    return b'date1904="1"' in tag or b'date1904="true"' in tag


def check_cfb(path: Path, name: str) -> None:
    """An OLE file: an encrypted .xlsx is a CFB container holding an EncryptedPackage stream."""
    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
    if "EncryptedPackage".encode("utf-16-le") in head or "EncryptionInfo".encode("utf-16-le") in head:
        raise SourceError(name, "the workbook is password-protected; save an unprotected copy")
