"""A person schedules re-checks of a site from its page in a real browser (Debian's chromium driven by
Playwright), sees the next run, runs it now after the site changed, and reads what changed and the
trend chart. The real app on a free port, a real crawler process, a site on loopback that changes."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from linkpatrol.model.addresses import AddressPolicy
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.watch.schedules import Schedules
from tests.support.browser import BROWSER_MARKS, serving
from tests.support.processes import CrawlerProcess, crawl_to_end, wait_ended, wait_for
from tests.support.receivers import ChangingSite
from tests.support.webapp import make_app

pytestmark = BROWSER_MARKS


@pytest.fixture
def changing_site() -> Iterator[ChangingSite]:
    site = ChangingSite().start()
    yield site
    site.stop()


def test_schedule_a_site_see_the_next_run_then_read_the_diff_and_the_chart(
        redis_url: str, store: CrawlStore, changing_site: ChangingSite, browser_page: object,
        crawlers: Callable[..., CrawlerProcess]) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    site = changing_site
    site.pages["/about"] = (200, "<p>about</p>")
    site.pages["/fixed-later"] = (500, "<p>broken for now</p>")
    site.links("/about", "/fixed-later", "/gone")
    crawlers()
    first = crawl_to_end(store, site.url())
    assert first.dead == 2

    app = make_app(redis_url, ADDRESS_POLICY=AddressPolicy(allow_private=True), WTF_CSRF_ENABLED=True,
                   MIN_SCHEDULE_INTERVAL=60)
    with serving(app) as web:
        page.goto(web + "/")
        page.locator("#sites a.url", has_text=site.url()).click()
        expect(page.get_by_role("heading", name="Schedules")).to_be_visible()
        expect(page.get_by_text("No schedule")).to_be_visible()
        page.get_by_label("Interval or cron expression").fill("1d")
        page.get_by_label("Email the report to").fill("ops@example.org")
        page.get_by_label("Send it").select_option("changes")
        page.get_by_role("button", name="Schedule").click()

        expect(page.locator(".flash")).to_contain_text("Scheduled: " + site.url() + " every 1d; next run")
        (schedule,) = Schedules(store, 60).for_site(site.url())
        assert schedule.options.notify == ["ops@example.org"] and schedule.options.notify_when == "changes"
        row = page.locator(f'tr[data-schedule="{schedule.id}"]')
        expect(row).to_contain_text("every 1d")
        assert schedule.next_run is not None
        expect(row.locator("td.next-run time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
        expect(row.locator("td.next-run")).to_contain_text(" UTC")
        page.goto(web + "/")  # the home page's site list shows it too
        expect(page.locator("#sites tr", has_text=site.url()).locator("td.next-run time")).to_be_visible()

        # The site changes: one link is fixed, a new one is dead. "Run now" from the site page.
        site.pages["/fixed-later"] = (200, "<p>fixed</p>")
        site.links("/about", "/fixed-later", "/gone", "/new-dead")
        page.locator("#sites a.url", has_text=site.url()).click()
        page.locator(f'tr[data-schedule="{schedule.id}"]').get_by_role("button", name="Run now").click()
        expect(page.locator(".flash")).to_contain_text("Started crawl")
        second_id = wait_for(lambda: Schedules(store, 60).require(schedule.id).last_crawl, 10, 0.1, "run now")
        assert wait_ended(store, second_id).state == "finished"

        page.reload()
        chart = page.locator("svg.trend-chart")
        expect(chart).to_be_visible()
        expect(chart.locator("polyline.o-dead")).to_have_count(1)
        expect(chart.locator("circle.point.o-dead")).to_have_count(2)  # two finished crawls
        expect(chart.locator("circle.point.o-dead title").first).to_contain_text("2 dead")
        row = page.locator(f'tr[data-schedule="{schedule.id}"]')
        expect(row.get_by_role("link", name=f"started crawl {second_id}")).to_be_visible()
        row.get_by_role("link", name=f"started crawl {second_id}").click()

        expect(page.get_by_role("heading", name="What changed")).to_be_visible()
        lead = page.locator("#changes .diff-lead")
        expect(lead).to_contain_text("1 new dead link since")
        expect(lead).to_contain_text("1 fixed")
        expect(lead).to_contain_text("1 still there")
        expect(page.locator("#diff-new")).to_contain_text("/new-dead")

        # Pause, then delete: the crawls stay.
        page.goto(web + "/sites?url=" + site.url())
        page.locator(f'tr[data-schedule="{schedule.id}"]').get_by_role("button", name="Pause").click()
        expect(page.locator(f'tr[data-schedule="{schedule.id}"]')).to_contain_text("paused")
        page.locator(f'tr[data-schedule="{schedule.id}"]').get_by_role("button", name="Delete").click()
        expect(page.get_by_text("No schedule")).to_be_visible()
        assert [c.id for c in store.site_crawls(site.url())] == [second_id, first.id]
    assert errors == []
