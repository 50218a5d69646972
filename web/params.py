"""Numbers in a URL's query string, checked at the edge (crawl ids in a path: ``CrawlStore.get``, which
answers None for anything not shaped like one, so the views' ``get_crawl_or_404`` gives a 404).

``str.isdigit()`` is not the test for a number a person typed: it accepts ``"²"`` and other digits
``int()`` refuses, and a 5,000-digit string makes ``int()`` raise. A bad value is a 400 (or a 404 for a
crawl id), never a 500.
"""

from __future__ import annotations

from flask import abort, request

MAX_DIGITS = 7  # a page number up to 9,999,999: far beyond any list, far below what Redis refuses


def whole_number(raw: str | None, low: int = 1, high: int = 10**MAX_DIGITS - 1) -> int | None:
    """``raw`` as a whole number in [low, high] when it is 1 to MAX_DIGITS ASCII digits, else None."""
    if raw is None or not 0 < len(raw) <= MAX_DIGITS or not (raw.isascii() and raw.isdigit()):
        return None
    number = int(raw)
    return number if low <= number <= high else None


def page_arg(name: str = "page", default: int = 1, high: int = 10**MAX_DIGITS - 1) -> int:
    """A page number (or size) from the query string; absent: ``default``; anything else: 400."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    number = whole_number(raw, 1, high)
    if number is None:
        abort(400, f"{name} must be a whole number from 1 to {high}")
    return number
