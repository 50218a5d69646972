"""The HTML pages through Flask's test client: form, report, filters, escaping, CSRF, login, errors."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.wire import LinkResult
from linkpatrol.store.crawls import CrawlStore
from tests.support.fake_crawl import FakePage, run_crawl
from tests.support.webapp import HOSTILE, HOSTILE_IMG, SITE, csrf_token, finished_crawl, make_app


def test_home_form_creates_a_crawl(client: FlaskClient, store: CrawlStore) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for label in ('for="url"', 'for="max_pages"', 'for="max_depth"', 'for="notify"', "Obey robots.txt",
                  "Check links to other sites"):
        assert label in html
    assert "Content-Security-Policy" in page.headers
    resp = client.post("/crawls", data={"url": "https://example.org/", "max_pages": "20", "respect_robots": "1",
                                        "notify": "a@example.org, b@example.org"})
    assert resp.status_code == 303
    crawl = store.list()[0]
    assert resp.headers["Location"] == f"/crawls/{crawl.id}"
    assert crawl.options.max_pages == 20 and crawl.options.respect_robots and not crawl.options.check_external
    assert crawl.options.notify == ["a@example.org", "b@example.org"]
    home = client.get("/").get_data(as_text=True)
    assert f'data-crawl="{crawl.id}"' in home and "queued" in home


@pytest.mark.parametrize(
    ("form", "field", "text"),
    [
        ({"url": "ftp://example.org/"}, "url", ">Only http and https URLs can be checked, not ftp:.<"),
        ({"url": ""}, "url", ">The URL is empty.<"),
        ({"url": "example.org/docs"}, "url", ">The URL needs a scheme, such as https://.<"),
        ({"url": "http://192.168.1.1/"}, "url", ">This address is on a private or local network"),
        ({"url": "https://example.org/", "max_pages": "-3"}, "max_pages", "whole number"),
        ({"url": "https://example.org/", "notify": "nobody"}, "notify", "is not an email address"),
    ],
)
def test_form_errors_are_shown_next_to_the_field(client: FlaskClient, store: CrawlStore, form: dict[str, str],
                                                 field: str, text: str) -> None:
    resp = client.post("/crawls", data=form)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert f'id="{field}-error"' in html and text in html
    assert "The address the" not in html and "The address this" not in html  # one subject per sentence
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html, re.S)
    assert store.count() == 0


def test_report_shows_dead_links_with_referrers_escaped(client: FlaskClient, store: CrawlStore) -> None:
    crawl = finished_crawl(store)
    html = client.get(f"/crawls/{crawl.id}").get_data(as_text=True)
    assert f"{SITE}/missing" in html and "Missing page" in html and "Broken again" in html
    assert f"{SITE}/about" in html
    assert HOSTILE not in html and HOSTILE_IMG not in html
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=window.pwned=1&gt;" in html
    assert "https://other.example/forbidden" not in html  # blocked is not dead
    assert ">dns<" in html  # the error kind stands in for a status
    other = client.get(f"/crawls/{crawl.id}?view=other").get_data(as_text=True)
    assert "https://other.example/forbidden" in other and "https://other.example/slow-down" in other
    assert f"{SITE}/missing\"" not in other
    redirects = client.get(f"/crawls/{crawl.id}?view=redirects").get_data(as_text=True)
    assert f"{SITE}/moved" in redirects and f"{SITE}/new" in redirects


def test_report_filters_sort_and_paginate(client: FlaskClient, store: CrawlStore) -> None:
    crawl = finished_crawl(store, extra_ok=120)

    def targets(query: str) -> list[str]:
        html = client.get(f"/crawls/{crawl.id}?{query}").get_data(as_text=True)
        return re.findall(r'<td class="target"><a href="([^"]+)"', html)

    assert targets("scope=external") == ["https://other.example/gone"]
    assert set(targets("scope=internal")) == {f"{SITE}/formula", f"{SITE}/hostile", f"{SITE}/hostile2",
                                              f"{SITE}/missing"}
    assert targets("cls=5xx") == [f"{SITE}/formula"]
    assert targets("cls=error") == ["https://other.example/gone"]
    assert targets("q=HOSTILE") == [f"{SITE}/hostile", f"{SITE}/hostile2"]
    assert targets("q=410") == [f"{SITE}/hostile2"]
    assert targets("sort=status&dir=desc")[:3] == ["https://other.example/gone", f"{SITE}/formula", f"{SITE}/hostile2"]
    assert targets("sort=referrers&dir=desc")[0] == f"{SITE}/missing"
    page1 = targets("view=all&per_page=50")
    page3 = targets("view=all&per_page=50&page=3")
    assert len(page1) == 50 and len(page3) == 130 - 100
    assert not set(page1) & set(page3)
    html = client.get(f"/crawls/{crawl.id}?view=all&per_page=50").get_data(as_text=True)
    assert "Page 1 of 3" in html and 'rel="next"' in html
    assert targets("view=all&cls=4xx&per_page=500") == [
        "https://other.example/forbidden", "https://other.example/slow-down",
        f"{SITE}/hostile", f"{SITE}/hostile2", f"{SITE}/missing"]
    assert client.get(f"/crawls/{crawl.id}?view=bogus&sort=';drop").status_code == 200
    assert client.get(f"/crawls/{crawl.id}?page=-1").status_code == 400  # a page number that is not one


def test_link_page_lists_every_referrer(client: FlaskClient, store: CrawlStore) -> None:
    crawl = finished_crawl(store)
    html = client.get(f"/crawls/{crawl.id}/link", query_string={"url": f"{SITE}/missing"}).get_data(as_text=True)
    assert "Linked from 2 places" in html and "Broken again" in html
    assert client.get(f"/crawls/{crawl.id}/link", query_string={"url": "https://nowhere/"}).status_code == 404


def test_cancel_rerun_delete(client: FlaskClient, store: CrawlStore) -> None:
    crawl = store.create("https://example.org/")
    assert client.post(f"/crawls/{crawl.id}/cancel").status_code == 303
    assert store.require(crawl.id).state == "cancelled"
    resp = client.post(f"/crawls/{crawl.id}/rerun")
    assert resp.status_code == 303 and store.count() == 2
    assert client.post(f"/crawls/{crawl.id}/delete").status_code == 303
    assert store.get(crawl.id) is None
    assert client.get(f"/crawls/{crawl.id}").status_code == 404


def test_csrf_is_required_on_forms(redis_url: str, store: CrawlStore) -> None:
    client = make_app(redis_url, WTF_CSRF_ENABLED=True).test_client()
    crawl = store.create("https://example.org/")
    for path in ("/crawls", f"/crawls/{crawl.id}/cancel", f"/crawls/{crawl.id}/delete", f"/crawls/{crawl.id}/rerun"):
        resp = client.post(path, data={"url": "https://example.org/"})
        assert resp.status_code == 400, path
        assert "expired or did not come from this site" in resp.get_data(as_text=True)
    assert store.count() == 1 and store.require(crawl.id).state == "queued"
    token = csrf_token(client)
    resp = client.post("/crawls", data={"url": "https://example.org/", "csrf_token": token})
    assert resp.status_code == 303 and store.count() == 2


def test_login_when_configured(redis_url: str) -> None:
    client = make_app(redis_url, USERNAME="admin", PASSWORD="pw", WTF_CSRF_ENABLED=True).test_client()
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    token = csrf_token(client, "/login")
    bad = client.post("/login", data={"username": "admin", "password": "no", "csrf_token": token})
    assert bad.status_code == 401 and "do not match" in bad.get_data(as_text=True)
    ok = client.post("/login?next=/", data={"username": "admin", "password": "pw", "csrf_token": token})
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.get("/api/crawls").status_code == 200  # the session also opens the API (live progress)
    evil = client.post("/login?next=//evil.example/", data={"username": "admin", "password": "pw",
                                                             "csrf_token": csrf_token(client)})
    assert evil.headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert client.get("/").status_code == 302


def test_rate_limit_on_the_form(redis_url: str) -> None:
    client = make_app(redis_url, RATE_LIMIT=1).test_client()
    assert client.post("/crawls", data={"url": "https://example.org/"}).status_code == 303
    resp = client.post("/crawls", data={"url": "https://example.org/"}, follow_redirects=True)
    assert "try again in" in resp.get_data(as_text=True)
    assert client.get("/api/crawls").json["total"] == 1


def test_redis_down_is_a_friendly_page(refused_port: int) -> None:
    client = make_app(f"redis://127.0.0.1:{refused_port}/0", REDIS_TIMEOUT=0.5, SECRET_KEY=None).test_client()
    for path in ("/", "/crawls/0123456789abcdef"):
        resp = client.get(path)
        assert resp.status_code == 503
        html = resp.get_data(as_text=True)
        assert "Temporarily unavailable" in html and "Traceback" not in html
    assert client.post("/crawls", data={"url": "https://example.org/"}).status_code in (400, 503)


def test_shared_secret_key_from_redis(redis_url: str, store: CrawlStore) -> None:
    """Two app instances (two gunicorn workers) accept each other's CSRF tokens without a configured key."""
    one = make_app(redis_url, SECRET_KEY=None, WTF_CSRF_ENABLED=True).test_client()
    two = make_app(redis_url, SECRET_KEY=None, WTF_CSRF_ENABLED=True).test_client()
    token = csrf_token(one)
    cookie = one.get_cookie("session")
    assert cookie is not None
    two.set_cookie("session", cookie.value)
    resp = two.post("/crawls", data={"url": "https://example.org/", "csrf_token": token})
    assert resp.status_code == 303 and store.count() == 1


