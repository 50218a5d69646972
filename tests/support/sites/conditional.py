"""A site whose pages answer 304 to conditional requests, for re-checks (tests/crawler/test_conditional.py).

Site ``main``: the home page (ETag) links ``/a`` (ETag, holds the id ``sec``), ``/b`` (Last-Modified
only), ``/plain`` (no validator: read in full every time), ``/changing`` and ``/liar``, a dead link,
``/a#sec`` (found) and ``/b#gone`` (a missing anchor), and a page of site ``ext``. ``/changing`` and
``/liar`` are at version N, read from the JSON file given as argument (``{"changing": N, "liar": N}``,
1 when absent) on every request: version N links ``/changing-N`` / ``/liar-N``, which are dead.
``/changing`` sends ETag ``"cN"``; ``/liar`` always sends ETag ``"l1"`` and answers 304 to any
conditional request, whatever its version.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.sites.fixture import page
from tests.support.sites.server import Generated, Route

VALIDATED = ("/", "/a", "/b", "/changing", "/liar")  # pages with a validator
PAGES = (*VALIDATED, "/plain")
DEAD = ("/missing", "/gone-from-a", "/changing-1", "/liar-1")  # at version 1
MISSING_ANCHORS = ("/b#gone",)


def _with(route: Route, **validators: str | bool) -> Route:
    for name, value in validators.items():
        setattr(route, name, value)
    return route


def build(state: str) -> dict[str, object]:
    home = page("Home", '<a href="/a">A</a> <a href="/b">B</a> <a href="/plain">Plain</a> '
                        '<a href="/changing">Changing</a> <a href="/liar">Liar</a> <a href="/missing">Missing</a> '
                        '<a href="/a#sec">Section</a> <a href="/b#gone">Gone</a> '
                        '<a href="http://127.0.0.1:{ext}/x">Elsewhere</a>')
    static = {
        "/": _with(home, etag='"h1"'),
        "/a": _with(page("A", '<h2 id="sec">Section</h2><a href="/gone-from-a">Gone</a> <a href="/">Home</a>'),
                    etag='W/"a1"'),
        "/b": _with(page("B", '<a href="/a">A</a>'), last_modified="Tue, 01 Dec 2026 10:00:00 GMT"),
        "/plain": page("Plain", '<a href="/a#sec">A</a>'),
    }

    def versions() -> dict[str, int]:
        path = Path(state)
        return {"changing": 1, "liar": 1, **(json.loads(path.read_text()) if path.exists() else {})}

    def make(path: str) -> Route | None:
        if path in static:
            return static[path]
        if path == "/changing":
            n = versions()["changing"]
            return _with(page("Changing", f'<a href="/changing-{n}">Version {n}</a>'), etag=f'"c{n}"')
        if path == "/liar":
            n = versions()["liar"]
            return _with(page("Liar", f'<a href="/liar-{n}">Version {n}</a>'), etag='"l1"', lies=True)
        return None

    return {"main": Generated(make), "ext": {"/x": page("X", "")}}
