"""Watching a site in the web app: the sites on the home page, the site page and its trend chart, the
report's "what changed" card and problem groups, the diff API (JSON and CSV) and the report mail."""

from __future__ import annotations

import csv
import io
import re
from email import message_from_bytes, policy
from pathlib import Path

from flask.testing import FlaskClient

from linkpatrol.model.records import Crawl
from linkpatrol.model.verdicts import ErrorKind, Outcome
from linkpatrol.model.wire import LinkResult
from linkpatrol.store.crawls import CrawlStore
from tests.support.fake_crawl import FakePage, run_crawl
from tests.support.smtp import body
from web.notifications.mail.jobs import send_crawl_report

SITE = "https://site.example/"


def crawl(store: CrawlStore, results: list[LinkResult]) -> Crawl:
    pages = {res.url: FakePage(res) for res in results}
    pages[SITE] = FakePage(LinkResult(SITE, "ok", 200), [(res.url, "a link") for res in results], True)
    done = run_crawl(store, SITE, pages)
    assert done.state == "finished"
    return done


def two_crawls(store: CrawlStore) -> tuple[Crawl, Crawl]:
    first = crawl(store, [
        LinkResult(f"{SITE}gone", Outcome.DEAD, 404),
        LinkResult(f"{SITE}fixed", Outcome.DEAD, 500),
        LinkResult("https://wall.example/", Outcome.BLOCKED, 403, external=True),
    ])
    second = crawl(store, [
        LinkResult(f"{SITE}gone", Outcome.DEAD, 404),
        *(LinkResult(f"https://github.com/x/{i}", Outcome.DEAD, error=ErrorKind.DNS, external=True) for i in range(3)),
        LinkResult("https://wall.example/", Outcome.BLOCKED, 403, external=True),
    ])
    return first, second


def test_home_lists_sites_and_the_site_page_its_crawls_and_trend(client: FlaskClient, store: CrawlStore) -> None:
    first, second = two_crawls(store)
    running = store.create(SITE)
    home = client.get("/").get_data(as_text=True)
    sites = home[home.index('id="sites"'):home.index('id="crawls"')]
    assert 'href="/sites?url=https://site.example/"' in sites or "/sites?url=https%3A%2F%2Fsite.example%2F" in sites
    row = re.search(r'<tr data-site="[0-9a-f]{16}">(.*?)</tr>', sites, re.S)
    assert row and ">3<" in row.group(1) and "queued" in row.group(1)  # three crawls, the last queued
    page = client.get("/sites", query_string={"url": SITE})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for c in (first, second, running):
        assert f'href="/crawls/{c.id}"' in html
    # two finished crawls, three series: six points, each with a tooltip; the queued crawl is not drawn
    points = re.findall(r'<circle class="point o-(\w+)"[^>]*><title>([^<]+)</title>', html)
    assert len(points) == 6 and {o for o, _ in points} == {"dead", "missing_anchor", "blocked"}
    assert sorted(t.split()[0] for o, t in points if o == "dead") == ["2", "4"]
    assert "finished crawls, oldest first" in html and "<script" not in html.split("</svg>")[0].split("<svg")[1]
    assert client.get("/sites", query_string={"url": "https://never.example/"}).status_code == 404
    assert client.get("/sites").status_code == 400


def test_report_leads_with_what_changed_and_groups_problems(client: FlaskClient, store: CrawlStore) -> None:
    first, second = two_crawls(store)
    html = client.get(f"/crawls/{second.id}").get_data(as_text=True)
    lead = re.search(r'<p class="diff-lead">(.*?)</p>', html, re.S)
    assert lead and re.search(r"3 new dead links</a> since\s+<a href=\"/crawls/" + first.id, lead.group(1))
    assert "1 fixed" in lead.group(1) and "1 still there" in lead.group(1)
    assert html.index('class="diff-lead"') < html.index("Pages crawled")  # the card comes first
    assert "https://github.com/x/0" in html[html.index('id="diff-new"'):html.index('id="diff-fixed"')]
    # groups, from the dead links: three to github.com (dns), one to the site (HTTP 404)
    groups = html[html.index('class="groups"'):]
    assert re.search(r"<th scope=\"row\">github.com</th><td class=\"num\">3</td><td>dns 3</td>", groups)
    assert re.search(r"<th scope=\"row\">dns</th><td class=\"num\">3</td><td>github.com 3</td>", groups)
    assert re.search(r"<th scope=\"row\">HTTP 404</th><td class=\"num\">1</td>", groups)
    other = client.get(f"/crawls/{second.id}?view=other").get_data(as_text=True)
    assert re.search(r"<th scope=\"row\">wall.example</th><td class=\"num\">1</td><td>HTTP 403 1</td>", other)
    first_page = client.get(f"/crawls/{first.id}").get_data(as_text=True)
    assert "This is the first finished crawl of" in first_page


def test_diff_api_json_and_csv(client: FlaskClient, store: CrawlStore) -> None:
    first, second = two_crawls(store)
    data = client.get(f"/api/crawls/{second.id}/diff").json
    assert data["previous"] == first.id
    assert [e["url"] for e in data["new"]] == [f"https://github.com/x/{i}" for i in range(3)]
    assert [(e["url"], e["outcome"], e["status"]) for e in data["fixed"]] == [(f"{SITE}fixed", "dead", 500)]
    assert {e["url"] for e in data["still"]} == {f"{SITE}gone", "https://wall.example/"}
    assert set(data["new"][0]) == set(client.get(f"/api/crawls/{second.id}/broken").json[0])
    assert data["new"][0]["referrers"][0]["page"] == SITE
    assert client.get(f"/api/crawls/{first.id}/diff").json == {
        "previous": None, "option_changes": [], "new": [], "fixed": [], "still": [], "unchecked": []}
    resp = client.get(f"/api/crawls/{second.id}/diff?format=csv")
    assert resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [(r["change"], r["url"]) for r in rows][:4] == [("new", f"https://github.com/x/{i}") for i in range(3)] + [
        ("fixed", f"{SITE}fixed")]
    assert client.get(f"/api/crawls/{second.id}/diff?format=xml").status_code == 400
    assert client.get("/api/crawls/nope/diff").status_code == 404


def test_report_mail_says_what_changed(outbox_client: tuple[FlaskClient, Path], store: CrawlStore) -> None:
    _, outbox = outbox_client
    first, second = two_crawls(store)
    send_crawl_report(second.id, ["owner@example.org"])
    (eml,) = outbox.glob("*.eml")
    msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert msg["Subject"] == "site.example: 3 new dead links, 1 fixed"
    text = body(msg, "plain")
    when = re.search(r"(?m)^New since (\d{4}-\d\d-\d\d \d\d:\d\d UTC): 3; fixed: 1$", text)
    assert when, text
    listed = re.findall(r"(?m)^\d+\. (\[new\] )?(\S+)", text)
    assert listed[:3] == [("[new] ", f"https://github.com/x/{i}") for i in range(3)]
    assert listed[3] == ("", f"{SITE}gone")  # still there: after the new ones
    assert "New since" in body(msg, "html")
    # the first crawl of a site: the subject as before
    send_crawl_report(first.id, ["owner@example.org"])
    subjects = {message_from_bytes(p.read_bytes(), policy=policy.default)["Subject"] for p in outbox.glob("*.eml")}
    assert "site.example: 2 dead links found" in subjects
