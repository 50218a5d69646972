"""The site page's trend chart, drawn on the server: coordinates for an inline SVG (no script, so the
page's Content-Security-Policy holds), one polyline and one point per finished crawl for each of the
dead, missing-anchor and blocked counts, oldest crawl on the left.

The x axis names a few crawls: the first, the last and some between, never closer than ``MIN_GAP``
user units, so no two labels overlap; each label is the crawl's UTC date, with its time on a second
line when two crawls of the chart share a day (with seconds when two share a minute). The margins
leave room for a label centred on the first or last crawl, so none is cut by the SVG's edge
(``tests/e2e/test_chart_browser.py`` measures what chromium paints)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from linkpatrol.model.records import Crawl
from linkpatrol.model.verdicts import Outcome

SERIES = (Outcome.DEAD, Outcome.MISSING_ANCHOR, Outcome.BLOCKED)
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 44, 16, 52  # room for the axis labels: two lines below, half a label right
MIN_GAP = 84  # between two x labels: a date at 11px is about 62 units wide


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: int
    crawl: Crawl


@dataclass(frozen=True)
class Series:
    outcome: Outcome
    points: list[Point]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class Tick:
    x: float
    crawl: Crawl
    lines: tuple[str, ...]  # ("2026-12-05",) or ("2026-12-05", "14:03")


@dataclass(frozen=True)
class Chart:
    series: list[Series]
    y_ticks: list[tuple[float, int]]  # (y, count)
    x_ticks: list[Tick]  # the first crawl and the last, and a few between
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: float = HEIGHT - BOTTOM
    right: float = WIDTH - RIGHT


def _nice(top: int) -> int:
    """The axis top: the smallest of 1, 2, 5 x 10^n at or above ``top``."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= top:
                return m * step
        step *= 10


def trend(crawls: list[Crawl]) -> Chart | None:
    """The chart of a site's finished crawls (``crawls`` in any order); None when there is none."""
    done = sorted((c for c in crawls if c.state == "finished"), key=lambda c: c.created_at)
    if not done:
        return None
    top = _nice(max(max(c.outcome_count(o) for o in SERIES for c in done), 1))
    span_x, span_y = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (span_x / 2 if len(done) == 1 else span_x * i / (len(done) - 1))

    def y(value: int) -> float:
        return TOP + span_y * (1 - value / top)

    series = [Series(o, [Point(x(i), y(c.outcome_count(o)), c.outcome_count(o), c) for i, c in enumerate(done)])
              for o in SERIES]
    y_ticks = [(y(v), v) for v in sorted({0, top // 2, top})]
    return Chart(series, y_ticks, _x_ticks(done, x))


def _when(crawl: Crawl) -> dt.datetime:
    return dt.datetime.fromtimestamp(crawl.created_at, dt.UTC)


def _x_ticks(done: list[Crawl], x: Callable[[int], float]) -> list[Tick]:
    shown: list[int] = []
    for i in range(len(done)):
        if not shown or x(i) - x(shown[-1]) >= MIN_GAP:
            shown.append(i)
    last = len(done) - 1
    if shown[-1] != last:  # the newest crawl is always named, in place of a neighbour too close to it
        if x(last) - x(shown[-1]) < MIN_GAP and len(shown) > 1:
            shown.pop()
        shown.append(last)
    days = [_when(c).strftime("%Y-%m-%d") for c in done]
    minutes = [_when(c).strftime("%H:%M") for c in done]
    with_time = len(set(days)) < len(days)  # two crawls on one day: the date alone does not tell them apart
    clock = "%H:%M:%S" if len(set(zip(days, minutes, strict=True))) < len(days) else "%H:%M"  # or one minute
    return [Tick(x(i), done[i], (days[i], _when(done[i]).strftime(clock)) if with_time else (days[i],))
            for i in shown]
