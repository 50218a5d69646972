"""What changed between an ended crawl and the previous finished crawl of the same site.

A problem is a (url, outcome) pair of a crawl's problem set (every ``verdicts.PROBLEM_OUTCOMES``).
Compared with the previous crawl, each of this crawl's problems is **new** (not there before) or
**still** there. Each of the previous crawl's problems that is not there now is one of:

- **fixed**: this crawl checked the url and found it working (ok, or alive but over the size cap), or
  read again every page that linked to it and found the link gone from them (``CrawlDiff.removed``
  says which). A missing anchor is fixed when its page was read again with its fragments checked.
- **unchecked** ("not checked this time"): this crawl has no verdict on it: its options left it out
  (links to other sites not checked, a new exclude pattern, robots.txt), it was cut by a limit, or the
  pages that linked to it were not read again. Never counted as fixed, so a crawl with narrower
  options does not report thousands of fixes, and ``notify_when: changes`` does not mail them.
- neither, when the url now has another problem outcome that is not working (blocked, then dead): it
  is new in that outcome, and its old one is not fixed, since the link still does not work.

An **accepted** link (``linkpatrol.reports.accepted``: one the site owner knows is broken) is left out of both
crawls' problems before they are compared: it is neither new nor fixed, whatever it did; the crawl's
accepted problems are in ``CrawlDiff.accepted``, read once, for the counts every reader shows.

``CrawlDiff.option_changes`` names, in plain words, the options that differ between the two crawls and
decide what is checked (``COMPARED``), so a reader knows when like is not compared with like.

Both problem sets are read with the store's batched reads (``CrawlStore.problems``: one SMEMBERS and
HMGETs of 5,000 urls); the results this crawl has for the previous problems it does not share, and for
the pages that linked to them, are read in one pipeline of HMGETs; referrers only for what is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from linkpatrol.model.option_values import duration_text
from linkpatrol.model.records import Crawl
from linkpatrol.model.verdicts import FAILING, PROBLEM_OUTCOMES, Outcome
from linkpatrol.model.wire import LinkResult
from linkpatrol.reports.accepted import AcceptedLinks, InCrawl

if TYPE_CHECKING:
    from linkpatrol.store.crawls import CrawlStore

CHANGES = ("new", "fixed", "still", "unchecked")
CHANGE_LABELS = {"new": "new", "fixed": "fixed", "still": "still there", "unchecked": "not checked this time"}
# Alive: a previous problem with one of these outcomes now is fixed.
WORKING = (Outcome.OK, Outcome.WARNING)
# Not fetched: a previous problem with one of these outcomes now was not checked this time.
NOT_FETCHED = (Outcome.EXCLUDED, Outcome.UNSUPPORTED)
BATCH = 5000
REFERRERS_READ = 20  # previous referrers looked at to decide that a link was removed


def _flag(yes: str, no: str) -> Callable[[Any], str]:
    return lambda value: yes if value else no


def _listed(empty: str) -> Callable[[Any], str]:
    return lambda value: ", ".join(str(v) for v in value) if value else empty


def _number(unit: str, fmt: Callable[[int], str] = "{:,}".format) -> Callable[[Any], str]:
    return lambda value: f"{fmt(int(value))}{unit}" if value not in (None, "") else "the crawlers' default"


FRAGMENT_WORDS = {"site": "on the site's pages", "all": "on every page", "none": "never"}
# The options that decide what a crawl checks and how it judges it: (name, words, how a value reads).
COMPARED: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("check_external", "links to other sites", _flag("checked", "not checked")),
    ("respect_robots", "robots.txt", _flag("obeyed", "ignored")),
    ("exclude", "exclude patterns", _listed("none")),
    ("same_site", "hosts also part of the site", _listed("none")),
    ("subdomains", "subdomains", _flag("part of the site", "not part of the site")),
    ("accept", "statuses also taken as alive", _listed("2xx only")),
    ("header_names", "request headers", _listed("none")),
    ("check_fragments", "#fragments checked", lambda value: FRAGMENT_WORDS.get(value, str(value))),
    ("sitemaps", "sitemaps", _flag("read", "not read")),
    ("max_pages", "page budget", _number(" pages")),
    ("max_depth", "depth limit", _number("")),
    ("max_duration", "time limit", _number("", duration_text)),
    ("max_page_size", "largest page read", _number(" MB")),
    ("remap", "remapped URL prefixes", lambda value: ", ".join(f"{k} -> {v}" for k, v in value.items())
     if value else "none"),
)
LIMITS = ("max_pages", "max_depth", "max_duration")  # filled in from the crawlers' defaults when a crawl starts


def _option(crawl: Crawl, name: str) -> Any:
    value = getattr(crawl.options, name)
    if value is None and name in LIMITS and crawl.limits.get(name):
        return int(crawl.limits[name])
    if isinstance(value, list):
        return sorted(value)
    return value


def option_changes(before: Crawl, now: Crawl) -> list[str]:
    """``links to other sites: checked before, not checked now``: one phrase per compared option whose
    value differs between the two crawls."""
    out = []
    for name, words, shown in COMPARED:
        old, new = _option(before, name), _option(now, name)
        if old != new:
            out.append(f"{words}: {shown(old)} before, {shown(new)} now")
    return out


@dataclass(frozen=True)
class CrawlDiff:
    """``new`` and ``still`` hold the crawl's results; ``fixed`` and ``unchecked`` the previous crawl's
    (their old outcome, the pages that linked to them then). Each list is sorted by url. No previous
    crawl: every list is empty and ``previous`` is None (the crawl is the site's first).
    ``option_changes``: the compared options that differ, in words (empty: like with like).
    ``removed``: the (url, outcome) pairs of ``fixed`` that were fixed by taking the link away.
    ``accepted``: the site's accepted links among the crawl's problems (in no other list)."""

    crawl: Crawl
    previous: Crawl | None
    new: list[LinkResult]
    fixed: list[LinkResult]
    still: list[LinkResult]
    unchecked: list[LinkResult] = field(default_factory=list)
    option_changes: list[str] = field(default_factory=list)
    removed: frozenset[tuple[str, str]] = frozenset()
    accepted: InCrawl = field(default_factory=lambda: InCrawl(None))

    def count(self, change: str, outcomes: Iterable[str] = PROBLEM_OUTCOMES) -> int:
        wanted = set(outcomes)
        return sum(1 for res in getattr(self, change) if res.outcome in wanted)

    @property
    def new_failing(self) -> int:
        """New dead links and missing anchors (the mail's subject)."""
        return self.count("new", FAILING)

    @property
    def fixed_failing(self) -> int:
        """Dead links and missing anchors this crawl found working or gone (never the unchecked ones)."""
        return self.count("fixed", FAILING)

    @property
    def unchecked_failing(self) -> int:
        return self.count("unchecked", FAILING)

    @property
    def like_with_like(self) -> bool:
        return not self.option_changes

    @property
    def caveat(self) -> str:
        """One sentence for a mail or a message when the comparison is not like with like ("" when it
        is): which options changed, and how many broken links were not checked this time."""
        parts = []
        if self.option_changes:
            parts.append("The options differ from the previous crawl's (" + "; ".join(self.option_changes) + ").")
        if self.unchecked_failing:
            n = self.unchecked_failing
            parts.append(f"{n:,} dead link{'s' if n != 1 else ''} or missing anchor{'s' if n != 1 else ''} of the "
                         "previous crawl were not checked this time: not counted as fixed.")
        return " ".join(parts)

    def by_outcome(self) -> dict[Outcome, dict[str, int]]:
        """For each problem outcome with any change or remainder: new, fixed, still and unchecked counts."""
        table = {o: {c: self.count(c, (o,)) for c in CHANGES} for o in PROBLEM_OUTCOMES}
        return {o: row for o, row in table.items() if any(row.values())}

    def entries(self) -> list[tuple[str, LinkResult]]:
        """(change, result) for every problem: new first, then fixed, still and unchecked."""
        return [(change, res) for change in CHANGES for res in getattr(self, change)]


def diff(store: CrawlStore, crawl: Crawl, referrers: int | None = 0) -> CrawlDiff:
    """Compare ``crawl`` with ``store.previous_ended(crawl)``. ``referrers``: how many referrers each
    listed problem carries (0: none read; None: all kept)."""
    accepted = AcceptedLinks(store).in_crawl(crawl)
    previous = store.previous_ended(crawl)
    if previous is None:
        return CrawlDiff(crawl, None, [], [], [], accepted=accepted)
    known = accepted.entries  # accepted links: neither new nor fixed, whatever they did
    now = {(res.url, res.outcome): res for res in store.problems(crawl.id, PROBLEM_OUTCOMES, referrers=0)
           if res.url not in known}
    before = {(res.url, res.outcome): res for res in store.problems(previous.id, PROBLEM_OUTCOMES, referrers=0)
              if res.url not in known}
    new = [res for key, res in now.items() if key not in before]
    still = [res for key, res in now.items() if key in before]
    gone = [res for key, res in before.items() if key not in now]
    fixed, unchecked, removed = _settle(store, crawl, previous, gone)
    if referrers != 0:
        _attach(store, crawl.id, new + still, referrers)
        _attach(store, previous.id, fixed + unchecked, referrers)
    return CrawlDiff(crawl, previous, sorted(new, key=_key), sorted(fixed, key=_key), sorted(still, key=_key),
                     sorted(unchecked, key=_key), option_changes(previous, crawl), frozenset(removed), accepted)


def _settle(store: CrawlStore, crawl: Crawl, previous: Crawl, gone: list[LinkResult]
            ) -> tuple[list[LinkResult], list[LinkResult], list[tuple[str, str]]]:
    """Split the previous problems this crawl does not share into fixed and unchecked (and those that
    are neither: another problem now); also the (url, outcome) pairs fixed by removing the link."""
    if not gone:
        return [], [], []
    pages = {res.url.partition("#")[0] for res in gone if res.outcome == Outcome.MISSING_ANCHOR}
    results = _results(store, crawl.id, [res.url for res in gone] + sorted(pages))
    fixed: list[LinkResult] = []
    unchecked: list[LinkResult] = []
    undecided: list[LinkResult] = []  # no verdict on the url itself: was the link taken away?
    for res in gone:
        current = results.get(res.url)
        if current is not None:
            if current.outcome in WORKING:
                fixed.append(res)
            elif current.outcome in NOT_FETCHED:
                unchecked.append(res)
            # else: another problem now, listed as new in it; the old one is not fixed
        elif res.outcome == Outcome.MISSING_ANCHOR and _anchors_read(crawl, results.get(res.url.partition("#")[0])):
            fixed.append(res)  # its page was read for its ids: the anchor is there, or nobody asks for it
        elif _would_check(crawl, res):
            undecided.append(res)
        else:
            unchecked.append(res)
    removed = []
    if undecided:
        refs = store.referrers(previous.id, [res.url for res in undecided], REFERRERS_READ)
        linking = {ref.page for _, kept in refs for ref in kept}
        read_again = _results(store, crawl.id, sorted(linking))
        for res, (_, kept) in zip(undecided, refs, strict=True):
            pages_read = [read_again.get(ref.page) for ref in kept]
            if kept and all(page is not None and page.outcome in WORKING for page in pages_read):
                fixed.append(res)
                removed.append((res.url, str(res.outcome)))
            else:
                unchecked.append(res)
    return fixed, unchecked, removed


def _would_check(crawl: Crawl, res: LinkResult) -> bool:
    """Whether the crawl's options let it check this url at all (a link to another site with
    ``check_external`` off is never recorded, so its absence says nothing)."""
    if res.external and not crawl.options.check_external:
        return False
    return not (res.outcome == Outcome.MISSING_ANCHOR and crawl.options.check_fragments == "none")


def _anchors_read(crawl: Crawl, page: LinkResult | None) -> bool:
    if page is None or page.outcome not in WORKING:
        return False
    mode = crawl.options.check_fragments
    return mode == "all" or (mode == "site" and not page.external)


def _results(store: CrawlStore, crawl_id: str, urls: list[str]) -> dict[str, LinkResult]:
    """This crawl's results for ``urls`` (those it has), in one pipeline of HMGETs."""
    if not urls:
        return {}
    pipe = store.r.pipeline(transaction=False)
    for start in range(0, len(urls), BATCH):  # no single call grows with the crawl
        pipe.hmget(store.keys.urls(crawl_id), urls[start:start + BATCH])
    raws = [raw for chunk in pipe.execute() for raw in chunk]
    return {url: LinkResult.from_json(url, raw) for url, raw in zip(urls, raws, strict=True) if raw}


def _key(res: LinkResult) -> tuple[str, str]:
    return res.url, res.outcome


def _attach(store: CrawlStore, crawl_id: str, results: list[LinkResult], limit: int | None) -> None:
    for res, (count, refs) in zip(results, store.referrers(crawl_id, [r.url for r in results], limit), strict=True):
        res.referrer_count, res.referrers = count, refs
