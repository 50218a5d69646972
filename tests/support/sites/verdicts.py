"""Hard cases for the verdicts: a page found first through ``<link rel=next>``, a server that lies
about HEAD, redirect chains of 12 and 21 hops, redirects to URLs that are no web page (file:, gopher:,
data:, javascript:, mailto:), 20 MB and 50 MB pages, a thousand links to a host that does not resolve and
fifty to a port that refuses.

Sites: ``main`` (crawled) and ``ext`` (another host). ``build(closed_port)``.
"""

from __future__ import annotations

from tests.support.sites.fixture import closed_port, page
from tests.support.sites.server import Route

DEAD_HOST = "nowhere.invalid"
DEAD_HOST_LINKS = 1000
REFUSED_LINKS = 50
# Redirects to targets a crawler must not follow: path -> (status, Location)
ODD_REDIRECTS = {
    "/to-file": (302, "file:///etc/passwd"),
    "/to-gopher": (301, "gopher://example.org/1/"),
    "/to-data": (307, "data:text/html,<h1>hi</h1>"),
    "/to-javascript": (302, "javascript:alert(1)"),
    "/to-mailto": (302, "mailto:ops@example.org"),
    "/hop-to-file": (302, "/to-file"),  # one ordinary hop first
}
FILLER = "<p>" + "lorem ipsum dolor sit amet " * 36 + "</p>\n"  # about 1 kB, no braces


def big_page(megabytes: int, first: str, last: str) -> Route:
    filler = FILLER * (megabytes * 1024 * 1024 // len(FILLER))
    body = f"<!doctype html><html><head><title>Big</title></head><body>{first}\n{filler}{last}</body></html>"
    return Route(body=body)


def chain(name: str, hops: int) -> dict[str, Route]:
    """``/<name>/0`` redirects ``hops`` times, then answers 200."""
    routes = {f"/{name}/{i}": Route(status=302, headers={"Location": f"/{name}/{i + 1}"}) for i in range(hops)}
    routes[f"/{name}/{hops}"] = page("End of the chain", "arrived")
    return routes


def build(closed: str = "") -> dict[str, object]:
    refused = int(closed) if closed else closed_port()
    index = page("Docs", """
<a href="/intro.html">Introduction</a>
<a href="/r12/0">Twelve hops</a> <a href="/r21/0">Twenty-one hops</a> <a href="/loop-a">Loop</a>
<a href="/big20.html">Big page</a> <a href="/big50.html">Huge page</a>
<a href="/dead-host.html">Links to a host that does not exist</a>
<a href="/refused.html">Links to a port that refuses</a>
<a href="http://127.0.0.1:{ext}/head-lies">Lies about HEAD</a>
<a href="http://127.0.0.1:{ext}/honest">Honest</a>
<a href="/in-scope-lies">In scope, lies about HEAD</a>
""" + "".join(f'<a href="{path}">{path}</a>' for path in ODD_REDIRECTS),
                 head='<link rel="next" href="/next.html"><link rel="stylesheet" href="/style.css">')
    next_page = page("Next", '<a href="/_sources/next.txt">View page source</a> <a href="/">Home</a>')
    dead_host = page("Dead host", "\n".join(
        f'<a href="http://{DEAD_HOST}/p{i}">p{i}</a>' for i in range(DEAD_HOST_LINKS)))
    refused_page = page("Refused", "\n".join(
        f'<a href="http://127.0.0.1:{refused}/p{i}">r{i}</a>' for i in range(REFUSED_LINKS)))
    main = {
        "/": index,
        "/next.html": next_page,
        "/intro.html": page("Intro", '<a href="/next.html">Next</a>'),
        "/style.css": Route(body="body {{ color: black }}", content_type="text/css"),
        "/dead-host.html": dead_host,
        "/refused.html": refused_page,
        "/in-scope-lies": Route(status=404, body="gone", head_status=200),
        "/loop-a": Route(status=302, headers={"Location": "/loop-b"}),
        "/loop-b": Route(status=302, headers={"Location": "/loop-a"}),
        "/big20.html": big_page(20, '<a href="/">Home</a>', '<a href="/gone-at-end">The last link</a>'),
        "/big50.html": big_page(50, '<a href="/gone-at-start">The first link</a>',
                                '<a href="/never-read">Past the cap</a>'),
        **{path: Route(status=status, headers={"Location": to}) for path, (status, to) in ODD_REDIRECTS.items()},
        **chain("r12", 12),
        **chain("r21", 21),
    }
    ext = {
        "/head-lies": Route(status=404, body="gone", head_status=200),
        "/honest": Route(body="fine"),
    }
    return {"main": main, "ext": ext}
