"""#fragments after redirects (tests/support/sites/redirect_fragments.py): ``page#section`` where
``page`` redirects is checked against the page it lands on, and the row names both."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient

from linkpatrol.model.options import CrawlOptions
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, crawl_to_end
from tests.support.sites import redirect_fragments

Factory = Callable[..., CrawlerProcess]


@pytest.fixture(scope="module")
def redirect_site() -> Iterator[SiteServer]:
    server = SiteServer("redirect_fragments")
    yield server
    server.stop()


def test_fragments_are_checked_against_the_page_a_link_lands_on(
        store: CrawlStore, crawlers: Factory, redirect_site: SiteServer, client: FlaskClient) -> None:
    crawlers()
    crawl = crawl_to_end(store, redirect_site.url("main"))
    m = redirect_site.url("main", "")
    rows = {r.url: r for r in store.problems(crawl.id, ("missing_anchor",))}
    assert set(rows) == {m + url for url in redirect_fragments.MISSING}
    for url, (landed, hops) in redirect_fragments.MISSING.items():
        row = rows[m + url]
        assert (row.outcome, row.error, row.final_url, len(row.redirects)) == (
            "missing_anchor", "missing_anchor", m + landed, hops)
        assert [(r.page, r.fragment) for r in row.referrers] == [(f"{m}/", "sec")]
    assert crawl.counters["outcome_missing_anchor"] == len(redirect_fragments.MISSING)
    for url in redirect_fragments.FOUND + redirect_fragments.NOT_CHECKED:
        assert store.result(crawl.id, m + url) is None
    assert store.result(crawl.id, f"{m}/old").outcome == "ok"  # type: ignore[union-attr]  # the page itself
    assert not store.r.keys(f"lp:crawl:{crawl.id}:want:*"), "no question left open once the crawl ends"
    # The API and the link page name the link as written and where it landed.
    api_rows = client.get(f"/api/crawls/{crawl.id}/broken?outcome=missing_anchor").json or []
    assert {(r["url"], r["final_url"]) for r in api_rows} == {
        (m + url, m + landed) for url, (landed, _) in redirect_fragments.MISSING.items()}
    link_page = client.get(f"/crawls/{crawl.id}/link", query_string={"url": f"{m}/old#sec"}).get_data(as_text=True)
    assert f"{m}/old#sec" in link_page and "ends at" in link_page and f"{m}/new" in link_page


def test_with_check_fragments_all_another_hosts_landing_page_is_read(
        store: CrawlStore, crawlers: Factory, redirect_site: SiteServer) -> None:
    crawlers()
    crawl = crawl_to_end(store, redirect_site.url("main"), CrawlOptions(check_fragments="all"))
    m = redirect_site.url("main", "")
    rows = {r.url: r.final_url for r in store.problems(crawl.id, ("missing_anchor",))}
    assert rows == {**{m + url: m + landed for url, (landed, _) in redirect_fragments.MISSING.items()},
                    f"{m}/away#sec": redirect_site.url("ext", "/there")}
