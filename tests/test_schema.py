"""Schemas are data checked against a meta-schema; errors name the file and the key path."""

import re
from pathlib import Path

import pytest
import yaml

from scripts.errors import SchemaError
from scripts.schema import BUILTIN_DIR, load_schemas, parse_schema

TABLES = {"visitor_log", "complaint_log", "test_drive_log", "delivery_log", "callback_log", "staff"}


def test_the_six_built_in_tables_load():
    schemas = load_schemas()
    assert set(schemas) >= TABLES
    assert [d.rule for d in schemas["complaint_log"].deadlines] == ["complaint_reply", "dept_order", "complaint_callback"]


def visitor_doc():
    return yaml.safe_load((BUILTIN_DIR / "visitor_log.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("change, message", [
    (lambda d: d["fields"]["phone"].update(type="phon"), "fields.phone.type"),
    (lambda d: d["fields"]["channel"].pop("choices"), "fields.channel: a choice field needs `choices`"),
    (lambda d: d["deadlines"][0].update(assignee="nobody"), "deadlines.0.assignee: no field named 'nobody'"),
    (lambda d: d["deadlines"][0]["done_when"][0].update({"in": ["已结束"]}), "deadlines.0.done_when.0.in"),
    (lambda d: d["fields"]["phone"].update(requird=True), "fields.phone"),
    (lambda d: d["deadlines"][0].update(after={"weeks": 1}), "deadlines.0"),
])
def test_schema_errors_name_the_key(change, message):
    doc = visitor_doc()
    change(doc)
    with pytest.raises(SchemaError) as info:
        parse_schema(doc, "my.yaml")
    assert str(info.value).startswith("my.yaml: ") and message in str(info.value)


def test_a_store_adds_its_own_header_spelling_in_yaml_only(tmp_path):
    text = (BUILTIN_DIR / "visitor_log.yaml").read_text(encoding="utf-8")
    (tmp_path / "visitor_log.yaml").write_text(text.replace("aliases: [方式, Channel]", "aliases: [方式, Channel, 到访形式]"),
                                               encoding="utf-8")
    schemas = load_schemas(tmp_path)
    assert schemas["visitor_log"].match_header("到访形式") == "channel"
    assert load_schemas()["visitor_log"].match_header("到访形式") is None


def test_domain_headers_and_aliases_all_match():
    schemas = load_schemas()
    for table in schemas.values():
        for spec in table.fields:
            for header in (spec.header, *spec.aliases):
                assert table.match_header(header) == spec.name or table.match_header(header) is not None
                assert table.match_header(f"*{header}（必填）") == table.match_header(header)


DOMAIN = Path(__file__).resolve().parents[2] / "shared" / "DOMAIN.md"


def domain_rows():
    """(table, field, header or alias) for every field DOMAIN.md names, exactly as written there.

    visitor_log and complaint_log are tables (field | header | aliases | ...); the other tables are
    prose such as ``license_no 駕照號 (駕駛證號)``.
    """
    if not DOMAIN.exists():
        return []
    rows, table = [], None
    for line in DOMAIN.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            table = None
        elif line.startswith("### "):
            table = line.split()[1]
        elif table and line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0] not in ("field",) and not cells[0].startswith("-"):
                for header in [cells[1], *[a.strip() for a in cells[2].split(",") if a.strip()]]:
                    rows.append((table, cells[0], header))
        elif table and line.strip():
            line = re.sub(r"\([a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]*\)", "", line)
            for field, header, aliases in re.findall(r"\b([a-z_]+) ([\u4e00-\u9fff][^\s,(（]*)(?: \(([\u4e00-\u9fff][^)]*)\))?", line):
                if field in ("choice", "is", "or", "int", "date", "bool", "text"):
                    continue  # prose words before a Chinese value, not field names
                for name in [header, *[a.strip() for a in aliases.split(",") if a.strip()]]:
                    rows.append((table, field, name))
    return rows


@pytest.mark.skipif(not DOMAIN.exists(), reason="shared/DOMAIN.md not present")
@pytest.mark.parametrize("table, field, header", domain_rows())
def test_every_header_and_alias_of_domain_md_matches_its_field(table, field, header):
    assert load_schemas()[table].match_header(header) == field
