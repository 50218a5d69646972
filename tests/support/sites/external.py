"""A site whose pages link to resources of another host, of sizes from 1 kB to 256 kB: what checking
links to other hosts costs with GET (the default) and with HEAD first. ``build(pages)``."""

from __future__ import annotations

from tests.support.sites.server import Route

SIZES_KB = (1, 4, 16, 64, 256)
PER_PAGE = 10


def build(pages: str = "100") -> dict[str, object]:
    n = int(pages)
    main: dict[str, Route] = {}
    for i in range(n):
        links = [f'<a href="/p/{j}.html">Page {j}</a>' for j in (i + 1, 2 * i + 1) if j < n]
        links += [f'<a href="http://127.0.0.1:{{ext}}/r/{i}-{k}.bin">Resource {k}</a>' for k in range(PER_PAGE)]
        main["/" if i == 0 else f"/p/{i}.html"] = Route(body=f"<html><body>{' '.join(links)}</body></html>")
    ext = {f"/r/{i}-{k}.bin": Route(body="x" * (SIZES_KB[(i + k) % len(SIZES_KB)] * 1024),
                                      content_type="application/octet-stream")
           for i in range(n) for k in range(PER_PAGE)}
    return {"main": main, "ext": ext}
