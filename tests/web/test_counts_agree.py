"""One crawl, one set of numbers: the report page, the home page, the API, the pages' live progress and
the report mail show the same counts, for a crawl with links of every outcome (excluded and unsupported
ones too, which the mail once left out of its "other" line)."""

from __future__ import annotations

import csv
import io
import json
import re
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from rq import SimpleWorker

from linkpatrol.cli.main import main
from linkpatrol.model.verdicts import OTHER_LABEL, OTHER_OUTCOMES, Outcome
from linkpatrol.model.wire import LinkResult
from linkpatrol.reports import results
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.smtp import body
from tests.support.webapp import finished_crawl
from web.notifications.queue import mail_queue

# What finished_crawl(every_outcome=True) holds: 5 dead links (4 by status, 1 dns), 5 "other" (403,
# 429, robots.txt, ftp:, a page over the size cap), 1 redirect.
DEAD, OTHER, REDIRECTED = 5, 5, 1
ANCHORS = 1  # the link to the about page's missing #team


def numbers(text: str) -> int:
    return int(text.replace(",", ""))


def api_counts(crawl: dict[str, Any]) -> dict[str, int]:
    outcomes = crawl["outcomes"]
    return {"pages": crawl["pages_crawled"], "checked": crawl["links_checked"], "dead": crawl["dead"],
            "anchors": outcomes["missing_anchor"], "other": sum(outcomes[o] for o in OTHER_OUTCOMES),
            "redirected": crawl["redirected"]}


def test_pages_api_and_mail_show_the_same_counts(store: CrawlStore, rq_conn: redis.Redis,
        outbox_client: tuple[FlaskClient, Path]) -> None:
    client, outbox = outbox_client
    crawl = finished_crawl(store, every_outcome=True)
    assert all(crawl.outcome_count(o) for o in Outcome), crawl.outcome_counts
    expected = {"pages": crawl.pages_crawled, "checked": crawl.links_checked, "dead": DEAD, "anchors": ANCHORS,
                "other": OTHER, "redirected": REDIRECTED}

    # The API: the crawl, the list, and its problem links by outcome.
    assert api_counts(client.get(f"/api/crawls/{crawl.id}").json) == expected
    (listed,) = client.get("/api/crawls").json["crawls"]
    assert api_counts(listed) == expected
    problems = client.get(f"/api/crawls/{crawl.id}/broken?outcome=all").json
    assert len(problems) == DEAD + ANCHORS + OTHER
    assert len([p for p in problems if p["outcome"] in OTHER_OUTCOMES]) == OTHER

    # The pages' live progress (home page and report page).
    (progress,) = client.get("/progress").json["crawls"]
    assert api_counts(progress) == expected
    assert api_counts(client.get(f"/crawls/{crawl.id}/progress").json) == expected

    # The home page's row.
    home = client.get("/").get_data(as_text=True)
    row = re.search(rf'<tr data-crawl="{crawl.id}".*?</tr>', home, re.S)
    assert row is not None
    cells = {k: numbers(v) for k, v in re.findall(r'data-field="(\w+)">([\d,]+)<', row.group(0))}
    assert cells == {"pages_crawled": expected["pages"], "links_checked": expected["checked"], "dead": DEAD}

    # The report page: the summary, the tabs, the outcome bar, and the lists behind the tabs.
    report = client.get(f"/crawls/{crawl.id}").get_data(as_text=True)
    stats = {k: numbers(v) for k, v in re.findall(r'<dd data-field="(\w+)">([\d,]+)</dd>', report)}
    assert stats == {"pages_crawled": expected["pages"], "links_checked": expected["checked"], "dead": DEAD,
                     "other": OTHER, "redirected": REDIRECTED}
    assert f"<dt>{OTHER_LABEL}</dt>" in report
    tabs = {k: numbers(v) for k, v in re.findall(r'<span class="count" data-count="(\w+)">([\d,]+)</span>', report)}
    # "All checked links" lists every stored row: the links checked and the missing anchors, and says so.
    assert tabs == {"dead": DEAD, "anchors": ANCHORS, "other": OTHER, "redirects": REDIRECTED, "orphans": 0,
                    "all": expected["checked"] + ANCHORS}
    bar = re.search(r'aria-label="Checked links by outcome: ([^"]+)"', report)
    assert bar is not None
    shown = {label: int(n) for n, label in re.findall(r"(\d+) ([^,]+)", bar.group(1))}
    # The bar is of checked links: a missing anchor is a row of its own, its page is counted as ok.
    assert shown == {o.label.lower(): crawl.outcome_count(o) for o in Outcome if o is not Outcome.MISSING_ANCHOR}
    for view, count in tabs.items():
        html = client.get(f"/crawls/{crawl.id}?view={view}&per_page=500").get_data(as_text=True)
        rows = len(re.findall(r'<td class="target">', html))
        assert rows == count, view  # the badge and the list under it

    # The report mail, sent from the report page's form and run by the mail job.
    resp = client.post(f"/crawls/{crawl.id}/mail", data={"to": "owner@example.org"})
    assert resp.status_code == 303
    SimpleWorker([mail_queue(rq_conn, Keys())], connection=rq_conn).work(burst=True)
    (eml,) = outbox.glob("*.eml")
    msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert msg["Subject"] == f"site.example: {DEAD} dead links and {ANCHORS} missing anchor found"
    text = body(msg, "plain")
    summary = {label: value for label, value in re.findall(r"(?m)^([A-Z][\w ,-]+): (\d+)$", text)}
    assert summary == {"Pages crawled": str(expected["pages"]), "Links checked": str(expected["checked"]),
                       "Dead links": str(DEAD), "Missing anchors": str(ANCHORS), OTHER_LABEL: str(OTHER),
                       "Redirected": str(REDIRECTED), "Orphan pages": "0"}
    html = body(msg, "html")
    cells = dict(re.findall(r"<th[^>]*>([^<]+)</th><td>(\d+)</td>", html))
    assert cells == summary


