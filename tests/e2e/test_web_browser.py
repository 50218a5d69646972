"""End to end in a real browser: Debian's chromium driven by Playwright, the real app on a free port,
a real crawler process and the fixture site. Submit the form, watch the crawl finish, read the report."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from linkpatrol.model.addresses import AddressPolicy
from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.verdicts import OTHER_LABEL
from linkpatrol.store.crawls import CrawlStore
from tests.support.browser import BROWSER_MARKS, serving
from tests.support.processes import CrawlerProcess, SiteServer
from tests.support.webapp import make_app

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "report.png"

pytestmark = BROWSER_MARKS


@pytest.fixture
def web_url(redis_url: str) -> Iterator[str]:
    app = make_app(redis_url, ADDRESS_POLICY=AddressPolicy(allow_private=True), WTF_CSRF_ENABLED=True)
    with serving(app) as url:
        yield url


def test_submit_watch_and_read_the_report(web_url: str, site: SiteServer, crawlers: Callable[..., CrawlerProcess],
                                          browser_page: object, store: CrawlStore,
                                          tmp_path: Path) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    crawlers()

    page.goto(web_url + "/")
    expect(page.get_by_role("heading", name="Check a site for dead links")).to_be_visible()
    page.get_by_label("Site address").fill(site.url("main"))
    page.get_by_label("Max pages").fill("500")
    page.get_by_role("button", name="Start checking").click()

    # The report page follows the crawl live; the update that sees it end leaves the full report.
    expect(page.get_by_role("heading", name="Report for")).to_be_visible()
    state = page.locator("#crawl [data-field=state]")
    expect(state).to_have_text("finished", timeout=120_000)
    expect(page.locator("table.results")).to_be_visible(timeout=10_000)

    main = site.url("main").rstrip("/")
    missing = page.locator("tr", has=page.locator(f'td.target a[href="{main}/missing.html"]'))
    expect(missing).to_have_count(1)
    expect(missing).to_contain_text("404")
    expect(missing).to_contain_text("Missing page")
    expect(missing).to_contain_text("Broken again")
    expect(missing.locator(f'ul.refs a[href="{main}/about.html"]')).to_have_count(1)
    loop = page.locator("tr", has=page.locator(f'td.target a[href="{main}/loop-a"]'))
    expect(loop).to_contain_text("redirect-loop")

    # Hostile anchor text is shown as text, and nothing from the crawled page runs.
    hostile = page.locator("tr", has=page.locator(f'td.target a[href="{main}/gone-hostile2"]'))
    expect(hostile).to_contain_text("<img src=x onerror=alert(1)>")
    expect(page.locator('img[src="x"]')).to_have_count(0)
    expect(page.locator("table.results script")).to_have_count(0)

    # Blocked and rate-limited links are kept apart from the dead ones.
    ext = f"http://127.0.0.1:{site.ports['ext']}"
    expect(page.locator(f'td.target a[href="{ext}/forbidden"]')).to_have_count(0)
    # The README's screenshot is refreshed on request only, so a test run leaves the tree clean.
    shot = SCREENSHOT if os.environ.get("LINKPATROL_UPDATE_SCREENSHOT") else tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000
    page.get_by_role("link", name=OTHER_LABEL).click()
    expect(page.locator(f'td.target a[href="{ext}/forbidden"]')).to_have_count(1)
    expect(page.locator(f'td.target a[href="{ext}/ratelimited"]')).to_have_count(1)

    # A filter: external dead links only.
    page.get_by_role("link", name="Dead links").click()
    page.get_by_label("Links", exact=True).select_option("external")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(f'td.target a[href="{ext}/gone"]')).to_have_count(1)
    expect(page.locator(f'td.target a[href="{main}/missing.html"]')).to_have_count(0)

    # The home page lists the crawl as finished, and follows a new one live, without a reload.
    page.goto(web_url + "/")
    expect(page.locator("table.crawls tbody tr").first.locator("[data-field=state]")).to_have_text("finished")
    again = store.create(site.url("main"), CrawlOptions(max_pages=3))
    page.reload()
    row = page.locator(f'tr[data-crawl="{again.id}"]')
    expect(row.locator("[data-field=state]")).to_have_text(re.compile("queued|running"))
    page.evaluate("window.notReloaded = true")
    expect(row.locator("[data-field=state]")).to_have_text("finished", timeout=120_000)
    expect(row.locator("[data-field=links_checked]")).not_to_have_text("0")
    assert page.evaluate("window.notReloaded") is True
    assert dialogs == []
    assert errors == []
    assert page.evaluate("typeof window.pwned") == "undefined"
