"""Sitemaps that are compression bombs (1 GB of zeros), where the crawl's size cap is counted after
decoding, as for any answer.

Site ``gz``: robots.txt names ``/sitemap.xml.gz``, a gzip file of 1 GB of zeros (1 MB on the wire, no
Content-Encoding: the sitemap reader decodes it). Site ``probe``: robots.txt names no sitemap, and
``/sitemap.xml`` is a brotli bomb (1.6 kB on the wire) that the probe for it reads to the end. Both
link ``/ok.html`` from ``/``.
"""

from __future__ import annotations

from tests.support.sites.bombs import bomb, zeros
from tests.support.sites.fixture import page
from tests.support.sites.server import Route


def build() -> dict[str, object]:
    home = page("Sitemap bomb", '<a href="/ok.html">ok</a>')
    ok = page("Ok", '<a href="/">Home</a>')
    return {
        "gz": {
            "/": home,
            "/ok.html": ok,
            "/robots.txt": Route(body="User-agent: *\nAllow: /\nSitemap: http://127.0.0.1:{gz}/sitemap.xml.gz\n",
                                 content_type="text/plain"),
            "/sitemap.xml.gz": Route(raw=zeros("gzip"), content_type="application/x-gzip"),
        },
        "probe": {
            "/": home,
            "/ok.html": ok,
            "/robots.txt": Route(body="User-agent: *\nAllow: /\n", content_type="text/plain"),
            "/sitemap.xml": bomb("br", "application/xml"),
        },
    }
