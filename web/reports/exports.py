"""CSV and JSON exports of a crawl's problem links (the one report shape of
``linkpatrol.reports.results``), safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from linkpatrol.model.verdicts import PROBLEM_OUTCOMES, Outcome
from linkpatrol.model.wire import LinkResult
from linkpatrol.reports.diff import CrawlDiff
from linkpatrol.reports.results import CSV_COLUMNS, csv_rows, to_report


def parse_outcomes(raw: str | None) -> tuple[Outcome, ...]:
    """``?outcome=``: one or more problem outcomes, comma-separated, or ``all``; dead by default."""
    if not raw:
        return (Outcome.DEAD,)
    if raw == "all":
        return PROBLEM_OUTCOMES
    wanted = tuple(o for o in PROBLEM_OUTCOMES if o in raw.split(","))
    if not wanted:
        raise ValueError(f"outcome must be one or more of {', '.join(PROBLEM_OUTCOMES)} or all")
    return wanted


def broken_json(results: list[LinkResult]) -> list[dict[str, Any]]:
    """The API's list of results: each in the one report shape (``linkpatrol.reports.results.to_report``)."""
    return [to_report(res) for res in results]


def diff_json(changes: CrawlDiff) -> dict[str, Any]:
    """``GET /api/crawls/<id>/diff``: the previous crawl's id (null: the site's first), the options
    that differ between the two crawls (in words; empty: like with like), and the new, fixed,
    still-there and not-checked-this-time problems, each as in ``broken_json``."""
    return {"previous": changes.previous.id if changes.previous else None,
            "option_changes": changes.option_changes,
            "new": broken_json(changes.new), "fixed": broken_json(changes.fixed), "still": broken_json(changes.still),
            "unchecked": broken_json(changes.unchecked)}


def diff_csv(changes: CrawlDiff) -> Iterator[str]:
    """``broken_csv`` with a first column ``change``: new, fixed, still or unchecked."""
    return _csv(changes.entries(), ("change",))


def broken_csv(results: list[LinkResult]) -> Iterator[str]:
    """One line per (broken url, referring page); a url without known referrers gets one line."""
    return _csv([("", r) for r in results], ())


def _csv(rows: list[tuple[str, LinkResult]], lead: tuple[str, ...]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)

    def flush() -> str:
        out = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return out

    writer.writerow(lead + CSV_COLUMNS)
    yield flush()
    for change, r in rows:
        writer.writerows([change] * len(lead) + line for line in csv_rows(r))
        yield flush()
