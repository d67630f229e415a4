"""The quick schema pass never calls a document valid that jsonschema rejects, and accepts our real files."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from scripts.channels.settings import CHANNELS_SCHEMA, ROUTES_SCHEMA
from scripts.config import CONFIG_SCHEMA
from scripts.quickschema import conforms
from scripts.schema import META_SCHEMA

ROOT = Path(__file__).resolve().parents[1]


def _valid(document, schema) -> bool:
    return not list(jsonschema.Draft202012Validator(schema).iter_errors(document))


SMALL = {
    "type": "object",
    "properties": {
        "n": {"type": "integer", "minimum": 0},
        "s": {"type": "string", "pattern": "^[a-z]+$", "minLength": 2},
        "e": {"enum": [1, "a"]},
        "c": {"const": True},
        "xs": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "one": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    },
    "required": ["n"],
    "additionalProperties": False,
    "propertyNames": {"pattern": "^[a-z]+$"},
}


@pytest.mark.parametrize("document", [
    {"n": 0}, {"n": 3, "s": "ab"}, {"n": -1}, {"n": True}, {"n": 1.0}, {"n": 1.5}, {}, {"n": 1, "zz": 2},
    {"n": 1, "s": "a"}, {"n": 1, "s": "AB"}, {"n": 1, "e": 1}, {"n": 1, "e": True}, {"n": 1, "e": 1.0},
    {"n": 1, "c": True}, {"n": 1, "c": 1}, {"n": 1, "xs": []}, {"n": 1, "xs": ["a", 2]}, {"n": 1, "xs": ["a"]},
    {"n": 1, "one": "x"}, {"n": 1, "one": 2}, {"n": 1, "one": None}, [], "text", None,
])
def test_quick_pass_agrees_with_jsonschema_or_defers(document):
    quick = conforms(document, SMALL)
    assert not quick or _valid(document, SMALL)  # True only when jsonschema agrees
    if _valid(document, SMALL) and not isinstance(document.get("n") if isinstance(document, dict) else None, float):
        assert quick  # and it does not defer on plain valid documents


def test_an_unknown_keyword_defers_to_jsonschema():
    assert not conforms({"a": 1}, {"type": "object", "dependentRequired": {"a": ["b"]}})


def _schema_documents():
    for path in sorted((ROOT / "sheets_schema").glob("*.yaml")):
        yield path.name, yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("name", "document"), list(_schema_documents()))
def test_every_shipped_schema_passes_quickly(name, document):
    assert conforms(document, META_SCHEMA), name


def test_the_demo_config_passes_quickly():
    document = yaml.safe_load((ROOT / "demo" / "huifang.yaml").read_text(encoding="utf-8"))
    assert conforms(document, CONFIG_SCHEMA)
    assert conforms(document.get("channels") or {}, CHANNELS_SCHEMA)
    assert conforms(document.get("routes") or {}, ROUTES_SCHEMA)


def _mutations(document):
    """Each shipped schema with one thing broken, found by walking it: a wrong type at every key."""
    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                yield (*path, key)
                yield from walk(value, (*path, key))
    for path in walk(document, ()):
        for wrong in (None, 12, "x", [], {"zz_unknown": 1}):
            broken = copy.deepcopy(document)
            target = broken
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = wrong
            yield broken


@pytest.mark.parametrize(("name", "document"), list(_schema_documents()))
def test_no_broken_schema_is_passed_that_jsonschema_rejects(name, document):
    checked = 0
    for broken in _mutations(document):
        if conforms(broken, META_SCHEMA):
            assert _valid(broken, META_SCHEMA), name
        checked += 1
    assert checked > 20


def test_a_check_of_valid_files_imports_neither_jsonschema_nor_holidays_nor_opencc():
    code = ("import sys, io, contextlib; from scripts.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['check', '--config', 'demo/huifang.yaml', '--format', 'json', '--now', '2026-11-27T09:00'])\n"
            "print('jsonschema' in sys.modules, 'holidays' in sys.modules, 'opencc' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]
