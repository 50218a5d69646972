"""A site for the address guard: a page that links to itself, to a redirect that leads to another
loopback address (127.0.0.2), and to that address directly."""

from __future__ import annotations

from tests.support.sites.fixture import page
from tests.support.sites.server import Route


def build() -> dict[str, object]:
    home = page("Home", '<a href="/ok">Fine</a> <a href="/bounce">Bounce</a> '
                        '<a href="http://127.0.0.2:{main}/direct">Direct</a>')
    return {"main": {
        "/": home,
        "/ok": page("Ok", "fine"),
        "/bounce": Route(status=302, headers={"Location": "http://127.0.0.2:{main}/secret"}),
    }}
