"""Sitemaps and orphan pages. Site ``main``: robots.txt names a sitemap index whose children are a
plain sitemap and a gzipped one; they list pages linked from the site, two orphan pages (alive,
linked from nowhere) and a dead url. Site ``plain``: no robots.txt, a /sitemap.xml listing an orphan.
"""

from __future__ import annotations

import gzip

from tests.support.sites.fixture import page
from tests.support.sites.server import Route

ORPHANS = ("/orphan.html", "/orphan2.html")
DEAD = "/gone-from-sitemap.html"


def urlset(*paths: str, site: str = "main") -> str:
    entries = "".join(f"<url><loc>http://127.0.0.1:{{{site}}}{path}</loc></url>" for path in paths)
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'


def build() -> dict[str, object]:
    index = ('<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             "<sitemap><loc>http://127.0.0.1:{main}/sitemap-pages.xml</loc></sitemap>"
             "<sitemap><loc>http://127.0.0.1:{main}/sitemap-more.xml.gz</loc></sitemap></sitemapindex>")
    # The gzipped child is bytes, built before the server knows its port: its locs are relative (read
    # against the sitemap's own url, as lenient readers do).
    more = gzip.compress(urlset("/orphan2.html", "/linked.html").replace("http://127.0.0.1:{main}", "").encode())
    main = {
        "/": page("Home", '<a href="/linked.html">Linked</a>'),
        "/robots.txt": Route(body="User-agent: *\nAllow: /\nSitemap: http://127.0.0.1:{main}/sitemap-index.xml\n",
                             content_type="text/plain"),
        "/sitemap-index.xml": Route(body=index, content_type="application/xml"),
        "/sitemap-pages.xml": Route(body=urlset("/", "/linked.html", "/orphan.html", DEAD),
                                    content_type="application/xml"),
        "/sitemap-more.xml.gz": Route(raw=more, content_type="application/gzip"),
        "/linked.html": page("Linked", '<a href="/">Home</a>'),
        "/orphan.html": page("Orphan", "nobody links here"),
        "/orphan2.html": page("Orphan 2", "nobody links here either"),
    }
    plain = {
        "/": page("Plain", '<a href="/about.html">About</a>'),
        "/about.html": page("About", "about"),
        "/lonely.html": page("Lonely", "only the sitemap knows me"),
        "/sitemap.xml": Route(body=urlset("/", "/about.html", "/lonely.html", site="plain"),
                              content_type="application/xml"),
    }
    return {"main": main, "plain": plain}

