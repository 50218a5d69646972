"""What the report of ``linkpatrol check`` holds, and the words its formats share (the formats themselves:
``linkpatrol.cli.check.formats``). Every format says the same thing: the check's counts and its problems,
one section per outcome (the outcomes ``--fail-on`` names first), so that 526 unsupported links
cannot push 4 missing anchors out of a capped table; each section has its own cap and says how many it
left out.

Problems are listed by page (``--group-by page``, the default: each page that holds broken links, the
line of each link in its source, the fix list a site owner works through) or by target (``--group-by
target``: each broken URL once, with the pages that link to it). The JSON report holds both.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from functools import cached_property

from linkpatrol import durations
from linkpatrol.model.records import Crawl
from linkpatrol.model.verdicts import ErrorKind, Outcome
from linkpatrol.model.wire import LinkResult, Referrer
from linkpatrol.reports.by_page import Place, by_page

GROUPINGS = ("page", "target")  # --group-by: the first is the default
ALL_OF_THEM = "--format csv or json lists them all"
LISTED_REFERRERS = 10  # per target in the by-target text and Markdown reports; the JSON and CSV have them all
_ERROR_KINDS = frozenset(str(kind) for kind in ErrorKind)


@dataclass(frozen=True)
class Display:
    """How reports spell a URL: the checked copy's prefix (``http://127.0.0.1:PORT/``) replaced by the
    address people know (``https://example.org/``), so that a CI log points at the real site."""

    local: str = ""
    shown: str = ""

    def url(self, url: str) -> str:
        if self.local and url.startswith(self.local):
            return self.shown + url[len(self.local):]
        return url

    def result(self, res: LinkResult) -> LinkResult:
        return replace(
            res,
            url=self.url(res.url),
            final_url=self.url(res.final_url) if res.final_url else res.final_url,
            redirects=[[self.url(str(hop[0])), *hop[1:]] for hop in res.redirects],
            referrers=[replace(ref, page=self.url(ref.page)) for ref in res.referrers],
        )

    def crawl(self, crawl: Crawl) -> Crawl:
        """The crawl's URL and the URLs its notes name (the page over the per-page cap, a trap's prefix)."""
        return replace(crawl, url=self.url(crawl.url), limits={k: self.url(v) for k, v in crawl.limits.items()})


@dataclass
class Report:
    """One finished check, every URL already in the form reports show."""

    crawl: Crawl
    problems: list[LinkResult]  # every outcome but ok, sorted by url, with their referrers
    fail_on: tuple[Outcome, ...]
    results: list[LinkResult] = field(default_factory=list)  # every checked target: the JUnit report's
    generated_at: float = field(default_factory=time.time)
    group_by: str = GROUPINGS[0]
    started_at: float | None = None  # epoch seconds the check started (the command, not the crawl)
    elapsed: float | None = None  # seconds from the command's start to its report: what the user waited
    # Problems the site owner accepted (``linkpatrol.reports.accepted``): listed apart, in no count, never failing.
    accepted: list[LinkResult] = field(default_factory=list)

    @property
    def seconds(self) -> float | None:
        """The check's wall time; the crawl's own duration for a report made without one."""
        return self.elapsed if self.elapsed is not None else self.crawl.duration

    @property
    def outcome_counts(self) -> dict[str, int]:
        """The crawl's counts by outcome, the accepted links left out (they are counted apart)."""
        counts = self.crawl.outcome_counts
        for res in self.accepted:
            counts[str(res.outcome)] = max(0, counts.get(str(res.outcome), 0) - 1)
        return counts

    @property
    def accepted_urls(self) -> frozenset[str]:
        return frozenset(res.url for res in self.accepted)

    @property
    def failing(self) -> list[LinkResult]:
        return [p for p in self.problems if p.outcome in self.fail_on]

    @property
    def not_failing(self) -> list[LinkResult]:
        return [p for p in self.problems if p.outcome not in self.fail_on]

    @property
    def passed(self) -> bool:
        return not self.failing

    @property
    def failing_label(self) -> str:
        """``dead``, or ``failing (dead, blocked)`` when more outcomes fail the run."""
        names = [str(o) for o in self.fail_on]
        return names[0] if len(names) == 1 else f"failing ({', '.join(names)})"

    @property
    def sections(self) -> list[Section]:
        """One section per outcome found: those that fail the run first, then the others, each in the
        order of ``Outcome``."""
        order = [*self.fail_on, *(o for o in Outcome if o.is_problem and o not in self.fail_on)]
        found: dict[str, list[LinkResult]] = {}
        for res in self.problems:
            found.setdefault(str(res.outcome), []).append(res)
        return [Section(o, found[o], o in self.fail_on) for o in order if o in found]


@dataclass(frozen=True)
class Section:
    """The problems of one outcome."""

    outcome: Outcome
    results: list[LinkResult]  # sorted by url
    failing: bool  # --fail-on names the outcome

    @cached_property
    def pages(self) -> list[tuple[str, list[Place]]]:
        return by_page(self.results)

    @property
    def unkept(self) -> int:
        """Referring pages beyond those the crawl keeps per target (LINKPATROL_MAX_REFERRERS)."""
        return sum(max(0, r.referrer_count - len(r.referrers)) for r in self.results)

    def title(self) -> str:
        """``Dead: 5 links on 3 pages``."""
        links, pages = len(self.results), len([page for page, _ in self.pages if page])
        on = f" on {pages:,} page{'s' if pages != 1 else ''}" if pages else ""
        return f"{self.outcome.label}: {links:,} link{'s' if links != 1 else ''}{on}"


def cut(section: Section, group_by: str, cap: int) -> tuple[list[tuple[str, list[Place]]], list[LinkResult], str]:
    """What a capped section shows (pages and their places by page, targets by target) and the line
    that says how much it left out ("" when nothing)."""
    if group_by == "target":
        more = len(section.results) - cap
        return [], section.results[:cap], f"... and {more:,} more links ({ALL_OF_THEM})" if more > 0 else ""
    shown: list[tuple[str, list[Place]]] = []
    left, hidden, hidden_pages = cap, 0, 0
    for page, places in section.pages:
        if left > 0:
            shown.append((page, places[:left]))
        cut = len(places) - max(left, 0)
        if cut > 0:
            hidden, hidden_pages = hidden + cut, hidden_pages + 1
        left -= len(places)
    if not hidden:
        return shown, [], ""
    return shown, [], (f"... and {hidden:,} more on {hidden_pages:,} page{'s' if hidden_pages != 1 else ''} "
                       f"({ALL_OF_THEM})")


# -- words shared by the formats ----------------------------------------------------------------------
def verdict(res: LinkResult) -> str:
    """``HTTP 404``, ``dns (the host name does not resolve)``, with the redirects when there were."""
    if res.status is not None:
        text = f"HTTP {res.status}"
    elif res.error in _ERROR_KINDS:
        text = f"{res.error} ({ErrorKind(res.error).message})"
    else:
        text = res.error or str(res.outcome)
    if res.redirects:
        text += f" after {len(res.redirects)} redirect{'s' if len(res.redirects) > 1 else ''}"
    return text


def link_text(ref: Referrer) -> str:
    """``"Anchor text"``, or the element when the link has no text (``<img>``)."""
    text = " ".join(ref.text.split())
    return f'"{text}"' if text else f"<{ref.element or 'a'}>"


def referrer_text(ref: Referrer) -> str:
    """The link's text, then the line of the page's source the link is on, when known."""
    return link_text(ref) + (f" (line {ref.line})" if ref.line else "")


def accepted_title(report: Report) -> str:
    n = len(report.accepted)
    return f"Accepted (known, not counted, never failing): {n:,} link{'s' if n != 1 else ''}"


def page_name(page: str) -> str:
    return page or "(no page links to it: the start URL)"


def counts_line(report: Report) -> str:
    crawl, seconds = report.crawl, report.seconds
    counts = ", ".join([*(f"{n:,} {o}" for o, n in report.outcome_counts.items() if n),
                        *([f"{len(report.accepted):,} accepted"] if report.accepted else [])])
    took = f" in {durations.describe(seconds)}" if seconds is not None else ""
    return (f"{crawl.pages_crawled:,} pages parsed, {crawl.links_checked:,} links checked{took}"
            + (f": {counts}" if counts else ""))


def summary(report: Report) -> str:
    """Two lines for a terminal or a CI log: passed or failed, and the counts; then the notes."""
    crawl, failing = report.crawl, len(report.failing)
    if failing:
        links = "links" if failing > 1 else "link"
        head = f"linkpatrol: FAILED - {failing:,} {report.failing_label} {links} on {crawl.url}"
    else:
        head = f"linkpatrol: passed - no {report.failing_label} links on {crawl.url}"
    # Why the crawl stopped early or left urls out (a page budget, a trap...): a CI log says it too.
    held = "".join(f"  note: {reason}\n" for reason in crawl.stop_reasons)
    return f"{head}\n  {counts_line(report)}\n{held}"
