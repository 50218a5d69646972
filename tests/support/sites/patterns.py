"""Sites for the hostile ``exclude`` pattern test (``tests/crawler/test_hostile_pattern.py``):

- ``hostile``: ``/`` links ``HOSTILE_PATH`` (``/`` and 32 ``a``s then ``!``, which the pattern
  ``HOSTILE_PATTERN`` takes hours to refuse with a backtracking engine) and ``PAGES`` pages; each page
  links the next ones, ``LINKS`` more such paths (runs of 25 to 40 ``a``s, a query apart: none match,
  all answer 404) and one path the pattern matches (``excluded_path``: ending in ``a``s);
- ``other``: an unrelated site (``generated``: ``OTHER_PAGES`` pages), crawled at the same time.

Every answer waits ``DELAY`` seconds, so that both crawls are under way together for a while.
"""

from __future__ import annotations

from tests.support.sites import generated
from tests.support.sites.server import Route

HOSTILE_PATTERN = "(a+)+$"
HOSTILE_PATH = "/" + "a" * 32 + "!"
PAGES = 12
LINKS = 16
OTHER_PAGES = 60
DELAY = 0.05


def hostile_paths(page: int) -> list[str]:
    """The paths page ``page`` links that the hostile pattern must refuse (all excluded by it)."""
    return [f"/{'a' * (25 + k)}!?p={page}" for k in range(LINKS)]


def excluded_path(page: int) -> str:
    return f"/p/{page}/{'a' * 32}"


def _page(n: int) -> Route:
    pages = "".join(f'<a href="/p/{j}">Page {j}</a> ' for j in (n + 1, n + 2) if j < PAGES)
    traps = "".join(f'<a href="{path}">a run</a> ' for path in [*hostile_paths(n), excluded_path(n)])
    first = f'<a href="{HOSTILE_PATH}">The report\'s link</a> ' if n == 0 else ""
    return Route(body=f"<!doctype html><html><head><title>Page {n}</title></head><body>{first}{pages}{traps}"
                      "</body></html>", delay=DELAY)


def build() -> dict[str, object]:
    hostile = {("/" if n == 0 else f"/p/{n}"): _page(n) for n in range(PAGES)}
    return {"hostile": hostile, "other": generated.build(str(OTHER_PAGES), str(DELAY))["main"]}
