"""Per-crawl rules through the web app: the JSON API, the home form, the report page, re-runs, the
OpenAPI description; and request header values, which are secrets, shown nowhere."""

from __future__ import annotations

import json
import re
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from rq import SimpleWorker

from linkpatrol.model.options import OPTION_FIELDS, CrawlOptions, parse_options
from linkpatrol.model.wire import LinkResult
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.fake_crawl import FakePage, run_crawl
from tests.support.processes import linkpatrol_cli
from tests.support.smtp import body
from web.notifications.queue import mail_queue

SECRET = "Bearer s3cret-t0ken-value"
RULES: dict[str, Any] = {
    "exclude": ["/calendar/", "[?&]sort="], "same_site": ["Docs.Example.org"], "subdomains": True,
    "accept": ["403@github.com", "500-599"], "headers": {"Authorization": SECRET, "Cookie": "session=s3cret-cookie"},
    "head_first": True, "max_page_size": 8,
}


def test_api_creates_a_crawl_with_rules(client: FlaskClient, store: CrawlStore) -> None:
    resp = client.post("/api/crawls", json={"url": "https://staging.example.org/", **RULES})
    assert resp.status_code == 201, resp.json
    options = resp.json["options"]
    assert options["exclude"] == ["/calendar/", "[?&]sort="] and options["same_site"] == ["docs.example.org"]
    assert options["subdomains"] is True and options["head_first"] is True and options["max_page_size"] == 8
    assert options["accept"] == ["403@github.com", "500-599"]
    assert options["header_names"] == ["Authorization", "Cookie"] and "headers" not in options
    assert store.crawl_headers(resp.json["id"]) == RULES["headers"]
    defaults = client.post("/api/crawls", json={"url": "https://example.org/"}).json["options"]
    assert {k: defaults[k] for k in ("exclude", "same_site", "subdomains", "accept", "header_names", "head_first",
                                     "max_page_size")} == {
        "exclude": [], "same_site": [], "subdomains": False, "accept": [], "header_names": [], "head_first": False,
        "max_page_size": None}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"exclude": "/calendar/"}, "exclude"),
        ({"exclude": ["(unclosed"]}, "exclude"),
        ({"exclude": ["x" * 501]}, "exclude"),
        ({"exclude": [f"/{i}/" for i in range(51)]}, "exclude"),
        ({"exclude": ["(a)\\1"]}, "exclude"),  # RE2 runs no backreference
        ({"exclude": [".{600}", ".{600}/", ".{600}x"]}, "exclude"),  # too large together
        ({"same_site": ["https://docs.example.org/"]}, "same_site"),
        ({"same_site": "docs.example.org"}, "same_site"),
        ({"subdomains": "perhaps"}, "subdomains"),
        ({"accept": ["40x"]}, "accept"),
        ({"accept": ["99"]}, "accept"),
        ({"accept": ["599-500"]}, "accept"),
        ({"accept": [str(100 + i) for i in range(51)]}, "accept"),
        ({"headers": "Authorization: x"}, "headers"),
        ({"headers": {"Host": "example.org"}}, "headers"),
        ({"headers": {"Bad Name": "x"}}, "headers"),
        ({"headers": {"X-A": "a\r\nX-B: b"}}, "headers"),
        ({"headers": {"X-A": "v" * 4097}}, "headers"),
        ({"headers": {f"X-{i}": "v" for i in range(21)}}, "headers"),
        ({"head_first": "sometimes"}, "head_first"),
        ({"max_page_size": 0}, "max_page_size"),
        ({"max_page_size": 1025}, "max_page_size"),
        ({"header_names": ["X"]}, "header_names"),
    ],
)
def test_api_bad_rules_name_the_field(client: FlaskClient, store: CrawlStore, extra: dict[str, Any],
                                      field: str) -> None:
    resp = client.post("/api/crawls", json={"url": "https://example.org/", **extra})
    assert resp.status_code == 400
    assert resp.json["field"] == field and resp.json["error"].startswith(f"{field}: ")
    assert store.count() == 0


def test_api_names_what_re2_cannot_run(client: FlaskClient, store: CrawlStore) -> None:
    resp = client.post("/api/crawls", json={"url": "https://example.org/", "exclude": ["/calendar/", "(?=x)"]})
    assert resp.status_code == 400
    assert resp.json["field"] == "exclude"
    assert resp.json["error"] == ("exclude: '(?=x)' uses lookaround, which is not supported (patterns run on RE2, "
                                  "in linear time)")
    # The pattern of the report, which stalled every crawler on Python's re, is a pattern like any other.
    assert client.post("/api/crawls", json={"url": "https://example.org/", "exclude": ["(a+)+$"]}).status_code == 201
    assert store.count() == 1


