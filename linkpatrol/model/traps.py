"""Crawl traps: url shapes a site can generate without end, so the crawl stops following them.

Three shapes, all seen on real sites (calendars, faceted search, broken relative links):

- a path segment repeating (``/a/b/a/b/a/b/``): a relative link that resolves one level deeper on
  every page;
- a query growing without end on one path (``?f=1&f=1&f=1...``, a value that grows each hop);
- the same page template under ever new numbers (``/day/1`` links ``/day/2``...): counted per crawl
  by the frontier (``frontier/links.lua``), which holds back the template's urls past a threshold.

The first two are decided from the url alone (``link_shape``); for the third, ``id_template`` gives
the key urls are counted under. A url held back is still checked (one request, not parsed): the crawl
says how many were held back and under which prefix, it never drops them silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qsl, urlsplit

REPEATS = 3  # a path segment seen this many times
MAX_QUERY = 1024  # characters
MAX_QUERY_PARAMS = 30
QUERY_REPEATS = 3  # one parameter name given this many times
DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Trap:
    kind: str  # "repeat", "query", "ids" (records.TRAP_KINDS says them in words)
    prefix: str  # where it lives, as the report names it: "/a/b/", "/search?", "/day/"


def id_template(url: str) -> tuple[str, str] | None:
    """(template, prefix) of a url whose path or query holds numbers: every run of digits becomes 0
    (``/day/17`` and ``/day/18`` share ``/day/0``); the prefix is the path up to the first segment with
    a number (``/day/``). None for a url without numbers (or that does not parse)."""
    parts = _split(url)
    return None if parts is None else _id_template(parts)


def link_shape(url: str) -> tuple[Trap | None, tuple[str, str] | None]:
    """The trap ``url``'s shape gives away on its own, if any, and, when there is none, its
    ``id_template``: what the frontier asks of every page link, the url split once (None, None for a
    url that does not parse)."""
    parts = _split(url)
    if parts is None:
        return None, None
    trap = _static_trap(parts)
    return trap, None if trap is not None else _id_template(parts)


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:
        return None


def _static_trap(parts: SplitResult) -> Trap | None:
    segments = [s for s in parts.path.split("/") if s]
    seen: dict[str, int] = {}
    for seg in segments:
        seen[seg] = seen.get(seg, 0) + 1
        if seen[seg] >= REPEATS:
            first = segments.index(seg)
            second = segments.index(seg, first + 1)
            return Trap("repeat", "/" + "/".join(segments[:second]) + "/")
    query = parts.query
    if query:
        params = parse_qsl(query, keep_blank_values=True)
        names: dict[str, int] = {}
        for name, _ in params:
            names[name] = names.get(name, 0) + 1
        if len(query) > MAX_QUERY or len(params) > MAX_QUERY_PARAMS or \
                any(n >= QUERY_REPEATS for n in names.values()):
            return Trap("query", (parts.path or "/") + "?")
    return None


def _id_template(parts: SplitResult) -> tuple[str, str] | None:
    if not DIGITS.search(parts.path) and not DIGITS.search(parts.query):
        return None
    template = DIGITS.sub("0", parts.path) + ("?" + DIGITS.sub("0", parts.query) if parts.query else "")
    prefix = "/"
    for seg in [s for s in parts.path.split("/") if s]:
        if DIGITS.search(seg):
            break
        prefix += seg + "/"
    else:
        prefix = (parts.path or "/") + "?"
    return f"{parts.netloc}{template}", prefix
