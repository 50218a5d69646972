"""One result, one shape: what is stored reads back (older spellings included), the report index has one
codec, and a result taken from the shared link cache says where from on every surface (the report page,
the link's page, the API, the CSV export, ``linkpatrol check``'s JSON)."""

from __future__ import annotations

import csv
import io
import json
import math

from flask.testing import FlaskClient

from linkpatrol.cli.check.formats import render
from linkpatrol.cli.check.reports import Report
from linkpatrol.model.verdicts import ErrorKind, Outcome
from linkpatrol.model.wire import (
    CachedCheck,
    CachedFrom,
    LinkResult,
    ReportRecord,
    decode_report_index,
    encode_report_index,
)
from linkpatrol.reports.results import CSV_COLUMNS, csv_rows, to_report
from linkpatrol.store.crawls import CrawlStore
from tests.support.fake_crawl import FakePage, run_crawl

SITE = "http://site.example"
OTHER = "https://other.example/page"
EARLIER = "0123456789abcdef"  # the crawl whose result the cache kept


def test_what_was_stored_before_reads_in_todays_spelling() -> None:
    """A missing anchor's error was stored as "missing-anchor" before one spelling per outcome."""
    old = LinkResult.from_json(f"{SITE}/a#x", '{"o":"missing_anchor","e":"missing-anchor"}')
    assert (old.outcome, old.error) == (Outcome.MISSING_ANCHOR, ErrorKind.MISSING_ANCHOR) == ("missing_anchor",) * 2
    assert ErrorKind("missing-anchor") is ErrorKind.MISSING_ANCHOR
    assert '"e":"missing_anchor"' in LinkResult(f"{SITE}/a#x", Outcome.MISSING_ANCHOR,
                                                 error=ErrorKind.MISSING_ANCHOR).to_json()


def test_the_report_index_has_one_codec_and_ignores_an_older_format() -> None:
    records = [ReportRecord(f"{SITE}/a", "dead", 404, None, False, None, 0),
               ReportRecord(OTHER, "ok", 200, None, True, f"{OTHER}/", 1, CachedFrom(EARLIER, 1_700_000_000.5)),
               ReportRecord(f"{SITE}/t\tab\n#x", "missing_anchor", None, "missing_anchor")]
    blob = encode_report_index(7, records)
    assert decode_report_index(blob, 7) == records
    assert decode_report_index(blob, 8) is None  # built for another version of the crawl
    # The tab-separated index of earlier versions: not this format, so the report builds it again.
    assert decode_report_index(f"v7\n{SITE}/a\tdead\t404\t\t\t0\t\t0", 7) is None


def test_a_cached_result_says_where_from_everywhere(client: FlaskClient, store: CrawlStore) -> None:
    entry = CachedCheck(LinkResult(OTHER, Outcome.OK, 200, external=True), EARLIER, 0.0)
    pages = {f"{SITE}/": FakePage(LinkResult(f"{SITE}/", "ok", 200), [(OTHER, "Other"), (f"{SITE}/gone", "Gone")],
                                  True)}
    gone = FakePage(LinkResult(f"{SITE}/gone", "dead", 404))
    done = run_crawl(store, f"{SITE}/", {**pages, OTHER: FakePage(entry.as_result()), f"{SITE}/gone": gone})
    at = math.floor(done.started_at or done.created_at) - 7200  # found two hours before this crawl started
    store.r.hset(store.keys.urls(done.id), OTHER, CachedCheck(entry.result, EARLIER, at).as_result().to_json())

    result = store.result(done.id, OTHER)
    assert result is not None and result.cached == CachedFrom(EARLIER, at)
    shown = to_report(result)
    assert shown["cached"]["crawl"] == EARLIER and shown["cached"]["at"].endswith("Z")
    assert to_report(LinkResult(f"{SITE}/gone", "dead", 404))["cached"] is None

    page = client.get(f"/crawls/{done.id}?view=all").get_data(as_text=True)
    assert "checked <time" in page and "2h before this crawl</time>" in page
    assert f'href="/crawls/{EARLIER}"><code>{EARLIER}</code></a>' in page
    link = client.get(f"/crawls/{done.id}/link", query_string={"url": OTHER}).get_data(as_text=True)
    assert "2h before this crawl</time>" in link and f"/crawls/{EARLIER}" in link

    # The exports list problems; a cached result is never one (only ok results are shared), so its CSV
    # line is checked on its own.
    rows = list(csv.DictReader(io.StringIO(client.get(f"/api/crawls/{done.id}/broken?format=csv").get_data(
        as_text=True))))
    assert [(row["url"], row["cached_crawl"], row["fragment"]) for row in rows] == [(f"{SITE}/gone", "", "")]
    (line,) = csv_rows(result)
    assert dict(zip(CSV_COLUMNS, line, strict=True))["cached_crawl"] == EARLIER
    check = json.loads(render(Report(done, [result], ()), "json"))
    assert check["problems"][0]["cached"] == shown["cached"]
