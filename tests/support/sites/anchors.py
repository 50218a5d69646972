"""Everything a page points at: #fragments present and missing (also on pages read later, and on the
page itself), stylesheets with url() and @import, <style> blocks and style="" attributes, meta refresh,
object/embed/track/input/poster/og:image, links past 100,000 nested elements, known source lines.

Site ``main``. Bodies use ``{main}`` for the port. Site ``stall``: a page that takes seconds to parse
while another page's answer is on its way. Site ``asked``: pages asking many fragments of a page read
last.
"""

from __future__ import annotations

from dataclasses import replace

from tests.support.sites.fixture import page
from tests.support.sites.server import Route

# The home page's source, line by line: the tests check the lines the report gives.
HOME = """<!doctype html>
<html><head><title>Anchors</title>
<link rel="stylesheet" href="/css/site.css">
<meta property="og:image" content="/og-gone.png">
<style>
.hero {{ background: url(/img/style-gone.png) }}
</style></head>
<body><h2 id="local">Local</h2>
<a href="/doc.html#install">Install</a>
<a href="/doc.html#missing">Missing section</a>
<a href="/doc.html#Install">Wrong case</a>
<a href="/doc.html#top">Top</a> <a href="/doc.html#:~:text=hello">Text fragment</a>
<a href="/doc.html#/route">Route</a> <a href="/doc.html#!bang">Bang route</a>
<a href="#local">Here</a> <a href="#nowhere">Nowhere here</a>
<a href="/named.html#old">Old name</a> <a href="/named.html#caf%C3%A9">Escaped</a>
<a href="/chain.html">Chain</a>
<a href="/refresh.html">Refresh</a> <a href="/deep-nest.html">Deep</a>
<object data="/obj-gone.swf"></object> <embed src="/embed-gone.swf">
<video src="/img/ok.png" poster="/poster-gone.png"><track src="/track-gone.vtt"></video>
<input type="image" src="/btn-gone.png" alt="Go"> <input type="text" src="/not-a-link.png">
<p style="background: url(/img/attr-gone.png)">styled</p>
</body></html>
"""
HOME_LINES = {  # (target, text) -> line in HOME
    ("/doc.html#missing", "Missing section"): 10,
    ("/#nowhere", "Nowhere here"): 14,
    ("/btn-gone.png", "Go"): 20,
}
MISSING = {  # missing anchor row -> the referring (page, text) pairs
    "/doc.html#missing": {("/", "Missing section")},
    "/doc.html#Install": {("/", "Wrong case")},
    "/#nowhere": {("/", "Nowhere here")},
    "/later.html#gone": {("/chain.html", "Later, gone")},
}
DEAD = {  # dead target -> the element that referred to it
    "/og-gone.png": "meta", "/img/style-gone.png": "style", "/img/attr-gone.png": "style",
    "/fonts/gone.woff2": "css", "/img/gone-bg.png": "css", "/obj-gone.swf": "object",
    "/embed-gone.swf": "embed", "/poster-gone.png": "video", "/track-gone.vtt": "track",
    "/btn-gone.png": "input", "/refresh-target-gone": "a", "/after-deep-gone": "a",
}


def build() -> dict[str, object]:
    doc = page("Doc", '<h2 id="install">Install</h2><p>text</p>')
    named = page("Named", '<a name="old"></a><h2 id="café">Café</h2>')
    # /chain.html links to /later.html#sec and #gone before /later.html is read (it is only linked here).
    chain = page("Chain", '<a href="/later.html#sec">Later</a> <a href="/later.html#gone">Later, gone</a>')
    later = page("Later", '<h2 id="sec">Section</h2>')
    refresh = page("Refresh", "", head='<meta http-equiv="refresh" content="0; URL=\'/refreshed.html\'">')
    refreshed = page("Refreshed", '<a href="/refresh-target-gone">Gone after refresh</a>')
    deep = page("Deep", "<div>" * 100_000 + "x" + "</div>" * 100_000 + '<a href="/after-deep-gone">After</a>')
    main = {
        "/": Route(body=HOME),
        "/doc.html": doc,
        "/named.html": named,
        "/chain.html": chain,
        "/later.html": later,
        "/refresh.html": refresh,
        "/refreshed.html": refreshed,
        "/deep-nest.html": deep,
        "/css/site.css": Route(body='@import "/css/base.css";\nbody {{ background: url(/img/ok.png) }}\n'
                                    '@font-face {{ font-family: X; src: url("/fonts/gone.woff2") }}\n',
                               content_type="text/css"),
        "/css/base.css": Route(body=".x {{ background-image: url('/img/gone-bg.png') }}", content_type="text/css"),
        "/img/ok.png": Route(body="png", content_type="image/png"),
    }
    return {"main": main, "stall": stall(), "asked": asked()}


# Site ``stall``: /deep.html takes seconds to parse, longer than the crawl's LINKPATROL_TIMEOUT
# (STALL_TIMEOUT in the tests), and /slow.html's answer arrives meanwhile (after SLOW_DELAY): too big
# for one read (SLOW_BYTES of text), it takes the crawler's loop a few turns to read.
STALL_TIMEOUT = 1.5
DEEP_ELEMENTS = 200_000  # about 3 s of parsing here
SLOW_DELAY = 0.3
SLOW_BYTES = 512 * 1024


def stall() -> dict[str, Route]:
    home = page("Stall", '<a href="/deep.html">Deep</a> <a href="/slow.html#sec">Sec</a>'
                         ' <a href="/slow.html#gone">Gone</a>')
    deep = page("Deep", "<div>" * DEEP_ELEMENTS + "x" + "</div>" * DEEP_ELEMENTS)
    slow = page("Slow", f'<h2 id="sec">Section</h2><p>{"x" * SLOW_BYTES}</p>')
    return {"/": home, "/deep.html": deep, "/slow.html": replace(slow, delay=SLOW_DELAY)}


# Site ``asked``: ASKERS pages each ask ASKED_EACH fragments of /last.html (ids f0...), all different,
# before /last.html answers (it waits LAST_DELAY); it holds the first LAST_IDS of them.
ASKERS = 5
ASKED_EACH = 300
LAST_IDS = 100
LAST_DELAY = 1.0


def asked() -> dict[str, Route]:
    routes = {"/": page("Askers", " ".join(f'<a href="/p/{i}">{i}</a>' for i in range(ASKERS)))}
    for i in range(ASKERS):
        links = " ".join(f'<a href="/last.html#f{n}">f{n}</a>'
                         for n in range(i * ASKED_EACH, (i + 1) * ASKED_EACH))
        routes[f"/p/{i}"] = page(f"Asker {i}", links)
    routes["/last.html"] = replace(page("Last", "".join(f'<h2 id="f{n}">{n}</h2>' for n in range(LAST_IDS))),
                                   delay=LAST_DELAY)
    return routes
