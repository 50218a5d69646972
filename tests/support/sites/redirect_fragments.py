"""#fragments of links that redirect, checked against the page each link lands on.

Site ``main``: the home page links ``/old#sec`` (301 to ``/new``, which has no id ``sec``),
``/old2#sec`` (301 to ``/new2``, which has it), ``/chain#sec`` (302 to ``/mid``, 301 to ``/new``) and
``/away#sec`` (301 to a page of site ``ext``: another host's page, not read for anchors by default).
Bodies and headers use ``{main}`` / ``{ext}`` for ports.
"""

from __future__ import annotations

from tests.support.sites.fixture import page
from tests.support.sites.server import Route

# Missing anchor row -> (the page it landed on, the redirects on the way).
MISSING = {"/old#sec": ("/new", 1), "/chain#sec": ("/new", 2)}
FOUND = ("/old2#sec",)  # the landing page has the id: no row
NOT_CHECKED = ("/away#sec",)  # lands on another host's page, read only with check_fragments "all"


def moved(to: str, status: int = 301) -> Route:
    return Route(status=status, headers={"Location": to})


def build() -> dict[str, object]:
    home = page("Home", '<a href="/old#sec">Old</a> <a href="/old2#sec">Old 2</a> '
                        '<a href="/chain#sec">Chain</a> <a href="/away#sec">Away</a>')
    return {
        "main": {
            "/": home,
            "/old": moved("/new"),
            "/old2": moved("/new2"),
            "/chain": moved("/mid", 302),
            "/mid": moved("/new"),
            "/away": moved("http://127.0.0.1:{ext}/there"),
            "/new": page("New", '<h2 id="other">Another section</h2>'),
            "/new2": page("New 2", '<h2 id="sec">The section</h2>'),
        },
        "ext": {"/there": page("There", '<h2 id="elsewhere">Elsewhere</h2>')},
    }
