"""Table schemas: the YAML files in sheets_schema/, checked against a meta-schema, as frozen dataclasses."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from .coerce import Converter, DoneMark, converter_for, has_outcome
from .errors import SchemaError
from .quickschema import conforms
from .textnorm import fold, header_keys

# libyaml's loader when PyYAML was built with it: ten times faster than the pure-Python one.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader either way


BUILTIN_DIR = Path(__file__).resolve().parent.parent / "sheets_schema"
TYPES = ("datetime", "date", "phone", "choice", "bool", "int", "text", "staff", "email")

_CONDITION = {
    "type": "object",
    "properties": {
        "field": {"type": "string"},
        "in": {"type": "array", "minItems": 1},
        "filled": {"type": "boolean"},
        "gte_field": {"type": "string"},
        "outcome": {"const": True},
        "when_empty": {"type": "string"},
    },
    "required": ["field"],
    "additionalProperties": False,
    "oneOf": [{"required": ["in"]}, {"required": ["filled"]}, {"required": ["gte_field"]}, {"required": ["outcome"]}],
}
_LATER_ROW = {
    "type": "object",
    "properties": {
        "later_row": {
            "type": "object",
            "properties": {"same": {"type": "string"}, "field": {"type": "string"}, "gte_field": {"type": "string"}},
            "required": ["same", "field", "gte_field"],
            "additionalProperties": False,
        }
    },
    "required": ["later_row"],
    "additionalProperties": False,
}
_SPAN = {
    "type": "object",
    "properties": {
        "hours": {"type": "number", "exclusiveMinimum": 0},
        "minutes": {"type": "number", "exclusiveMinimum": 0},
        "working_days": {"type": "integer", "minimum": 0},
        "days": {"type": "integer", "minimum": 0},
        "months": {"type": "integer", "minimum": 1},
    },
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
}
META_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "table": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "title": {"type": "string"},
        "identity": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "customer": {"type": "string"},
        "phone": {"type": "string"},
        "owner": {"type": "string"},
        "repeat": {
            "type": "object",
            "properties": {
                "rule": {"type": "string"}, "key": {"type": "string"}, "time": {"type": "string"},
                "days": {"type": "number", "exclusiveMinimum": 0},
            },
            "required": ["rule", "key", "time", "days"],
            "additionalProperties": False,
        },
        "fields": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "header": {"type": "string", "minLength": 1},
                    "aliases": {"type": "array", "items": {"type": ["string", "number"]}},
                    "fallback_aliases": {"type": "array", "items": {"type": "string"}},
                    "type": {"enum": list(TYPES)},
                    "done_mark": {"type": "boolean"},
                    "blank_words": {"type": "array", "items": {"type": "string"}},
                    "detect": {"type": "boolean"},
                    "dates_field": {"type": "string"},
                    "derive": {
                        "type": "object",
                        "properties": {
                            "filled_any": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                            "then": {"type": "string"}, "else": {"type": "string"},
                        },
                        "required": ["filled_any", "then", "else"],
                        "additionalProperties": False,
                    },
                    "choices": {
                        "oneOf": [
                            {"type": "array", "items": {"type": "string"}, "minItems": 1},
                            {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                        ]
                    },
                    "default": {},
                    "required": {
                        "oneOf": [
                            {"type": "boolean"},
                            {
                                "type": "object",
                                "properties": {"when": _CONDITION, "unless": _CONDITION},
                                "minProperties": 1,
                                "maxProperties": 1,
                                "additionalProperties": False,
                            },
                        ]
                    },
                    "missing_rule": {"type": "string"},
                    "unique": {"type": "boolean"},
                    "min": {"type": "number"},
                    "max": {"type": "number"},
                    "quiet_hours": {"type": "boolean"},
                    "confidential": {"type": "boolean"},
                    "expect": {
                        "type": "object",
                        "properties": {
                            "value": {}, "when": _CONDITION, "rule": {"type": "string"}, "message": {"type": "string"},
                        },
                        "required": ["value", "when", "rule", "message"],
                        "additionalProperties": False,
                    },
                },
                "required": ["header", "type"],
                "additionalProperties": False,
            },
        },
        "deadlines": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "rule": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                    "label": {"type": "string"},
                    "start": {"type": "string"},
                    "due_field": {"type": "string"},
                    "after": _SPAN,
                    "warn": {"oneOf": [{"const": "due_day"}, _SPAN]},
                    "done_when": {"type": "array", "items": {"oneOf": [_CONDITION, _LATER_ROW]}},
                    "assignee": {"type": "string"},
                    "fill": {"type": "string"},
                    "requires": {"type": "array", "items": {"type": "string"}},
                    "config": {"type": "string"},
                    "mention": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["rule", "label", "warn", "assignee"],
                "additionalProperties": False,
                "anyOf": [{"required": ["start", "after"]}, {"required": ["due_field"]}],
            },
        },
    },
    "required": ["table", "title", "identity", "fields"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class Condition:
    """A test on one record: ``field`` is one of ``values``, is (not) filled, is >= another field, or
    (``outcome``) its text reports a closed sale or a lost customer.

    A ``DoneMark`` (done, moment unknown) is filled and counts as >= any other field. ``when_empty``
    makes the condition hold only while that other field is empty.
    """

    field: str
    values: frozenset | None = None
    filled: bool | None = None
    gte_field: str | None = None
    outcome: bool = False
    when_empty: str | None = None

    def holds(self, record: Mapping[str, Any]) -> bool:
        if self.when_empty is not None and record.get(self.when_empty) is not None:
            return False
        value = record.get(self.field)
        if self.values is not None:
            return value in self.values
        if self.filled is not None:
            # An unreadable value was still written: a phone typed wrong is a phone given.
            written = value is not None or self.field in getattr(record, "invalid", ())
            return written == self.filled
        if self.outcome:
            return isinstance(value, str) and has_outcome(value)
        other = record.get(self.gte_field)  # type: ignore[arg-type]
        if value is None or other is None:
            return False
        if isinstance(value, DoneMark):
            return True
        if isinstance(other, DoneMark):
            return False
        return at_or_after(value, other)


def at_or_after(value: Any, other: Any) -> bool:
    """value >= other; when either is a date alone, the days are compared."""
    if type(value) is dt.date or type(other) is dt.date:
        a = value.date() if isinstance(value, dt.datetime) else value
        b = other.date() if isinstance(other, dt.datetime) else other
        return a >= b
    return comparable(value) >= comparable(other)


@dataclass(frozen=True)
class LaterRow:
    """Done when a later row with the same ``same`` value has ``field`` >= this row's ``gte_field``."""

    same: str
    field: str
    gte_field: str


