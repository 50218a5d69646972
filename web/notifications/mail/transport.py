"""Handing a message to SMTP (or, without SMTP settings, to a folder), and what a failure means.

A failure is *permanent* when trying again cannot help (the server refused the recipient or the
sender with a 5xx code, authentication failed, the server cannot do the TLS we asked for) and
*transient* otherwise (connection refused, timeout, 4xx answers, a dropped connection).

The hand-over: ``send(msg, to, handing=callback)`` calls ``callback`` after the whole message went to
the server and right before the final end-of-data line (``.``) that makes the server take it. The mail
jobs record it in the crawl's sent ledger, so a job re-run after its worker died knows the mail may
have been accepted with no answer seen (``web.notifications.mail.jobs``). A failure after the hand-over that carries
no answer from the server is ``unanswered``.
"""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
import tempfile
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from web.notifications.settings import MailSettings


class MailError(Exception):
    permanent = False
    unanswered = False  # raised after the hand-over with no answer: the server may have the message


class TransientMailError(MailError):
    """Worth another attempt later."""


class PermanentMailError(MailError):
    """Trying again will fail the same way."""

    permanent = True


def _code_text(code: int, reply: bytes | str) -> str:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {text}".strip()


def classify(exc: BaseException, host: str = "") -> MailError:
    """Turn whatever smtplib or the socket raised into a transient or a permanent MailError."""
    where = f" ({host})" if host else ""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return PermanentMailError(f"authentication failed{where}: {_code_text(exc.smtp_code, exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = [(rcpt, code, reply) for rcpt, (code, reply) in exc.recipients.items()]
        text = "; ".join(f"{rcpt}: {_code_text(code, reply)}" for rcpt, code, reply in answers)
        if answers and all(code >= 500 for _, code, _ in answers):
            return PermanentMailError(f"recipient refused{where}: {text}")
        return TransientMailError(f"recipient deferred{where}: {text}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentMailError(f"the server does not support this{where}: {exc}")
    if isinstance(exc, smtplib.SMTPResponseException):
        kind = {smtplib.SMTPSenderRefused: "sender refused", smtplib.SMTPDataError: "message refused"}.get(
            type(exc), "server answered")
        text = f"{kind}{where}: {_code_text(exc.smtp_code, exc.smtp_error)}"
        return PermanentMailError(text) if exc.smtp_code >= 500 else TransientMailError(text)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentMailError(f"TLS certificate not trusted{where}: {exc.verify_message or exc}")
    if isinstance(exc, ConnectionRefusedError):
        return TransientMailError(f"connection refused{where}")
    if isinstance(exc, socket.timeout | TimeoutError):
        return TransientMailError(f"timed out{where}")
    if isinstance(exc, socket.gaierror):
        return TransientMailError(f"cannot resolve the SMTP host{where}: {exc.strerror or exc}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransientMailError(f"the server closed the connection{where}: {exc}")
    return TransientMailError(f"{type(exc).__name__}{where}: {exc}")


class Transport:
    """Open with ``with open_transport(settings) as t:``, then ``t.send(msg, address)``."""

    description = ""

    def send(self, msg: EmailMessage, to: str, handing: Callable[[], None] | None = None) -> None:
        raise NotImplementedError

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        pass


_LEADING_DOT = re.compile(rb"(?m)^\.")


class _HandOver:
    """smtplib's DATA step split in two, to run ``handing`` between the message and its final "."
    (what ``smtplib.SMTP.data`` does in one write)."""

    handing: Callable[[], None] | None = None
    handed = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        smtp: smtplib.SMTP = self  # type: ignore[assignment]
        smtp.putcmd("data")
        code, repl = smtp.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, repl)
        raw = msg.encode("ascii") if isinstance(msg, str) else bytes(msg)
        raw = _LEADING_DOT.sub(b"..", raw)
        if not raw.endswith(b"\r\n"):
            raw += b"\r\n"
        smtp.send(raw)
        if self.handing is not None:
            self.handing()
        self.handed = True
        smtp.send(b".\r\n")
        return smtp.getreply()


class _SMTP(_HandOver, smtplib.SMTP):
    pass


class _SMTP_SSL(_HandOver, smtplib.SMTP_SSL):
    pass


class SMTPTransport(Transport):
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self.host = f"{settings.smtp_host}:{settings.smtp_port}"
        self.description = f"SMTP {self.host}"
        self.smtp: _SMTP | _SMTP_SSL | None = None
        try:
            self.smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            raise classify(exc, self.host) from exc

    def _connect(self) -> _SMTP | _SMTP_SSL:
        s = self.settings
        context = ssl.create_default_context()
        smtp: _SMTP | _SMTP_SSL
        if s.smtp_security == "ssl":
            smtp = _SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout, context=context)
        else:
            smtp = _SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        try:
            smtp.ehlo()
            if s.smtp_security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, msg: EmailMessage, to: str, handing: Callable[[], None] | None = None) -> None:
        assert self.smtp is not None
        self.smtp.handing, self.smtp.handed = handing, False
        try:
            # One envelope recipient per message: a refusal concerns exactly one address.
            self.smtp.send_message(msg, from_addr=self.settings.sender, to_addrs=[to])
        except (OSError, smtplib.SMTPException) as exc:
            error = classify(exc, self.host)
            error.unanswered = self.smtp.handed and not isinstance(exc, smtplib.SMTPResponseException)
            raise error from exc
        except BaseException:
            # The hand-over record failed (Redis away): drop the connection before the final "." so
            # the server discards the message, and let the job fail and retry.
            self.smtp.close()
            self.smtp = None
            raise
        finally:
            if self.smtp is not None:
                self.smtp.handing = None

    def close(self) -> None:
        if self.smtp is None:
            return
        try:
            self.smtp.quit()
        except (OSError, smtplib.SMTPException):
            self.smtp.close()
        self.smtp = None


class FolderTransport(Transport):
    """Writes each message as an .eml file (atomically: a temporary file, then a rename)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.description = f"folder {self.directory}"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PermanentMailError(f"cannot create the mail folder {self.directory}: {exc}") from exc

    def send(self, msg: EmailMessage, to: str, handing: Callable[[], None] | None = None) -> None:
        # os.replace is atomic: there is no moment where the folder may or may not hold the mail.
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        safe_to = "".join(c if c.isalnum() or c in "@.-_" else "_" for c in to)
        try:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
            with os.fdopen(fd, "wb") as fh:
                fh.write(msg.as_bytes())
            final = self.directory / f"{stamp}-{safe_to}-{os.path.basename(tmp)[5:]}"
            os.replace(tmp, final)
        except OSError as exc:
            raise TransientMailError(f"cannot write to {self.directory}: {exc}") from exc


def open_transport(settings: MailSettings) -> Transport:
    """SMTP when LINKPATROL_SMTP_HOST is set, else the mail folder. Raises MailError."""
    if settings.smtp_enabled:
        return SMTPTransport(settings)
    return FolderTransport(settings.mail_dir)
