"""A site whose pages link to many urls of one other host, and a small wait on every page: the test
of a crawl that must not let a rate-limited host starve its own pages."""

from __future__ import annotations

from tests.support.sites.server import Route


def build(pages: str = "120", per_page: str = "2") -> dict[str, object]:
    n, k = int(pages), int(per_page)
    main: dict[str, Route] = {}
    for i in range(n):
        links = [f'<a href="/p/{j}.html">Page {j}</a>' for j in (2 * i + 1, 2 * i + 2) if j < n]
        links += [f'<a href="http://127.0.0.1:{{busy}}/x/{i}-{m}">Busy {i}-{m}</a>' for m in range(k)]
        main["/" if i == 0 else f"/p/{i}.html"] = Route(body=f"<html><body>{' '.join(links)}</body></html>",
                                                         delay=0.05)
    busy = {f"/x/{i}-{m}": Route(body="ok") for i in range(n) for m in range(k)}
    return {"main": main, "busy": busy}