@dataclass(frozen=True)
class Expectation:
    value: Any
    when: Condition
    rule: str
    message: str


@dataclass(frozen=True)
class FieldSpec:
    name: str
    header: str
    aliases: tuple[str, ...]
    type: str
    choices: Mapping[str, str] = field(default_factory=dict)  # folded spelling -> canonical value
    default: Any = None
    required: bool = False
    required_when: Condition | None = None
    required_unless: Condition | None = None
    missing_rule: str = "missing_required"
    unique: bool = False
    min: float | None = None
    max: float | None = None
    quiet_hours: bool = False
    confidential: bool = False
    expect: Expectation | None = None
    done_mark: bool = False  # a "done" column: dates, date-led texts and marks such as 已打 (convention 4)
    fallback_aliases: tuple[str, ...] = ()  # headers used only when no other header names the field
    dates_field: str | None = None  # a note starting with a date counts as this field's date
    derive: Mapping[str, Any] | None = None  # how the value follows from other fields when the column is absent
    detect: bool = True  # counts when telling which table a sheet is (False for columns few stores keep)
    blank_words: frozenset[str] = frozenset()  # folded texts that mean the cell is empty (无 as a licence)

    @property
    def always_required(self) -> bool:
        """Required whatever the row says (the column must exist): ``true`` or ``unless``."""
        return self.required or self.required_unless is not None

    def match_keys(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(fold(h) for h in (self.header, *self.aliases)))

    def converter(self, epoch1904: bool = False) -> Converter:
        convert = converter_for(self.type, choices=self.choices, epoch1904=epoch1904, done=self.done_mark)
        if not self.blank_words:
            return convert
        blank = self.blank_words

        def or_blank(value: Any) -> Any:
            if isinstance(value, str) and fold(value[:20]).strip("。.") in blank:
                return None
            return convert(value)

        return or_blank


