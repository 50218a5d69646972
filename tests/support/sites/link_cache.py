"""Links to another site, for the shared link cache (tests/crawler/test_link_cache.py).

Site ``main``: the home page links ``/about`` and, on site ``ext``, ``/ok``, ``/ok2``, ``/moved`` (301 to
``/ok``), ``/gone`` (404), ``/busy`` (503) and ``/limited`` (429).
"""

from __future__ import annotations

from tests.support.sites.fixture import page
from tests.support.sites.server import Route

OK = ("/ok", "/ok2", "/moved")  # cached once checked
NOT_CACHED = ("/gone", "/busy", "/limited")  # checked by every crawl


def build() -> dict[str, object]:
    links = " ".join(f'<a href="http://127.0.0.1:{{ext}}{path}">{path}</a>' for path in OK + NOT_CACHED)
    return {
        "main": {"/": page("Home", f'<a href="/about">About</a> {links}'), "/about": page("About", "")},
        "ext": {
            "/ok": page("OK", ""),
            "/ok2": page("OK 2", ""),
            "/moved": Route(status=301, headers={"Location": "/ok"}),
            "/gone": Route(status=404),
            "/busy": Route(status=503),
            "/limited": Route(status=429),
        },
    }
