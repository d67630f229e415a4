"""Schemas are data checked against a meta-schema; errors name the file and the key path."""

from pathlib import Path

import pytest
import yaml

from scripts.errors import SchemaError
from scripts.schema import BUILTIN_DIR, load_schemas, parse_schema

TABLES = {"visitor_log", "complaint_log", "test_drive_log", "delivery_log", "callback_log", "staff"}


def test_the_six_built_in_tables_load():
    schemas = load_schemas()
    assert TABLES <= set(schemas)
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
