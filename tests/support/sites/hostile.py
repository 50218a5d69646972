"""Sites that never end or hold too much, generated on the fly (no route table of a million entries):

- ``huge``: ``/`` is one page holding N links (``/l/0`` ... ``/l/N-1``, about 30 bytes each), each
  answering a small page;
- ``calendar``: ``/`` links ``/day/1``; ``/day/N`` links ``/day/N+1`` (and back to ``/``), for ever;
- ``maze``: a relative link trap, ``/x/`` links ``a/`` and ``b/`` (so ``/x/a/``, ``/x/b/``,
  ``/x/a/b/``... for ever), and a query that grows on each hop, ``/s`` -> ``/s?f=1`` -> ``/s?f=1&f=1``...;
  ``/`` links both, and ``/ok`` (one ordinary page).
"""

from __future__ import annotations

import re

from tests.support.sites.server import Generated, Route

SMALL = Route(body="<html><body>ok</body></html>")
DAY = re.compile(r"^/day/(\d{1,9})$")


def huge_page(n: int) -> bytes:
    links = "".join(f'<a href="/l/{i}">{i}</a>\n' for i in range(n))
    return f"<!doctype html><html><head><title>{n} links</title></head><body>\n{links}</body></html>".encode()


def build(links: str = "300000") -> dict[str, object]:
    body = huge_page(int(links))

    def huge(path: str) -> Route | None:
        if path == "/":
            return Route(raw=body)
        return SMALL if path.startswith("/l/") else None

    def calendar(path: str) -> Route | None:
        if path == "/":
            return Route(body='<html><body><a href="/day/1">Calendar</a></body></html>')
        found = DAY.match(path)
        if not found:
            return None
        n = int(found.group(1))
        return Route(body=f'<html><body><h1>Day {n}</h1><a href="/day/{n + 1}">Next day</a> '
                          f'<a href="/">Home</a></body></html>')

    def maze(path: str) -> Route | None:
        if path == "/":
            return Route(body='<html><body><a href="/x/">Maze</a> <a href="/s">Search</a> '
                              '<a href="/ok">Ok</a></body></html>')
        if path == "/ok":
            return SMALL
        if path.startswith("/x/") and path.endswith("/") and "?" not in path:
            return Route(body='<html><body><a href="a/">A</a> <a href="b/">B</a></body></html>')
        if path == "/s" or path.startswith("/s?"):
            query = path.partition("?")[2]
            grown = f"{query}&f=1" if query else "f=1"
            return Route(body=f'<html><body><a href="/s?{grown}">More</a></body></html>')
        return None

    return {"huge": Generated(huge), "calendar": Generated(calendar), "maze": Generated(maze)}
