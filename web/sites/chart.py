"""The site page's trend chart, drawn on the server: coordinates for an inline SVG (no script, so the
page's Content-Security-Policy holds), one polyline and one point per finished crawl for each of the
dead, missing-anchor and blocked counts, oldest crawl on the left."""

from __future__ import annotations

from dataclasses import dataclass

from linkpatrol.records import Crawl
from linkpatrol.verdicts import Outcome

SERIES = (Outcome.DEAD, Outcome.MISSING_ANCHOR, Outcome.BLOCKED)
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 40  # room for the axis labels


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
class Chart:
    series: list[Series]
    y_ticks: list[tuple[float, int]]  # (y, count)
    x_ticks: list[tuple[float, Crawl]]  # (x, crawl): the first and the last, and a few between
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
    every = max(1, -(-len(done) // 5))
    x_ticks = [(x(i), c) for i, c in enumerate(done) if i % every == 0 or i == len(done) - 1]
    y_ticks = [(y(v), v) for v in sorted({0, top // 2, top})]
    return Chart(series, y_ticks, x_ticks)
