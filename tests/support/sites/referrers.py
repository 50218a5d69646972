"""One dead page and one missing #anchor linked from more pages than a crawl keeps referrers for
(``LINKPATROL_MAX_REFERRERS``): the counts shown must be the true ones.

Site ``main``: the home page links ``PAGES`` pages; the home page and each of them link
``/gone.html`` (404) and ``/doc.html#nope`` (``/doc.html`` has no such id).
"""

from __future__ import annotations

from tests.support.sites.fixture import page

PAGES = 30
GONE, NOPE = "/gone.html", "/doc.html#nope"


def build() -> dict[str, object]:
    both = f'<a href="{GONE}">Gone</a> <a href="{NOPE}">Nope</a>'
    home = page("Home", " ".join(f'<a href="/p{i}.html">Page {i}</a>' for i in range(PAGES)) + " " + both)
    pages = {f"/p{i}.html": page(f"Page {i}", f'<a href="/">Home</a> {both}') for i in range(PAGES)}
    return {"main": {"/": home, **pages, "/doc.html": page("Doc", '<h2 id="yes">Yes</h2>')}}
