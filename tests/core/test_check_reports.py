"""The reports of ``linkpatrol check`` (``linkpatrol.check.reports``), read back as a CI system or a
person would: CSV with the csv module, the Markdown tables with a small parser, JUnit XML against the
common JUnit schema. And the ``remap`` option that ``--site-url`` rests on."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from lxml import etree

from linkpatrol.check.reports import CSV_COLUMNS, Display, Report, cell, render, summary
from linkpatrol.records import MAX_REMAP, Crawl, CrawlOptions, InvalidOption, parse_options
from linkpatrol.rules import CrawlRules
from linkpatrol.verdicts import Outcome
from linkpatrol.wire import LinkResult, Referrer

SCHEMA = Path(__file__).resolve().parents[1] / "support" / "junit.xsd"
LOCAL, SITE = "http://127.0.0.1:8123/docs/", "https://example.org/docs/"
HOSTILE = "=HYPERLINK(\"x\")|<script>alert(1)</script> *bold* [x](y) \x00 & more"


def crawl(**counters: int) -> Crawl:
    return Crawl.from_record({
        "id": "0123456789abcdef", "url": LOCAL, "host": "127.0.0.1:8123", "state": "finished",
        "options": CrawlOptions(remap={SITE: LOCAL}).validate().to_json(), "created_at": "1700000000.0",
        "started_at": "1700000001.0", "finished_at": "1700000003.5", **{k: str(v) for k, v in counters.items()},
    })


def ref(page: str, text: str = "", element: str = "a") -> Referrer:
    return Referrer(page, text, element, "")


def report(fail_on: tuple[Outcome, ...] = (Outcome.DEAD,), **kwargs: object) -> Report:
    problems = [
        LinkResult(f"{LOCAL}gone.html", "dead", status=404, referrer_count=12,
                   referrers=[ref(f"{LOCAL}p{i}.html", f"Gone {i}") for i in range(12)]),
        LinkResult("https://other.example.net/", "dead", error="dns", external=True,
                   referrers=[ref(LOCAL, HOSTILE)]),
        LinkResult(f"{LOCAL}moved", "dead", status=410, final_url=f"{LOCAL}moved/", redirects=[[f"{LOCAL}moved", 301]],
                   referrers=[ref(LOCAL, "", "img")]),
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


# -- text ---------------------------------------------------------------------------------------------
def test_text_groups_problems_by_target_with_their_referrers() -> None:
    text = render(report(), "text")
    assert text.startswith("linkpatrol: FAILED - 3 dead links on https://example.org/docs/\n")
    assert "13 pages parsed, 7 links checked in 2.5 s: 2 ok, 3 dead, 1 blocked, 1 excluded" in text
    block = text.split(f"\n  {SITE}gone.html\n", 1)[1].split("\n\n", 1)[0]
    assert block.splitlines()[0] == "    dead: HTTP 404"
    assert f'    <- {SITE}p0.html "Gone 0"' in block and "... and 2 more pages" in block
    assert "dns (the host name does not resolve)" in text
    assert "HTTP 410 after 1 redirect" in text and f"<- {SITE} <img>" in text
    failing, other = text.split("Warnings, blocked, rate-limited or not checked: 2 links")
    assert "forbidden.example.net" in other and "forbidden.example.net" not in failing
    assert summary(report(fail_on=(Outcome.EXCLUDED,))).startswith(
        "linkpatrol: FAILED - 1 excluded link on")
    passed = Report(crawl(), [], (Outcome.DEAD,))
    assert summary(passed).startswith(f"linkpatrol: passed - no dead links on {LOCAL}")


# -- JSON ---------------------------------------------------------------------------------------------
def test_json_has_the_apis_shapes() -> None:
    data = json.loads(render(report(), "json"))
    assert set(data) == {"crawl", "fail_on", "failed", "passed", "problems"}
    assert data["fail_on"] == ["dead"] and data["failed"] == 3 and data["passed"] is False
    # web/serializers.crawl_json's fields, less the web app's links
    assert set(data["crawl"]) == {
        "id", "url", "state", "pages_crawled", "links_checked", "broken", "created_at", "started_at",
        "finished_at", "duration_seconds", "options", "outcomes", "status_classes", "redirected", "checks",
        "retries", "errors", "stop_reasons", "held_back", "server_time"}
    assert data["crawl"]["url"] == SITE and data["crawl"]["duration_seconds"] == 2.5
    assert data["crawl"]["started_at"] == "2023-11-14T22:13:21.000Z"
    first = data["problems"][0]
    assert set(first) == set(LinkResult("u", "dead").to_report())
    assert [p["url"] for p in data["problems"]][:1] == [f"{SITE}gone.html"]
    assert first["referrer_count"] == 12 and len(first["referrers"]) == 12


# -- CSV ----------------------------------------------------------------------------------------------
def test_csv_has_the_api_exports_columns_and_escapes_formulas() -> None:
    from web.reports.exports import CSV_COLUMNS as API_COLUMNS
    from web.reports.exports import cell as api_cell

    assert CSV_COLUMNS == API_COLUMNS
    for value in (HOSTILE, "+1", "-x", "@SUM(A1)", "%0A", "\tx", "plain", None, 404):
        assert cell(value) == api_cell(value)
    rows = list(csv.DictReader(io.StringIO(render(report(), "csv"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    gone = [r for r in rows if r["url"] == f"{SITE}gone.html"]
    assert len(gone) == 12 and gone[0]["status"] == "404" and gone[0]["referring_page"] == f"{SITE}p0.html"
    hostile = next(r for r in rows if r["url"] == "https://other.example.net/")
    assert hostile["anchor_text"] == "'" + HOSTILE and hostile["error"] == "dns" and hostile["external"] == "yes"
    assert {r["outcome"] for r in rows} == {"dead", "blocked", "excluded"}


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


def test_markdown_tables_read_back() -> None:
    text = render(report(), "markdown")
    assert text.startswith("## linkpatrol: 3 dead links\n")
    counts, failing, other = markdown_tables(text)
    row = dict(zip(counts[0], counts[1], strict=True))
    assert row["Pages"] == "13" and row["Links"] == "7" and row["Dead"] == "3" and row["Seconds"] == "2.5"
    assert failing[0] == ["Link", "Result", "Linked from"]
    by_url = {r[0]: r for r in failing[1:]}
    assert set(by_url) == {f"{SITE}gone.html", "https://other.example.net/", f"{SITE}moved"}
    assert by_url[f"{SITE}gone.html"][1] == "dead: HTTP 404"
    assert f'{SITE}p9.html "Gone 9"' in by_url[f"{SITE}gone.html"][2] and "and 2 more" in by_url[f"{SITE}gone.html"][2]
    hostile = by_url["https://other.example.net/"][2]
    assert " ".join(HOSTILE.split()) in hostile  # every character escaped, nothing lost (white space folded)
    assert "<script>" not in text and "\\<script\\>" in text
    assert [r[0] for r in other[1:]] == ["https://forbidden.example.net/", f"{SITE}private/"]
    assert "### Dead" not in render(Report(crawl(), [], (Outcome.DEAD,)), "markdown")


# -- JUnit --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def junit_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def test_junit_is_valid_and_counts_right(junit_schema: etree.XMLSchema) -> None:
    xml = render(report(), "junit")
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
    doc = etree.fromstring(render(report(fail_on=(Outcome.DEAD, Outcome.BLOCKED, Outcome.EXCLUDED)), "junit").encode())
    junit_schema.assertValid(doc)
    assert doc.get("failures") == "5" and doc.get("skipped") == "0"


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
