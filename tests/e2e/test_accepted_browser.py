"""Accepting a link in a real browser: the Accept button of a report row takes it out of the Dead count
and list and onto the Accepted tab; its Undo button puts it back. The "by page" view lists a page's
broken links by their line."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from linkpatrol.store.crawls import CrawlStore
from tests.support.browser import BROWSER_MARKS, serving
from tests.support.webapp import SITE, finished_crawl, make_app

pytestmark = BROWSER_MARKS
GONE = f"{SITE}/missing"
DEAD = 5  # what finished_crawl holds


@pytest.fixture
def web_url(redis_url: str) -> Iterator[str]:
    with serving(make_app(redis_url)) as url:
        yield url


def test_accept_a_link_from_its_row_and_undo_it(web_url: str, store: CrawlStore, browser_page: object) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    crawl = finished_crawl(store)
    page.goto(f"{web_url}/crawls/{crawl.id}")
    dead_stat = page.locator('[data-live=numbers] dd[data-field="dead"]')
    dead_tab = page.locator('[data-count="dead"]')
    expect(dead_stat).to_have_text(str(DEAD))
    expect(dead_tab).to_have_text(str(DEAD))
    expect(page.locator('[data-count="accepted"]')).to_have_count(0)  # no tab before the site accepts any

    row = page.locator("table.results tbody tr", has_text=GONE)
    row.get_by_role("button", name="Accept").click()
    expect(page.locator(".flash-ok")).to_contain_text(f"Accepted {GONE}")
    expect(dead_stat).to_have_text(str(DEAD - 1))
    expect(dead_tab).to_have_text(str(DEAD - 1))
    expect(page.locator('[data-count="accepted"]')).to_have_text("1")
    expect(page.locator("table.results tbody tr", has_text=GONE)).to_have_count(0)
    assert "view=dead" in page.url or page.url.endswith(crawl.id)  # back on the report it was pressed on

    page.get_by_role("link", name="Accepted").click()
    accepted_row = page.locator("table.results tbody tr", has_text=GONE)
    expect(accepted_row).to_have_count(1)
    expect(accepted_row).to_contain_text("someone")  # this app asks nobody to sign in
    accepted_row.get_by_role("button", name="Undo").click()
    expect(page.locator(".flash-ok")).to_contain_text("counts as broken again")
    expect(dead_stat).to_have_text(str(DEAD))
    expect(page.locator('[data-count="accepted"]')).to_have_text("0")  # the tab shown, now empty
    expect(page.locator("table.results tbody tr")).to_have_count(0)

    page.get_by_role("link", name="Dead links").click()
    expect(dead_tab).to_have_text(str(DEAD))
    expect(page.locator('[data-count="accepted"]')).to_have_count(0)  # the site accepts none again
    page.get_by_role("link", name="by page").click()
    expect(page.locator(".result-count")).to_contain_text("on 2 pages")  # the home and the about page
    about = page.locator("tbody.page-group", has_text=f"{SITE}/about")
    expect(about.locator("tr:not(.page-head)")).to_have_count(1)
    expect(about).to_contain_text("Broken again")