def test_all_view_index_is_built_once_and_deleted_with_the_crawl(client: FlaskClient, store: CrawlStore) -> None:
    crawl = finished_crawl(store, extra_ok=30)
    key = store.keys.report_index(crawl.id)
    # An index an earlier version wrote (tab-separated, "v<version>" first) is not this one's format:
    # the report reads the results again and writes the index anew (it only caches them).
    store.r.set(key, f"v{crawl.links_checked}\n{SITE}/\tok\t200\t\t\t0\t\t0")
    assert client.get(f"/crawls/{crawl.id}?view=all").status_code == 200
    assert store.r.get(key).startswith(f"r2 {crawl.links_checked}\n")
    # A result arriving late (a cancelled crawl's in-flight request) changes the count: the index is rebuilt.
    store.r.hset(store.keys.urls(crawl.id), f"{SITE}/late", '{"o":"dead","s":404}')
    store.r.hincrby(store.keys.crawl(crawl.id), "links_checked", 1)
    html = client.get(f"/crawls/{crawl.id}?view=all&q=late").get_data(as_text=True)
    assert f"{SITE}/late" in html
    assert store.r.get(key).startswith(f"r2 {crawl.links_checked + 1}\n")
    store.delete(crawl.id)
    assert not store.r.exists(key)


