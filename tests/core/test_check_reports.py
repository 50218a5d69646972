"""The reports of ``linkpatrol check`` (``linkpatrol.cli.check.reports``), read back as a CI system or a
person would: CSV with the csv module, the Markdown tables with a small parser, JUnit XML against the
common JUnit schema; by page (the default) and by target, one capped section per outcome. And the
``remap`` option that ``--site-url`` rests on."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from lxml import etree

from linkpatrol.cli.check.formats import MARKDOWN_OTHER_ROWS, TEXT_OTHER_ROWS, render
from linkpatrol.cli.check.reports import Display, Report, summary
from linkpatrol.model.option_values import MAX_REMAP
from linkpatrol.model.options import CrawlOptions, InvalidOption, parse_options
from linkpatrol.model.records import Crawl
from linkpatrol.model.rules import CrawlRules
from linkpatrol.model.verdicts import Outcome
from linkpatrol.model.wire import LinkResult, Referrer
from linkpatrol.reports.results import CSV_COLUMNS, cell, to_report

SCHEMA = Path(__file__).resolve().parents[1] / "support" / "junit.xsd"
LOCAL, SITE = "http://127.0.0.1:8123/docs/", "https://example.org/docs/"
HOSTILE = "=HYPERLINK(\"x\")|<script>alert(1)</script> *bold* [x](y) \x00 & more"


def crawl(**counters: int) -> Crawl:
    return Crawl.from_record({
        "id": "0123456789abcdef", "url": LOCAL, "host": "127.0.0.1:8123", "state": "finished",
        "options": CrawlOptions(remap={SITE: LOCAL}).validate().to_json(), "created_at": "1700000000.0",
        "started_at": "1700000001.0", "finished_at": "1700000003.5", **{k: str(v) for k, v in counters.items()},
    })


def ref(page: str, text: str = "", element: str = "a", line: int = 0) -> Referrer:
    return Referrer(page, text, element, "", line)


def report(fail_on: tuple[Outcome, ...] = (Outcome.DEAD,), **kwargs: object) -> Report:
    problems = [
        LinkResult(f"{LOCAL}gone.html", "dead", status=404, referrer_count=12,
                   referrers=[ref(f"{LOCAL}p{i}.html", f"Gone {i}", line=20 + i) for i in range(12)]),
        LinkResult("https://other.example.net/", "dead", error="dns", external=True,
                   referrers=[ref(LOCAL, HOSTILE, line=9)]),
        LinkResult(f"{LOCAL}moved", "dead", status=410, final_url=f"{LOCAL}moved/", redirects=[[f"{LOCAL}moved", 301]],
                   referrers=[ref(LOCAL, "", "img", line=4)]),
        LinkResult("https://forbidden.example.net/", "blocked", status=403, external=True, referrers=[ref(LOCAL, "F")]),
        LinkResult(f"{LOCAL}private/", "excluded", error="robots", referrers=[ref(LOCAL, "P")]),
    ]
    display = Display("http://127.0.0.1:8123/", "https://example.org/")
    ok = [LinkResult(LOCAL, "ok", status=200), LinkResult(f"{LOCAL}p1.html", "ok", status=200)]
    shown = [display.result(p) for p in problems]
    return Report(display.crawl(crawl(pages_crawled=13, links_checked=7, broken=3, outcome_ok=2, outcome_dead=3,
                                      outcome_blocked=1, outcome_excluded=1)),
                  shown, fail_on, sorted([*shown, *(display.result(r) for r in ok)], key=lambda r: r.url),
                  **kwargs)  # type: ignore[arg-type]


# -- URLs in production form --------------------------------------------------------------------------
def test_display_maps_every_url_of_a_result_to_production() -> None:
    display = Display("http://127.0.0.1:8123/", "https://example.org/")
    res = display.result(LinkResult(f"{LOCAL}moved", "dead", status=404, final_url=f"{LOCAL}new",
                                    redirects=[[f"{LOCAL}moved", 301]], referrers=[ref(f"{LOCAL}a.html")]))
    assert (res.url, res.final_url) == (f"{SITE}moved", f"{SITE}new")
    assert res.redirects == [[f"{SITE}moved", 301]] and res.referrers[0].page == f"{SITE}a.html"
    assert display.url("https://elsewhere.org/") == "https://elsewhere.org/"
    assert display.crawl(crawl()).url == SITE


def test_notes_name_the_users_urls() -> None:
    """The page over the per-page cap and a trap's prefix are noted in production form, in every format."""
    noted = crawl(links_over_cap=3, trap_held=2)
    noted.limits.update({"links_over_cap_page": f"{LOCAL}contents.html", "link_cap": "10",
                         "trap_under": f"{LOCAL}calendar/", "trap_kind": "repeat"})
    shown = Report(Display("http://127.0.0.1:8123/", "https://example.org/").crawl(noted), [], (Outcome.DEAD,))
    for fmt in ("text", "markdown", "json"):
        text = render(shown, fmt)
        assert f"page {SITE}contents.html had more than the per-page cap of 10" in text, fmt
        assert f"possible crawl trap under {SITE}calendar/" in text and "127.0.0.1" not in text.replace(
            '"http://127.0.0.1:8123/docs/"', ""), fmt  # the JSON's options keep the remap's local side


