"""A real SMTP server for the tests: aiosmtpd on loopback, in a thread, recording what it accepts."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Delivery:
    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class Handler:
    deliveries: list[Delivery] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> SMTP answer to RCPT
    hold: bool = False  # DATA waits (without answering) until released or the client goes away
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            # A message held until released is never accepted: its client was killed meanwhile.
            return "451 held and dropped by the test server"
        raw = envelope.original_content or envelope.content
        msg = message_from_bytes(raw, policy=policy.default)
        with self.lock:
            self.deliveries.append(Delivery(envelope.mail_from, list(envelope.rcpt_tos), msg, raw))  # type: ignore[arg-type]
        return "250 Message accepted"


@dataclass
class SlowAnswer(Handler):
    """A scanning MTA: it takes the message at the final "." and answers ``delay`` seconds later."""

    delay: float = 8.0
    taken: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        self.taken.set()
        await asyncio.sleep(self.delay)
        return answer


class SMTPServer:
    def __init__(self, port: int, handler: Handler | None = None, **options: Any) -> None:
        self.port = port
        self.handler = handler or Handler()
        self.options = options  # passed to aiosmtpd's Controller (authenticator=..., auth_require_tls=...)
        self.controller: Controller | None = None

    def start(self) -> SMTPServer:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.handler.release.set()
            self.controller.stop()
            self.controller = None

    @property
    def deliveries(self) -> list[Delivery]:
        with self.handler.lock:
            return list(self.handler.deliveries)

    def wait_for(self, count: int, timeout: float = 30) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} mails within {timeout}s, got {len(self.deliveries)}")
            time.sleep(0.05)
        return self.deliveries


def body(msg: EmailMessage, subtype: str) -> str:
    """The text of the message's ``text/<subtype>`` part."""
    part = msg.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())
