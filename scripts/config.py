"""The one YAML file a store edits, validated on load into frozen dataclasses."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from .channels.settings import ChannelSettings, parse_channels
from .errors import ConfigError
from .schema import validate_document
from .validation import DEFAULT_QUIET_HOURS, QuietWindow

_WINDOW = r"^\s*([01]?\d|2[0-3]):[0-5]\d\s*[-–~]\s*([01]?\d|2[0-3]):[0-5]\d\s*$"
_STAFF_ITEM = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "email": {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"},
        "role": {"type": "string"},
        "supervisor": {"type": ["string", "null"]},
        "active": {"type": "boolean"},
    },
    "required": ["name", "email"],
    "additionalProperties": False,
}
_NAMES = {"type": "array", "items": {"type": "string", "minLength": 1}}
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "timezone": {"type": "string"},
        "language": {"enum": ["zh-CN", "zh-TW", "zh-HK", "en"]},
        "sources": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "path": {"type": "string", "minLength": 1},
                    "google_sheet": {"type": "string", "minLength": 1},
                    "tables": {"type": "object", "additionalProperties": {"type": "string"}},
                    "owner": {"type": "string", "minLength": 1},
                    "columns": {
                        "type": "object",
                        "additionalProperties": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*(\.(date|time))?$"},
                    },
                },
                "required": ["name"],
                "oneOf": [{"required": ["path"]}, {"required": ["google_sheet"]}],
                "additionalProperties": False,
            },
        },
        "staff": {"type": "array", "items": _STAFF_ITEM},
        "tables": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "optional": {"type": "array", "items": {"type": "string"}},
                    "aliases": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                },
                "additionalProperties": False,
            },
        },
        "mail": {
            "type": "object",
            "properties": {
                "from": {"type": "string"},
                "outbox": {"type": "string"},
                "allowed_domains": {"type": "array", "items": {"type": "string", "pattern": r"^@?[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"}},
                "smtp": {
                    "type": "object",
                    "properties": {
                        "host": {"type": "string", "minLength": 1},
                        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                        "security": {"enum": ["starttls", "ssl", "none"]},
                        "username": {"type": "string"},
                        "password_env": {"type": "string", "minLength": 1},
                        "password_file": {"type": "string", "minLength": 1},
                        "timeout": {"type": "number", "exclusiveMinimum": 0},
                    },
                    "required": ["host"],
                    "additionalProperties": False,
                },
            },
            "additionalProperties": False,
        },
        "state": {"type": "string"},
        "schemas": {"type": "string"},
        "calendar": {
            "type": "object",
            "properties": {
                "country": {"type": "string", "minLength": 2},
                "extra_holidays": {"type": "array", "items": {}},
                "extra_workdays": {"type": "array", "items": {}},
            },
            "additionalProperties": False,
        },
        "quiet_hours": {"type": "array", "items": {"type": "string", "pattern": _WINDOW}},
        "call_window": {"type": "string", "pattern": _WINDOW},
        "schedule": {"type": "object", "additionalProperties": {"type": ["string", "null"]}},
        "heartbeat": {
            "type": "object",
            "properties": {"silence_hours": {"type": "number", "exclusiveMinimum": 0}},
            "additionalProperties": False,
        },
        "google": {
            "type": "object",
            "properties": {
                "service_account_file": {"type": "string", "minLength": 1},
                "timeout": {"type": "number", "exclusiveMinimum": 0},
                "retries": {"type": "integer", "minimum": 0, "maximum": 10},
                # Google's per-user read quota is 60 a minute, its per-project one 300 (sources/gsheets.py)
                "requests_per_minute": {"type": "integer", "minimum": 1, "maximum": 300},
            },
            "additionalProperties": False,
        },
        "report": {
            "type": "object",
            "properties": {
                "folder": {"type": "string"}, "file_name": {"type": "string", "pattern": "\\{month\\}"},
                "show_phone": {"type": "boolean"}, "store": {"type": "string"},
            },
            "additionalProperties": False,
        },
        # Checked in detail by scripts/channels/settings.py, whose errors name the key path too.
        "morning_brief": {
            "type": "object",
            "properties": {"to_roles": _NAMES, "consultant_roles": _NAMES},
            "additionalProperties": False,
        },
        "weekly": {
            "type": "object",
            "properties": {"to_roles": _NAMES, "folder": {"type": "string", "minLength": 1},
                           "file_name": {"type": "string", "pattern": "\\{week\\}"}},
            "additionalProperties": False,
        },
        "digest": {
            "type": "object",
            "properties": {"store_scope": _NAMES, "cc": _NAMES, "attach_findings": {"type": "boolean"},
                           "folder": {"type": "string", "minLength": 1},
                           "member_days": {"type": "integer", "minimum": 1}},
            "additionalProperties": False,
        },
        "channels": {"type": "object"},
        "routes": {"type": "object"},
        "escalation": {
            "type": "object",
            "properties": {"escalate_to": {"type": "string", "minLength": 1}},
            "additionalProperties": False,
        },
        "log": {
            "type": "object",
            "properties": {"file": {"type": "string"}, "level": {"enum": ["DEBUG", "INFO", "WARNING", "ERROR"]}},
            "additionalProperties": False,
        },
    },
    "required": ["sources"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class SourceConfig:
    name: str
    path: Path | None = None
    google_sheet: str | None = None
    tables: Mapping[str, str] = field(default_factory=dict)  # worksheet title -> schema name
    owner: str | None = None  # who gets findings whose row names nobody (default: the supervisors)
    columns: Mapping[str, str] = field(default_factory=dict)  # header as written -> field / field.date / field.time


@dataclass(frozen=True)
class StaffMember:
    name: str
    email: str
    role: str = ""
    supervisor: str | None = None
    active: bool = True
    mobile: str | None = None
    wecom_userid: str | None = None


@dataclass(frozen=True)
class CalendarConfig:
    country: str = "CN"
    extra_holidays: frozenset[dt.date] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    security: str = "starttls"  # starttls | ssl | none
    username: str | None = None
    password_env: str | None = None  # the password itself never sits in the config
    password_file: Path | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class GoogleConfig:
    service_account_file: Path | None = None
    timeout: float = 30.0
    retries: int = 4
    requests_per_minute: int = 60  # every request of a run, retries included, is paced to this


@dataclass(frozen=True)
class ReportConfig:
    folder: Path = Path("reports")
    file_name: str = "投訴月報-{month}.xlsx"
    show_phone: bool = False
    store: str = ""


@dataclass(frozen=True)
class Config:
    path: Path | None
    base_dir: Path
    timezone: ZoneInfo
    sources: tuple[SourceConfig, ...]
    staff: tuple[StaffMember, ...] = ()
    mail_from: str = "回访提醒 <noreply@example.com>"
    outbox: Path = Path("outbox")
    smtp: SmtpConfig | None = None
    state: Path = Path("state.sqlite3")
    schema_dirs: tuple[Path, ...] = ()
    calendar: CalendarConfig = CalendarConfig()
    quiet_hours: tuple[QuietWindow, ...] = DEFAULT_QUIET_HOURS
    call_window: QuietWindow = (dt.time(9, 30), dt.time(11, 30))
    language: str = "zh-CN"
    google: GoogleConfig = GoogleConfig()
    report: ReportConfig = ReportConfig()
    schedule: Mapping[str, str] | None = None  # job -> schedule text; None: the defaults
    silence_hours: float = 26.0
    escalate_to: str | None = None  # the role that gets second-level escalations
    log_file: Path | None = None
    log_level: str | None = None
    allowed_domains: tuple[str, ...] = ()  # when set, mail only goes to these domains (lower case)
    channels: ChannelSettings = ChannelSettings()  # chat bots and where each kind of message goes
    morning_brief: Mapping[str, Any] | None = None  # checked by the schema; read by brief.BriefSettings
    weekly: Mapping[str, Any] | None = None  # weekly.WeeklySettings
    digest: Mapping[str, Any] | None = None  # brief.DigestSettings
    # table -> {"optional": (field, ...), "aliases": {field: (header, ...)}} (config ``tables``)
    table_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def _window(text: str) -> QuietWindow:
    start, end = re.split(r"\s*[-–~]\s*", text.strip())
    return dt.time.fromisoformat(start.zfill(5)), dt.time.fromisoformat(end.zfill(5))


def _dates(values: Any, where: str) -> frozenset[dt.date]:
    out = set()
    for i, value in enumerate(values or ()):
        if isinstance(value, dt.date):
            out.add(value)
            continue
        if not isinstance(value, str):  # checked before converting: a nested list is never turned into text
            raise ConfigError(f"{where}[{i}]: expected a date like 2026-10-10, found a {type(value).__name__}")
        try:
            out.add(dt.date.fromisoformat(str(value)))
        except ValueError:
            raise ConfigError(f"{where}[{i}]: {value!r} is not a date like 2026-10-10") from None
    return frozenset(out)


def timezone(name: str, where: str = "timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: unknown time zone {name!r} (use a name such as Asia/Shanghai)") from None


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def _check_secrets(document: Any, where: str) -> None:
    """Refuse a password in the config before the schema check, whose messages quote the values."""
    mail = document.get("mail") if isinstance(document, dict) else None
    smtp = mail.get("smtp") if isinstance(mail, dict) else None
    if not isinstance(smtp, dict):
        return
    if "password" in smtp:
        raise ConfigError(f"{where}: mail.smtp.password: never write the password in the configuration; put it in an "
                          "environment variable named by mail.smtp.password_env, or a file named by mail.smtp.password_file")
    env = smtp.get("password_env")
    if env is not None and not (isinstance(env, str) and _ENV_NAME.fullmatch(env)):
        # Quoting the value would print a password pasted here by mistake.
        raise ConfigError(f"{where}: mail.smtp.password_env must name an environment variable (A-Z, 0-9, _), "
                          "not hold the password itself")


def _with_folder(raw: Mapping[str, Any] | None, rel: Any) -> Mapping[str, Any] | None:
    """A section whose `folder` is relative to the config file, like every other path in it."""
    if not raw or "folder" not in raw:
        return raw
    return {**raw, "folder": str(rel(raw["folder"]))}


def parse_config(document: Any, path: Path | None, base_dir: Path) -> Config:
    """Build a Config from a parsed YAML document; errors name the file and the key."""
    where = str(path) if path else "configuration"
    if document is None:
        document = {}
    _check_secrets(document, where)
    validate_document(document, CONFIG_SCHEMA, where, ConfigError)

    def rel(value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else Path(os.path.normpath(base_dir / p))

    sources = []
    names = set()
    for i, raw in enumerate(document["sources"]):
        if raw["name"] in names:
            raise ConfigError(f"{where}: sources.{i}.name: {raw['name']!r} is used twice")
        names.add(raw["name"])
        sources.append(SourceConfig(
            name=raw["name"],
            path=rel(raw["path"]) if "path" in raw else None,
            google_sheet=raw.get("google_sheet"),
            tables=dict(raw.get("tables") or {}),
            owner=(raw.get("owner") or "").strip() or None,
            columns=dict(raw.get("columns") or {}),
        ))
    staff = tuple(StaffMember(
        name=s["name"].strip(), email=s["email"].strip(), role=s.get("role", ""),
        supervisor=(s.get("supervisor") or None), active=s.get("active", True),
    ) for s in document.get("staff") or ())
    mail = document.get("mail") or {}
    cal = document.get("calendar") or {}
    calendar = CalendarConfig(
        country=cal.get("country", "CN"),
        extra_holidays=_dates(cal.get("extra_holidays"), f"{where}: calendar.extra_holidays"),
        extra_workdays=_dates(cal.get("extra_workdays"), f"{where}: calendar.extra_workdays"),
    )
    for job, text in (document.get("schedule") or {}).items():
        if text not in (None, "", "off"):
            from .scheduling import parse_times  # noqa: PLC0415

            parse_times(job, text, where=f"{where}: schedule")
    both = calendar.extra_holidays & calendar.extra_workdays
    if both:
        raise ConfigError(f"{where}: calendar: {min(both)} is both in extra_holidays and extra_workdays")
    smtp = mail.get("smtp")
    google = document.get("google") or {}
    report = document.get("report") or {}
    log = document.get("log") or {}
    return Config(
        path=path,
        base_dir=base_dir,
        timezone=timezone(document.get("timezone", "Asia/Shanghai"), f"{where}: timezone"),
        sources=tuple(sources),
        staff=staff,
        mail_from=mail.get("from", Config.mail_from),
        outbox=rel(mail.get("outbox", "outbox")),
        smtp=SmtpConfig(
            host=smtp["host"], port=smtp.get("port", 587), security=smtp.get("security", "starttls"),
            username=smtp.get("username"), password_env=smtp.get("password_env"),
            password_file=rel(smtp["password_file"]) if smtp.get("password_file") else None,
            timeout=float(smtp.get("timeout", 30)),
        ) if smtp else None,
        state=rel(document.get("state", "state.sqlite3")),
        schema_dirs=(rel(document["schemas"]),) if document.get("schemas") else (),
        calendar=calendar,
        quiet_hours=tuple(_window(w) for w in document["quiet_hours"]) if "quiet_hours" in document else DEFAULT_QUIET_HOURS,
        call_window=_window(document["call_window"]) if "call_window" in document else Config.call_window,
        language=document.get("language", "zh-CN"),
        google=GoogleConfig(
            service_account_file=rel(google["service_account_file"]) if google.get("service_account_file") else None,
            timeout=float(google.get("timeout", 30)), retries=int(google.get("retries", 4)),
            requests_per_minute=int(google.get("requests_per_minute", 60)),
        ),
        report=ReportConfig(
            folder=rel(report.get("folder", "reports")), file_name=report.get("file_name", ReportConfig.file_name),
            show_phone=bool(report.get("show_phone", False)), store=report.get("store", ""),
        ),
        schedule=({job: ("" if text is None else str(text)) for job, text in document["schedule"].items()}
                  if "schedule" in document else None),
        silence_hours=float((document.get("heartbeat") or {}).get("silence_hours", 26)),
        escalate_to=(document.get("escalation") or {}).get("escalate_to"),
        log_file=rel(log["file"]) if log.get("file") else None,
        log_level=log.get("level"),
        allowed_domains=tuple(d.lower().lstrip("@") for d in mail.get("allowed_domains") or ()),
        channels=parse_channels(document.get("channels"), document.get("routes"), where, base_dir),
        morning_brief=document.get("morning_brief"),
        weekly=_with_folder(document.get("weekly"), rel),
        digest=_with_folder(document.get("digest"), rel),
        table_overrides={
            name: {"optional": tuple(raw.get("optional") or ()),
                   "aliases": {f: tuple(a) for f, a in (raw.get("aliases") or {}).items()}}
            for name, raw in (document.get("tables") or {}).items()
        },
    )


class _NoAliasLoader(yaml.SafeLoader):
    """The safe loader without anchors and aliases: a few nested aliases expand to gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "YAML aliases (*name) are not allowed in the configuration; "
                                              "write the values out", event.start_mark)
        return super().compose_node(parent, index)


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        document = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from exc
    return parse_config(document, path.resolve(), path.resolve().parent)


def config_for_files(paths: list[Path], base: Config | None = None) -> Config:
    """A configuration that checks the given files directly, tables matched by their headers."""
    sources = []
    seen: set[str] = set()
    for p in paths:
        name = p.name if p.name not in seen else str(p)
        seen.add(name)
        sources.append(SourceConfig(name=name, path=p))
    if base is None:
        return Config(path=None, base_dir=Path.cwd(), timezone=ZoneInfo("Asia/Shanghai"), sources=tuple(sources))
    from dataclasses import replace  # noqa: PLC0415

    return replace(base, sources=tuple(sources))
