"""Every URL-bearing attribute of HTML and SVG (crawler/url_attributes.py), and a page's links
deduplicated before the per-page cap.

Site ``main``, one page per group:
- ``/svg.html``: inline SVG: ``use`` of an inline symbol and of sprite files, ``image``, ``feImage``,
  ``script``, gradients and ``textPath`` referring to ids of the page, an SVG ``<a>`` (followed), each
  with ``href`` or ``xlink:href``;
- ``/html.html``: the HTML attributes beyond href/src: ``cite``, ``longdesc``, ``background``,
  ``imagesrcset``, ``<image src>``, and the ones left alone (``ping``, ``form action``, ``formaction``,
  ``itemtype``, ``manifest``, ``usemap``);
- ``/index.html``: an index page (Sphinx's genindex in small) of many more links than the per-page
  cap (``CAP`` in the tests) to a few pages, each with its own #fragment, every link written twice;
- ``/over.html``: more distinct targets than the cap, and more fragments of one page than their bound.
"""

from __future__ import annotations

from tests.support.sites.fixture import page
from tests.support.sites.server import Route

SVG = """<!doctype html>
<html xmlns:xlink="http://www.w3.org/1999/xlink"><head><title>SVG</title></head><body>
<svg style="display:none"><symbol id="icon-ok"><path id="curve" d="M0 0L9 9"/></symbol>
<linearGradient id="base"/></svg>
<svg><use href="#icon-ok"/><use href="#icon-gone"/><use href="/sprite.svg#icon"/>
<use xlink:href="/sprite-gone.svg#icon"/>
<image href="/img/ok.png"/><image xlink:href="/img/image-gone.png"/>
<filter id="f"><feImage xlink:href="/img/feimage-gone.png"/></filter>
<script href="/svg-script-gone.js"></script>
<linearGradient id="g1" href="#base"/><linearGradient id="g2" xlink:href="#base-gone"/>
<pattern id="p" href="/patterns-gone.svg#dots"/>
<text><textPath xlink:href="#curve">on a curve</textPath></text>
<a xlink:href="/svg-link.html"><text>SVG link</text></a>
<a href="/svg-href-gone.html" xlink:href="/svg-ignored-gone.html"><text>href wins</text></a>
</svg></body></html>
"""
HTML = """<!doctype html>
<html manifest="/manifest-gone.appcache"><head><title>HTML</title>
<link rel="preload" as="image" imagesrcset="/img/ok.png 1x, /preload-gone.png 2x">
</head><body background="/body-bg-gone.png">
<blockquote cite="/cite-gone.html"><p>Quoted</p></blockquote>
<q cite="urn:isbn:0-486-27557-4">A book, not a place</q>
<del cite="/del-gone.html">old</del> <ins cite="/doc.html">new</ins>
<img src="/img/ok.png" longdesc="/longdesc-gone.html" alt="Described" usemap="#map">
<map name="map"><area href="/doc.html" alt="Area"></map>
<table background="/table-bg-gone.png"><tr><td background="/td-bg-gone.png">cell</td></tr></table>
<image src="/image-tag-gone.png">
<a href="/doc.html" ping="/ping-gone">Pinged</a>
<form action="/form-gone"><button formaction="/formaction-gone">Send</button></form>
<div itemscope itemtype="/itemtype-gone"><span itemprop="name">Thing</span></div>
</body></html>
"""
DEAD = {  # dead target -> the element that refers to it
    "/sprite-gone.svg": "use", "/img/image-gone.png": "image", "/img/feimage-gone.png": "feimage",
    "/svg-script-gone.js": "script", "/patterns-gone.svg": "pattern", "/svg-href-gone.html": "a",
    "/after-svg-link-gone": "a",
    "/preload-gone.png": "link", "/body-bg-gone.png": "body", "/cite-gone.html": "blockquote",
    "/del-gone.html": "del", "/longdesc-gone.html": "img", "/table-bg-gone.png": "table",
    "/td-bg-gone.png": "td", "/image-tag-gone.png": "image",
}
MISSING = {"/svg.html#icon-gone", "/svg.html#base-gone"}
ALIVE = {"/sprite.svg", "/img/ok.png", "/doc.html", "/svg-link.html"}
NEVER_REQUESTED = {"/manifest-gone.appcache", "/ping-gone", "/form-gone", "/formaction-gone", "/itemtype-gone",
                   "/svg-ignored-gone.html"}

# /index.html: TARGETS pages, FRAGMENTS fragments of each, every link twice; each page holds all
# but its last fragment. Past a cap of CAP raw links, but not past it in distinct targets.
TARGETS, FRAGMENTS = 10, 8
CAP = 20
# /over.html: OVER_TARGETS distinct pages (CAP of them taken), then one page asked of OVER_FRAGMENTS
# fragments (its bound is 5 * CAP further ones).
OVER_TARGETS, OVER_FRAGMENTS = CAP + 7, 5 * CAP + 30


def index_links() -> str:
    links = [f'<a href="/t/{t}.html#f{f}">t{t} f{f}</a>' for f in range(FRAGMENTS) for t in range(TARGETS)]
    return "\n".join(links + links)


def build() -> dict[str, object]:
    sprite = Route(body='<svg xmlns="http://www.w3.org/2000/svg"><symbol id="icon"/></svg>',
                   content_type="image/svg+xml")
    main: dict[str, Route] = {
        "/": page("Attributes", '<a href="/svg.html">SVG</a> <a href="/html.html">HTML</a> '
                                '<a href="/index.html">Index</a> <a href="/over.html">Over</a>'),
        "/svg.html": Route(body=SVG),
        "/html.html": Route(body=HTML),
        "/sprite.svg": sprite,
        "/img/ok.png": Route(body="png", content_type="image/png"),
        "/doc.html": page("Doc", "<p>doc</p>"),
        "/svg-link.html": page("SVG link", '<a href="/after-svg-link-gone">Gone</a>'),
        "/index.html": page("Index", index_links()),
        "/over.html": page("Over", "\n".join(
            [f'<a href="/o/{n}.html">{n}</a>' for n in range(OVER_TARGETS)]
            + [f'<a href="/o/0.html#x{n}">x{n}</a>' for n in range(OVER_FRAGMENTS)])),
    }
    for t in range(TARGETS):
        main[f"/t/{t}.html"] = page(f"T{t}", "".join(f'<h2 id="f{f}">{f}</h2>' for f in range(FRAGMENTS - 1)))
    for n in range(OVER_TARGETS):
        main[f"/o/{n}.html"] = page(f"O{n}", "".join(f'<h2 id="x{x}">{x}</h2>' for x in range(OVER_FRAGMENTS)))
    return {"main": main}
