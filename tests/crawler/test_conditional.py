"""Re-checks of a site (tests/support/sites/conditional.py): a page an earlier crawl of the site read is
asked for with If-None-Match / If-Modified-Since; a 304 reuses its links, which are still checked."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.records import Crawl
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, crawl_to_end
from tests.support.sites import conditional

Factory = Callable[..., CrawlerProcess]


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("conditional") / "versions.json"


@pytest.fixture(scope="module")
def cond_site(versions: Path) -> Iterator[SiteServer]:
    server = SiteServer("conditional", str(versions))
    yield server
    server.stop()


@pytest.fixture
def site(cond_site: SiteServer, versions: Path) -> SiteServer:
    versions.write_text("{}")  # every page at version 1
    return cond_site


def crawl_logged(store: CrawlStore, site: SiteServer, options: CrawlOptions | None = None,
                 ) -> tuple[Crawl, dict[str, tuple[int, bool]], int]:
    """Crawl the site to its end; the crawl, (status, conditional) of its GET of each page, bytes sent."""
    before = site.log("main")
    crawl = crawl_to_end(store, site.url("main"), options)
    after = site.log("main")
    pages = {entry[2]: (entry[3], entry[5]) for entry in after["log"][len(before["log"]):]
             if entry[1] == "GET" and entry[2] in conditional.PAGES}
    return crawl, pages, after["bytes"] - before["bytes"]


def problems(store: CrawlStore, crawl: Crawl) -> dict[str, Any]:
    """Each problem of the crawl (path -> outcome, the pages linking to it)."""
    base = crawl.url.rstrip("/")
    return {r.url.removeprefix(base): (r.outcome, sorted(ref.page.removeprefix(base) for ref in r.referrers))
            for r in store.problems(crawl.id, ("dead", "missing_anchor"))}


def test_a_recheck_reuses_unchanged_pages_and_reads_changed_ones(
        store: CrawlStore, crawlers: Factory, site: SiteServer, versions: Path) -> None:
    crawlers()
    first, pages, first_bytes = crawl_logged(store, site)
    assert pages == dict.fromkeys(conditional.PAGES, (200, False))
    found = problems(store, first)
    assert set(found) == {*conditional.DEAD, *conditional.MISSING_ANCHORS}

    # Unchanged: every page with a validator answers 304, no body; the crawl finds exactly the same.
    second, pages, second_bytes = crawl_logged(store, site)
    assert pages == {**dict.fromkeys(conditional.VALIDATED, (304, True)), "/plain": (200, False)}
    assert second.pages_crawled == first.pages_crawled == len(conditional.PAGES)
    assert second.links_checked == first.links_checked
    assert problems(store, second) == found  # dead links and their referrers, and the missing #anchor
    assert second.check_counts["not_modified"] == len(conditional.VALIDATED)
    assert second_bytes < first_bytes / 2

    # One page changed (a new ETag): read in full, its new dead link found, the old one gone.
    versions.write_text(json.dumps({"changing": 2}))
    third, pages, _ = crawl_logged(store, site)
    assert pages["/changing"] == (200, True) and pages["/a"] == (304, True)
    assert set(problems(store, third)) == set(found) - {"/changing-1"} | {"/changing-2"}
    assert third.check_counts["not_modified"] == len(conditional.VALIDATED) - 1


def test_every_nth_crawl_reads_a_page_in_full_and_catches_a_lying_server(
        store: CrawlStore, crawlers: Factory, site: SiteServer, versions: Path) -> None:
    crawlers({"LINKPATROL_REVALIDATE_EVERY": "2"})
    crawl_logged(store, site)
    versions.write_text(json.dumps({"liar": 2}))  # /liar changed, and still answers 304
    second, pages, _ = crawl_logged(store, site)
    assert pages["/liar"] == (304, True)
    assert "/liar-1" in problems(store, second)  # believed, until the bound
    third, pages, _ = crawl_logged(store, site)
    assert pages == dict.fromkeys(conditional.PAGES, (200, False))  # the second crawl of each: in full
    assert "/liar-2" in problems(store, third) and "/liar-1" not in problems(store, third)
    assert third.check_counts["not_modified"] == 0


def test_fresh_reads_every_page_and_the_kept_pages_go_with_the_site(
        store: CrawlStore, crawlers: Factory, site: SiteServer) -> None:
    crawlers()
    first, _, _ = crawl_logged(store, site)
    fresh, pages, _ = crawl_logged(store, site, CrawlOptions(fresh=True))
    assert pages == dict.fromkeys(conditional.PAGES, (200, False))
    assert fresh.check_counts["not_modified"] == 0
    assert problems(store, fresh) == problems(store, first)
    kept = store.keys.site_pages(first.url)
    assert store.r.hlen(kept) == len(conditional.VALIDATED)
    store.delete(first.id)
    assert store.r.exists(kept), "the site still has a crawl"
    store.delete(fresh.id)
    assert not store.r.exists(kept) and not store.r.exists(store.keys.site_pages_order(first.url))
