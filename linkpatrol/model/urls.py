"""URL hygiene shared by the seed validation, the link extractor and the reports.

One resource has one name: ``normalize_url`` applies the normalisations of RFC 3986 section 6.2.2
that never change what a URL means (what a browser would request for it), so that the spellings of
one link are fetched once and reported once.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import string
from urllib.parse import unquote, urlsplit

from w3lib.url import safe_url_string

MAX_URL_LENGTH = 2048
IGNORED_SCHEMES = frozenset({"mailto", "tel", "javascript", "data", "sms", "callto", "about"})
FETCHABLE_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

# A URL made only of these characters (at most one "#") is what w3lib's safe_url_string returns
# unchanged: the common case skips it. Left out: "'", "[", "]", "|", "@" (userinfo is re-quoted),
# white space, controls and non-ASCII; those take the full WHATWG-style encoding of w3lib.
_ALREADY_SAFE = re.compile(r"[A-Za-z0-9\-._~%:/?!$&()*+,;=]*(?:#[A-Za-z0-9\-._~%:/?!$&()*+,;=]*)?")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
# Every percent-escape to its normal form: unreserved characters decoded, the others upper case.
_ESCAPES = {
    f"%{a}{b}": (c if c in _UNRESERVED else f"%{a}{b}".upper())
    for a in string.hexdigits
    for b in string.hexdigits
    for c in (chr(int(a + b, 16)),)
}
# What a host name may not hold once its escapes are decoded (the URL standard's forbidden host code
# points): such a host would change the URL's structure.
_FORBIDDEN_IN_HOST = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")


class InvalidURL(ValueError):
    """A URL a person typed or a page contained that cannot be checked; the message says why."""


def _normal_escape(match: re.Match[str]) -> str:
    return _ESCAPES[match[0]]


def _ipv6_literal(host: str) -> str:
    """The text form of RFC 5952 (lower case, zeros compressed; ``::ffff:`` mapped addresses in dotted
    form), so ``[0:0::1]`` and ``[::1]`` are one host; a zone identifier is kept as it is."""
    address, percent, zone = host.partition("%")
    try:
        ip = ipaddress.IPv6Address(address)
    except ValueError:  # urlsplit has validated it; keep what it accepted
        return host
    text = f"::ffff:{ip.ipv4_mapped}" if ip.ipv4_mapped is not None else ip.compressed
    return f"{text}{percent}{zone}"


def _escaped_host(host: str) -> str:
    """A host name written with percent-escapes (``b%41.example``): decoded as a browser does, then
    IDNA-encoded like any host. Raises ValueError when the decoded name is not a host name."""
    decoded = unquote(host, errors="strict")
    if _FORBIDDEN_IN_HOST.search(decoded):
        raise ValueError(f"{decoded!r} is not a host name")
    if not decoded.isascii():
        decoded = urlsplit(safe_url_string(f"http://{decoded}/")).hostname or ""
    return decoded.lower().rstrip(".")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4 on an absolute path: what a browser requests for ``/a/./b/../c``."""
    segments = path.split("/")[1:]
    out: list[str] = []
    last = len(segments) - 1
    for i, seg in enumerate(segments):
        if seg == "..":
            if out:
                out.pop()
        elif seg != ".":
            out.append(seg)
            continue
        if i == last:  # "/a/b/.." is the directory "/a/"
            out.append("")
    return "/" + "/".join(out)


def _check_host_name(host: str) -> None:
    """Refuse a host name no resolver can look up (DNS: labels of 1 to 63 octets, 253 in all, ASCII
    after IDNA). Twisted's resolver raises an unreported UnicodeError on such a name, which costs a
    traceback and a timeout per link; here it is one ``invalid-url`` verdict at once."""
    forbidden = _FORBIDDEN_IN_HOST.search(host)
    if forbidden is not None:  # "exa mple.org": no browser loads it, and no resolver is asked
        char = forbidden[0]
        named = "a space" if char == " " else repr(char) if char.isprintable() else f"U+{ord(char):04X}"
        raise InvalidURL(f"the URL's host name contains {named}, which a host name cannot hold")
    if not host.isascii():
        raise InvalidURL("the URL's host name is not a valid internationalised domain name")
    if len(host) > 253:
        raise InvalidURL("the URL's host name is longer than 253 characters")
    for label in host.split("."):
        if not label:
            raise InvalidURL("the URL's host name has an empty label (two dots in a row)")
        if len(label) > 63:
            raise InvalidURL("the URL's host name has a label longer than 63 characters")


