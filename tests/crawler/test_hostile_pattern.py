"""A crawl's ``exclude`` pattern that backtracks (``(a+)+$`` against ``/`` and 32 ``a``s then ``!``)
stalls no crawler: patterns run on RE2, in linear time. With Python's ``re`` this pattern held the GIL
for hours: both crawlers stopped heartbeating, reaped each other's leases and an unrelated crawl froze.
Two real crawler processes; the hostile crawl runs beside an unrelated one, whose progress is sampled."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis

from linkpatrol.model.options import parse_options
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import list_crawlers
from tests.support.processes import CrawlerProcess, SiteServer, wait_for
from tests.support.sites import patterns

Factory = Callable[..., CrawlerProcess]
# The longest the unrelated crawl's counters may stand still while it runs. Generous for a loaded
# machine: a stalled crawler stands still for hours.
STALL = 10.0
DEADLINE = 120.0


@dataclass(frozen=True)
class Sample:
    at: float
    hostile_active: bool
    other_active: bool
    other_checked: int
    crawlers: int


@pytest.fixture(scope="module")
def sites() -> Iterator[SiteServer]:
    server = SiteServer("patterns")
    yield server
    server.stop()


def test_a_backtracking_pattern_stalls_no_crawl(store: CrawlStore, rclient: redis.Redis, crawlers: Factory,
                                                 sites: SiteServer) -> None:
    procs = [crawlers(), crawlers()]
    wait_for(lambda: len(list_crawlers(rclient, Keys())) == 2, 60, what="both crawlers registered")
    started = time.monotonic()
    hostile = store.create(sites.url("hostile"), parse_options({"exclude": [patterns.HOSTILE_PATTERN]}))
    other = store.create(sites.url("other"))

    samples: list[Sample] = []
    while not samples or samples[-1].hostile_active or samples[-1].other_active:
        assert time.monotonic() - started < DEADLINE, f"the crawls did not end within {DEADLINE} s: {samples[-1]}"
        h, o = store.require(hostile.id), store.require(other.id)
        samples.append(Sample(time.monotonic(), h.is_active, o.is_active, o.links_checked,
                              len(list_crawlers(rclient, Keys()))))
        time.sleep(0.2)

    # Both crawls finished, the hostile one with the pattern applied: the 32 a's and ! do not match
    # it (the link was checked: 404), a path ending in a's does (excluded, never requested).
    h, o = store.require(hostile.id), store.require(other.id)
    assert (h.state, o.state) == ("finished", "finished")
    assert o.links_checked == patterns.generated.expected_urls(patterns.OTHER_PAGES)
    checked = store.result(hostile.id, sites.url("hostile", patterns.HOSTILE_PATH))
    assert checked is not None and (checked.outcome, checked.status) == ("dead", 404)
    excluded = store.result(hostile.id, sites.url("hostile", patterns.excluded_path(0)))
    assert excluded is not None and (excluded.outcome, excluded.error) == ("excluded", "excluded-by-rule")
    assert h.counters.get("outcome_excluded") == patterns.PAGES
    hits = sites.hits("hostile")
    assert f"GET {patterns.HOSTILE_PATH}" in hits and not any(k.endswith("a" * 32) for k in hits)

    # The two crawls ran together, and the unrelated one never stood still while it ran.
    together = [s for s in samples if s.hostile_active and s.other_active]
    assert len(together) >= 3, "the crawls did not overlap: make the sites slower"
    running = [s for s in samples if s.other_active]
    last_change, longest, previous = running[0].at, 0.0, running[0].other_checked
    for s in running[1:]:
        if s.other_checked != previous:
            last_change, previous = s.at, s.other_checked
        longest = max(longest, s.at - last_change)
    assert longest < STALL, f"the unrelated crawl stood still for {longest:.1f} s"
    # Both crawlers kept their heartbeat (none reaped the other) and stop on SIGTERM.
    assert all(s.crawlers == 2 for s in samples), [s.crawlers for s in samples]
    for proc in procs:
        assert "stopped answering" not in proc.output()
        assert proc.stop(timeout=15) == 0, proc.output()[-2000:]