def test_openapi_lists_every_option(client: FlaskClient) -> None:
    schemas = client.get("/api/openapi.json").json["components"]["schemas"]
    assert set(schemas["CreateCrawl"]["properties"]) == {"url", *OPTION_FIELDS}
    # Secrets are never shown: header values, webhook URLs (a token may sit in them), the secret.
    shown = set(OPTION_FIELDS) - {"headers", "webhooks", "webhook_secret"} | {"header_names", "webhook_targets",
                                                                            "webhook_signed"}
    assert set(schemas["Options"]["properties"]) == shown
    assert set(schemas["Options"]["properties"]) == set(parse_options({}).to_dict())


def test_form_takes_the_rules(client: FlaskClient, store: CrawlStore) -> None:
    html = client.get("/").get_data(as_text=True)
    advanced = re.search(r'<details class="field wide advanced" id="advanced"\s*>(.*?)</details>', html, re.S)
    assert advanced is not None, "the advanced section is closed by default"
    for name in ("exclude", "same_site", "accept", "headers", "max_page_size", "site_concurrency"):
        assert f'for="{name}"' in advanced.group(1)
    for name in ("subdomains", "head_first"):
        assert f'name="{name}"' in advanced.group(1)
    resp = client.post("/crawls", data={
        "url": "https://staging.example.org/", "respect_robots": "1", "check_external": "1",
        "exclude": "/calendar/\r\n[?&]sort=\r\n", "same_site": "Docs.Example.org", "subdomains": "1",
        "accept": "403@github.com, 500-599", "headers": f"Authorization: {SECRET}\r\nCookie: session=s3cret-cookie",
        "head_first": "1", "max_page_size": "8", "sitemaps": "1"})
    assert resp.status_code == 303
    crawl = store.list()[0]
    assert crawl.options == CrawlOptions.from_json(parse_options(RULES).to_json())
    assert store.crawl_headers(crawl.id) == RULES["headers"]


@pytest.mark.parametrize(
    ("form", "field", "text"),
    [
        ({"exclude": "(unclosed"}, "exclude", "not a regular expression"),
        ({"exclude": "/calendar/\r\n/a++b"}, "exclude", "uses a possessive quantifier ++, which is not supported"),
        ({"same_site": "https://docs.example.org/"}, "same_site", "not a host name"),
        ({"accept": "40x"}, "accept", "not a status code"),
        ({"headers": "Host: example.org"}, "headers", "set by the HTTP client"),
        ({"max_page_size": "5000"}, "max_page_size", "from 1 to 1024"),
    ],
)
def test_form_errors_in_the_advanced_section(client: FlaskClient, store: CrawlStore, form: dict[str, str], field: str,
                                             text: str) -> None:
    resp = client.post("/crawls", data={"url": "https://example.org/", **form})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert f'id="{field}-error"' in html and text in html
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html, re.S)
    assert re.search(r'<details class="field wide advanced" id="advanced"\s*open>', html), "opened on its error"
    assert store.count() == 0


def test_form_never_shows_header_values_back(client: FlaskClient, store: CrawlStore) -> None:
    resp = client.post("/crawls", data={"url": "https://example.org/", "max_page_size": "0",
                                        "headers": f"Authorization: {SECRET}", "exclude": "/calendar/"})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert "s3cret" not in html
    assert "enter them again" in html and "/calendar/" in html  # the rest of the form is kept
    assert re.search(r'<textarea id="headers"[^>]*>\s*</textarea>', html, re.S)


def test_report_page_shows_the_rules(client: FlaskClient, store: CrawlStore) -> None:
    crawl = store.create("https://staging.example.org/", parse_options(RULES))
    html = client.get(f"/crawls/{crawl.id}").get_data(as_text=True)
    rules = re.search(r'<dl class="rules">(.*?)</dl>', html, re.S)
    assert rules is not None
    shown = {name: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", value)).strip()
             for name, value in re.findall(r'<dd data-rule="(\w+)">(.*?)</dd>', rules.group(1), re.S)}
    assert "/calendar/" in shown["exclude"] and "[?&amp;]sort=" in shown["exclude"]
    assert "docs.example.org" in shown["same_site"] and "with subdomains" in shown["same_site"]
    assert "403@github.com" in shown["accept"] and "500-599" in shown["accept"]
    assert shown["headers"] == "Authorization Cookie"
    assert "HEAD first" in shown["head_first"] and shown["max_page_size"] == "8 MB"
    assert "s3cret" not in html
    plain = client.get(f"/crawls/{store.create('https://example.org/').id}").get_data(as_text=True)
    assert '<details class="rules" id="rules" >' in plain  # closed when the crawl has no rules
    assert "2xx only" in plain and "checked with GET" in plain and "LINKPATROL_MAX_PAGE_SIZE" in plain


def test_rerun_keeps_rules_and_headers(client: FlaskClient, store: CrawlStore) -> None:
    crawl = store.create("https://staging.example.org/", parse_options(RULES))
    resp = client.post(f"/crawls/{crawl.id}/rerun")
    assert resp.status_code == 303
    again = store.list()[0]
    assert again.id != crawl.id and resp.headers["Location"] == f"/crawls/{again.id}"
    assert again.options == crawl.options
    assert store.crawl_headers(again.id) == RULES["headers"]