def test_progress_json_wants_a_login_or_the_token(redis_url: str, store: CrawlStore) -> None:
    """An API token alone closes the pages too (issue 11, item 3); the JSON routes take the token."""
    client = make_app(redis_url, API_TOKEN="tok").test_client()
    crawl = store.create("https://example.org/")
    assert client.get("/api/crawls").status_code == 401
    assert client.get("/progress").status_code == 401 and client.get("/").status_code == 302
    bearer = {"Authorization": "Bearer tok"}
    body = client.get("/progress", headers=bearer).json
    assert [c["id"] for c in body["crawls"]] == [crawl.id]
    assert body["crawls"][0]["elapsed"] == "-"  # not started: shown as the page shows it
    assert client.get(f"/crawls/{crawl.id}/progress", headers=bearer).json["state"] == "queued"
    locked = make_app(redis_url, USERNAME="u", PASSWORD="p").test_client()
    assert locked.get("/progress").status_code == 401


def test_report_draws_the_outcomes_as_one_bar(client: FlaskClient, store: CrawlStore) -> None:
    crawl = finished_crawl(store)  # ok, dead, blocked and rate-limited links
    counters = store.require(crawl.id).counters
    total = store.require(crawl.id).links_checked
    html = client.get(f"/crawls/{crawl.id}").get_data(as_text=True)
    widths = {m[0]: float(m[1]) for m in re.findall(r'<rect class="o-(\w+)" x="[\d.]+" y="0" width="([\d.]+)"', html)}
    assert set(widths) == {"ok", "dead", "blocked", "rate_limited"}
    for outcome, width in widths.items():
        assert width == pytest.approx(1000 * counters[f"outcome_{outcome}"] / total, abs=0.01)
    assert sum(widths.values()) == pytest.approx(1000, abs=0.05)
    assert f"{counters['outcome_dead']} dead" in html  # the bar's accessible name


