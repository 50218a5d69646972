"""What chromium paints on the forms: no select box cuts its text ("Internal and ex..."), and the site
page's schedule form gives each field room, on a wide and on a narrow window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from linkpatrol.store.crawls import CrawlStore
from tests.support.browser import BROWSER_MARKS, serving
from tests.support.webapp import SITE, finished_crawl, make_app

pytestmark = BROWSER_MARKS

# Each visible select's width beside the width it takes when left to size itself (its longest option).
SELECTS = """() => [...document.querySelectorAll("select")].filter((s) => s.offsetParent !== null).map((s) => {
  const natural = s.cloneNode(true);
  natural.style.width = "auto"; natural.style.minWidth = "0"; natural.style.maxWidth = "none";
  natural.style.position = "absolute"; natural.style.visibility = "hidden";
  document.body.appendChild(natural);
  const wanted = natural.getBoundingClientRect().width;
  natural.remove();
  return { id: s.id, width: s.getBoundingClientRect().width, wanted: wanted };
})"""
FIELDS = """() => [...document.querySelectorAll(".schedule-form .field, .schedule-form fieldset")].map((f) => {
  const r = f.getBoundingClientRect(); return { width: r.width, box: [r.left, r.top, r.right, r.bottom] };
})"""


@pytest.fixture
def web_url(redis_url: str) -> Iterator[str]:
    with serving(make_app(redis_url)) as url:
        yield url


def assert_uncut(page: Any) -> int:
    selects = page.evaluate(SELECTS)
    for s in selects:
        assert s["width"] >= s["wanted"] - 1, s
    return len(selects)


@pytest.mark.parametrize("width", [1280, 760])
def test_selects_show_their_whole_text_and_the_schedule_form_has_room(width: int, web_url: str, store: CrawlStore,
                                                                      browser_page: object) -> None:
    from playwright.sync_api import Page

    page: Page = browser_page  # type: ignore[assignment]
    page.set_viewport_size({"width": width, "height": 900})
    crawl = finished_crawl(store)
    page.goto(f"{web_url}/")
    page.locator("#advanced > summary").click()
    assert assert_uncut(page) == 3  # when to notify, which #fragments, run the JavaScript
    page.goto(f"{web_url}/crawls/{crawl.id}")
    assert assert_uncut(page) == 4  # links, status class, sort, order
    page.goto(f"{web_url}/sites?url={SITE}/")
    assert assert_uncut(page) == 4  # repeat, send it, which #fragments, run the JavaScript
    fields = page.evaluate(FIELDS)
    form = page.locator(".schedule-form").bounding_box()
    assert fields and form
    for f in fields:  # no field squeezed: at least 16rem, or the whole row on a narrow window
        assert f["width"] >= min(256, form["width"] - 1), f
    for i, a in enumerate(fields):
        for b in fields[i + 1:]:
            overlap = a["box"][0] < b["box"][2] and b["box"][0] < a["box"][2] and \
                a["box"][1] < b["box"][3] and b["box"][1] < a["box"][3]
            assert not overlap, (a, b)
