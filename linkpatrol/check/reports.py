"""The reports of ``linkpatrol check``: ``text`` for a CI log, ``json`` (the API's shapes), ``csv`` (the
API's export columns), ``markdown`` (a pull-request comment, GitHub's job summary) and ``junit`` (the
test reports CI systems read). Every format says the same thing: the crawl's counts and its problems,
each target once with the pages that link to it; ``--fail-on`` decides which of them fail the run.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from linkpatrol.records import Crawl
from linkpatrol.summary import crawl_summary
from linkpatrol.urls import host_of
from linkpatrol.verdicts import OTHER_LABEL, ErrorKind, Outcome
from linkpatrol.wire import LinkResult, Referrer

FORMATS = ("text", "json", "csv", "markdown", "junit")
# The columns of the API's CSV export (web/reports/exports.py; tests/core/test_check_reports.py holds
# them equal), one line per (problem, referring page).
CSV_COLUMNS = ("url", "outcome", "status", "error", "external", "referring_page", "anchor_text", "element", "line")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
LISTED_REFERRERS = 10  # per target in the text and Markdown reports; the JSON and CSV have them all
MARKDOWN_ROWS = 500  # targets per Markdown table: GitHub's job summary takes 1 MB
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
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
        return replace(crawl, url=self.url(crawl.url))


@dataclass
class Report:
    """One finished check, every URL already in the form reports show."""

    crawl: Crawl
    problems: list[LinkResult]  # every outcome but ok, sorted by url, with their referrers
    fail_on: tuple[Outcome, ...]
    results: list[LinkResult] = field(default_factory=list)  # every checked target: the JUnit report's
    generated_at: float = field(default_factory=time.time)

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


def referrer_text(ref: Referrer) -> str:
    """``"Anchor text"``, or the element when the link has no text (``<img>``); then the line of the
    page's source the link is on, when known."""
    text = " ".join(ref.text.split())
    where = f" (line {ref.line})" if ref.line else ""
    return (f'"{text}"' if text else f"<{ref.element or 'a'}>") + where


def counts_line(crawl: Crawl) -> str:
    counts = ", ".join(f"{n:,} {o}" for o, n in crawl.outcome_counts.items() if n)
    seconds = f" in {crawl.duration:.1f} s" if crawl.duration is not None else ""
    return (f"{crawl.pages_crawled:,} pages parsed, {crawl.links_checked:,} links checked{seconds}"
            + (f": {counts}" if counts else ""))


def summary(report: Report) -> str:
    """Two lines for a terminal or a CI log: passed or failed, and the counts."""
    crawl, failing = report.crawl, len(report.failing)
    if failing:
        links = "links" if failing > 1 else "link"
        head = f"linkpatrol: FAILED - {failing:,} {report.failing_label} {links} on {crawl.url}"
    else:
        head = f"linkpatrol: passed - no {report.failing_label} links on {crawl.url}"
    # Why the crawl stopped early or left urls out (a page budget, a trap...): a CI log says it too.
    held = "".join(f"  note: {reason}\n" for reason in crawl.stop_reasons)
    return f"{head}\n  {counts_line(crawl)}\n{held}"


def render(report: Report, fmt: str) -> str:
    return RENDERERS[fmt](report)


# -- text ---------------------------------------------------------------------------------------------
def text_report(report: Report) -> str:
    out = [summary(report)]
    for title, group in ((f"{report.failing_label.capitalize()}", report.failing), (OTHER_LABEL, report.not_failing)):
        if not group:
            continue
        out.append(f"\n{title}: {len(group):,} link{'s' if len(group) > 1 else ''}\n")
        for res in group:
            out.append(f"\n  {res.url}\n    {res.outcome}: {verdict(res)}\n")
            out.extend(f"    <- {ref.page} {referrer_text(ref)}\n" for ref in res.referrers[:LISTED_REFERRERS])
            more = max(res.referrer_count, len(res.referrers)) - LISTED_REFERRERS
            if more > 0:
                out.append(f"    <- ... and {more:,} more pages\n")
            if not res.referrers:
                out.append("    (the start page)\n" if res.url == report.crawl.url else "")
    return "".join(out)