def test_link_page_pages_through_many_referrers(client: FlaskClient, store: CrawlStore) -> None:
    seed, target = f"{SITE}/", f"{SITE}/gone"
    pages = {seed: FakePage(LinkResult(seed, "ok", 200), [(target, f"link {i}", i + 1) for i in range(250)], True),
             target: FakePage(LinkResult(target, "dead", 404))}
    crawl = run_crawl(store, seed, pages)
    first = client.get(f"/crawls/{crawl.id}/link", query_string={"url": target}).get_data(as_text=True)
    rows = re.findall(r'<td class="anchor"><bdi>link (\d+)</bdi>', first)
    assert "Linked from 250 places" in first and len(rows) == 100 and rows[0] == "0"
    assert "Places 1 to 100 of 250." in first and "Page 1 of 3" in first and 'rel="next"' in first
    last = client.get(f"/crawls/{crawl.id}/link", query_string={"url": target, "page": 3}).get_data(as_text=True)
    assert re.findall(r'<td class="anchor"><bdi>link (\d+)</bdi>', last)[-1] == "249"
    assert "Places 201 to 250 of 250." in last and 'rel="next"' not in last and 'rel="prev"' in last
    assert client.get(f"/crawls/{crawl.id}/link", query_string={"url": target, "page": "x"}).status_code == 400


def test_problem_groups_only_on_problem_views(client: FlaskClient, store: CrawlStore) -> None:
    crawl = finished_crawl(store)
    for view in ("dead", "other"):
        assert 'class="groups"' in client.get(f"/crawls/{crawl.id}?view={view}").get_data(as_text=True), view
    for view in ("redirects", "orphans", "all"):
        html = client.get(f"/crawls/{crawl.id}?view={view}").get_data(as_text=True)
        assert 'class="groups"' not in html and "By host" not in html, view


def test_home_says_dead_like_every_other_page(client: FlaskClient, store: CrawlStore) -> None:
    finished_crawl(store)
    home = client.get("/").get_data(as_text=True)
    crawls = home[home.index('id="crawls"'):]
    assert ">Dead</th>" in crawls and "Broken" not in crawls


