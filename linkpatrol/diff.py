"""What changed between an ended crawl and the previous finished crawl of the same site.

A problem is a (url, outcome) pair of a crawl's problem set (every ``verdicts.PROBLEM_OUTCOMES``).
Compared with the previous crawl, each is **new** (not there before), **still** there, or **fixed**
(there before, not now). A url whose outcome changed from one problem outcome to another (blocked,
then dead) is new in its new outcome and fixed in its old one.

Both problem sets are read with the store's batched reads (``CrawlStore.problems``: one SMEMBERS and
HMGETs of 5,000 urls); referrers are read, when asked for, only for the problems listed, in one
pipeline per crawl.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from linkpatrol.records import Crawl
from linkpatrol.verdicts import PROBLEM_OUTCOMES, Outcome
from linkpatrol.wire import LinkResult

if TYPE_CHECKING:
    from linkpatrol.store import CrawlStore

CHANGES = ("new", "fixed", "still")
# The outcomes a report mail and its subject call broken links.
BROKEN: tuple[Outcome, ...] = (Outcome.DEAD, Outcome.MISSING_ANCHOR)


@dataclass(frozen=True)
class CrawlDiff:
    """``new`` and ``still`` hold the crawl's results; ``fixed`` the previous crawl's (their old
    outcome, the pages that linked to them then). Each list is sorted by url. No previous crawl:
    every list is empty and ``previous`` is None (the crawl is the site's first)."""

    crawl: Crawl
    previous: Crawl | None
    new: list[LinkResult]
    fixed: list[LinkResult]
    still: list[LinkResult]

    def count(self, change: str, outcomes: Iterable[str] = PROBLEM_OUTCOMES) -> int:
        wanted = set(outcomes)
        return sum(1 for res in getattr(self, change) if res.outcome in wanted)

    @property
    def new_broken(self) -> int:
        """New dead links and missing anchors (the mail's subject)."""
        return self.count("new", BROKEN)

    @property
    def fixed_broken(self) -> int:
        return self.count("fixed", BROKEN)

    def by_outcome(self) -> dict[Outcome, dict[str, int]]:
        """For each problem outcome with any change or remainder: new, fixed and still counts."""
        table = {o: {c: self.count(c, (o,)) for c in CHANGES} for o in PROBLEM_OUTCOMES}
        return {o: row for o, row in table.items() if any(row.values())}

    def entries(self) -> list[tuple[str, LinkResult]]:
        """(change, result) for every problem: new first, then fixed, then still."""
        return [(change, res) for change in CHANGES for res in getattr(self, change)]


def diff(store: CrawlStore, crawl: Crawl, referrers: int | None = 0) -> CrawlDiff:
    """Compare ``crawl`` with ``store.previous_ended(crawl)``. ``referrers``: how many referrers each
    listed problem carries (0: none read; None: all kept)."""
    previous = store.previous_ended(crawl)
    if previous is None:
        return CrawlDiff(crawl, None, [], [], [])
    now = {(res.url, res.outcome): res for res in store.problems(crawl.id, PROBLEM_OUTCOMES, referrers=0)}
    before = {(res.url, res.outcome): res for res in store.problems(previous.id, PROBLEM_OUTCOMES, referrers=0)}
    new = [res for key, res in now.items() if key not in before]
    still = [res for key, res in now.items() if key in before]
    fixed = [res for key, res in before.items() if key not in now]
    if referrers != 0:
        _attach(store, crawl.id, new + still, referrers)
        _attach(store, previous.id, fixed, referrers)
    return CrawlDiff(crawl, previous, sorted(new, key=_key), sorted(fixed, key=_key), sorted(still, key=_key))


def _key(res: LinkResult) -> tuple[str, str]:
    return res.url, res.outcome


def _attach(store: CrawlStore, crawl_id: str, results: list[LinkResult], limit: int | None) -> None:
    for res, (count, refs) in zip(results, store.referrers(crawl_id, [r.url for r in results], limit), strict=True):
        res.referrer_count, res.referrers = count, refs
