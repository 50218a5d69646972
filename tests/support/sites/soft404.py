"""Sites that answer 200 where a sitemap should be (many sites and single-page apps answer every path):

- ``generic``: every path answers the same small HTML page, robots.txt and /sitemap.xml included
  (``GENERIC``, the page of the issue's report);
- ``soft``: a small site of ``PAGES`` pages linking each other; every other path (robots.txt,
  /sitemap.xml) answers a "page not found" HTML page with 200, a soft 404;
- ``named``: like ``generic``, but robots.txt names /sitemap.xml, which is the same HTML page;
- ``broken``: robots.txt names sitemaps that are not sitemaps: a truncated gzip, bytes that decode
  as nothing, a gzip bomb (``BOMB_MB`` of zeros inflated), a sitemap cut in the middle of a tag, and
  HTML served as XML; each answers 200, and ``/`` links one page;
- ``slow``: ``/`` links ``/slow`` (answers after ``SLOW`` seconds) and ``/stall`` (after ``STALL``).
"""

from __future__ import annotations

import gzip

from tests.support.sites.server import Generated, Route

GENERIC = ('<!doctype html><html><head><meta charset="utf-8"><title>t</title></head>'
           "<body>generic</body></html>")
PAGES = 20  # pages of the ``soft`` site: / and /p/1 ... /p/19
BOMB_MB = 200
BROKEN_SITEMAPS = ("/truncated.xml.gz", "/garbage.xml", "/bomb.xml.gz", "/cut.xml", "/html.xml")
SLOW = 8.0
STALL = 120.0


def soft_page(n: int) -> Route:
    links = "".join(f'<a href="/p/{m}">Page {m}</a> ' if m else '<a href="/">Home</a> '
                    for m in ((n + k) % PAGES for k in (1, 2, 3)))
    return Route(body=f"<!doctype html><html><head><title>Page {n}</title></head><body>{links}</body></html>")


def build() -> dict[str, object]:
    generic = Route(body=GENERIC)
    not_found = Route(body="<!doctype html><html><head><title>Not found</title></head>"
                           "<body><h1>Sorry, nothing here</h1><a href=\"/\">Home</a></body></html>")
    pages = {"/": soft_page(0), **{f"/p/{n}": soft_page(n) for n in range(1, PAGES)}}

    xml = '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    whole = gzip.compress((xml + "<url><loc>/ok.html</loc></url></urlset>").encode())
    bomb = gzip.compress(b"\0" * (BOMB_MB * 1024 * 1024), compresslevel=9)
    robots = "User-agent: *\nAllow: /\n" + "".join(
        f"Sitemap: http://127.0.0.1:{{broken}}{path}\n" for path in BROKEN_SITEMAPS)
    broken = {
        "/": Route(body='<!doctype html><html><body><a href="/ok.html">Ok</a></body></html>'),
        "/ok.html": Route(body="<!doctype html><html><body>ok</body></html>"),
        "/robots.txt": Route(body=robots, content_type="text/plain"),
        "/truncated.xml.gz": Route(raw=whole[: len(whole) // 2], content_type="application/gzip"),
        "/garbage.xml": Route(raw=bytes(range(256)) * 64, content_type="application/xml"),
        "/bomb.xml.gz": Route(raw=bomb, content_type="application/gzip"),
        "/cut.xml": Route(body=xml + "<url><loc>http://127.0.0.1:{broken}/ok.html</loc></url><url><lo",
                          content_type="application/xml"),
        "/html.xml": Route(body=GENERIC, content_type="application/xml"),
    }
    named = Route(body="User-agent: *\nAllow: /\nSitemap: http://127.0.0.1:{named}/sitemap.xml\n",
                  content_type="text/plain")
    slow = {
        "/": Route(body='<!doctype html><html><body><a href="/slow">Slow</a> <a href="/stall">Stall</a></body></html>'),
        "/slow": Route(body="<!doctype html><html><body>late</body></html>", delay=SLOW),
        "/stall": Route(body="<!doctype html><html><body>very late</body></html>", delay=STALL),
    }
    return {
        "generic": Generated(lambda path: generic),
        "named": Generated(lambda path: named if path == "/robots.txt" else generic),
        "slow": slow,
        "soft": Generated(lambda path: pages.get(path, not_found)),
        "broken": broken,
    }