def test_live_parts_are_the_pages_own(client: FlaskClient, store: CrawlStore) -> None:
    """The fragment the report fetches while a crawl runs holds every live part of the page, rendered
    the same: for an ended crawl, identical to the page's."""
    crawl = finished_crawl(store, every_outcome=True)
    for query in ("", "?view=other&scope=external", "?view=all&page=1&per_page=5"):
        page = client.get(f"/crawls/{crawl.id}{query}").get_data(as_text=True)
        live = client.get(f"/crawls/{crawl.id}/live{query}")
        assert live.status_code == 200 and live.headers["Cache-Control"] == "no-store"
        fragment = live.get_data(as_text=True)
        parts = live_parts(fragment)
        assert list(parts) == ["changes", "status", "numbers", "tabs", "results"]
        assert parts == live_parts(page)
        assert 'data-state="finished"' in fragment and "csrf_token" not in fragment
    numbers = live_parts(client.get(f"/crawls/{crawl.id}/live").get_data(as_text=True))["numbers"]
    for field in ("pages_crawled", "links_checked", "dead", "other", "redirected", "elapsed"):
        assert f'data-field="{field}"' in numbers
    assert "How links were checked" in numbers and "2xx:" in numbers
    assert client.get("/crawls/nope/live").status_code == 404


def live_parts(html: str) -> dict[str, str]:
    """Each ``data-live`` element's markup, by name (they do not nest)."""
    out = {}
    for m in re.finditer(r'<(section|div|nav) [^>]*data-live="(\w+)"', html):
        tag, name = m.group(1), m.group(2)
        depth, pos = 0, m.start()
        for t in re.finditer(rf"<(/?){tag}\b[^>]*>", html[m.start():]):
            depth += -1 if t.group(1) else 1
            if depth == 0:
                pos = m.start() + t.end()
                break
        out[name] = html[m.start():pos]
    return out


def test_jobs_page_says_plainly_that_a_list_is_empty(client: FlaskClient) -> None:
    html = client.get("/jobs").get_data(as_text=True)
    for sentence in ("No job is waiting.", "No job is running.", "No retry is scheduled.", "No job has failed.",
                     "No job has finished yet."):
        assert f">{sentence}</p>" in html
    assert "No queued." not in html and "No running." not in html


def test_diff_card_and_api_after_an_options_change(client: FlaskClient, store: CrawlStore) -> None:
    """Links to other sites checked, then not: their dead links are not checked this time, not fixed."""
    seed = f"{SITE}/"
    ext = {f"https://ext{i}.example/": FakePage(LinkResult(f"https://ext{i}.example/", "dead", error="dns",
                                                           external=True)) for i in range(3)}
    local = {f"{SITE}/gone": FakePage(LinkResult(f"{SITE}/gone", "dead", 404))}
    home = FakePage(LinkResult(seed, "ok", 200), [(url, "x") for url in [*ext, *local]], True)
    first = run_crawl(store, seed, {seed: home, **ext, **local})
    narrow = FakePage(LinkResult(seed, "ok", 200), [(f"{SITE}/gone", "x")], True)
    second = run_crawl(store, seed, {seed: narrow, **local}, CrawlOptions(check_external=False))
    html = client.get(f"/crawls/{second.id}").get_data(as_text=True)
    lead = re.search(r'<p class="diff-lead">(.*?)</p>', html, re.S)
    assert lead and "0 new dead links" in lead.group(1) and "0 fixed" in lead.group(1)
    caveat = html[html.index('id="diff-caveat"'):html.index("</div>", html.index('id="diff-caveat"'))]
    assert "Not like with like" in caveat and "<li>links to other sites: checked before, not checked now</li>" in caveat
    assert "3 dead links or missing anchors\n      of the previous crawl were not checked this time" in caveat
    unchecked = html[html.index('id="diff-unchecked"'):]
    assert "Not checked this time (3)" in unchecked and "https://ext0.example/" in unchecked
    data = client.get(f"/api/crawls/{second.id}/diff").json
    assert data["previous"] == first.id and data["fixed"] == [] and data["new"] == []
    assert data["option_changes"] == ["links to other sites: checked before, not checked now"]
    assert [e["url"] for e in data["unchecked"]] == sorted(ext)
    rows = client.get(f"/api/crawls/{second.id}/diff?format=csv").get_data(as_text=True).splitlines()
    assert sum(1 for row in rows if row.startswith("unchecked,")) == 3
