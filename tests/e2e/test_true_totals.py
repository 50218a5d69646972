"""True totals: a target linked from more places than the crawl keeps (``LINKPATROL_MAX_REFERRERS``,
lowered here) is shown with the number of places that link to it, counted in the site's HTML, in the
API, on the link page and in ``linkpatrol check``'s "... and N more" (tests/support/sites/referrers.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient

from linkpatrol.cli.check.reports import LISTED_REFERRERS
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import ROOT, CrawlerProcess, SiteServer, crawl_to_end
from tests.support.sites import referrers
from tests.support.sites.server import Route

KEPT = 12  # LINKPATROL_MAX_REFERRERS for the crawlers: fewer than the places linking each target


@pytest.fixture(scope="module")
def referrers_site() -> Iterator[SiteServer]:
    server = SiteServer("referrers")
    yield server
    server.stop()


def places_in_html(href: str) -> int:
    """How many links to ``href`` the site's pages hold: the full count, read from the HTML."""
    routes = referrers.build()["main"]
    assert isinstance(routes, dict)
    return sum(route.body.count(f'href="{href}"') for route in routes.values() if isinstance(route, Route))


def test_every_count_shown_is_the_true_number(store: CrawlStore, crawlers: Callable[..., CrawlerProcess],
                                               referrers_site: SiteServer, client: FlaskClient,
                                               redis_url: str) -> None:
    crawlers({"LINKPATROL_MAX_REFERRERS": str(KEPT)})
    crawl = crawl_to_end(store, referrers_site.url("main"))
    m = referrers_site.url("main", "")
    truth = {m + referrers.GONE: places_in_html(referrers.GONE), m + referrers.NOPE: places_in_html(referrers.NOPE)}
    assert set(truth.values()) == {referrers.PAGES + 1} and referrers.PAGES + 1 > KEPT

    # The API: the true count beside the kept sample.
    rows = {r["url"]: r for r in client.get(f"/api/crawls/{crawl.id}/broken?outcome=all").json or []}
    assert {url: rows[url]["referrer_count"] for url in truth} == truth
    assert {len(rows[url]["referrers"]) for url in truth} == {KEPT}

    # The link page.
    for url, places in truth.items():
        html = client.get(f"/crawls/{crawl.id}/link", query_string={"url": url}).get_data(as_text=True)
        assert re.search(r"Linked from ([\d,]+) places", html)[1] == f"{places:,}", url  # type: ignore[index]

    # The command line: ``linkpatrol check`` on these crawlers, each target with "... and N more pages".
    env = {k: v for k, v in os.environ.items() if k not in ("LINKPATROL_ALLOW_PRIVATE", "LINKPATROL_PREFIX")}
    out = subprocess.run([sys.executable, "-m", "linkpatrol", "check", referrers_site.url("main"), "--group-by",
                          "target"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**env, "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 1, out.stderr
    more = re.findall(r"^  (\S+)\n    .*\n(?:    <- .*\n)*?    <- \.\.\. and ([\d,]+) more pages$", out.stdout, re.M)
    assert {url: int(n.replace(",", "")) + LISTED_REFERRERS for url, n in more} == truth, out.stdout
