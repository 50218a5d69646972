"""A site's accepted links over HTTP: the API, the site page's list and forms, a report whose tabs,
numbers and lists leave them out and count them apart (the mail: tests/mail/test_accepted_mail.py), and
the report's "by page" view."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from linkpatrol.model.wire import LinkResult
from linkpatrol.reports import accepted as accepted_module
from linkpatrol.store.crawls import CrawlStore
from tests.support.fake_crawl import FakePage, run_crawl
from tests.support.webapp import SITE, finished_crawl

HOME = f"{SITE}/"
DEAD, OTHER, ANCHORS = 5, 5, 1  # what finished_crawl(every_outcome=True) holds
ACCEPTED = {f"{SITE}/missing": "dead", f"{SITE}/about#team": "missing_anchor",
            "https://other.example/forbidden": "blocked"}


def numbers(html: str, pattern: str) -> dict[str, int]:
    return {k: int(v.replace(",", "")) for k, v in re.findall(pattern, html)}


def stats(html: str) -> dict[str, int]:
    return numbers(html, r'<dd data-field="(\w+)"[^>]*>([\d,]+)</dd>')


def tabs(html: str) -> dict[str, int]:
    return numbers(html, r'<span class="count" data-count="(\w+)">([\d,]+)</span>')


def test_the_api_accepts_lists_and_undoes(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    put = client.put("/api/sites/accepted", json={"site": "HTTPS://Site.Example", "url": f"{SITE}/a/../old#Top",
                                                   "note": "moved to the archive"})
    assert put.status_code == 201, put.json
    assert put.json["site"] == HOME and put.json["url"] == f"{SITE}/old#Top"
    assert put.json["note"] == "moved to the archive"
    assert put.json["by"] is None and put.json["at"].endswith("Z")  # nobody signs in to this app
    again = client.put("/api/sites/accepted", json={"site": HOME, "url": f"{SITE}/old#Top"})
    assert again.status_code == 200 and again.json["note"] is None
    listed = client.get("/api/sites/accepted", query_string={"site": HOME}).json
    assert listed["total"] == 1 and listed["limit"] == 10_000 and listed["accepted"] == [again.json]

    bad = client.put("/api/sites/accepted", json={"site": "site.example", "url": "x"})
    assert bad.status_code == 400 and bad.json["field"] == "site"
    bad = client.put("/api/sites/accepted", json={"site": HOME, "url": "", "note": "x"})
    assert bad.status_code == 400 and bad.json["field"] == "url"
    assert client.put("/api/sites/accepted", data="{}").status_code == 400  # not JSON
    monkeypatch.setattr(accepted_module, "MAX_ACCEPTED", 1)
    full = client.put("/api/sites/accepted", json={"site": HOME, "url": f"{SITE}/second"})
    assert full.status_code == 409 and "1 accepted links" in full.json["error"]

    gone = client.delete("/api/sites/accepted", query_string={"site": HOME, "url": f"{SITE}/old#Top"})
    assert gone.status_code == 204
    again = client.delete("/api/sites/accepted", query_string={"site": HOME, "url": f"{SITE}/old#Top"})
    assert again.status_code == 404 and again.json["field"] == "url"
    assert client.get("/api/sites/accepted", query_string={"site": HOME}).json["accepted"] == []


def test_accepted_links_leave_every_count_of_the_report(client: FlaskClient, store: CrawlStore) -> None:
    crawl = finished_crawl(store, every_outcome=True)
    for url in ACCEPTED:
        assert client.put("/api/sites/accepted", json={"site": crawl.url, "url": url}).status_code == 201

    report = client.get(f"/crawls/{crawl.id}").get_data(as_text=True)
    dead, other = DEAD - 1, OTHER - 1
    assert stats(report) == {"pages_crawled": crawl.pages_crawled, "links_checked": crawl.links_checked,
                             "dead": dead, "other": other, "accepted": 3, "redirected": 1}
    counts = tabs(report)
    assert counts == {"dead": dead, "anchors": 0, "other": other, "accepted": 3, "redirects": 1, "orphans": 0,
                      "all": crawl.links_checked + 1}  # every row: the missing anchor's too
    for view in ("dead", "anchors", "other", "accepted"):  # each list as long as its tab says
        html = client.get(f"/crawls/{crawl.id}?view={view}&per_page=500").get_data(as_text=True)
        assert len(re.findall(r'<td class="target">', html)) == counts[view], view
    listed = client.get(f"/crawls/{crawl.id}?view=accepted").get_data(as_text=True)
    assert all(url in listed for url in ACCEPTED) and 'form="unaccept-form"' in listed
    assert f"{SITE}/missing" not in client.get(f"/crawls/{crawl.id}?view=dead").get_data(as_text=True)


def test_the_site_page_lists_accepted_links_and_undoes_them(client: FlaskClient, store: CrawlStore) -> None:
    crawl = finished_crawl(store)
    resp = client.post("/sites/accepted", data={"site": crawl.url, "url": f"{SITE}/missing", "note": "known: the shop"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("#accepted")
    page = client.get("/sites", query_string={"url": crawl.url}).get_data(as_text=True)
    section = page[page.index('id="accepted"'):page.index('id="site-crawls"')]
    assert f"{SITE}/missing" in section and "known: the shop" in section

    # A report row's button comes back to the report it was pressed on.
    back = f"/crawls/{crawl.id}?view=dead"
    resp = client.post("/sites/accepted/remove", data={"site": crawl.url, "url": f"{SITE}/missing", "next": back})
    assert resp.status_code == 303 and resp.headers["Location"] == back
    assert f"{SITE}/missing" in client.get(back).get_data(as_text=True)
    page = client.get("/sites", query_string={"url": crawl.url}).get_data(as_text=True)
    assert "None: every broken link counts" in page
    resp = client.post("/sites/accepted", data={"site": crawl.url, "url": "https://x.example/\x00"})
    assert resp.status_code == 303
    assert "Not accepted: url:" in client.get(resp.headers["Location"]).get_data(as_text=True)


def test_the_report_lists_broken_links_by_page(client: FlaskClient, store: CrawlStore) -> None:
    guide, faq = f"{SITE}/guide.html", f"{SITE}/faq.html"
    gone, old = f"{SITE}/gone", f"{SITE}/old"
    html = "text/html"
    crawl = run_crawl(store, HOME, {
        HOME: FakePage(LinkResult(HOME, "ok", 200, content_type=html), [(guide, "Guide", 3), (faq, "FAQ", 4)], True),
        guide: FakePage(LinkResult(guide, "ok", 200, content_type=html),
                        [(old, "Old page", 40), (gone, "Gone", 12)], True),
        faq: FakePage(LinkResult(faq, "ok", 200, content_type=html), [(gone, "Gone again", 7)], True),
        gone: FakePage(LinkResult(gone, "dead", 404)),
        old: FakePage(LinkResult(old, "dead", 410)),
    })
    page = client.get(f"/crawls/{crawl.id}?view=dead&by=page").get_data(as_text=True)
    assert "3 links on 2 pages." in page
    groups = re.findall(r'<tbody class="page-group">(.*?)</tbody>', page, re.S)
    assert [re.search(r'href="([^"]+)"', g)[1] for g in groups] == [faq, guide]  # type: ignore[index]
    row = r'<td class="num line">(\d*)</td>\s*<td class="target"><a[^>]*href="([^"]+)"'
    rows = [re.findall(row, g) for g in groups]
    assert rows == [[("7", gone)], [("12", gone), ("40", old)]]  # in the order of the page's source
    assert page.count('form="accept-form"') == 3

    one = client.get(f"/crawls/{crawl.id}?view=dead&by=page&per_page=1&page=2").get_data(as_text=True)
    assert "Page 2 of 2" in one and guide in one and faq not in one.split('<tbody class="page-group">', 1)[1]
    link = re.search(r'href="([^"]*by=page[^"]*)"[^>]*>by page', one)
    assert link is not None and "view=dead" in link[1]

    client.put("/api/sites/accepted", json={"site": crawl.url, "url": gone})
    page = client.get(f"/crawls/{crawl.id}?view=dead&by=page").get_data(as_text=True)
    assert "1 link on 1 page." in page and gone not in page.split('<tbody class="page-group">', 1)[1]
    accepted = client.get(f"/crawls/{crawl.id}?view=accepted&by=page").get_data(as_text=True)
    assert "2 links on 2 pages." in accepted  # the accepted link, on both pages that hold it
