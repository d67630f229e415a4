"""A real SMTP server on loopback (aiosmtpd) that can be told to fail: 4xx, 5xx, hang up after DATA,
or store the message and answer too late."""

from __future__ import annotations

import asyncio
import email
import socket
from dataclasses import dataclass, field
from email import policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class Received:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=policy.default)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    # One action per DATA command, in order: "451", "421", "550", "drop" (store the message, then hang
    # up), "late" (store the message, answer after ``late_seconds``).
    faults: list[str] = field(default_factory=list)
    late_seconds: float = 3.0
    data_commands: int = 0
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> reply, e.g. "550 no such user"
    connections: int = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        action = self.faults.pop(0) if self.faults else None
        if action and action[0] in "45":
            return f"{action} simulated failure"
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        if action == "drop":
            server.transport.close()
            return "250 OK"  # never reaches the client
        if action == "late":
            await asyncio.sleep(self.late_seconds)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    def __init__(self, password: str | None = None) -> None:
        """With ``password``, the server takes AUTH (user "bot") and refuses mail without it."""
        self.handler = Handler()
        self.port = free_port()  # aiosmtpd's Controller cannot start on port 0
        auth = {}
        if password is not None:
            def check(server, session, envelope, mechanism, auth_data):
                ok = auth_data.login == b"bot" and auth_data.password == password.encode()
                return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself

            auth = {"authenticator": check, "auth_require_tls": False, "auth_required": True}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **auth)

    def __enter__(self) -> "SmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        return self.handler.received