@dataclass(frozen=True)
class Span:
    hours: float | None = None
    working_days: int | None = None
    days: int | None = None  # calendar days (a day deadline, or a warning window of whole days)
    months: int | None = None  # calendar months, the day clamped to the month's end

    @property
    def delta(self) -> dt.timedelta:
        return dt.timedelta(hours=self.hours or 0, days=self.days or 0)


@dataclass(frozen=True)
class DeadlineRule:
    rule: str
    label: str
    assignee: str
    start: str | None = None
    due_field: str | None = None
    after: Span | None = None
    warn: Span | None = None  # None: the warning window is the due day itself
    done_when: tuple[Condition | LaterRow, ...] = ()
    fill: str | None = None  # the cell whose filling completes the task: where findings point
    requires: tuple[str, ...] = ()  # fields that must hold a readable value for the task to exist
    config: str | None = None  # the config section that may change ``after``/``warn`` (maintenance)
    mention: tuple[str, ...] = ()  # fields named in the message (car model, delivery date)


@dataclass(frozen=True)
class RepeatRule:
    rule: str
    key: str
    time: str
    days: float


@dataclass(frozen=True)
class TableSchema:
    name: str
    title: str
    fields: tuple[FieldSpec, ...]
    identity: tuple[str, ...]
    customer: str | None = None
    phone: str | None = None
    owner: str | None = None  # the staff field naming who answers for the row
    repeat: RepeatRule | None = None
    deadlines: tuple[DeadlineRule, ...] = ()
    source_file: str = ""

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset(spec.name for spec in self.fields)

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def header_index(self) -> dict[str, str]:
        """Folded header spelling -> field name, for matching a sheet's header row."""
        index: dict[str, str] = {}
        for spec in self.fields:
            for key in spec.match_keys():
                index.setdefault(key, spec.name)
        return index

    def fallback_index(self) -> dict[str, str]:
        """Folded spellings used only when no other header names the field (序号 as a complaint id)."""
        return {fold(a): spec.name for spec in self.fields for a in spec.fallback_aliases}

    @property
    def anchor(self) -> str | None:
        """The row's own start date (visit, receipt, delivery): years missing elsewhere are taken near it."""
        return next((f.name for f in self.fields if f.type in ("datetime", "date") and f.always_required), None)

    def match_header(self, header: Any, index: Mapping[str, str] | None = None) -> str | None:
        if header is None or not str(header).strip():
            return None
        index = index if index is not None else self.header_index()
        for key in header_keys(str(header)):
            if key in index:
                return index[key]
        return None


def comparable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return value


