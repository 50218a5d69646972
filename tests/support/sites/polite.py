"""A site for the politeness test: ``main`` (the crawled site, slow pages) links to many urls on ``ext``
(another host), one of which answers 429 with ``Retry-After`` the first time it is asked."""

from __future__ import annotations

from tests.support.sites.server import Route

PAGES = 20
EXTERNAL = 30
LIMITED = "/e/7"


def build(retry_after: str = "3") -> dict[str, object]:
    links = [f'<a href="/p/{i}.html">Page {i}</a>' for i in range(PAGES)]
    links += [f'<a href="http://127.0.0.1:{{ext}}/e/{i}">External {i}</a>' for i in range(EXTERNAL)]
    main = {"/": Route(body="<html><body>" + " ".join(links) + "</body></html>", delay=0.05)}
    for i in range(PAGES):
        main[f"/p/{i}.html"] = Route(body='<html><body><a href="/">Home</a></body></html>', delay=0.1)
    ext = {f"/e/{i}": Route(body="ok", content_type="text/plain", delay=0.1) for i in range(EXTERNAL)}
    ext[LIMITED] = Route(status=429, body="slow down", content_type="text/plain", delay=0.1,
                         headers={"Retry-After": retry_after, "X-Once": "1"})
    return {"main": main, "ext": ext}
