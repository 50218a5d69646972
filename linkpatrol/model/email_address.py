"""The one check of an email address: a crawl's ``notify`` option (``linkpatrol.model.options``), the mail's
sender and recipients, the test mail form (``web.jobs``)."""

from __future__ import annotations

import re
from email.errors import HeaderParseError, MessageError
from email.headerregistry import Address

MAX_LENGTH = 254
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SEPARATORS = re.compile(r"[,;\s]+")  # between addresses in one text: a form field, a variable


class InvalidAddress(ValueError):
    """An address we refuse (to put in a header, or to store): the message says why, for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def validate(raw: object) -> str:
    """The address as a bare ``local@domain``; raises InvalidAddress for anything else (names,
    lists, line breaks, control characters...)."""
    if not isinstance(raw, str):
        raise InvalidAddress("an email address must be text")
    value = raw.strip()
    if CONTROL.search(value):
        raise InvalidAddress("an email address cannot contain line breaks or control characters")
    if not value:
        raise InvalidAddress("the email address is empty")
    if len(value) > MAX_LENGTH:
        raise InvalidAddress(f"an email address has at most {MAX_LENGTH} characters")
    shape = f"{value[:80]!r} is not an email address like name@example.org"
    if any(c.isspace() for c in value) or value.count("@") != 1:
        raise InvalidAddress(shape)
    try:
        parsed = Address(addr_spec=value)
    except (ValueError, IndexError, HeaderParseError, MessageError):
        raise InvalidAddress(shape) from None
    if not parsed.username or not parsed.domain or parsed.domain.startswith(".") or parsed.domain.endswith("."):
        raise InvalidAddress(shape)
    return parsed.addr_spec


def validate_all(raw: list[str] | str) -> list[str]:
    """Several addresses (a list, or one text separated by commas, semicolons or spaces), each checked
    by ``validate``, duplicates dropped, in their order."""
    items = SEPARATORS.split(raw) if isinstance(raw, str) else list(raw)
    return list(dict.fromkeys(validate(item) for item in items if not (isinstance(item, str) and not item.strip())))
