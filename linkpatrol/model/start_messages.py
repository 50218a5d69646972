"""Start messages: what a crawler reads from the start queue (``{"crawl_id": ...}``, a bare URL, or a
JSON object ``{"url": ..., "max_pages": ...}`` with the API's option names), decoded and refused in one
place (``StartMessage.decode`` raises only ``BadStartMessage``), and ``DeadStartMessage``: one no crawl
came from, kept in the dead-letter list with its reason. Anyone who can write to the queue writes
these, so every size and depth is bounded before anything is parsed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from linkpatrol.model.options import CrawlOptions, InvalidOption, parse_options
from linkpatrol.model.urls import InvalidURL, normalize_url
from linkpatrol.model.wire import compact_json


class BadStartMessage(ValueError):
    """A start message no crawl can come from; the message says why, in one line."""


# A start message is one URL or a small JSON object: the API's body limit, and a depth no option
# needs (headers, lists of patterns: 2). Checked before decoding, so no message costs more than
# reading it once (a 5,000-deep one made ``json.loads`` raise RecursionError).
MAX_START_MESSAGE = 64 * 1024  # bytes
MAX_START_DEPTH = 8
SHOWN_START_MESSAGE = 1000  # characters of a rejected message a dead letter keeps
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _nesting(text: str) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets inside strings do not count)."""
    depth = deepest = 0
    for ch in _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)):
        depth += 1 if ch in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _size(raw: str | bytes) -> int:
    return len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a string" if isinstance(value, str) else "an array"


def _start_json(text: str) -> Any:
    """The JSON value of ``text``, or BadStartMessage: nested too deeply, or not JSON."""
    if _nesting(text) > MAX_START_DEPTH:
        raise BadStartMessage(f"JSON nested more than {MAX_START_DEPTH} levels deep")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise BadStartMessage("not JSON and not a URL") from None


@dataclass(frozen=True)
class StartMessage:
    """Either names a crawl the web app or the CLI created (``crawl_id``), or asks for a new crawl of
    ``url`` with ``options`` (a scrapy-redis user's ``lpush links:start_urls URL``)."""

    crawl_id: str | None = None
    url: str | None = None
    options: CrawlOptions = field(default_factory=CrawlOptions)

    def encode(self) -> str:
        if self.crawl_id:
            return compact_json({"crawl_id": self.crawl_id})
        return compact_json({"url": self.url, **self.options.to_input()})

    @staticmethod
    def text(raw: str | bytes) -> str:
        """The text of a start message as it was pushed, or BadStartMessage: too large, or not UTF-8."""
        size = _size(raw)
        if size > MAX_START_MESSAGE:
            raise BadStartMessage(f"{size} bytes, more than the {MAX_START_MESSAGE} a start message may have")
        if isinstance(raw, str):
            return raw
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadStartMessage(f"not UTF-8 text (byte {exc.start} is {raw[exc.start]:#04x})") from None

    @staticmethod
    def loggable(raw: str | bytes) -> str:
        """``raw`` as a log line may show it: the values of its request headers (secrets) masked,
        bytes that are not UTF-8 as ``\\xff`` escapes."""
        text = raw.decode("utf-8", "backslashreplace") if isinstance(raw, bytes) else raw
        if not text.lstrip().startswith("{"):
            return text
        try:
            data = _start_json(StartMessage.text(text))
        except BadStartMessage:
            return "(malformed JSON naming headers, not shown)" if "headers" in text.lower() else text
        if not isinstance(data, Mapping) or data.get("headers") is None:
            return text
        headers = data["headers"]
        masked = dict.fromkeys(map(str, headers), "***") if isinstance(headers, Mapping) else "***"
        return compact_json({**data, "headers": masked})

    @classmethod
    def decode(cls, raw: str | bytes) -> StartMessage:
        """The message ``raw`` is, or BadStartMessage saying why it is none (never another error,
        whatever ``raw`` holds: its cost is bounded by ``MAX_START_MESSAGE``)."""
        text = cls.text(raw).strip()
        if not text:
            raise BadStartMessage("the message is empty")
        if text[0] not in '{["':
            try:  # a bare JSON number, true, false or null is no URL either
                scalar = json.loads(text)
            except ValueError:
                return cls(url=_start_url(text))
            raise BadStartMessage(f"a JSON start message must be an object, not {_json_kind(scalar)}")
        data = _start_json(text)
        if not isinstance(data, Mapping):
            raise BadStartMessage(f"a JSON start message must be an object, not {_json_kind(data)}")
        if "crawl_id" in data:
            crawl_id = data["crawl_id"]
            if not isinstance(crawl_id, str) or not crawl_id or len(crawl_id) > 64:
                raise BadStartMessage('"crawl_id" must be a string of 1 to 64 characters')
            return cls(crawl_id=crawl_id)
        if not isinstance(data.get("url"), str):
            raise BadStartMessage('it needs a "url" string (or a "crawl_id")')
        try:
            options = parse_options({k: v for k, v in data.items() if k != "url"})
        except InvalidOption as exc:
            raise BadStartMessage(str(exc)) from None
        return cls(url=_start_url(data["url"]), options=options)


@dataclass(frozen=True)
class DeadStartMessage:
    """A start message no crawl came from, as the dead-letter list (``Keys.start_dead``) keeps it:
    as logs show it (``StartMessage.loggable``, cut to ``SHOWN_START_MESSAGE`` characters), its size
    in bytes, why it was rejected and when (Unix time)."""

    message: str
    size: int
    reason: str
    at: float

    @classmethod
    def of(cls, raw: str | bytes, reason: str, at: float) -> DeadStartMessage:
        size = _size(raw)
        shown = StartMessage.loggable(raw[:MAX_START_MESSAGE + 1])
        if len(shown) > SHOWN_START_MESSAGE:
            shown = shown[:SHOWN_START_MESSAGE] + "..."
        return cls(shown, size, reason, at)

    def encode(self) -> str:
        return compact_json({"at": round(self.at, 3), "reason": self.reason, "size": self.size,
                             "message": self.message})

    @classmethod
    def decode(cls, raw: str) -> DeadStartMessage:
        d = json.loads(raw)
        return cls(str(d["message"]), int(d["size"]), str(d["reason"]), float(d["at"]))

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "reason": self.reason, "size": self.size, "message": self.message}


def _start_url(raw: str) -> str:
    try:
        return normalize_url(raw)[0]
    except InvalidURL as exc:
        raise BadStartMessage(f"url: {exc}") from None