def test_api_cli_and_csv_list_what_the_counts_say(store: CrawlStore, redis_url: str, client: FlaskClient,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The API's lists, ``linkpatrol report`` and the CSV export hold as many links of each group as the
    counts say (``results.counts``: the report's tabs, the API's numbers, the mail's lines), each in
    the one report shape, a referrer's #fragment included."""
    crawl = finished_crawl(store, every_outcome=True)
    counts = results.counts(crawl)
    assert (counts["dead"], counts["anchors"], counts["other"]) == (DEAD, ANCHORS, OTHER)
    assert counts["failing"] == DEAD + ANCHORS and counts["all"] == crawl.links_checked + ANCHORS
    api = client.get(f"/api/crawls/{crawl.id}").json
    assert (api["dead"], api["broken"]) == (DEAD, DEAD)  # "broken": the deprecated name of "dead"
    monkeypatch.setenv("REDIS_URL", redis_url)
    for group, wanted in (("dead", "dead"), ("anchors", "missing_anchor"), ("failing", "dead,missing_anchor"),
                          ("other", ",".join(OTHER_OUTCOMES))):
        listed = client.get(f"/api/crawls/{crawl.id}/broken?outcome={wanted}").json
        assert len(listed) == counts[group], group
        assert all(set(item) == set(results.to_report(LinkResult("u", "dead"))) for item in listed)
        assert main(["report", crawl.id, "--include", wanted]) == 0
        assert json.loads(capsys.readouterr().out) == listed, group  # the CLI prints the API's list
        rows = list(csv.DictReader(io.StringIO(
            client.get(f"/api/crawls/{crawl.id}/broken?outcome={wanted}&format=csv").get_data(as_text=True))))
        assert len({row["url"] for row in rows}) == counts[group], group
    assert main(["report", crawl.id]) == 0  # dead links by default
    assert len(json.loads(capsys.readouterr().out)) == counts["dead"]
    anchor = client.get(f"/api/crawls/{crawl.id}/broken?outcome=missing_anchor").json[0]
    assert anchor["referrers"][0]["fragment"] == "team" and anchor["error"] == "missing_anchor"