def test_rerun_of_a_crawl_whose_pattern_re2_refuses_says_why(client: FlaskClient, store: CrawlStore) -> None:
    """A crawl stored while patterns ran on Python's re: its re-run is refused with the reason, not a 500."""
    crawl = store.create("https://staging.example.org/", parse_options({"exclude": ["/drafts/"]}))
    options = json.loads(store.r.hget(store.keys.crawl(crawl.id), "options") or "{}")
    store.r.hset(store.keys.crawl(crawl.id), "options", json.dumps({**options, "exclude": [r"(a)\1"]}))
    resp = client.post(f"/crawls/{crawl.id}/rerun", follow_redirects=True)
    assert resp.status_code == 200 and store.count() == 1
    assert "cannot be run again" in resp.get_data(as_text=True) and "backreference" in resp.get_data(as_text=True)


def test_header_values_are_shown_nowhere(redis_url: str, store: CrawlStore, rq_conn: redis.Redis,
        outbox_client: tuple[FlaskClient, Path]) -> None:
    client, outbox = outbox_client
    site = "https://staging.example.org/"
    pages = {site: FakePage(LinkResult(site, "ok", 200), [(f"{site}gone", "Gone"), (f"{site}private", "Private")],
                            is_page=True),
             f"{site}gone": FakePage(LinkResult(f"{site}gone", "dead", 404)),
             f"{site}private": FakePage(LinkResult(f"{site}private", "blocked", 401))}
    crawl = run_crawl(store, site, pages, parse_options({**RULES, "notify": ["owner@example.org"]}))
    assert crawl.state == "finished" and crawl.dead == 1

    shown: dict[str, str] = {}
    created = client.post("/api/crawls", json={"url": site, **RULES})
    shown["API create"] = created.get_data(as_text=True)
    shown["API crawl"] = client.get(f"/api/crawls/{crawl.id}").get_data(as_text=True)
    shown["API list"] = client.get("/api/crawls").get_data(as_text=True)
    shown["progress"] = client.get("/progress").get_data(as_text=True)
    shown["crawl progress"] = client.get(f"/crawls/{crawl.id}/progress").get_data(as_text=True)
    shown["home page"] = client.get("/").get_data(as_text=True)
    for view in ("dead", "other", "redirects", "all"):
        shown[f"report {view}"] = client.get(f"/crawls/{crawl.id}?view={view}").get_data(as_text=True)
    shown["link page"] = client.get(f"/crawls/{crawl.id}/link?url={site}gone").get_data(as_text=True)
    shown["CSV export"] = client.get(f"/api/crawls/{crawl.id}/broken?format=csv&outcome=all").get_data(as_text=True)
    shown["JSON export"] = client.get(f"/api/crawls/{crawl.id}/broken?outcome=all&download=1").get_data(as_text=True)
    shown["status"] = linkpatrol_cli(redis_url, "status", crawl.id).stdout
    shown["list"] = linkpatrol_cli(redis_url, "list").stdout
    shown["report"] = linkpatrol_cli(redis_url, "report", crawl.id, "--include", "dead,blocked").stdout

    assert client.post(f"/crawls/{crawl.id}/mail", data={"to": "owner@example.org"}).status_code == 303
    SimpleWorker([mail_queue(rq_conn, Keys())], connection=rq_conn).work(burst=True)
    (eml,) = outbox.glob("*.eml")
    shown["mail"] = eml.read_text(errors="replace")
    msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
    shown["mail text"], shown["mail html"] = body(msg, "plain"), body(msg, "html")

    assert "Authorization" in shown["API crawl"] and "Authorization" in shown["report dead"]
    assert f"{site}gone" in shown["CSV export"] and f"{site}gone" in shown["mail text"]
    for where, text in shown.items():
        assert "s3cret" not in text, where
    # In Redis, the values live in the crawls' headers keys only.
    holding = [key.decode() for key in rq_conn.scan_iter() if b"s3cret" in _dump(rq_conn, key)]
    assert sorted(holding) == sorted([Keys().crawl_headers(crawl.id), Keys().crawl_headers(created.json["id"])])


def _dump(client: redis.Redis, key: bytes) -> bytes:
    """Everything a key holds, as bytes (``client`` does not decode: RQ's keys hold pickles)."""
    kind = client.type(key)
    if kind == b"hash":
        return repr(client.hgetall(key)).encode()
    if kind == b"list":
        return repr(client.lrange(key, 0, -1)).encode()
    if kind == b"set":
        return repr(client.smembers(key)).encode()
    if kind == b"zset":
        return repr(client.zrange(key, 0, -1)).encode()
    if kind == b"string":
        return bytes(client.get(key) or b"")
    return b""
