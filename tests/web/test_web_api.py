"""The JSON API through Flask's test client, against the private Redis."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from linkpatrol.store.crawls import CrawlStore
from tests.support.webapp import FORMULA, HOSTILE, SITE, finished_crawl, make_app


def test_create_returns_the_crawl(client: FlaskClient, store: CrawlStore) -> None:
    resp = client.post("/api/crawls", json={"url": "HTTPS://Example.ORG/a b#frag", "max_pages": 50, "max_depth": 3,
                                            "respect_robots": False, "check_external": False,
                                            "notify": ["ops@example.org"]})
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["url"] == "https://example.org/a%20b"
    assert body["state"] == "queued"
    assert resp.headers["Location"] == f"/api/crawls/{body['id']}"
    assert body["created_at"].endswith("Z") and "T" in body["created_at"]
    assert body["started_at"] is None and body["finished_at"] is None
    assert body["options"]["max_pages"] == 50 and body["options"]["notify"] == ["ops@example.org"]
    assert body["origin"] == "api"  # what made it; the form's crawls say "ui"
    crawl = store.require(body["id"])
    assert crawl.options.respect_robots is False and crawl.options.max_depth == 3
    got = client.get(f"/api/crawls/{body['id']}").json
    for key in ("id", "url", "state", "pages_crawled", "links_checked", "dead", "created_at", "started_at",
                "finished_at"):
        assert key in got


def test_site_politeness_options_reach_the_crawl(client: FlaskClient, store: CrawlStore) -> None:
    resp = client.post("/api/crawls", json={"url": "https://example.org/", "site_concurrency": 4, "site_rate": 2.5})
    assert resp.status_code == 201, resp.json
    options = store.require(resp.json["id"]).options
    assert (options.site_concurrency, options.site_rate) == (4, 2.5)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "url"),
        ({"url": ""}, "url"),
        ({"url": 42}, "url"),
        ({"url": "ftp://example.org/"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "example.org"}, "url"),
        ({"url": "https://example.org/" + "a" * 2100}, "url"),
        ({"url": "http://127.0.0.1:8080/"}, "url"),
        ({"url": "http://[::1]/"}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data/"}, "url"),
        ({"url": "http://localhost/"}, "url"),
        ({"url": "http://10.1.2.3/"}, "url"),
        ({"url": "http://exa mple.org/"}, "url"),
        ({"url": "https://example.org/", "max_pages": "ten"}, "max_pages"),
        ({"url": "https://example.org/", "max_pages": 0}, "max_pages"),
        ({"url": "https://example.org/", "max_depth": -1}, "max_depth"),
        ({"url": "https://example.org/", "max_depth": True}, "max_depth"),
        ({"url": "https://example.org/", "respect_robots": "maybe"}, "respect_robots"),
        ({"url": "https://example.org/", "notify": ["not-an-email"]}, "notify"),
        ({"url": "https://example.org/", "notify": "a@example.org"}, "notify"),
        ({"url": "https://example.org/", "notify": [f"u{i}@example.org" for i in range(11)]}, "notify"),
        ({"url": "https://example.org/", "colour": "blue"}, "colour"),
        ({"url": "https://example.org/", "site_concurrency": 0}, "site_concurrency"),
        ({"url": "https://example.org/", "site_rate": "fast"}, "site_rate"),
        ({"url": "https://example.org/", "site_rate": -1}, "site_rate"),
    ],
)
def test_bad_input_names_the_field(client: FlaskClient, store: CrawlStore, payload: dict[str, Any], field: str) -> None:
    resp = client.post("/api/crawls", json=payload)
    assert resp.status_code == 400
    assert resp.json["field"] == field
    assert resp.json["error"]
    assert store.count() == 0


def test_body_must_be_json(client: FlaskClient) -> None:
    resp = client.post("/api/crawls", data={"url": "https://example.org/"})
    assert resp.status_code == 400 and resp.json["field"] == "body"
    resp = client.post("/api/crawls", data="[1]", content_type="application/json")
    assert resp.status_code == 400


def test_list_is_paginated_newest_first(client: FlaskClient) -> None:
    ids = [client.post("/api/crawls", json={"url": f"https://example.org/{i}"}).json["id"] for i in range(7)]
    first = client.get("/api/crawls?per_page=3").json
    assert first["total"] == 7 and first["pages"] == 3 and first["page"] == 1
    assert [c["id"] for c in first["crawls"]] == ids[::-1][:3]
    last = client.get("/api/crawls?per_page=3&page=3").json
    assert [c["id"] for c in last["crawls"]] == [ids[0]]
    assert client.get("/api/crawls?per_page=0").status_code == 400
    assert client.get("/api/crawls?page=x").json["field"] == "page"


def test_unknown_crawl_is_404(client: FlaskClient) -> None:
    calls = (client.get("/api/crawls/nope"), client.get("/api/crawls/nope/broken"), client.delete("/api/crawls/nope"))
    for resp in calls:
        assert resp.status_code == 404 and "error" in resp.json


def test_broken_lists_dead_links_with_referrers(client: FlaskClient, store: CrawlStore) -> None:
    crawl = finished_crawl(store)
    body = client.get(f"/api/crawls/{crawl.id}/broken").json
    by_url = {item["url"]: item for item in body}
    assert set(by_url) == {f"{SITE}/missing", f"{SITE}/hostile", f"{SITE}/hostile2", f"{SITE}/formula",
                           "https://other.example/gone"}
    missing = by_url[f"{SITE}/missing"]
    assert missing["status"] == 404 and missing["error"] is None
    assert {(r["page"], r["text"]) for r in missing["referrers"]} == {(f"{SITE}/", "Missing page"),
                                                                        (f"{SITE}/about", "Broken again")}
    assert by_url["https://other.example/gone"]["error"] == "dns"
    assert by_url[f"{SITE}/hostile"]["referrers"][0]["text"] == HOSTILE
    everything = client.get(f"/api/crawls/{crawl.id}/broken?outcome=all").json
    assert {i["outcome"] for i in everything} == {"dead", "blocked", "rate_limited"}
    assert client.get(f"/api/crawls/{crawl.id}/broken?outcome=ok").status_code == 400
    info = client.get(f"/api/crawls/{crawl.id}").json
    assert info["state"] == "finished" and info["dead"] == 5 and info["finished_at"].endswith("Z")


def test_broken_as_csv_is_safe_in_a_spreadsheet(client: FlaskClient, store: CrawlStore) -> None:
    crawl = finished_crawl(store)
    resp = client.get(f"/api/crawls/{crawl.id}/broken?format=csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert len(rows) == 6  # /missing has two referrers
    texts = {r["anchor_text"] for r in rows}
    assert "'" + FORMULA in texts and FORMULA not in texts
    assert HOSTILE in texts
    assert all(not cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())
    assert client.get(f"/api/crawls/{crawl.id}/broken?format=xml").status_code == 400


def test_delete_cancels_then_deletes(client: FlaskClient, store: CrawlStore, rclient: redis.Redis) -> None:
    running = client.post("/api/crawls", json={"url": "https://example.org/"}).json
    resp = client.delete(f"/api/crawls/{running['id']}")
    assert resp.status_code == 200 and resp.json["state"] == "cancelled"
    assert client.delete(f"/api/crawls/{running['id']}").status_code == 204
    crawl = finished_crawl(store)
    assert client.delete(f"/api/crawls/{crawl.id}").status_code == 204
    assert client.get(f"/api/crawls/{crawl.id}").status_code == 404
    assert not list(rclient.scan_iter(match=f"lp:crawl:{crawl.id}*"))


def test_openapi_describes_every_route(client: FlaskClient, app: Flask) -> None:
    spec = client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.")
    paths = {"/api/crawls", "/api/crawls/{id}", "/api/crawls/{id}/broken", "/api/crawls/{id}/diff",
             "/api/crawls/{id}/orphans", "/api/openapi.json", "/api/sites/accepted",
             "/api/schedules", "/api/schedules/{id}", "/api/schedules/{id}/run"}
    assert set(spec["paths"]) == paths
    routes = {r.rule.replace("<crawl_id>", "{id}").replace("<schedule_id>", "{id}")
              for r in app.url_map.iter_rules() if r.rule.startswith("/api/")}
    assert routes == paths


def test_api_token(redis_url: str) -> None:
    app = make_app(redis_url, API_TOKEN="s3cret")
    c = app.test_client()
    resp = c.get("/api/crawls")
    assert resp.status_code == 401 and resp.json["status"] == 401
    assert "Bearer" in resp.headers["WWW-Authenticate"]
    assert c.get("/api/crawls", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert c.get("/api/crawls", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    ok = c.post("/api/crawls", json={"url": "https://example.org/"}, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 201
    assert c.get("/api/openapi.json").status_code == 200  # the description stays public


def test_api_basic_auth_with_ui_credentials(redis_url: str) -> None:
    app = make_app(redis_url, USERNAME="admin", PASSWORD="pw")
    c = app.test_client()
    assert c.get("/api/crawls").status_code == 401
    assert c.get("/api/crawls", auth=("admin", "nope")).status_code == 401
    assert c.get("/api/crawls", auth=("admin", "pw")).status_code == 200


def test_rate_limit_on_crawl_creation(redis_url: str, rclient: redis.Redis) -> None:
    app = make_app(redis_url, RATE_LIMIT=2, RATE_WINDOW=60)
    c = app.test_client()
    for _ in range(2):
        assert c.post("/api/crawls", json={"url": "https://example.org/"}).status_code == 201
    resp = c.post("/api/crawls", json={"url": "https://example.org/"})
    assert resp.status_code == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 61
    assert c.get("/api/crawls").json["total"] == 2
    keys = list(rclient.scan_iter(match="lp:ratelimit:*"))
    assert len(keys) == 1 and 0 < rclient.ttl(keys[0]) <= 61
    # Bad input does not count against the limit... but is still refused on its own merits.
    assert c.post("/api/crawls", json={"url": "ftp://x/"}).status_code == 400


def test_redis_down_is_a_json_503(refused_port: int) -> None:
    app = make_app(f"redis://127.0.0.1:{refused_port}/0", REDIS_TIMEOUT=0.5)
    c = app.test_client()
    for resp in (c.get("/api/crawls"), c.post("/api/crawls", json={"url": "https://example.org/"})):
        assert resp.status_code == 503
        assert "not reachable" in resp.json["error"]
        assert resp.headers["Retry-After"]
