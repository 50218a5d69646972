"""The report in a real browser: missing anchors, orphan pages and the line of each referrer; and, during
a real crawl of a slow site, every number moving live, the last live update equal to the final page."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from linkpatrol.model.addresses import AddressPolicy
from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.wire import LinkResult
from linkpatrol.store.crawls import CrawlStore
from tests.support.browser import BROWSER_MARKS, serving
from tests.support.fake_crawl import FakePage, run_crawl
from tests.support.processes import CrawlerProcess, SiteServer
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


# Every live part of the report, as the browser has it now.
LIVE_PARTS = """() => Object.fromEntries([...document.querySelectorAll("[data-live]")].map(
  (el) => [el.getAttribute("data-live"), el.outerHTML]))"""
NUMBERS = """() => ({
  state: document.querySelector("#crawl").getAttribute("data-state"),
  stats: [...document.querySelectorAll("[data-live=numbers] .stats dd")].map((dd) => dd.textContent.trim()),
  classes: document.querySelector("[data-live=numbers] .classes").textContent.replace(/\\s+/g, " ").trim(),
  checks: [...document.querySelectorAll("[data-live=numbers] .checks .badge")].map((b) => b.textContent),
  tabs: [...document.querySelectorAll("[data-live=tabs] .count")].map((c) => c.textContent),
  rows: document.querySelectorAll("[data-live=results] table.results tbody tr").length,
})"""


@pytest.fixture
def slow_site() -> Iterator[SiteServer]:
    server = SiteServer("generated", "40", "0.2")  # about 100 urls, each answered after 0.2 s
    yield server
    server.stop()


def test_every_number_moves_live_and_the_last_update_is_the_final_page(
        redis_url: str, store: CrawlStore, crawlers: Callable[..., CrawlerProcess], slow_site: SiteServer,
        browser_page: object) -> None:
    from playwright.sync_api import Page

    page: Page = browser_page  # type: ignore[assignment]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    crawlers()
    app = make_app(redis_url, ADDRESS_POLICY=AddressPolicy(allow_private=True))
    with serving(app) as web:
        crawl = store.create(slow_site.url("main"), CrawlOptions(site_concurrency=2, site_rate=8))
        page.goto(f"{web}/crawls/{crawl.id}")
        page.evaluate("window.notReloaded = true")
        seen = []
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            now = page.evaluate(NUMBERS)
            if not seen or now != seen[-1]:
                seen.append(now)
            if now["state"] == "finished":
                break
            page.wait_for_timeout(300)
        assert seen[-1]["state"] == "finished", seen[-1]
        running = [s for s in seen if s["state"] == "running"]
        # While it ran, the page moved many times, and every kind of number with it: the stats, the
        # status classes, how links were checked, the tabs' counts and the list itself.
        assert len(running) >= 4, seen
        for key in ("stats", "classes", "checks", "tabs", "rows"):
            assert len({repr(s[key]) for s in running}) >= 2, (key, [s[key] for s in running])
        assert any(s["checks"] and "2xx: 0" not in s["classes"] for s in running)
        assert any(s["stats"][2] != "0" and s["tabs"][0] != "0" for s in running)  # dead links, as they come
        page.wait_for_timeout(1500)  # no fetch after the one that saw the crawl end
        last_live = page.evaluate(LIVE_PARTS)
        assert page.evaluate("window.notReloaded") is True
        assert page.locator("#live-note").text_content() == "The crawl finished: this is the full report."
        assert page.locator("form[data-when=active]").is_hidden() and page.locator("form[data-when=ended]").is_visible()
        page.goto(f"{web}/crawls/{crawl.id}")
        final = page.evaluate(LIVE_PARTS)
        assert set(final) == {"changes", "status", "numbers", "tabs", "results"}
        assert last_live == final
        done = store.require(crawl.id)
        assert f">{done.links_checked:,}<" in final["numbers"] and done.dead > 0
    assert errors == []