def validate_document(document: Any, meta: Mapping[str, Any], where: str, error_type: type[Exception]) -> None:
    """Check a YAML document against a JSON Schema; the error names the file and the key path.

    A document the quick pass accepts is valid; only a doubtful one loads jsonschema for the message."""
    if conforms(document, meta):
        return
    import jsonschema  # noqa: PLC0415 - 60 ms of start-up that a valid file does not need

    validator = jsonschema.Draft202012Validator(meta)
    errors = sorted(validator.iter_errors(document), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        path = ".".join(str(p) for p in best.absolute_path) or "(top level)"
        raise error_type(f"{where}: {path}: {best.message}")


def _choices(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    pairs = {name: [] for name in raw} if isinstance(raw, list) else dict(raw)
    out: dict[str, str] = {}
    for canonical, aliases in pairs.items():
        for spelling in (canonical, *(aliases or ())):
            out.setdefault(fold(str(spelling)), str(canonical))
    return out


class _Builder:
    def __init__(self, doc: Mapping[str, Any], where: str):
        self.doc = doc
        self.where = where
        self.names = list(doc["fields"])
        self.choice_maps = {n: _choices(f.get("choices")) for n, f in doc["fields"].items()}

    def fail(self, path: str, message: str) -> SchemaError:
        return SchemaError(f"{self.where}: {path}: {message}")

    def field_name(self, name: str, path: str) -> str:
        if name not in self.names:
            raise self.fail(path, f"no field named {name!r} in this table (fields: {', '.join(self.names)})")
        return name

    def canonical(self, field_name: str, value: Any, path: str) -> Any:
        choices = self.choice_maps.get(field_name)
        if choices and isinstance(value, str):
            try:
                return choices[fold(value)]
            except KeyError:
                raise self.fail(path, f"{value!r} is not a choice of {field_name}") from None
        return value

    def condition(self, raw: Mapping[str, Any], path: str) -> Condition:
        name = self.field_name(raw["field"], f"{path}.field")
        if "in" in raw:
            values = frozenset(self.canonical(name, v, f"{path}.in") for v in raw["in"])
            return Condition(name, values=values)
        if "filled" in raw:
            return Condition(name, filled=raw["filled"])
        if "outcome" in raw:
            return Condition(name, outcome=True)
        empty = self.field_name(raw["when_empty"], f"{path}.when_empty") if "when_empty" in raw else None
        return Condition(name, gte_field=self.field_name(raw["gte_field"], f"{path}.gte_field"), when_empty=empty)

    def span(self, raw: Mapping[str, Any] | None) -> Span | None:
        if raw is None or raw == "due_day":
            return None
        if "working_days" in raw:
            return Span(working_days=raw["working_days"])
        if "days" in raw:
            return Span(days=raw["days"])
        if "months" in raw:
            return Span(months=raw["months"])
        return Span(hours=raw.get("hours", 0) + raw.get("minutes", 0) / 60)

    def field_spec(self, name: str, raw: Mapping[str, Any]) -> FieldSpec:
        path = f"fields.{name}"
        if raw["type"] == "choice" and not raw.get("choices"):
            raise self.fail(path, "a choice field needs `choices`")
        required = raw.get("required", False)
        when = unless = None
        if isinstance(required, dict):
            if "when" in required:
                when = self.condition(required["when"], f"{path}.required.when")
            else:
                unless = self.condition(required["unless"], f"{path}.required.unless")
            required = False
        expect = None
        if "expect" in raw:
            e = raw["expect"]
            expect = Expectation(e["value"], self.condition(e["when"], f"{path}.expect.when"), e["rule"], e["message"])
        default = raw.get("default")
        if default is not None:
            default = self.canonical(name, default, f"{path}.default")
        return FieldSpec(
            name=name,
            header=str(raw["header"]),
            aliases=tuple(str(a) for a in raw.get("aliases", ())),
            type=raw["type"],
            choices=self.choice_maps[name],
            default=default,
            required=bool(required),
            required_when=when,
            required_unless=unless,
            missing_rule=raw.get("missing_rule", "missing_required"),
            unique=raw.get("unique", False),
            min=raw.get("min"),
            max=raw.get("max"),
            quiet_hours=raw.get("quiet_hours", False),
            confidential=raw.get("confidential", False),
            expect=expect,
            done_mark=raw.get("done_mark", False),
            detect=raw.get("detect", True),
            blank_words=frozenset(fold(w) for w in raw.get("blank_words", ())),
            fallback_aliases=tuple(raw.get("fallback_aliases", ())),
            dates_field=self.field_name(raw["dates_field"], f"{path}.dates_field") if "dates_field" in raw else None,
            derive=self.derive(raw["derive"], name, f"{path}.derive") if "derive" in raw else None,
        )

    def derive(self, raw: Mapping[str, Any], name: str, path: str) -> Mapping[str, Any]:
        return {
            "filled_any": tuple(self.field_name(n, f"{path}.filled_any") for n in raw["filled_any"]),
            "then": self.canonical(name, raw["then"], f"{path}.then"),
            "else": self.canonical(name, raw["else"], f"{path}.else"),
        }

    def deadline(self, i: int, raw: Mapping[str, Any]) -> DeadlineRule:
        path = f"deadlines.{i}"
        done: list[Condition | LaterRow] = []
        for j, item in enumerate(raw.get("done_when", ())):
            if "later_row" in item:
                lr = item["later_row"]
                done.append(LaterRow(
                    self.field_name(lr["same"], f"{path}.done_when.{j}.later_row.same"),
                    self.field_name(lr["field"], f"{path}.done_when.{j}.later_row.field"),
                    self.field_name(lr["gte_field"], f"{path}.done_when.{j}.later_row.gte_field"),
                ))
            else:
                done.append(self.condition(item, f"{path}.done_when.{j}"))
        return DeadlineRule(
            rule=raw["rule"],
            label=raw["label"],
            assignee=self.field_name(raw["assignee"], f"{path}.assignee"),
            start=self.field_name(raw["start"], f"{path}.start") if "start" in raw else None,
            due_field=self.field_name(raw["due_field"], f"{path}.due_field") if "due_field" in raw else None,
            after=self.span(raw.get("after")),
            warn=self.span(raw["warn"]),
            done_when=tuple(done),
            fill=self.field_name(raw["fill"], f"{path}.fill") if "fill" in raw else None,
            requires=tuple(self.field_name(n, f"{path}.requires") for n in raw.get("requires", ())),
            config=raw.get("config"),
            mention=tuple(self.field_name(n, f"{path}.mention") for n in raw.get("mention", ())),
        )

    def build(self) -> TableSchema:
        doc = self.doc
        fields = tuple(self.field_spec(name, raw) for name, raw in doc["fields"].items())
        repeat = None
        if "repeat" in doc:
            r = doc["repeat"]
            repeat = RepeatRule(r["rule"], self.field_name(r["key"], "repeat.key"),
                                self.field_name(r["time"], "repeat.time"), r["days"])
        return TableSchema(
            name=doc["table"],
            title=doc["title"],
            fields=fields,
            identity=tuple(self.field_name(n, "identity") for n in doc["identity"]),
            customer=self.field_name(doc["customer"], "customer") if "customer" in doc else None,
            phone=self.field_name(doc["phone"], "phone") if "phone" in doc else None,
            owner=self.field_name(doc["owner"], "owner") if "owner" in doc else None,
            repeat=repeat,
            deadlines=tuple(self.deadline(i, d) for i, d in enumerate(doc.get("deadlines", ()))),
            source_file=self.where,
        )


def parse_schema(document: Any, where: str) -> TableSchema:
    """Build a TableSchema from a parsed YAML document; ``where`` names it in errors."""
    validate_document(document, META_SCHEMA, where, SchemaError)
    return _Builder(document, where).build()


def load_schema_file(path: Path) -> TableSchema:
    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SchemaError(f"{path}: cannot be read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise SchemaError(f"{path}: not valid YAML: {exc}") from exc
    return parse_schema(document, str(path))


def load_schemas(*directories: Path) -> dict[str, TableSchema]:
    """All schemas, built-in first; a later directory's table of the same name replaces the earlier one."""
    schemas: dict[str, TableSchema] = {}
    for directory in (BUILTIN_DIR, *directories):
        if not directory.is_dir():
            raise SchemaError(f"{directory}: schema folder does not exist")
        for path in sorted(directory.glob("*.yaml")):
            schema = load_schema_file(path)
            schemas[schema.name] = schema
    return schemas