# -- text ---------------------------------------------------------------------------------------------
def text_sections(text: str) -> dict[str, str]:
    """The text report's sections: title (``Dead: 3 links on 13 pages``) -> its lines, the summaries
    left out."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("linkpatrol: "):
            current = None
        elif line and not line.startswith(" "):
            current = sections[line] = []
        elif current is not None:
            current.append(line)
    return {title: "\n".join(lines).strip("\n") + "\n" for title, lines in sections.items()}


def test_text_lists_each_page_with_its_broken_links_in_source_order() -> None:
    text = render(report(), "text")
    head = summary(report())
    assert text.startswith(head) and text.endswith("\n" + head)  # the summary first and last
    assert head.startswith("linkpatrol: FAILED - 3 dead links on https://example.org/docs/\n")
    assert "13 pages parsed, 7 links checked in 2.5s: 2 ok, 3 dead, 1 blocked, 1 excluded" in head
    sections = text_sections(text)
    assert list(sections) == ["Dead: 3 links on 13 pages", "Blocked: 1 link on 1 page", "Excluded: 1 link on 1 page"]
    dead, blocked, excluded = sections.values()
    home = dead.split(f"  {SITE}\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert home == [f"    line 4: {SITE}moved  HTTP 410 after 1 redirect  <img>",
                    f"    line 9: https://other.example.net/  dns (the host name does not resolve)  "
                    f'"{" ".join(HOSTILE.split())}"']
    assert f'\n  {SITE}p11.html\n    line 31: {SITE}gone.html  HTTP 404  "Gone 11"\n' in dead
    assert "forbidden.example.net" not in dead and "line 0" not in text  # an unknown line is left out
    assert [line.strip() for line in blocked.splitlines()] == [SITE, 'https://forbidden.example.net/  HTTP 403  "F"']
    assert "robots (robots.txt forbids the check)" in excluded


def test_text_by_target_lists_each_target_with_its_referrers() -> None:
    text = render(report(group_by="target"), "text")
    assert text.startswith(summary(report())) and text.endswith(summary(report()))
    block = text.split(f"\n  {SITE}gone.html\n", 1)[1].split("\n\n", 1)[0]
    assert block.splitlines()[0] == "    HTTP 404"
    assert f'    <- {SITE}p0.html "Gone 0" (line 20)' in block and "... and 2 more pages" in block
    assert "dns (the host name does not resolve)" in text
    assert "HTTP 410 after 1 redirect" in text and f"<- {SITE} <img> (line 4)" in text
    failing, other = text.split("\nBlocked: 1 link on 1 page\n")
    assert "forbidden.example.net" in other and "forbidden.example.net" not in failing
    assert summary(report(fail_on=(Outcome.EXCLUDED,))).startswith(
        "linkpatrol: FAILED - 1 excluded link on")
    passed = Report(crawl(), [], (Outcome.DEAD,))
    assert summary(passed).startswith(f"linkpatrol: passed - no dead links on {LOCAL}")


# -- JSON ---------------------------------------------------------------------------------------------
def test_json_has_the_apis_shapes() -> None:
    data = json.loads(render(report(elapsed=7.25), "json"))
    assert set(data) == {"crawl", "fail_on", "failed", "passed", "wall_seconds", "problems", "accepted", "pages"}
    assert data["fail_on"] == ["dead"] and data["failed"] == 3 and data["passed"] is False
    assert data["wall_seconds"] == 7.25  # the command's time; the crawl's own is duration_seconds
    # web/serializers.crawl_json's fields, less the web app's links
    assert set(data["crawl"]) == {
        "id", "url", "state", "origin", "pages_crawled", "links_checked", "dead", "broken", "created_at", "started_at",
        "finished_at", "duration_seconds", "options", "outcomes", "status_classes", "redirected", "checks",
        "retries", "errors", "stop_reasons", "held_back", "server_time"}
    assert data["crawl"]["url"] == SITE and data["crawl"]["duration_seconds"] == 2.5
    assert data["crawl"]["started_at"] == "2023-11-14T22:13:21.000Z"
    first = data["problems"][0]
    assert set(first) == set(to_report(LinkResult("u", "dead")))  # the one shape: the API's, the CLI's
    assert first["referrers"][0] == {"page": f"{SITE}p0.html", "text": "Gone 0", "element": "a", "fragment": "",
                                     "line": 20}
    assert [p["url"] for p in data["problems"]][:1] == [f"{SITE}gone.html"]
    assert first["referrer_count"] == 12 and len(first["referrers"]) == 12
    # the same problems by page: every page once, its links in the order of its source
    pages = {p["page"]: p["links"] for p in data["pages"]}
    assert list(pages) == sorted(pages) and len(pages) == 13
    assert [(link["line"], link["url"], link["outcome"]) for link in pages[SITE]] == [
        (4, f"{SITE}moved", "dead"), (9, "https://other.example.net/", "dead"),  # then unknown lines, by URL
        (None, f"{SITE}private/", "excluded"), (None, "https://forbidden.example.net/", "blocked")]
    assert pages[f"{SITE}p3.html"] == [{"url": f"{SITE}gone.html", "outcome": "dead", "status": 404, "error": None,
                                         "line": 23, "text": "Gone 3", "element": "a"}]


# -- CSV ----------------------------------------------------------------------------------------------
def test_csv_has_the_api_exports_columns_and_escapes_formulas() -> None:
    for value in (HOSTILE, "+1", "-x", "@SUM(A1)", "%0A", "\tx"):
        assert cell(value) == "'" + value
    assert (cell("plain"), cell(None), cell(404)) == ("plain", "", "404")
    rows = list(csv.DictReader(io.StringIO(render(report(), "csv"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    gone = [r for r in rows if r["url"] == f"{SITE}gone.html"]
    assert len(gone) == 12 and gone[0]["status"] == "404" and gone[0]["referring_page"] == f"{SITE}p0.html"
    hostile = next(r for r in rows if r["url"] == "https://other.example.net/")
    assert hostile["anchor_text"] == "'" + HOSTILE and hostile["error"] == "dns" and hostile["external"] == "yes"
    assert {r["outcome"] for r in rows} == {"dead", "blocked", "excluded"}
    # by page (the default) the lines follow the pages and their sources; by target, the URLs
    assert [(r["referring_page"], r["line"]) for r in rows][:4] == [(SITE, "4"), (SITE, "9"), (SITE, ""), (SITE, "")]
    by_target = list(csv.DictReader(io.StringIO(render(report(group_by="target"), "csv"))))
    assert [r["url"] for r in by_target] == sorted(r["url"] for r in rows) and len(by_target) == len(rows)


# -- Markdown -----------------------------------------------------------------------------------------
def markdown_tables(text: str) -> list[list[list[str]]]:
    """Every table as rows of cells, the separator row left out, escapes undone, autolinks unwrapped."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if all(re.fullmatch(r"-+:?", c) for c in cells):
            continue
        cells = [re.sub(r"<(https?://[^>]*)>", r"\1", c) for c in cells]
        cells = [re.sub(r"\\(.)", r"\1", c) for c in cells]
        if current is None:
            current = []
            tables.append(current)
        current.append(cells)
    return tables


