"""Chat channels beside email: WeCom/DingTalk/Feishu group bots and WeCom app messages."""

from .dispatch import (ChannelDelivery, check_channel, deliver_to_channels, is_channel_recipient, ledger_key,
                       make_senders)
from .render import WORDS, ChatDoc, mask_text, render_chat
from .settings import CHANNELS_SCHEMA, ROUTES_SCHEMA, Channel, ChannelSettings, Route, parse_channels

__all__ = ["CHANNELS_SCHEMA", "ROUTES_SCHEMA", "WORDS", "Channel", "ChannelDelivery", "ChannelSettings", "ChatDoc",
           "Route", "check_channel", "deliver_to_channels", "is_channel_recipient", "ledger_key", "make_senders",
           "mask_text", "parse_channels", "render_chat"]
