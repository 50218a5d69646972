"""The site page's trend chart as chromium paints it: lines that are strokes (no filled shape), points
that are dots, and x labels that are readable (date and time when crawls share a day), inside the
chart and apart from each other, with 1, 3 and 10 crawls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from linkpatrol.model.records import Crawl
from linkpatrol.model.wire import LinkResult
from linkpatrol.store.crawls import CrawlStore
from tests.support.browser import BROWSER_MARKS, serving
from tests.support.fake_crawl import FakePage, run_crawl
from tests.support.webapp import make_app

pytestmark = BROWSER_MARKS
SITE = "https://chart.example/"
DAY = 86400.0

# What chromium painted: the computed fill of every line and point, and the boxes of the labels.
MEASURE = """() => {
  const svg = document.querySelector("svg.trend-chart");
  const box = svg.getBoundingClientRect();
  const rect = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  return {
    svg: [box.left, box.top, box.right, box.bottom],
    lines: [...svg.querySelectorAll("polyline")].map((el) => getComputedStyle(el).fill),
    strokes: [...svg.querySelectorAll("polyline")].map((el) => getComputedStyle(el).stroke),
    points: [...svg.querySelectorAll("circle.point")].map((el) => getComputedStyle(el).fill),
    labels: [...svg.querySelectorAll("text.x-label")].map((el) => ({
      text: [...el.querySelectorAll("tspan")].map((t) => t.textContent), box: rect(el) })),
    texts: [...svg.querySelectorAll("text")].map(rect),
  };
}"""


@pytest.fixture
def web_url(redis_url: str) -> Iterator[str]:
    with serving(make_app(redis_url)) as url:
        yield url


def crawls(store: CrawlStore, dead_counts: list[int], start: float, step: float) -> list[Crawl]:
    """Finished crawls of SITE with these dead-link counts, created ``step`` seconds apart from ``start``."""
    out = []
    for n, count in enumerate(dead_counts):
        targets = {f"{SITE}gone/{i}": FakePage(LinkResult(f"{SITE}gone/{i}", "dead", 404)) for i in range(count)}
        pages = {**targets, SITE: FakePage(LinkResult(SITE, "ok", 200), [(url, "x") for url in targets], True)}
        crawl = run_crawl(store, SITE, pages)
        store.r.hset(store.keys.crawl(crawl.id), "created_at", repr(start + n * step))
        out.append(crawl)
    return out


def inside(inner: list[float], outer: list[float]) -> bool:
    return (inner[0] >= outer[0] - 0.5 and inner[1] >= outer[1] - 0.5 and inner[2] <= outer[2] + 0.5
            and inner[3] <= outer[3] + 0.5)


def overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def painted(page: Any, web_url: str, tmp_path: Path, name: str) -> dict[str, Any]:
    page.goto(f"{web_url}/sites?url={SITE}")
    page.locator("svg.trend-chart").screenshot(path=str(tmp_path / f"{name}.png"))
    measured: dict[str, Any] = page.evaluate(MEASURE)
    assert measured["lines"] and all(fill == "none" for fill in measured["lines"]), measured["lines"]
    assert all(stroke != "none" for stroke in measured["strokes"])
    assert measured["points"] and all(fill not in ("none", "rgb(0, 0, 0)") for fill in measured["points"])
    for text in measured["texts"]:
        assert inside(text, measured["svg"]), (text, measured["svg"])
    boxes = [label["box"] for label in measured["labels"]]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not overlap(a, b), (measured["labels"])
    return measured


@pytest.mark.parametrize("count", [1, 3, 10])
def test_the_chart_is_painted_right(count: int, store: CrawlStore, web_url: str, browser_page: object,
                                    tmp_path: Path) -> None:
    # The user's case: the same counts three times, then a drop; here crawls minutes apart on one day.
    dead_counts = ([40] * 3 + [4] + [40, 12, 30, 7, 7, 0])[:count] if count > 1 else [5]
    done = crawls(store, dead_counts, start=1_796_470_000.0, step=600.0)
    measured = painted(browser_page, web_url, tmp_path, f"same-day-{count}")
    labels = [label["text"] for label in measured["labels"]]
    assert 1 <= len(labels) <= 6 and len(measured["lines"]) == 3 and len(measured["points"]) == 3 * count
    if count > 1:  # crawls of one day: date and time, and the labels tell them apart
        assert all(len(lines) == 2 for lines in labels) and len({tuple(lines) for lines in labels}) == len(labels)
        assert labels[0] == ["2026-12-05", "11:26"]
        assert labels[-1] == ["2026-12-05", "12:56" if count == 10 else "11:46"]
    else:
        assert labels == [["2026-12-05"]]
    assert done[0].id in browser_page.content()  # type: ignore[attr-defined]


def test_crawls_on_different_days_are_labelled_by_date(store: CrawlStore, web_url: str, browser_page: object,
                                                       tmp_path: Path) -> None:
    crawls(store, [3, 3, 3, 1], start=1_796_470_000.0, step=DAY)
    measured = painted(browser_page, web_url, tmp_path, "days")
    assert [label["text"] for label in measured["labels"]] == [
        ["2026-12-05"], ["2026-12-06"], ["2026-12-07"], ["2026-12-08"]]
