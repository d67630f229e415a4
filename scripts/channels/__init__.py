"""Chat channels beside email: WeCom/DingTalk/Feishu group bots and WeCom app messages.

Names are loaded on first use, so that the configuration can read ``settings`` without pulling in
the delivery layer (which itself builds on the configuration).
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "ChannelDelivery": "dispatch", "check_channel": "dispatch", "deliver_to_channels": "dispatch",
    "is_channel_recipient": "settings", "ledger_key": "dispatch", "make_senders": "dispatch",
    "WORDS": "render", "ChatDoc": "render", "mask_text": "render", "render_chat": "render",
    "CHANNELS_SCHEMA": "settings", "ROUTES_SCHEMA": "settings", "Channel": "settings", "ChannelSettings": "settings",
    "Route": "settings", "parse_channels": "settings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(import_module(f".{module}", __name__), name)