def markdown_sections(text: str) -> dict[str, tuple[list[list[str]], str]]:
    """Each ``###`` section: its heading -> its table's rows (header first) and the text after it."""
    sections = {}
    for chunk in text.split("\n### ")[1:]:
        heading, body = chunk.split("\n", 1)
        [table] = markdown_tables(body)
        sections[re.sub(r"\\(.)", r"\1", heading)] = (table, body.rsplit("|\n", 1)[1].strip())
    return sections


def page_rows(table: list[list[str]]) -> list[list[str]]:
    """A by-page table's rows with the page filled in where the report shows it only on a page's first row."""
    assert table[0] == ["Page", "Line", "Link", "Result", "Text"]
    rows, page = [], ""
    for row in table[1:]:
        page = row[0] or page
        rows.append([page, *row[1:]])
    return rows


def test_markdown_lists_each_page_with_its_broken_links() -> None:
    text = render(report(), "markdown")
    assert text.startswith("## linkpatrol: 3 dead links\n")
    sections = markdown_sections(text)
    assert list(sections) == ["Dead: 3 links on 13 pages", "Blocked: 1 link on 1 page", "Excluded: 1 link on 1 page"]
    dead = page_rows(sections["Dead: 3 links on 13 pages"][0])
    assert dead[:3] == [[SITE, "4", f"{SITE}moved", "HTTP 410 after 1 redirect", "<img>"],
                        [SITE, "9", "https://other.example.net/", "dns (the host name does not resolve)",
                         f'"{" ".join(HOSTILE.split())}"'],
                        [f"{SITE}p0.html", "20", f"{SITE}gone.html", "HTTP 404", '"Gone 0"']]
    assert len(dead) == 14 and sections["Dead: 3 links on 13 pages"][1] == ""  # nothing left out
    assert page_rows(sections["Blocked: 1 link on 1 page"][0]) == [
        [SITE, "", "https://forbidden.example.net/", "HTTP 403", '"F"']]


