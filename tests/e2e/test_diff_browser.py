"""The report's "What changed" card in chromium after an options change: the reader sees, before any
number, that the crawls were not alike and which option differs, and the links the new crawl did not
check are listed as not checked this time, never as fixed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.wire import LinkResult
from linkpatrol.store.crawls import CrawlStore
from tests.support.browser import BROWSER_MARKS, serving
from tests.support.fake_crawl import FakePage, run_crawl
from tests.support.webapp import make_app

pytestmark = BROWSER_MARKS
SITE = "https://diff.example"


@pytest.fixture
def web_url(redis_url: str) -> Iterator[str]:
    with serving(make_app(redis_url)) as url:
        yield url


def test_the_card_says_the_options_differ_and_counts_nothing_as_fixed(store: CrawlStore, web_url: str,
                                                                     browser_page: object) -> None:
    seed = f"{SITE}/"
    ext = {f"https://ext{i}.example/": FakePage(LinkResult(f"https://ext{i}.example/", "dead", error="dns",
                                                           external=True)) for i in range(3)}
    local = {f"{SITE}/gone": FakePage(LinkResult(f"{SITE}/gone", "dead", 404))}
    home = FakePage(LinkResult(seed, "ok", 200), [(url, "x") for url in [*ext, *local]], True)
    run_crawl(store, seed, {seed: home, **ext, **local})
    narrow = FakePage(LinkResult(seed, "ok", 200), [(f"{SITE}/gone", "x")], True)
    second = run_crawl(store, seed, {seed: narrow, **local}, CrawlOptions(check_external=False))

    page = browser_page
    page.goto(f"{web_url}/crawls/{second.id}")  # type: ignore[attr-defined]
    card = page.locator("#changes")  # type: ignore[attr-defined]
    caveat = card.locator("#diff-caveat")
    assert caveat.is_visible()
    assert "Not like with like" in caveat.inner_text()
    assert "links to other sites: checked before, not checked now" in caveat.inner_text()
    lead = card.locator(".diff-lead").first.inner_text()
    assert "0 new dead links" in lead and "0 fixed" in lead and "1 still there" in lead
    # The three external dead links of the first crawl: listed as not checked this time, none as fixed.
    assert "3 dead links or missing anchors of the previous crawl were not checked this time" in caveat.inner_text()
    caveat.locator('a[href="#diff-unchecked"]').click()  # the note leads to the list
    unchecked = card.locator("#diff-unchecked")
    if unchecked.get_attribute("open") is None:  # a closed <details>: open it as a reader would
        unchecked.locator("summary").click()
    listed = unchecked.inner_text()
    assert all(f"https://ext{i}.example/" in listed for i in range(3))
    assert "ext0.example" not in card.locator("#diff-fixed").inner_text()
