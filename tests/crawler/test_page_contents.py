"""Everything a page points at (tests/support/sites/anchors.py): missing #anchors, CSS, meta refresh,
more elements, links past deep nesting, and the source line of each referrer."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from linkpatrol.records import CrawlOptions
from linkpatrol.store import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, crawl_to_end
from tests.support.sites import anchors

Factory = Callable[..., CrawlerProcess]


@pytest.fixture(scope="module")
def anchor_site() -> Iterator[SiteServer]:
    server = SiteServer("anchors")
    yield server
    server.stop()




def test_missing_anchors_are_their_own_verdict(store: CrawlStore, crawlers: Factory, anchor_site: SiteServer) -> None:
    crawlers()
    crawl = crawl_to_end(store, anchor_site.url("main"))
    m = anchor_site.url("main", "")
    found = {r.url: r for r in store.problems(crawl.id, ("missing_anchor",))}
    assert set(found) == {m + url for url in anchors.MISSING}
    for url, refs in anchors.MISSING.items():
        row = found[m + url]
        assert (row.outcome, row.error) == ("missing_anchor", "missing-anchor")
        assert {(r.page, r.text) for r in row.referrers} == {(m + page, text) for page, text in refs}
    assert crawl.counters["outcome_missing_anchor"] == len(anchors.MISSING)
    # The pages themselves are alive; #top, text fragments, routes, a name, escapes are fine.
    assert store.result(crawl.id, f"{m}/doc.html").outcome == "ok"  # type: ignore[union-attr]
    assert crawl.broken == len(anchors.DEAD)
    assert not store.r.keys(f"lp:crawl:{crawl.id}:want:*"), "no question left open once the crawl ends"


def test_css_meta_refresh_more_elements_and_deep_nesting(store: CrawlStore, crawlers: Factory,
                                                         anchor_site: SiteServer) -> None:
    crawlers()
    crawl = crawl_to_end(store, anchor_site.url("main"))
    m = anchor_site.url("main", "")
    dead = {r.url: r for r in store.problems(crawl.id)}
    for url, element in anchors.DEAD.items():
        assert m + url in dead, url
        assert dead[m + url].status == 404
        assert {r.element for r in dead[m + url].referrers} == {element}, url
    css = dead[f"{m}/fonts/gone.woff2"].referrers[0]
    assert css.page == f"{m}/css/site.css" and css.line == 3  # the stylesheet is the referrer
    assert dead[f"{m}/img/gone-bg.png"].referrers[0].page == f"{m}/css/base.css"  # read through @import
    assert dead[f"{m}/refresh-target-gone"].referrers[0].page == f"{m}/refreshed.html"  # refresh followed
    assert f"{m}/not-a-link.png" not in {r.url for r in store.iter_results(crawl.id)}


def test_referrers_carry_their_source_line(store: CrawlStore, crawlers: Factory, anchor_site: SiteServer) -> None:
    crawlers()
    crawl = crawl_to_end(store, anchor_site.url("main"))
    m = anchor_site.url("main", "")
    problems = {r.url: r for r in store.problems(crawl.id, ("dead", "missing_anchor"))}
    for (target, text), line in anchors.HOME_LINES.items():
        (ref,) = [r for r in problems[m + target].referrers if r.text == text]
        assert ref.line == line, (target, ref)


@pytest.mark.parametrize(("mode", "missing"), [("none", 0), ("site", len(anchors.MISSING))])
def test_fragment_checking_is_a_per_crawl_choice(store: CrawlStore, crawlers: Factory, anchor_site: SiteServer,
                                                 mode: str, missing: int) -> None:
    crawlers()
    crawl = crawl_to_end(store, anchor_site.url("main"), CrawlOptions(check_fragments=mode))
    assert crawl.counters["outcome_missing_anchor"] == missing
    assert bool(store.r.hlen(f"lp:crawl:{crawl.id}:anchors")) is (mode != "none")
