"""Many pages just under the default size cap at once (the parse budget's case): ``/`` links
``PAGES`` pages, each 31 MB of zeros served as HTML, gzip-encoded (31 kB each on the wire; site
``gzip``) or not (site ``plain``). Each alone is within the cap; together they decode to 1 GB.
``python -m tests.support.sites.server near_cap COUNT MB``: COUNT pages of MB each."""

from __future__ import annotations

from tests.support.sites.bombs import zeros
from tests.support.sites.fixture import page
from tests.support.sites.server import Route

PAGES = 32
SIZE = 31 << 20  # the default cap is 32 MB


def paths(count: int = PAGES) -> list[str]:
    return [f"/near{i}.html" for i in range(count)]


def build(count: str = str(PAGES), size_mb: str = str(SIZE >> 20)) -> dict[str, object]:
    n, size = int(count), int(size_mb) << 20
    home = page("Near the cap", " ".join(f'<a href="{p}">{p}</a>' for p in paths(n)))
    gzipped = zeros("gzip", size)
    plain = bytes(size)  # one body shared by every route
    return {
        "gzip": {"/": home, **{p: Route(raw=gzipped, headers={"Content-Encoding": "gzip"}) for p in paths(n)}},
        "plain": {"/": home, **{p: Route(raw=plain) for p in paths(n)}},
    }
