"""The values of crawl options as people and clients send them, parsed and checked one way: numbers,
durations, rates, switches, addresses, lists of entries, request headers, webhooks, URL prefixes. Each
parser raises ``InvalidOption(field, message)``, the one error shape every edge shows (a 400 naming the
field, exit 2, a dead start message). The options themselves, and what walks them, are
``linkpatrol.model.options``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from linkpatrol import durations
from linkpatrol.model.email_address import InvalidAddress, validate_all

MAX_NOTIFY = 10
MAX_LIMIT = 1_000_000
MAX_SITE_CONCURRENCY = 1000
MAX_SITE_RATE = 10_000
MAX_PATTERNS, MAX_PATTERN_LENGTH = 50, 500  # exclude (their compiled size: rules.MAX_PATTERN_PROGRAM)
MAX_SAME_SITE = 50
MAX_ACCEPT = 50
MAX_HEADERS, MAX_HEADER_NAME, MAX_HEADER_VALUE = 20, 100, 4096
MAX_PAGE_SIZE = 1024  # megabytes
MAX_REMAP = 10
MAX_WEBHOOKS, MAX_WEBHOOK_URL, MAX_WEBHOOK_SECRET = 5, 2000, 256
REMAP_SHAPE = 'must be an object of URL prefixes: {"https://example.org/docs/": "http://127.0.0.1:8000/"}'
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 7230 token
# Headers that frame the message or concern one hop: the HTTP client owns them.
FORBIDDEN_HEADERS = frozenset({
    "host", "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te",
    "trailer", "upgrade", "expect", "proxy-authorization", "proxy-authenticate",
})
MAX_DURATION = 30 * 24 * 3600  # seconds


class InvalidOption(ValueError):
    """A crawl option (or the url) a person gave that cannot be used; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def entry(name: str, value: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(value)
    except ValueError as exc:
        raise InvalidOption(name, str(exc)) from None


def check_headers(headers: Mapping[str, str]) -> None:
    """Names and values of request headers; a message never repeats a value (they are secrets)."""
    if len(headers) > MAX_HEADERS:
        raise InvalidOption("headers", f"at most {MAX_HEADERS} headers")
    seen: set[str] = set()
    for number, (name, value) in enumerate(headers.items(), 1):
        if not isinstance(name, str) or not HEADER_NAME.fullmatch(name) or len(name) > MAX_HEADER_NAME:
            raise InvalidOption("headers", f"header {number} has no valid name (letters, digits and "
                                           f"!#$%&'*+-.^_`|~, at most {MAX_HEADER_NAME} characters)")
        if name.lower() in FORBIDDEN_HEADERS:
            raise InvalidOption("headers", f"{name} is set by the HTTP client itself and cannot be given")
        if name.lower() in seen:
            raise InvalidOption("headers", f"{name} is given twice")
        seen.add(name.lower())
        if not isinstance(value, str):
            raise InvalidOption("headers", f"the value of {name} must be a string")
        if "\r" in value or "\n" in value:
            raise InvalidOption("headers", f"the value of {name} must not contain a line break")
        if not value.strip():
            raise InvalidOption("headers", f"{name} needs a value")
        if len(value) > MAX_HEADER_VALUE:
            raise InvalidOption("headers", f"the value of {name} is longer than {MAX_HEADER_VALUE} characters")
        if any(not (" " <= c <= "~" or c == "\t") for c in value):
            raise InvalidOption("headers", f"the value of {name} may hold printable ASCII characters only")


def webhook_target(url: str) -> str:
    """A webhook URL as pages, the API and logs show it: no user name, password, query string or
    fragment (where receivers tend to put their tokens)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return "(invalid URL)"
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit((parts.scheme, f"{host}:{port}" if port else host, parts.path, "", ""))


def check_webhooks(urls: list[str]) -> list[str]:
    """Webhook URLs: http or https, a host, no user name or password. The address policy is applied
    by who knows it (``linkpatrol.watch.webhooks.refused``: the web app, the command line) and again, after
    resolving, when each webhook is sent."""
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise InvalidOption("webhooks", "must be a list of http(s) URLs")
    if len(urls) > MAX_WEBHOOKS:
        raise InvalidOption("webhooks", f"at most {MAX_WEBHOOKS} URLs")
    out: list[str] = []
    for url in (u.strip() for u in urls):
        shown = url[:80]
        if len(url) > MAX_WEBHOOK_URL:
            raise InvalidOption("webhooks", f"a URL has at most {MAX_WEBHOOK_URL} characters")
        if any(c.isspace() or not c.isprintable() for c in url):
            raise InvalidOption("webhooks", f"{shown!r} holds spaces or control characters")
        try:
            parts = urlsplit(url)
            host, port = parts.hostname, parts.port
        except ValueError:
            raise InvalidOption("webhooks", f"{shown!r} is not a URL") from None
        if parts.scheme not in ("http", "https") or not host:
            raise InvalidOption("webhooks", f"{shown!r} is not an http or https URL")
        if parts.username is not None or parts.password is not None:
            raise InvalidOption("webhooks", f"{parts.scheme}://{host}: a user name or password in the URL is "
                                            "not accepted; use webhook_secret to sign the requests")
        if port == 0:
            raise InvalidOption("webhooks", f"{shown!r} has no valid port")
        if url not in out:
            out.append(url)
    return out


def check_webhook_secret(secret: str) -> None:
    """The message never repeats the secret."""
    if not isinstance(secret, str):
        raise InvalidOption("webhook_secret", "must be a string")
    if len(secret) > MAX_WEBHOOK_SECRET:
        raise InvalidOption("webhook_secret", f"has at most {MAX_WEBHOOK_SECRET} characters")
    if any(not (" " <= c <= "~") for c in secret):
        raise InvalidOption("webhook_secret", "may hold printable ASCII characters only")


# -- parsing what a person or a client sent -----------------------------------------------------------
def whole(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidOption(name, "must be a whole number")
    if isinstance(value, str):
        value = value.strip()
        # ASCII digits only ("²".isdigit() is true, int() refuses it), and a length check before
        # int(): Python refuses to convert more than 4,300 digits.
        if not (value.isascii() and value.isdigit()):
            raise InvalidOption(name, "must be a whole number, 0 or more")
        value = value.lstrip("0") or "0"
        if len(value) > len(str(MAX_LIMIT)):
            raise InvalidOption(name, f"must be at most {MAX_LIMIT:,}")
        value = int(value)
    if not isinstance(value, int) or value < 0:
        raise InvalidOption(name, "must be a whole number, 0 or more")
    if value > MAX_LIMIT:
        raise InvalidOption(name, f"must be at most {MAX_LIMIT:,}")
    return value


def parse_duration(name: str, value: Any) -> int | None:
    """A crawl's time limit (``durations.parse``: seconds, or "90m", "2h", "1d", at most MAX_DURATION);
    None when not given."""
    if value is None or value == "":
        return None
    try:
        return durations.parse(value, maximum=MAX_DURATION)
    except durations.BadDuration as exc:
        raise InvalidOption(name, exc.message) from None


def duration_text(seconds: int) -> str:
    """A limit as it was set, every unit shown ("2h", "1h 30m"): ``durations.describe``."""
    return durations.describe(seconds, most=4)


def rate(name: str, value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InvalidOption(name, "must be a number of requests per second") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidOption(name, "must be a number of requests per second")
    return float(value)


def flag(name: str, value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"1", "true", "on", "yes"}:
        return True
    if isinstance(value, str) and value.lower() in {"0", "false", "off", "no", ""}:
        return False
    raise InvalidOption(name, "must be true or false")


def emails(value: Any, form: bool) -> list[str]:
    if value is None or (form and value == ""):
        return []
    items = re.split(r"[\s,;]+", value) if form and isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise InvalidOption("notify", "must be a list of email addresses")
    out = [v.strip() for v in items if v.strip()]
    if len(out) > MAX_NOTIFY:
        raise InvalidOption("notify", f"at most {MAX_NOTIFY} addresses")
    try:
        return validate_all(out)
    except InvalidAddress as exc:
        raise InvalidOption("notify", exc.message) from None


def entries(name: str, value: Any, form: bool, what: str, *, lines_only: bool = False) -> list[str]:
    """A list option: a JSON list of strings (numbers too, for ``accept``), or in a form one text with
    an entry a line (``lines_only``: a pattern may hold commas and spaces) or separated by commas."""
    if value is None or (form and value == ""):
        return []
    if form and isinstance(value, str):
        items: Any = value.splitlines() if lines_only else re.split(r"[\s,]+", value)
    else:
        items = value
    if not isinstance(items, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in items):
        raise InvalidOption(name, f"must be a list of {what}")
    return list(dict.fromkeys(str(v).strip() for v in items if str(v).strip()))


def headers(value: Any, form: bool) -> dict[str, str]:
    """Request headers: a JSON object of names and values, or "Name: value" lines (a form's text, the
    command line's repeated --header). Checked by ``_check_headers``; no message repeats a value."""
    if value is None or (form and value == ""):
        return {}
    if form and isinstance(value, str):
        value = value.splitlines()
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        pairs = []
        for number, line in enumerate(value, 1):
            name, colon, val = line.partition(":")
            if line.strip() and not colon:
                raise InvalidOption("headers", f'line {number} is not "Name: value"')
            if line.strip():
                pairs.append((name.strip(), val))
    else:
        raise InvalidOption("headers", 'must be an object of header names and values (or "Name: value" lines)')
    headers: dict[str, str] = {}
    for number, (name, val) in enumerate(pairs, 1):
        if not isinstance(val, str):
            raise InvalidOption("headers", f"the value of header {number} must be a string")
        if name in headers:
            raise InvalidOption("headers", f"header {number} is given twice")
        headers[name] = val.strip(" \t")
    return headers


def choice(name: str, value: Any, choices: tuple[str, ...], default: str) -> str:
    if value is None or value == "":
        return default
    if not isinstance(value, str) or value.strip().lower() not in choices:
        raise InvalidOption(name, f"must be one of {', '.join(choices)}")
    return value.strip().lower()


def secret(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidOption("webhook_secret", "must be a string")
    return value.strip()


def remap(value: Any) -> dict[str, str]:
    """URL prefix -> URL prefix, a JSON object (checked by ``CrawlOptions.validate``); no form sends it."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidOption("remap", REMAP_SHAPE)
    return dict(value)
