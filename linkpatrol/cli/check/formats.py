"""How a check's report is written: ``text`` for a CI log, ``json`` (the API's shapes), ``csv`` (the
API's export columns), ``markdown`` (a pull-request comment, GitHub's job summary) and ``junit`` (the
test reports CI systems read), each from the one ``Report`` (``linkpatrol.cli.check.reports``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any

from linkpatrol.cli.check.reports import (
    ALL_OF_THEM,
    LISTED_REFERRERS,
    Report,
    accepted_title,
    cut,
    link_text,
    page_name,
    referrer_text,
    summary,
    verdict,
)
from linkpatrol.model.urls import host_of
from linkpatrol.model.verdicts import Outcome
from linkpatrol.model.wire import LinkResult, Referrer
from linkpatrol.reports.by_page import Place, by_page
from linkpatrol.reports.results import CSV_COLUMNS, csv_rows, to_report
from linkpatrol.reports.summary import crawl_summary

FORMATS = ("text", "json", "csv", "markdown", "junit")
# Rows (by page: a link on a page; by target: a target) per outcome section, for an outcome that fails
# the run and for another. The Markdown ones keep the worst case under GitHub's 1 MB job summary.
TEXT_ROWS, TEXT_OTHER_ROWS = 1000, 100
MARKDOWN_ROWS, MARKDOWN_OTHER_ROWS = 500, 100
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def render(report: Report, fmt: str) -> str:
    return RENDERERS[fmt](report)


# -- text ---------------------------------------------------------------------------------------------
def text_report(report: Report) -> str:
    """The summary, a section per outcome, and the summary again: the last lines of a long CI log are
    the ones people read."""
    out = [summary(report)]
    for section in report.sections:
        out.append(f"\n{section.title()}\n")
        pages, targets, more = cut(section, report.group_by, TEXT_ROWS if section.failing else TEXT_OTHER_ROWS)
        for page, places in pages:
            out.append(f"\n  {page_name(page)}\n")
            out.extend(f"    {_text_place(place)}\n" for place in places)
        for res in targets:
            out.append(f"\n  {res.url}\n    {verdict(res)}\n")
            out.extend(f"    <- {ref.page} {referrer_text(ref)}\n" for ref in res.referrers[:LISTED_REFERRERS])
            unlisted = max(res.referrer_count, len(res.referrers)) - LISTED_REFERRERS
            if unlisted > 0:
                out.append(f"    <- ... and {unlisted:,} more pages\n")
            if not res.referrers and res.url == report.crawl.url:
                out.append("    (the start page)\n")
        if more:
            out.append(f"\n  {more}\n")
        if section.unkept and report.group_by == "page":
            out.append(f"\n  (and {section.unkept:,} more pages with these links: past the pages the crawl keeps "
                       "per link, LINKPATROL_MAX_REFERRERS)\n")
    if report.accepted:
        out.append(f"\n{accepted_title(report)}\n\n")
        out.extend(f"  {res.url}  {verdict(res)}\n" for res in report.accepted[:TEXT_OTHER_ROWS])
        if len(report.accepted) > TEXT_OTHER_ROWS:
            out.append(f"  ... and {len(report.accepted) - TEXT_OTHER_ROWS:,} more ({ALL_OF_THEM})\n")
    if report.problems or report.accepted:
        out.append("\n" + summary(report))
    return "".join(out)


def _text_place(place: Place) -> str:
    """``line 10: https://example.org/gone.html  HTTP 404  "Anchor text"``."""
    what = f"{place.result.url}  {verdict(place.result)}"
    if place.ref is None:
        return what
    return f"{f'line {place.line}: ' if place.line else ''}{what}  {link_text(place.ref)}"


