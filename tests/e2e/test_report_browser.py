"""The report in a real browser shows missing anchors, orphan pages and the line of each referrer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from linkpatrol.store import CrawlStore
from linkpatrol.wire import LinkResult
from tests.support.browser import BROWSER_MARKS, serving
from tests.support.fake_crawl import FakePage, run_crawl
from tests.support.webapp import make_app

pytestmark = BROWSER_MARKS
SITE = "https://docs.example"


@pytest.fixture
def web_url(redis_url: str) -> Iterator[str]:
    with serving(make_app(redis_url)) as url:
        yield url


def test_missing_anchors_orphans_and_lines(web_url: str, store: CrawlStore, browser_page: object) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    home, guide, sitemap, orphan = f"{SITE}/", f"{SITE}/guide.html", f"{SITE}/sitemap.xml", f"{SITE}/old.html"
    crawl = run_crawl(store, home, {
        home: FakePage(LinkResult(home, "ok", 200, content_type="text/html"),
                       [(f"{guide}#install", "Install it", 42), (sitemap, "")], True, anchors=set()),
        guide: FakePage(LinkResult(guide, "ok", 200, content_type="text/html"), [], True, anchors={"usage"}),
        sitemap: FakePage(LinkResult(sitemap, "ok", 200, content_type="application/xml"),
                          [(orphan, ""), (guide, "")], sitemap=True),
        orphan: FakePage(LinkResult(orphan, "ok", 200, content_type="text/html"), [], True, anchors=set()),
    })

    page.goto(f"{web_url}/crawls/{crawl.id}")
    page.get_by_role("link", name="Missing anchors").click()
    row = page.locator("table.results tbody tr").first
    expect(row).to_contain_text(f"{guide}#install")
    expect(row).to_contain_text("line 42")
    expect(row).to_contain_text("Install it")
    page.get_by_role("link", name="Orphan pages").click()
    expect(page.locator("table.results tbody tr")).to_have_count(1)
    expect(page.locator("table.results tbody tr").first).to_contain_text(orphan)
