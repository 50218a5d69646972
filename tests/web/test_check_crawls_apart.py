"""The crawls of ``linkpatrol check`` on the home page and in the API: apart from the sites and their
crawls, in a small list of their own, in full at ``/?origin=check`` and ``/api/crawls?origin=check``."""

from __future__ import annotations

from flask.testing import FlaskClient
from lxml import html

from linkpatrol.model.records import Origin
from linkpatrol.store.crawls import CrawlStore

SITE = "https://example.org/"
FOLDER = "http://127.0.0.1:39181/"  # what `REDIS_URL=... linkpatrol check DIR` crawls


def column(page: str, table_id: str) -> list[str]:
    """The first column's link texts of a table on the page ([] when the page has no such table)."""
    return [a.text_content() for a in html.fromstring(page).xpath(f'//table[@id="{table_id}"]//tbody/tr/td[1]/a')]


def test_the_home_page_lists_check_crawls_apart(client: FlaskClient, store: CrawlStore) -> None:
    site = store.create(SITE)
    check = store.create(FOLDER, origin=Origin.CHECK)
    home = client.get("/").get_data(as_text=True)
    assert column(home, "sites") == [SITE]  # the temporary server is no site
    assert column(home, "crawls") == [SITE]
    assert column(home, "check-crawls") == [FOLDER]
    tree = html.fromstring(home)
    assert tree.xpath('string(//h2[@id="checks-title"])').split() == ["From", "linkpatrol", "check", "1"]
    assert tree.xpath('string(//h2[@id="crawls-title"])').split() == ["Crawls", "1"]
    assert f'href="/crawls/{check.id}"' in home and f'data-crawl="{site.id}"' in home

    # all of them, paged like the others, with the way back
    listed = client.get("/?origin=check").get_data(as_text=True)
    assert column(listed, "crawls") == [FOLDER] and column(listed, "sites") == []
    assert column(listed, "check-crawls") == []  # not twice
    assert html.fromstring(listed).xpath('string(//h2[@id="crawls-title"])').split() == [
        "Crawls", "from", "linkpatrol", "check", "1"]
    assert 'href="/">The sites\' crawls</a>' in listed.replace("&#39;", "'")
    assert client.get("/?origin=nonsense").status_code == 400
    assert [c["id"] for c in client.get("/progress?origin=check").json["crawls"]] == [check.id]
    assert [c["id"] for c in client.get("/progress").json["crawls"]] == [site.id]
    assert 'data-origin="check"' in listed  # progress.js asks /progress for the same list

    # its report compares it with nothing and links to no site page (a folder's server is gone)
    report = client.get(f"/crawls/{check.id}").get_data(as_text=True)
    assert "kept apart from the sites" in report and "/sites" not in report


def test_the_small_list_links_to_all_of_them(client: FlaskClient, store: CrawlStore) -> None:
    for port in range(40000, 40007):
        store.create(f"http://127.0.0.1:{port}/", origin=Origin.CHECK)
    home = client.get("/").get_data(as_text=True)
    assert len(column(home, "check-crawls")) == 5 and 'href="/?origin=check">All 7</a>' in home
    assert "No crawls yet" in home and column(home, "sites") == []  # nothing but check runs: no site
    listed = client.get("/?origin=check").get_data(as_text=True)
    assert len(column(listed, "crawls")) == 7


def test_no_check_crawl_no_list(client: FlaskClient, store: CrawlStore) -> None:
    store.create(SITE)
    home = client.get("/").get_data(as_text=True)
    assert 'id="check-crawls"' not in home and "linkpatrol check</code>" not in home
    assert "No crawl from" in client.get("/?origin=check").get_data(as_text=True)


def test_the_api_filters_by_origin(client: FlaskClient, store: CrawlStore) -> None:
    site = store.create(SITE)
    check = store.create(FOLDER, origin=Origin.CHECK)
    newer = store.create(SITE)

    def ids(query: str = "") -> tuple[list[str], int]:
        data = client.get(f"/api/crawls{query}").json
        return [c["id"] for c in data["crawls"]], data["total"]

    assert ids() == ([newer.id, check.id, site.id], 3)  # every crawl, newest first
    assert ids("?origin=check") == ([check.id], 1)
    assert ids("?origin=other") == ([newer.id, site.id], 2)
    assert ids("?per_page=1&page=2") == ([check.id], 3)
    bad = client.get("/api/crawls?origin=ui")
    assert bad.status_code == 400 and bad.json["field"] == "origin" and "check" in bad.json["error"]
