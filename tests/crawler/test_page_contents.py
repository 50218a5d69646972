"""Everything a page points at (tests/support/sites/anchors.py): missing #anchors, CSS, meta refresh,
more elements, links past deep nesting, and the source line of each referrer."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from linkpatrol.model.options import CrawlOptions
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, crawl_to_end
from tests.support.sites import anchors, attributes

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
        assert (row.outcome, row.error) == ("missing_anchor", "missing_anchor")
        assert {(r.page, r.text) for r in row.referrers} == {(m + page, text) for page, text in refs}
    assert crawl.counters["outcome_missing_anchor"] == len(anchors.MISSING)
    # The pages themselves are alive; #top, text fragments, routes, a name, escapes are fine.
    assert store.result(crawl.id, f"{m}/doc.html").outcome == "ok"  # type: ignore[union-attr]
    assert crawl.dead == len(anchors.DEAD)
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


def test_a_page_slow_to_parse_does_not_time_out_the_others(store: CrawlStore, crawlers: Factory,
                                                           anchor_site: SiteServer) -> None:
    # /deep.html takes longer to parse than the crawl's timeout; /slow.html's answer arrives meanwhile.
    # Parsed on the reactor's thread, the parse held up the loop; when it let go, the loop read a
    # first part of the answer, then ran its due timers: /slow.html's timeout fired before the rest
    # was read. It was reported dead by "timeout", its #anchors never checked.
    crawlers({"LINKPATROL_TIMEOUT": str(anchors.STALL_TIMEOUT)})
    crawl = crawl_to_end(store, anchor_site.url("stall"))
    s = anchor_site.url("stall", "")
    slow = store.result(crawl.id, f"{s}/slow.html")
    assert slow is not None and (slow.outcome, slow.status) == ("ok", 200), slow
    assert {r.url for r in store.problems(crawl.id, ("dead", "missing_anchor"))} == {f"{s}/slow.html#gone"}


def test_many_fragments_asked_of_a_page_read_last(store: CrawlStore, crawlers: Factory,
                                                  anchor_site: SiteServer) -> None:
    # Each asker page asks its own fragments of /last.html, which answers after them all: the set of
    # anchors asked of it is settled in bounded calls (tests/core/test_frontier_wanted.py), each once.
    crawlers()
    crawl = crawl_to_end(store, anchor_site.url("asked"))
    a = anchor_site.url("asked", "")
    asked = anchors.ASKERS * anchors.ASKED_EACH
    found = {r.url: r for r in store.problems(crawl.id, ("missing_anchor",))}
    assert set(found) == {f"{a}/last.html#f{n}" for n in range(anchors.LAST_IDS, asked)}
    assert crawl.counters["outcome_missing_anchor"] == asked - anchors.LAST_IDS
    row = found[f"{a}/last.html#f{asked - 1}"]
    assert [(r.page, r.text) for r in row.referrers] == [(f"{a}/p/{anchors.ASKERS - 1}", f"f{asked - 1}")]
    assert store.result(crawl.id, f"{a}/last.html").outcome == "ok"  # type: ignore[union-attr]
    assert not store.r.keys(f"lp:crawl:{crawl.id}:want:*"), "no question left open once the crawl ends"
    fine = [store.keys.refs(crawl.id, f"{a}/last.html#f{n}") for n in (0, anchors.LAST_IDS - 1)]
    assert not store.r.exists(*fine), "no referrers kept for what is fine"


@pytest.fixture(scope="module")
def attribute_site() -> Iterator[SiteServer]:
    server = SiteServer("attributes")
    yield server
    server.stop()


def test_every_url_bearing_attribute_of_html_and_svg(store: CrawlStore, crawlers: Factory,
                                                     attribute_site: SiteServer) -> None:
    crawlers({"LINKPATROL_MAX_LINKS_PER_PAGE": str(attributes.CAP)})
    crawl = crawl_to_end(store, attribute_site.url("main"))
    m = attribute_site.url("main", "")
    dead = {r.url: r for r in store.problems(crawl.id, ("dead",))}
    assert set(dead) == {m + url for url in attributes.DEAD}
    for url, element in attributes.DEAD.items():
        assert dead[m + url].status == 404, url
        assert {r.element for r in dead[m + url].referrers} == {element}, url
    missing = {r.url for r in store.problems(crawl.id, ("missing_anchor",))}
    # An inline sprite's symbol and a gradient's template are ids of the page; a sprite file's
    # #icon is not checked (SVG files are not read for ids).
    assert {u for u in missing if "/svg.html" in u} == {m + url for url in attributes.MISSING}
    for url in attributes.ALIVE:
        assert store.result(crawl.id, m + url).outcome == "ok", url  # type: ignore[union-attr]
    results = {r.url for r in store.iter_results(crawl.id)}
    hits = attribute_site.hits("main")
    for url in attributes.NEVER_REQUESTED:
        assert m + url not in results and f"GET {url}" not in hits, url
    assert not [u for u in results if "urn:" in u or "isbn" in u]  # a cite that names a book


def test_a_page_is_deduplicated_by_target_before_the_cap(store: CrawlStore, crawlers: Factory,
                                                         attribute_site: SiteServer) -> None:
    # /index.html holds 160 links, 8 times the cap, to 10 pages: read whole, every fragment checked.
    # /over.html holds 7 pages past the cap and 30 fragments past their bound: counted, not taken.
    crawlers({"LINKPATROL_MAX_LINKS_PER_PAGE": str(attributes.CAP)})
    crawl = crawl_to_end(store, attribute_site.url("main", "/index.html"))
    m = attribute_site.url("main", "")
    last = attributes.FRAGMENTS - 1
    found = {r.url: r for r in store.problems(crawl.id, ("missing_anchor",))}
    assert set(found) == {f"{m}/t/{t}.html#f{last}" for t in range(attributes.TARGETS)}
    # Written twice on the page, kept once: one referrer, the first.
    row = found[f"{m}/t/3.html#f{last}"]
    assert [(r.page, r.text) for r in row.referrers] == [(f"{m}/index.html", f"t3 f{last}")]
    assert crawl.counters.get("links_over_cap", 0) == 0
    assert not crawl.stop_reasons

    crawl = crawl_to_end(store, attribute_site.url("main", "/over.html"))
    over = attributes.OVER_TARGETS - attributes.CAP + attributes.OVER_FRAGMENTS - 5 * attributes.CAP
    assert crawl.counters["links_over_cap"] == over
    checked = {r.url for r in store.iter_results(crawl.id)}
    assert {f"{m}/o/{n}.html" for n in range(attributes.CAP)} <= checked
    assert not {f"{m}/o/{n}.html" for n in range(attributes.CAP, attributes.OVER_TARGETS)} & checked
    assert any(r.startswith(f"{over:,} links not followed: page {m}/over.html") for r in crawl.stop_reasons)
