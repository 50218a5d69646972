"""One checked link as every reader shows it, and the counts every reader shows.

``to_report`` is the one dict shape of a result: the API's lists (``/broken``, ``/diff``), ``linkpatrol
report``, ``linkpatrol check --format json``, the CSV exports (``csv_rows``, API and check) and the
report mail all read a result through it, so none of them drops a field the others show (a referrer's
#fragment, a result taken from the shared link cache).

``counts`` is the one place a report's numbers come from: each is a sum of the crawl record's
``outcome_*`` counters over one group of verdicts (``GROUPS``), the site's accepted links counted apart.
The report's tabs and the lists under them use the same groups (``web.reports.query.VIEW_OUTCOMES``),
so a tab's badge and its list cannot disagree; the API, the command line and the mail show the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from linkpatrol.model.records import Crawl
from linkpatrol.model.verdicts import FAILING, OTHER_OUTCOMES, Outcome
from linkpatrol.model.wire import LinkResult, Referrer
from linkpatrol.reports.accepted import InCrawl
from linkpatrol.reports.summary import iso

# The groups of verdicts a report counts and lists. "all": every stored row (the links checked and the
# missing anchors, each a row of its own).
GROUPS: dict[str, tuple[Outcome, ...]] = {
    "dead": (Outcome.DEAD,),
    "anchors": (Outcome.MISSING_ANCHOR,),
    "failing": FAILING,
    "other": OTHER_OUTCOMES,
    "all": tuple(Outcome),
}


def counts(crawl: Crawl, accepted: InCrawl | None = None) -> dict[str, int]:
    """Each group's count (``GROUPS``), the site's accepted links (``accepted``) left out of the problem
    groups and counted as "accepted"; "all" counts every row, accepted or not."""
    mine = accepted.outcome_counts(crawl) if accepted is not None else {o: crawl.outcome_count(o) for o in Outcome}
    out = {name: sum(mine[o] for o in outcomes) for name, outcomes in GROUPS.items() if name != "all"}
    out["all"] = sum(crawl.outcome_count(o) for o in Outcome)
    out["accepted"] = accepted.total if accepted is not None else 0
    return out


def referrer_report(ref: Referrer) -> dict[str, Any]:
    return {"page": ref.page, "text": ref.text, "element": ref.element, "fragment": ref.fragment,
            "line": ref.line or None}


def to_report(res: LinkResult) -> dict[str, Any]:
    """The one shape of a result: ``cached`` is ``{"crawl": id, "at": ISO time}`` for a result another
    crawl found (the shared link cache), else null."""
    cached = {"crawl": res.cached.crawl, "at": iso(res.cached.at)} if res.cached is not None else None
    return {
        "url": res.url,
        "outcome": str(res.outcome),
        "status": res.status,
        "error": res.error,
        "final_url": res.final_url,
        "redirects": res.redirects,
        "external": res.external,
        "referrer_count": res.referrer_count,
        "referrers": [referrer_report(ref) for ref in res.referrers],
        "cached": cached,
    }


# -- CSV ----------------------------------------------------------------------------------------------
# One line per (result, referring page); the API's export and ``linkpatrol check --format csv``.
CSV_COLUMNS = ("url", "outcome", "status", "error", "external", "referring_page", "anchor_text", "element", "line",
               "fragment", "cached_crawl", "cached_at")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text: anything that could start a formula is quoted
    with a leading apostrophe (the OWASP advice for CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_rows(res: LinkResult, refs: Iterable[Referrer | None] | None = None) -> list[list[Any]]:
    """The lines of ``res``: one per referrer (``refs``: those to list, by default all it carries; a
    result without any gets one line)."""
    shown = to_report(res)
    cached = shown["cached"] or {}
    base = [cell(shown["url"]), shown["outcome"], "" if shown["status"] is None else shown["status"],
            cell(shown["error"]), "yes" if shown["external"] else "no"]
    tail = [cached.get("crawl", ""), cached.get("at") or ""]
    listed: list[Referrer | None] = list(refs) if refs is not None else [*res.referrers] or [None]
    rows = []
    for ref in listed:
        if ref is None:
            rows.append([*base, "", "", "", "", "", *tail])
            continue
        r = referrer_report(ref)
        rows.append([*base, cell(r["page"]), cell(r["text"]), cell(r["element"]), r["line"] or "",
                     cell(r["fragment"]), *tail])
    return rows