# -- JSON ---------------------------------------------------------------------------------------------
def json_report(report: Report) -> str:
    seconds = report.seconds
    data = {
        "crawl": crawl_summary(report.crawl),
        "fail_on": [str(o) for o in report.fail_on],
        "failed": len(report.failing),
        "passed": report.passed,
        "wall_seconds": round(seconds, 3) if seconds is not None else None,  # the command's, start to end
        "problems": [to_report(res) for res in report.problems],  # the API's /broken shape
        "accepted": [to_report(res) for res in report.accepted],  # the site's accepted links: never failing
        "pages": [{"page": page or None, "links": [_json_place(p) for p in places]}
                  for page, places in by_page(report.problems)],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _json_place(place: Place) -> dict[str, Any]:
    res, ref = place.result, place.ref
    return {"url": res.url, "outcome": str(res.outcome), "status": res.status, "error": res.error,
            "line": place.line or None, "text": ref.text if ref else None, "element": ref.element if ref else None}


# -- CSV ----------------------------------------------------------------------------------------------
def csv_report(report: Report) -> str:
    """The API export's lines (``linkpatrol.reports.results.csv_rows``); by page they are sorted by page
    and line, by target by URL."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    if report.group_by == "page":
        places = [place for _, group in by_page(report.problems) for place in group]
        for place in places:
            writer.writerows(csv_rows(place.result, [place.ref]))
    else:
        for res in sorted(report.problems, key=lambda res: res.url):
            writer.writerows(csv_rows(res))
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
    crawl, seconds = report.crawl, report.seconds
    status = (f"{len(report.failing):,} {report.failing_label} link{'s' if len(report.failing) > 1 else ''}"
              if report.failing else f"passed: no {report.failing_label} links")
    out = [f"## linkpatrol: {md(status)}\n\n", f"Checked {md_url(crawl.url)}\n\n"]
    head = ["Pages", "Links", *(o.label for o in Outcome), "Seconds"]
    counts = report.outcome_counts
    values = [f"{crawl.pages_crawled:,}", f"{crawl.links_checked:,}",
              *(f"{counts[o]:,}" for o in Outcome), f"{seconds:.1f}" if seconds is not None else ""]
    out.append(_row(head) + "|" + "---:|" * len(head) + "\n" + _row(values))
    out.extend(f"\nNote: {md(reason)}\n" for reason in crawl.stop_reasons)
    for section in report.sections:
        out.append(f"\n### {md(section.title())}\n\n")
        pages, targets, more = cut(section, report.group_by,
                                    MARKDOWN_ROWS if section.failing else MARKDOWN_OTHER_ROWS)
        if report.group_by == "page":
            out.append(_row(["Page", "Line", "Link", "Result", "Text"]) + "|---|---:|---|---|---|\n")
        else:
            out.append(_row(["Link", "Result", "Linked from"]) + "|---|---|---|\n")
        for page, places in pages:
            for i, place in enumerate(places):  # the page once, on its first row
                out.append(_row([md_url(page_name(page)) if i == 0 else "", str(place.line or ""),
                                 md_url(place.result.url), md(verdict(place.result)),
                                 md(link_text(place.ref)) if place.ref else ""]))
        for res in targets:
            refs = [f"{md_url(ref.page)} {md(referrer_text(ref))}" for ref in res.referrers[:LISTED_REFERRERS]]
            unlisted = max(res.referrer_count, len(res.referrers)) - LISTED_REFERRERS
            if unlisted > 0:
                refs.append(f"and {unlisted:,} more")
            out.append(_row([md_url(res.url), md(verdict(res)), "<br>".join(refs)]))
        if more:
            out.append(f"\n{md(more)}\n")
    if report.accepted:
        out.append(f"\n### {md(accepted_title(report))}\n\n" + _row(["Link", "Result"]) + "|---|---|\n")
        out.extend(_row([md_url(res.url), md(verdict(res))]) for res in report.accepted[:MARKDOWN_OTHER_ROWS])
        if len(report.accepted) > MARKDOWN_OTHER_ROWS:
            out.append(f"\n{md(f'... and {len(report.accepted) - MARKDOWN_OTHER_ROWS:,} more ({ALL_OF_THEM})')}\n")
    return "".join(out)


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |\n"


# -- JUnit XML ----------------------------------------------------------------------------------------
def xml_text(text: Any) -> str:
    """Text XML 1.0 may hold (a control character in an anchor text would make the file unreadable)."""
    return _NOT_XML.sub("\ufffd", str(text))


def junit_report(report: Report) -> str:
    """By target: one test case per checked target, named by its URL, grouped by host. By page: a test
    suite per page holding problems, a test case per problem link on it (``file`` the page, ``line``
    the line), then a suite of the links that work. A failure for each problem ``--fail-on`` names
    (the verdict and where in its message), ``skipped`` for the targets not checked on purpose
    (excluded, unsupported), a pass for the rest. ``time`` is the check's wall time."""
    seconds = report.seconds
    started = report.started_at or report.crawl.started_at or report.generated_at
    root = ET.Element("testsuites", {"name": "linkpatrol"})
    if report.group_by == "page":
        for page, places in by_page(report.problems):
            suite = _suite(root, page_name(page), started)
            for place in places:
                _case(suite, report, place.result, page_name(place.page), place.ref)
        ok = [r for r in report.results if r.outcome == Outcome.OK]
        if ok or not report.problems:
            suite = _suite(root, f"linkpatrol {report.crawl.url}: links that work", started)
            for res in ok:
                _case(suite, report, res, host_of(res.url) or "links", None)
        if report.accepted:
            suite = _suite(root, f"linkpatrol {report.crawl.url}: accepted links", started)
            for res in report.accepted:
                _case(suite, report, res, host_of(res.url) or "links", None)
    else:
        problems = {p.url: p for p in report.problems}
        results = sorted((problems.get(r.url, r) for r in report.results), key=lambda r: r.url) or report.problems
        suite = _suite(root, f"linkpatrol {report.crawl.url}", started)
        for res in results:
            _case(suite, report, res, host_of(res.url) or "links", None)
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in root:
        counts = {"tests": len(suite), "failures": len(suite.findall("testcase/failure")), "errors": 0,
                  "skipped": len(suite.findall("testcase/skipped"))}
        suite.attrib.update({k: str(v) for k, v in counts.items()})
        totals = {k: totals[k] + counts[k] for k in totals}
    root.attrib.update({k: str(v) for k, v in totals.items()})
    root.set("time", f"{seconds or 0.0:.3f}")
    if len(root) == 1:  # one suite: it took the whole time
        root[0].set("time", root.get("time", "0"))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _suite(root: ET.Element, name: str, started: float) -> ET.Element:
    return ET.SubElement(root, "testsuite", {
        "name": xml_text(name), "tests": "0", "time": "0",
        "timestamp": dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "hostname": xml_text(socket.gethostname()),
    })


def _case(suite: ET.Element, report: Report, res: LinkResult, classname: str, ref: Referrer | None) -> None:
    """The test case of a target, or of a link on a page (``ref``: where)."""
    attrs = {"classname": xml_text(classname), "name": xml_text(res.url), "time": "0"}
    if ref is not None:
        attrs["file"] = xml_text(ref.page)
        if ref.line:
            attrs["line"] = str(ref.line)
    case = ET.SubElement(suite, "testcase", attrs)
    what = f"{res.outcome}: {verdict(res)}"
    if res.url in report.accepted_urls:
        ET.SubElement(case, "skipped", {"message": xml_text(f"accepted by the site's owner: {what}")})
    elif res.outcome in report.fail_on:
        if ref is not None:
            where = f"{referrer_text(ref)} on {ref.page}"
            message, details = f"{what}; {where}", [what, where]
        else:
            refs = res.referrers
            pages = ", ".join(f"{r.page} {referrer_text(r)}" for r in refs[:3])
            more = max(res.referrer_count, len(refs)) - 3
            message = what + (f"; linked from {pages}" if pages else "") + (f" and {more} more" if more > 0 else "")
            details = [what, *(["linked from:"] if refs else []), *(f"  {r.page} {referrer_text(r)}" for r in refs)]
        failure = ET.SubElement(case, "failure", {"message": xml_text(message), "type": str(res.outcome)})
        failure.text = xml_text("\n".join(details))
    elif res.outcome in (Outcome.EXCLUDED, Outcome.UNSUPPORTED):
        ET.SubElement(case, "skipped", {"message": xml_text(what)})
    elif res.outcome != Outcome.OK:
        ET.SubElement(case, "system-out").text = xml_text(what)


RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": text_report,
    "json": json_report,
    "csv": csv_report,
    "markdown": markdown_report,
    "junit": junit_report,
}