# -- JSON ---------------------------------------------------------------------------------------------
def json_report(report: Report) -> str:
    data = {
        "crawl": crawl_summary(report.crawl),
        "fail_on": [str(o) for o in report.fail_on],
        "failed": len(report.failing),
        "passed": report.passed,
        "problems": [res.to_report() for res in report.problems],  # the API's /broken shape
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# -- CSV ----------------------------------------------------------------------------------------------
def cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: one that could start a formula gets a leading
    apostrophe (the OWASP advice against CSV injection), as in the API's export."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_report(report: Report) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for res in report.problems:
        base = [cell(res.url), res.outcome, res.status if res.status is not None else "", cell(res.error),
                "yes" if res.external else "no"]
        refs: list[Referrer | None] = [*res.referrers] or [None]
        for ref in refs:
            extra = [cell(ref.page), cell(ref.text), cell(ref.element), ref.line or ""] if ref else ["", "", "", ""]
            writer.writerow(base + extra)
    return buf.getvalue()


# -- Markdown -----------------------------------------------------------------------------------------
def md(text: str) -> str:
    """Text in a Markdown table cell: every character Markdown or a table could read escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def md_url(url: str) -> str:
    """A link people can click (an autolink) when the URL allows one, else the escaped text."""
    if url.startswith(("http://", "https://")) and not re.search(r"[\s<>|\\`]", url):
        return f"<{url}>"
    return md(url)


def markdown_report(report: Report) -> str:
    crawl = report.crawl
    status = (f"{len(report.failing):,} {report.failing_label} link{'s' if len(report.failing) > 1 else ''}"
              if report.failing else f"passed: no {report.failing_label} links")
    out = [f"## linkpatrol: {md(status)}\n\n", f"Checked {md_url(crawl.url)}\n\n"]
    head = ["Pages", "Links", *(o.label for o in Outcome), "Seconds"]
    values = [f"{crawl.pages_crawled:,}", f"{crawl.links_checked:,}",
              *(f"{crawl.outcome_count(o):,}" for o in Outcome),
              f"{crawl.duration:.1f}" if crawl.duration is not None else ""]
    out.append(_row(head) + "|" + "---:|" * len(head) + "\n" + _row(values))
    for title, group in ((report.failing_label.capitalize(), report.failing), (OTHER_LABEL, report.not_failing)):
        if not group:
            continue
        out.append(f"\n### {md(title)} ({len(group):,})\n\n")
        out.append(_row(["Link", "Result", "Linked from"]) + "|---|---|---|\n")
        for res in group[:MARKDOWN_ROWS]:
            refs = [f"{md_url(ref.page)} {md(referrer_text(ref))}" for ref in res.referrers[:LISTED_REFERRERS]]
            more = max(res.referrer_count, len(res.referrers)) - LISTED_REFERRERS
            if more > 0:
                refs.append(f"and {more:,} more")
            out.append(_row([md_url(res.url), md(f"{res.outcome}: {verdict(res)}"), "<br>".join(refs)]))
        if len(group) > MARKDOWN_ROWS:
            out.append(f"\n{len(group) - MARKDOWN_ROWS:,} more: see the JSON or CSV report.\n")
    return "".join(out)


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |\n"


# -- JUnit XML ----------------------------------------------------------------------------------------
def xml_text(text: Any) -> str:
    """Text XML 1.0 may hold (a control character in an anchor text would make the file unreadable)."""
    return _NOT_XML.sub("\ufffd", str(text))


def junit_report(report: Report) -> str:
    """One test case per checked target, named by its URL, grouped by host: a failure for each problem
    ``--fail-on`` names (the verdict and the referring pages in its message), ``skipped`` for the
    targets not checked on purpose (excluded, unsupported), a pass for the rest."""
    problems = {p.url: p for p in report.problems}
    results = sorted((problems.get(r.url, r) for r in report.results), key=lambda r: r.url) or report.problems
    crawl = report.crawl
    failures = sum(1 for r in results if r.outcome in report.fail_on)
    skipped = sum(1 for r in results if r.outcome not in report.fail_on
                  and r.outcome in (Outcome.EXCLUDED, Outcome.UNSUPPORTED))
    seconds = f"{crawl.duration or 0.0:.3f}"
    counts = {"tests": str(len(results)), "failures": str(failures), "errors": "0", "skipped": str(skipped),
              "time": seconds}
    root = ET.Element("testsuites", {"name": "linkpatrol", **counts})
    suite = ET.SubElement(root, "testsuite", {
        "name": xml_text(f"linkpatrol {crawl.url}"), **counts,
        "timestamp": dt.datetime.fromtimestamp(crawl.started_at or report.generated_at, dt.UTC)
        .strftime("%Y-%m-%dT%H:%M:%S"),
        "hostname": xml_text(socket.gethostname()),
    })
    for res in results:
        case = ET.SubElement(suite, "testcase", {"classname": xml_text(host_of(res.url) or "links"),
                                                 "name": xml_text(res.url), "time": "0"})
        what = f"{res.outcome}: {verdict(res)}"
        refs = res.referrers
        if res.outcome in report.fail_on:
            pages = ", ".join(f"{ref.page} {referrer_text(ref)}" for ref in refs[:3])
            more = max(res.referrer_count, len(refs)) - 3
            message = what + (f"; linked from {pages}" if pages else "") + (f" and {more} more" if more > 0 else "")
            failure = ET.SubElement(case, "failure", {"message": xml_text(message), "type": str(res.outcome)})
            lines = [what, *(["linked from:"] if refs else []), *(f"  {ref.page} {referrer_text(ref)}" for ref in refs)]
            failure.text = xml_text("\n".join(lines))
        elif res.outcome in (Outcome.EXCLUDED, Outcome.UNSUPPORTED):
            ET.SubElement(case, "skipped", {"message": xml_text(what)})
        elif res.outcome != Outcome.OK:
            ET.SubElement(case, "system-out").text = xml_text(what)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": text_report,
    "json": json_report,
    "csv": csv_report,
    "markdown": markdown_report,
    "junit": junit_report,
}