def test_markdown_tables_read_back_by_target() -> None:
    text = render(report(group_by="target"), "markdown")
    assert text.startswith("## linkpatrol: 3 dead links\n")
    counts, failing, blocked, excluded = markdown_tables(text)
    row = dict(zip(counts[0], counts[1], strict=True))
    assert row["Pages"] == "13" and row["Links"] == "7" and row["Dead"] == "3" and row["Seconds"] == "2.5"
    assert failing[0] == ["Link", "Result", "Linked from"]
    by_url = {r[0]: r for r in failing[1:]}
    assert set(by_url) == {f"{SITE}gone.html", "https://other.example.net/", f"{SITE}moved"}
    assert by_url[f"{SITE}gone.html"][1] == "HTTP 404"
    assert f'{SITE}p9.html "Gone 9"' in by_url[f"{SITE}gone.html"][2] and "and 2 more" in by_url[f"{SITE}gone.html"][2]
    hostile = by_url["https://other.example.net/"][2]
    assert " ".join(HOSTILE.split()) in hostile  # every character escaped, nothing lost (white space folded)
    assert "<script>" not in text and "\\<script\\>" in text
    assert [r[0] for r in blocked[1:]] == ["https://forbidden.example.net/"]
    assert [r[0] for r in excluded[1:]] == [f"{SITE}private/"]
    assert "### Dead" not in render(Report(crawl(), [], (Outcome.DEAD,)), "markdown")


# -- one section per outcome --------------------------------------------------------------------------
def crowded(group_by: str) -> Report:
    """What a user found on a real site: 526 file: canonical links and 4 missing anchors."""
    unsupported = [LinkResult(f"file:///build/html/page{i:03}.html", "unsupported", error="unsupported-scheme",
                              referrers=[ref(f"{SITE}page{i:03}.html", "", "link", line=5)]) for i in range(526)]
    anchors = [LinkResult(f"{SITE}guide.html#part{i}", "missing_anchor", error="missing_anchor",
                          referrers=[ref(f"{SITE}index.html", f"Part {i}", line=30 + i)]) for i in range(4)]
    return Report(crawl(pages_crawled=527, links_checked=1000, outcome_ok=470, outcome_unsupported=526,
                        outcome_missing_anchor=4),
                  sorted([*unsupported, *anchors], key=lambda r: r.url), (Outcome.DEAD,), group_by=group_by)


