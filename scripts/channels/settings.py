"""The ``channels:`` and ``routes:`` config keys, loaded into frozen dataclasses.

Webhook URLs and secrets never sit in the YAML: each is named by an environment variable
(``webhook_env``/``secret_env``) or a file (``webhook_file``/``secret_file``) and read only when a
message is sent (or ``doctor`` checks), so a missing secret fails that channel, not the config load.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError
from ..quickschema import conforms

TYPES = ("wecom_bot", "dingtalk_bot", "feishu_bot", "wecom_app")
GROUP_TYPES = ("wecom_bot", "dingtalk_bot", "feishu_bot")
ROUTE_KINDS = ("reminders", "digest", "escalations", "alert", "report", "morning_brief")
KIND_ROUTES = {"reminder": "reminders", "digest": "digest", "escalation": "escalations", "alert": "alert",
               "report": "report", "morning_brief": "morning_brief"}  # Message.kind -> routes key

def is_channel_recipient(recipient: str) -> bool:
    """Whether a ledger entry is a chat message (``wecom_bot:showroom_group``), not an email address:
    jobs.deliver must never resend it by SMTP."""
    return recipient.split(":", 1)[0] in TYPES


_NAME = {"type": "string", "minLength": 1, "pattern": r"^[^\s:]+$"}
CHANNELS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "propertyNames": {"pattern": r"^[A-Za-z0-9_\-]+$", "not": {"const": "email"}},
    "additionalProperties": {
        "type": "object",
        "required": ["type"],
        "additionalProperties": False,
        "properties": {
            "type": {"enum": list(TYPES)},
            "webhook_env": _NAME, "webhook_file": {"type": "string", "minLength": 1},
            "secret_env": _NAME, "secret_file": {"type": "string", "minLength": 1},
            "corp_id": {"type": "string", "minLength": 1},
            "agent_id": {"type": ["integer", "string"]},
            "api_base": {"type": "string", "pattern": "^https?://"},  # WeCom app: a proxy or a test server
        },
        "allOf": [
            {"if": {"properties": {"type": {"const": "wecom_app"}}},
             "then": {"required": ["corp_id", "agent_id"],
                      "oneOf": [{"required": ["secret_env"]}, {"required": ["secret_file"]}]},
             "else": {"oneOf": [{"required": ["webhook_env"]}, {"required": ["webhook_file"]}],
                      "not": {"required": ["secret_env", "secret_file"]}}},
        ],
    },
}
_ROUTE_ITEM = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "object", "required": ["channel"], "additionalProperties": False,
         "properties": {"channel": {"type": "string", "minLength": 1}, "show_phone": {"type": "boolean"},
                        "team": {"type": "string", "minLength": 1}}},
    ]
}
ROUTES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "propertyNames": {"enum": list(ROUTE_KINDS)},
    "additionalProperties": {"type": "array", "items": _ROUTE_ITEM},
}


@dataclass(frozen=True)
class Channel:
    name: str
    type: str
    webhook_env: str | None = None
    webhook_file: Path | None = None
    secret_env: str | None = None
    secret_file: Path | None = None
    corp_id: str | None = None
    agent_id: str | None = None
    api_base: str | None = None

    @property
    def personal(self) -> bool:
        """A WeCom app message reaches one person; the bots post to a group everyone in it reads."""
        return self.type == "wecom_app"

    def webhook(self, environ: Mapping[str, str] | None = None) -> str:
        value = _read(f"channels.{self.name}.webhook", self.webhook_env, self.webhook_file, environ)
        if value is None:
            raise ConfigError(f"channels.{self.name}: no webhook_env or webhook_file")
        return value

    def secret(self, environ: Mapping[str, str] | None = None) -> str | None:
        return _read(f"channels.{self.name}.secret", self.secret_env, self.secret_file, environ)


@dataclass(frozen=True)
class Route:
    channel: str  # "email" or a name under channels:
    show_phone: bool = False
    team: str | None = None  # only the messages of this supervisor and their team


@dataclass(frozen=True)
class ChannelSettings:
    channels: Mapping[str, Channel] = field(default_factory=dict)
    routes: Mapping[str, tuple[Route, ...]] = field(default_factory=dict)

    def routes_for(self, kind: str) -> tuple[Route, ...]:
        """Routes of a Message.kind; a kind not routed goes by email only, as before channels existed."""
        return self.routes.get(KIND_ROUTES.get(kind, kind), (Route("email"),))

    def emails(self, kind: str) -> bool:
        return any(r.channel == "email" for r in self.routes_for(kind))


def _read(key: str, env: str | None, path: Path | None, environ: Mapping[str, str] | None) -> str | None:
    """A value from the environment or a file; errors name the key and the variable, never the value."""
    if env:
        value = (os.environ if environ is None else environ).get(env)
        if not value or not value.strip():
            raise ConfigError(f"{key}_env: the environment variable {env} is not set")
        return value.strip()
    if path:
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{key}_file: cannot read {path} ({exc.strerror})") from None
        if not value:
            raise ConfigError(f"{key}_file: {path} is empty")
        return value
    return None


def parse_channels(channels: Mapping[str, Any] | None, routes: Mapping[str, Any] | None, where: str,
                   base_dir: Path | None = None) -> ChannelSettings:
    """Check and load the two keys; ``where`` (the config file) starts every error message."""
    channels = channels or {}
    routes = routes or {}
    for key, schema, value in (("channels", CHANNELS_SCHEMA, channels), ("routes", ROUTES_SCHEMA, routes)):
        if conforms(value, schema):
            continue
        import jsonschema  # noqa: PLC0415 - only a doubtful value pays for the import

        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.path))
        if errors:
            error = jsonschema.exceptions.best_match(errors)
            path = ".".join(str(p) for p in [key, *error.absolute_path])
            raise ConfigError(f"{where}: {path}: {error.message}")
    base = base_dir or Path.cwd()

    def rel(p: str | None) -> Path | None:
        return None if p is None else (Path(p) if Path(p).is_absolute() else base / p)

    loaded = {
        name: Channel(name, c["type"], c.get("webhook_env"), rel(c.get("webhook_file")), c.get("secret_env"),
                      rel(c.get("secret_file")), c.get("corp_id"),
                      None if c.get("agent_id") is None else str(c["agent_id"]), c.get("api_base"))
        for name, c in channels.items()
    }
    parsed: dict[str, tuple[Route, ...]] = {}
    for kind, items in routes.items():
        chosen = []
        for item in items:
            route = Route(item) if isinstance(item, str) else Route(item["channel"], item.get("show_phone", False),
                                                                     item.get("team"))
            if route.channel != "email" and route.channel not in loaded:
                known = ", ".join(["email", *loaded]) or "email"
                raise ConfigError(f"{where}: routes.{kind}: no channel named {route.channel!r} (channels: {known})")
            chosen.append(route)
        parsed[kind] = tuple(chosen)
    return ChannelSettings(loaded, parsed)