@functools.lru_cache(maxsize=65536)  # the same navigation links come back on every page
def normalize_url(raw: str) -> tuple[str, str]:
    """Return ``(url, fragment)``: an absolute http(s) URL in its normal form, with the fragment split
    off. Raises InvalidURL with a message a person understands.

    The normal form (RFC 3986 section 6.2.2, and what browsers do): non-ASCII characters UTF-8 and
    percent-encoded (the host in IDNA), percent-escapes in upper case, escaped unreserved characters
    (letters, digits, ``-._~``) decoded, dot segments of the path resolved, scheme and host in lower
    case, an IPv6 literal in its RFC 5952 form, the default port dropped, an empty path made ``/``.
    Nothing that may change the meaning: reserved characters stay escaped (``%2F`` is not ``/``),
    ``+`` stays ``+``, the query keeps its order and its escapes."""
    raw = raw.strip()
    if not raw:
        raise InvalidURL("the URL is empty")
    if len(raw) > MAX_URL_LENGTH:
        raise InvalidURL(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        if _ALREADY_SAFE.fullmatch(raw) is None:
            raw = safe_url_string(raw)
        parts = urlsplit(raw)
        port = parts.port  # raises ValueError on a bad port
        host = parts.hostname
    except ValueError as exc:
        raise InvalidURL(f"the URL is malformed ({exc})") from exc
    scheme = parts.scheme  # urlsplit lowercases it
    if scheme not in FETCHABLE_SCHEMES:
        if not scheme:
            raise InvalidURL("the URL needs a scheme, such as https://")
        raise InvalidURL(f"only http and https URLs can be checked, not {scheme}:")
    host = (host or "").rstrip(".")  # hostname is lower case
    if "%" in host and ":" not in host:  # an IPv6 literal's "%" starts its zone
        try:
            host = _escaped_host(host)
        except ValueError as exc:
            raise InvalidURL(f"the URL's host name is malformed ({exc})") from exc
    if not host:
        raise InvalidURL("the URL has no host name")
    if ":" not in host:
        _check_host_name(host)
    netloc = host if ":" not in host else f"[{_ipv6_literal(host)}]"
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{_ESCAPE.sub(_normal_escape, userinfo) if '%' in userinfo else userinfo}@{netloc}"
    path, query = parts.path or "/", parts.query
    if "%" in raw:
        if "%" in path:
            path = _ESCAPE.sub(_normal_escape, path)
        if "%" in query:
            query = _ESCAPE.sub(_normal_escape, query)
    if "/." in path:
        path = _remove_dot_segments(path)
    if query:
        return f"{scheme}://{netloc}{path}?{query}", parts.fragment
    return f"{scheme}://{netloc}{path}", parts.fragment


@functools.lru_cache(maxsize=65536)
def host_of(url: str) -> str:
    """The scope key of a URL: its lowercased host name, with the port unless it is the scheme's
    default; the scheme is ignored. An IPv6 literal keeps its brackets (``[::1]:8080``), so it cannot
    be read as another address. Agrees with ``normalize_url``: ``host_of(u) == host_of(normalize_url(u)[0])``."""
    try:
        parts = urlsplit(url)
        if not parts.netloc.isascii() or "%" in parts.netloc:  # IDNA or escapes: the normal form's host
            parts = urlsplit(normalize_url(url)[0])
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:  # a malformed url has no host: it is in nobody's scope (InvalidURL included)
        return ""
    if ":" in host:
        host = f"[{_ipv6_literal(host)}]"
    if port is None or port == DEFAULT_PORTS.get(parts.scheme):
        return host
    return f"{host}:{port}"