@pytest.mark.parametrize("group_by", ["page", "target"])
def test_no_outcome_is_cut_by_another(group_by: str) -> None:
    md_sections = markdown_sections(render(crowded(group_by), "markdown"))
    assert list(md_sections) == ["Missing anchor: 4 links on 1 page", "Unsupported: 526 links on 526 pages"]
    anchors, after = md_sections["Missing anchor: 4 links on 1 page"]
    assert len(anchors) == 1 + 4 and after == ""
    unsupported, after = md_sections["Unsupported: 526 links on 526 pages"]
    assert len(unsupported) == 1 + MARKDOWN_OTHER_ROWS
    left = 526 - MARKDOWN_OTHER_ROWS
    assert after == (f"... and {left} more on {left} pages (--format csv or json lists them all)" if group_by == "page"
                     else f"... and {left} more links (--format csv or json lists them all)")
    text = render(crowded(group_by), "text")
    sections = text_sections(text)
    assert list(sections) == ["Missing anchor: 4 links on 1 page", "Unsupported: 526 links on 526 pages"]
    assert sections["Missing anchor: 4 links on 1 page"].count("guide.html#part") == 4
    unsupported_text = sections["Unsupported: 526 links on 526 pages"]
    assert unsupported_text.count("file:///build/html/") == TEXT_OTHER_ROWS
    assert unsupported_text.rstrip().endswith(f"... and {526 - TEXT_OTHER_ROWS} more " + (
        f"on {526 - TEXT_OTHER_ROWS} pages (--format csv or json lists them all)" if group_by == "page"
        else "links (--format csv or json lists them all)"))
    assert text.endswith(summary(crowded(group_by)))  # the summary last, after 200 lines


# -- JUnit --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def junit_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def test_junit_by_page_has_a_suite_per_page(junit_schema: etree.XMLSchema) -> None:
    doc = etree.fromstring(render(report(elapsed=9.8765, started_at=1700000000.0), "junit").encode())
    junit_schema.assertValid(doc)
    suites = doc.findall("testsuite")
    names = [s.get("name") for s in suites]
    assert names[:2] == [SITE, f"{SITE}p0.html"] and names[-1] == f"linkpatrol {SITE}: links that work"
    assert len(suites) == 13 + 1
    home = suites[0]
    assert [(c.get("name"), c.get("file"), c.get("line")) for c in home.findall("testcase")] == [
        (f"{SITE}moved", SITE, "4"), ("https://other.example.net/", SITE, "9"), (f"{SITE}private/", SITE, None),
        ("https://forbidden.example.net/", SITE, None)]
    assert home.get("tests") == "4" and home.get("failures") == "2" and home.get("skipped") == "1"
    failure = doc.find(f"testsuite[@name='{SITE}p3.html']/testcase/failure")
    assert failure is not None and failure.get("message") == f'dead: HTTP 404; "Gone 3" (line 23) on {SITE}p3.html'
    working = suites[-1].findall("testcase")
    assert [c.get("name") for c in working] == [SITE, f"{SITE}p1.html"] and working[0].find("*") is None
    # every link on every page a test, every ok target one: the totals add up
    assert doc.get("tests") == str(12 + 2 + 2 + 2) and doc.get("failures") == str(12 + 2)
    assert doc.get("failures") == str(sum(int(s.get("failures", "0")) for s in suites))
    assert doc.get("time") == "9.877"  # the check's wall time, not the crawl's 2.5 s
    assert home.get("timestamp") == "2023-11-14T22:13:20"  # when the check started


def test_junit_is_valid_and_counts_right(junit_schema: etree.XMLSchema) -> None:
    xml = render(report(group_by="target"), "junit")
    doc = etree.fromstring(xml.encode())
    junit_schema.assertValid(doc)
    suite = doc.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == 7 and suite.get("tests") == doc.get("tests") == "7"
    assert suite.get("failures") == str(len(suite.findall("testcase/failure"))) == "3"
    assert suite.get("skipped") == str(len(suite.findall("testcase/skipped"))) == "1"
    assert suite.get("errors") == "0" and suite.get("time") == "2.500"
    failure = suite.find(f"testcase[@name='{SITE}gone.html']/failure")
    assert failure is not None and failure.get("type") == "dead"
    assert failure.get("message", "").startswith(f'dead: HTTP 404; linked from {SITE}p0.html "Gone 0"')
    assert failure.get("message", "").endswith("and 9 more") and f'{SITE}p11.html "Gone 11"' in (failure.text or "")
    hostile = suite.find("testcase[@name='https://other.example.net/']/failure")
    assert hostile is not None and "\ufffd" in hostile.get("message", "") and "<script>" in hostile.get("message", "")
    blocked = suite.find("testcase[@name='https://forbidden.example.net/']")
    assert blocked is not None and blocked.find("failure") is None and blocked.findtext("system-out") == \
        "blocked: HTTP 403"
    assert {c.get("classname") for c in cases} == {"example.org", "other.example.net", "forbidden.example.net"}


