"""URL hygiene shared by the seed validation, the link extractor and the reports."""

from __future__ import annotations

import functools
from urllib.parse import urldefrag, urlsplit, urlunsplit

from w3lib.url import safe_url_string

MAX_URL_LENGTH = 2048
IGNORED_SCHEMES = frozenset({"mailto", "tel", "javascript", "data", "sms", "callto", "about"})
FETCHABLE_SCHEMES = frozenset({"http", "https"})


class InvalidURL(ValueError):
    """A URL a person typed or a page contained that cannot be checked; the message says why."""


@functools.lru_cache(maxsize=65536)  # the same navigation links come back on every page
def normalize_url(raw: str) -> tuple[str, str]:
    """Return ``(url, fragment)``: an absolute http(s) URL, percent-encoded, host lowercased, with
    the fragment split off. Raises InvalidURL with a message a person understands."""
    raw = raw.strip()
    if not raw:
        raise InvalidURL("the URL is empty")
    if len(raw) > MAX_URL_LENGTH:
        raise InvalidURL(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(safe_url_string(raw))
        port = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidURL(f"the URL is malformed ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in FETCHABLE_SCHEMES:
        if not scheme:
            raise InvalidURL("the URL needs a scheme, such as https://")
        raise InvalidURL(f"only http and https URLs can be checked, not {scheme}:")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidURL("the URL has no host name")
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        netloc = f"{netloc}:{port}"
    if parts.username or parts.password:
        userinfo = parts.username or ""
        if parts.password:
            userinfo += f":{parts.password}"
        netloc = f"{userinfo}@{netloc}"
    url, fragment = urldefrag(urlunsplit((scheme, netloc, parts.path or "/", parts.query, parts.fragment)))
    return url, fragment


@functools.lru_cache(maxsize=65536)
def host_of(url: str) -> str:
    """The scope key of a URL: its lowercased host name with the port, scheme ignored."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:  # a malformed url has no host: it is in nobody's scope
        return ""
