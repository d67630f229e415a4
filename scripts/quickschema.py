"""A quick JSON Schema pass for the subset our config and schema files use, so a valid file needs no jsonschema.

``conforms(document, schema)`` answers True only when the document certainly satisfies the schema; anything
it does not know (a keyword outside the subset, a float where an integer is asked) answers False, and the
caller then runs the real validator, which names the error. So a True here never hides an error jsonschema
would report; importing jsonschema (some 60 ms) is left to the runs that need an error message.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

_IGNORED = frozenset({"description", "title", "default", "examples", "$comment", "$schema", "$id"})
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class _Unsure(Exception):
    pass


def conforms(document: Any, schema: Mapping[str, Any] | bool) -> bool:
    """True when ``document`` certainly satisfies ``schema``; False when it does not or we cannot tell."""
    try:
        return _ok(document, schema)
    except _Unsure:
        return False


def _same(a: Any, b: Any) -> bool:
    """JSON equality: True is not 1, 1 is not '1'."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _type_ok(value: Any, wanted: str | list[str]) -> bool:
    names = [wanted] if isinstance(wanted, str) else wanted
    for name in names:
        if name not in _TYPES:
            raise _Unsure
        if _TYPES[name](value):
            return True
    if isinstance(value, float) and ("integer" in names):
        raise _Unsure  # 1.0 is an integer to JSON Schema; let the real validator decide
    return False


def _ok(value: Any, schema: Mapping[str, Any] | bool) -> bool:  # noqa: C901, PLR0911, PLR0912 - one keyword a branch
    if schema is True:
        return True
    if schema is False:
        return False
    if not isinstance(schema, dict):
        raise _Unsure
    for key, arg in schema.items():
        if key in _IGNORED:
            continue
        if key == "type":
            if not _type_ok(value, arg):
                return False
        elif key == "const":
            if not _same(value, arg):
                return False
        elif key == "enum":
            if not any(_same(value, a) for a in arg):
                return False
        elif key in ("oneOf", "anyOf", "allOf"):
            hits = sum(1 for sub in arg if _ok(value, sub))
            if (key == "oneOf" and hits != 1) or (key == "anyOf" and hits == 0) or (key == "allOf" and hits != len(arg)):
                return False
        elif key == "not":
            if _ok(value, arg):
                return False
        elif key in _OBJECT:
            if isinstance(value, dict) and not _object_ok(key, arg, value, schema):
                return False
        elif key in _ARRAY:
            if isinstance(value, list) and not _array_ok(key, arg, value):
                return False
        elif key in _STRING:
            if isinstance(value, str) and not _string_ok(key, arg, value):
                return False
        elif key in _NUMBER:
            if isinstance(value, (int, float)) and not isinstance(value, bool) and not _number_ok(key, arg, value):
                return False
        else:
            raise _Unsure
    return True


_OBJECT = frozenset({"properties", "required", "additionalProperties", "patternProperties", "propertyNames",
                     "minProperties", "maxProperties"})
_ARRAY = frozenset({"items", "minItems", "maxItems", "uniqueItems"})
_STRING = frozenset({"pattern", "minLength", "maxLength"})
_NUMBER = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})


def _object_ok(key: str, arg: Any, value: dict, schema: Mapping[str, Any]) -> bool:
    if any(not isinstance(k, str) for k in value):
        raise _Unsure
    if key == "properties":
        return all(_ok(value[name], sub) for name, sub in arg.items() if name in value)
    if key == "required":
        return all(name in value for name in arg)
    if key == "patternProperties":
        return all(_ok(v, sub) for pattern, sub in arg.items() for k, v in value.items() if re.search(pattern, k))
    if key == "additionalProperties":
        known = schema.get("properties", {})
        patterns = list(schema.get("patternProperties", {}))
        extra = [v for k, v in value.items() if k not in known and not any(re.search(p, k) for p in patterns)]
        return all(_ok(v, arg) for v in extra)
    if key == "propertyNames":
        return all(_ok(k, arg) for k in value)
    if key == "minProperties":
        return len(value) >= arg
    return len(value) <= arg  # maxProperties


def _array_ok(key: str, arg: Any, value: list) -> bool:
    if key == "items":
        if not isinstance(arg, (dict, bool)):
            raise _Unsure
        return all(_ok(v, arg) for v in value)
    if key == "minItems":
        return len(value) >= arg
    if key == "maxItems":
        return len(value) <= arg
    if not arg:  # uniqueItems: false
        return True
    return all(not _same(a, b) for i, a in enumerate(value) for b in value[i + 1:])


def _string_ok(key: str, arg: Any, value: str) -> bool:
    if key == "pattern":
        return re.search(arg, value) is not None
    return len(value) >= arg if key == "minLength" else len(value) <= arg


def _number_ok(key: str, arg: Any, value: float) -> bool:
    if key == "minimum":
        return value >= arg
    if key == "maximum":
        return value <= arg
    return value > arg if key == "exclusiveMinimum" else value < arg