def test_junit_fail_on_changes_what_fails(junit_schema: etree.XMLSchema) -> None:
    for group_by, failures in (("target", 5), ("page", 16)):
        doc = etree.fromstring(render(report(fail_on=(Outcome.DEAD, Outcome.BLOCKED, Outcome.EXCLUDED),
                                             group_by=group_by), "junit").encode())
        junit_schema.assertValid(doc)
        assert doc.get("failures") == str(failures) and doc.get("skipped") == "0"
    passed = etree.fromstring(render(Report(crawl(), [], (Outcome.DEAD,)), "junit").encode())
    junit_schema.assertValid(passed)  # nothing checked but a passing run: one suite, no test
    assert passed.get("tests") == "0" and len(passed.findall("testsuite")) == 1


def test_the_schema_refuses_what_it_should(junit_schema: etree.XMLSchema) -> None:
    assert not junit_schema.validate(etree.fromstring(b'<testsuites><testsuite tests="x" name="a"/></testsuites>'))
    assert not junit_schema.validate(etree.fromstring(
        b'<testsuites><testsuite tests="1" name="a"><testcase name="t"><failure/><skipped/></testcase>'
        b"</testsuite></testsuites>"))
    assert not junit_schema.validate(etree.fromstring(b'<testsuites><testsuite name="a"/></testsuites>'))


# -- the remap option ---------------------------------------------------------------------------------
def test_remap_maps_the_longest_prefix() -> None:
    options = parse_options({"remap": {"https://Example.org/docs/": LOCAL, "https://example.org/": "http://127.0.0.1:9/"}})
    assert options.remap == {SITE: LOCAL, "https://example.org/": "http://127.0.0.1:9/"}
    rules = CrawlRules.from_options(options, "127.0.0.1:8123")
    assert rules.remap(f"{SITE}a/b.html?x=1") == f"{LOCAL}a/b.html?x=1"
    assert rules.remap("https://example.org/docs") == LOCAL
    assert rules.remap("https://example.org/blog/") == "http://127.0.0.1:9/blog/"
    assert rules.remap("https://example.org.evil/docs/") == "https://example.org.evil/docs/"
    assert rules.remap("http://example.org/docs/") == "http://example.org/docs/"
    assert CrawlRules.from_options(CrawlOptions(), "x").remap(f"{SITE}a") == f"{SITE}a"


@pytest.mark.parametrize("value", [
    "https://example.org/",
    {"ftp://example.org/": LOCAL},
    {SITE: "not a url"},
    {SITE: 3},
    {f"{SITE}#top": LOCAL},
    {f"https://example.org/{i}/": LOCAL for i in range(MAX_REMAP + 1)},
])
def test_bad_remap_names_the_field(value: object) -> None:
    with pytest.raises(InvalidOption) as exc:
        parse_options({"remap": value})
    assert exc.value.field == "remap"


def test_the_form_does_not_need_remap() -> None:
    assert parse_options({"max_pages": ""}, form=True).remap == {}
    assert "remap" in CrawlOptions().to_dict() and CrawlOptions.from_json('{"max_pages": 3}').remap == {}


# -- a site that cannot be reached (exit code 3) ------------------------------------------------------
def test_the_words_for_a_start_page_that_cannot_be_reached() -> None:
    from linkpatrol.cli.check.runner import unreachable

    assert unreachable(LinkResult(SITE, "dead", error="refused")) == "the server refused the connection"
    assert unreachable(LinkResult(SITE, "dead", error="dns", redirects=[[SITE, 301]])) == \
        "the host name does not resolve (after 1 redirect)"
    assert unreachable(LinkResult(SITE, "blocked", status=403)) == "it answered HTTP 403: the server refuses us"
    assert unreachable(LinkResult(SITE, "rate_limited", status=429)).startswith("it answered HTTP 429")
    assert unreachable(LinkResult(SITE, "dead", status=404)) == ""  # the site answered: a dead link, exit 1
    assert unreachable(LinkResult(SITE, "ok", status=200)) == ""
