"""``/api/schedules`` and the site page's schedule forms, through the app's test client on a real Redis:
the answers a client reads (next run, last run, last crawl), the 400s for bad input, auth, the rate
limit, and the home page's next scheduled run."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from linkpatrol.store.crawls import CrawlStore
from linkpatrol.watch.schedules import Schedules
from tests.support.webapp import csrf_token, make_app

SITE = "https://site.example/"


@pytest.fixture
def api(redis_url: str) -> Any:
    app = make_app(redis_url, MIN_SCHEDULE_INTERVAL=60)
    with app.test_client() as c:
        yield c


def create(api: FlaskClient, **body: Any) -> Any:
    return api.post("/api/schedules", json={"url": SITE, "every": "1h", **body})


def test_create_read_list_and_the_fields_a_client_reads(api: FlaskClient) -> None:
    resp = create(api, max_pages=20, notify=["ops@example.org"], headers={"Cookie": "session=s3cret"})
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert resp.headers["Location"] == f"/api/schedules/{body['id']}"
    assert body["url"] == SITE and body["every"] == "1h" and body["cron"] is None and body["paused"] is False
    assert body["next_run"] and body["last_run"] is None and body["last_crawl"] is None
    assert body["options"]["max_pages"] == 20 and body["options"]["header_names"] == ["Cookie"]
    assert "s3cret" not in resp.get_data(as_text=True)
    assert api.get(body["links"]["self"]).json["id"] == body["id"]
    weekly = api.post("/api/schedules", json={"url": "https://other.example", "cron": "0 3 * * 1"}).json
    assert weekly["cron"] == "0 3 * * 1" and weekly["every"] is None
    listed = api.get("/api/schedules").json
    assert [s["id"] for s in listed["schedules"]] == [weekly["id"], body["id"]] and listed["total"] == 2
    assert [s["id"] for s in api.get(f"/api/schedules?url={SITE}").json["schedules"]] == [body["id"]]
    assert "s3cret" not in api.get("/api/schedules").get_data(as_text=True)


@pytest.mark.parametrize(("body", "field", "says"), [
    ({"every": "1 hour"}, "every", "a number and a unit"),
    ({"every": "30s"}, "every", "at least 1m"),
    ({"every": None, "cron": "0 25 * * *"}, "cron", "not a cron expression"),
    ({"every": None, "cron": "*/1 * * * *", "min": 300}, "cron", "the shortest interval is 5m"),
    ({"every": None, "cron": "0 0 31 2 *"}, "cron", "'0 0 31 2 *' never fires: no date matches"),
    ({"every": None, "cron": "0 0 30 2 *"}, "cron", "never fires"),
    ({"every": None, "cron": "R 3 * * *"}, "cron", "random values (R) are not supported"),
    ({"every": None, "cron": 5}, "cron", "must be a cron expression"),
    ({"every": None, "cron": ["0 3 * * 1"]}, "cron", "must be a cron expression"),
    ({"every": None, "cron": "0 3 * * 1 " * 100}, "cron", "must be a cron expression"),
    ({"cron": "0 3 * * 1"}, "cron", "not both"),
    ({"every": None}, "every", "say when"),
    ({"colour": "red"}, "colour", "is not a crawl option"),
    ({"url": "http://127.0.0.1:9/"}, "url", "private or local network"),
    ({"url": "javascript:alert(1)"}, "url", ""),
    ({"max_pages": "many"}, "max_pages", "whole number"),
    ({"notify": ["not an address"]}, "notify", "not an email address"),
    ({"paused": "sometimes"}, "paused", "true or false"),
])
def test_bad_input_is_a_400_naming_the_field(redis_url: str, body: dict[str, Any], field: str, says: str) -> None:
    app = make_app(redis_url, MIN_SCHEDULE_INTERVAL=body.pop("min", 60))
    with app.test_client() as api:
        resp = create(api, **body)
    assert resp.status_code == 400, resp.json
    assert resp.json["field"] == field and says in resp.json["error"]


def test_the_minimum_interval_is_the_servers_setting(api: FlaskClient) -> None:
    assert create(api, every=None, cron="* * * * *").status_code == 201  # a minute apart, minimum 1 minute
    assert create(api, every="1m").status_code == 201


def test_a_cron_that_never_fires_is_a_400_in_patch_and_the_form_a_rare_one_is_kept(
        redis_url: str, store: CrawlStore) -> None:
    app = make_app(redis_url, WTF_CSRF_ENABLED=True, MIN_SCHEDULE_INTERVAL=60)
    with app.test_client() as c:
        leap = c.post("/api/schedules", json={"url": SITE, "cron": "0 0 29 2 *"})
        assert leap.status_code == 201 and "-02-29T00:00:00" in leap.json["next_run"]
        sid = leap.json["id"]
        resp = c.patch(f"/api/schedules/{sid}", json={"cron": "0 0 31 2 *"})
        assert resp.status_code == 400 and resp.json["field"] == "cron" and "never fires" in resp.json["error"]
        assert c.get(f"/api/schedules/{sid}").json["cron"] == "0 0 29 2 *"  # unchanged
        token = csrf_token(c, f"/sites?url={SITE}")
        form = c.post("/schedules", data={"csrf_token": token, "url": SITE, "kind": "cron", "when": "0 0 31 2 *"},
                      follow_redirects=True)
        assert form.status_code == 200
        assert "The schedule was not saved: cron: &#39;0 0 31 2 *&#39; never fires" in form.get_data(as_text=True)
        assert len(Schedules(store, 60).for_site(SITE)) == 1
        # A record stored before the check: resuming it says why, through the API and the form.
        c.patch(f"/api/schedules/{sid}", json={"paused": True})
        store.r.hset(store.keys.schedule(sid), "cron", "0 0 31 2 *")
        resp = c.patch(f"/api/schedules/{sid}", json={"paused": False})
        assert resp.status_code == 400 and resp.json["field"] == "cron" and "never fires" in resp.json["error"]
        page = c.post(f"/schedules/{sid}/resume", data={"csrf_token": token}, follow_redirects=True)
        assert page.status_code == 200 and "Not resumed: cron: &#39;0 0 31 2 *&#39; never fires" in page.get_data(
            as_text=True)
        fixed = c.patch(f"/api/schedules/{sid}", json={"cron": "0 3 * * 1", "paused": False})
        assert fixed.status_code == 200 and fixed.json["next_run"] and fixed.json["paused"] is False


def test_bodies_that_are_not_json_objects_are_400s(api: FlaskClient) -> None:
    for resp in (api.post("/api/schedules", data="every=1h"), api.post("/api/schedules", json=[1, 2]),
                 api.post("/api/schedules", data="{", content_type="application/json")):
        assert resp.status_code == 400 and resp.json["field"] == "body"


def test_pause_resume_change_and_unknown_fields(api: FlaskClient) -> None:
    sid = create(api).json["id"]
    paused = api.patch(f"/api/schedules/{sid}", json={"paused": True}).json
    assert paused["paused"] is True and paused["next_run"] is None
    resumed = api.patch(f"/api/schedules/{sid}", json={"paused": False}).json
    assert resumed["paused"] is False and resumed["next_run"]
    changed = api.patch(f"/api/schedules/{sid}", json={"cron": "30 4 * * *"}).json
    assert changed["cron"] == "30 4 * * *" and changed["every"] is None and "T04:30:00" in changed["next_run"]
    for body, field in (({"max_pages": 3}, "max_pages"), ({"every": "1x"}, "every"), ({"paused": 1}, "paused"),
                        ({}, "body")):
        resp = api.patch(f"/api/schedules/{sid}", json=body)
        assert resp.status_code == 400 and resp.json["field"] == field, body
    assert api.patch("/api/schedules/nope", json={"paused": True}).status_code == 404


def test_run_now_then_409_while_it_runs_and_delete_leaves_the_crawls(
        api: FlaskClient, redis_url: str, store: CrawlStore) -> None:
    sid = create(api).json["id"]
    run = api.post(f"/api/schedules/{sid}/run")
    assert run.status_code == 201, run.json
    crawl_id = run.json["crawl"]["id"]
    assert run.json["schedule"]["last_crawl"] == crawl_id and run.json["crawl"]["state"] == "queued"
    assert api.get(f"/api/schedules/{sid}").json["links"]["last_crawl"] == f"/api/crawls/{crawl_id}"
    again = api.post(f"/api/schedules/{sid}/run")
    assert again.status_code == 409 and again.json["crawl"] == crawl_id
    assert api.delete(f"/api/schedules/{sid}").status_code == 204
    assert api.get(f"/api/schedules/{sid}").status_code == 404
    assert api.delete(f"/api/schedules/{sid}").status_code == 404
    assert api.post(f"/api/schedules/{sid}/run").status_code == 404
    assert api.get(f"/api/crawls/{crawl_id}").status_code == 200  # the crawl stays


def test_same_auth_and_rate_limit_as_the_crawl_api(redis_url: str) -> None:
    app = make_app(redis_url, API_TOKEN="t0ken", USERNAME="admin", PASSWORD="pw", RATE_LIMIT=2,
                   MIN_SCHEDULE_INTERVAL=60)
    with app.test_client() as c:
        assert c.post("/api/schedules", json={"url": SITE, "every": "1h"}).status_code == 401
        assert c.get("/api/schedules").status_code == 401
        auth = {"Authorization": "Bearer t0ken"}
        sid = c.post("/api/schedules", json={"url": SITE, "every": "1h"}, headers=auth).json["id"]
        assert c.post(f"/api/schedules/{sid}/run", headers=auth).status_code == 201
        limited = c.post("/api/schedules", json={"url": SITE, "every": "1h"}, headers=auth)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_the_site_page_schedules_and_the_home_page_shows_the_next_run(redis_url: str, store: CrawlStore) -> None:
    app = make_app(redis_url, WTF_CSRF_ENABLED=True, MIN_SCHEDULE_INTERVAL=60)
    store.create(SITE)
    with app.test_client() as c:
        page = f"/sites?url={SITE}"
        token = csrf_token(c, page)
        assert "No schedule" in c.get(page).get_data(as_text=True)
        refused = c.post("/schedules", data={"url": SITE, "kind": "every", "when": "1h"})  # no token
        assert refused.status_code == 400
        bad = c.post("/schedules", data={"csrf_token": token, "url": SITE, "kind": "cron", "when": "nope"},
                     follow_redirects=True)
        assert "The schedule was not saved: cron:" in bad.get_data(as_text=True)
        ok = c.post("/schedules", data={"csrf_token": token, "url": SITE, "kind": "every", "when": "6h",
                                        "notify": "ops@example.org", "respect_robots": "1",
                                        "check_external": "1", "sitemaps": "1", "notify_when": "changes",
                                        "webhooks": "https://hooks.example.org/a?token=t0k\nhttps://hooks.example.org/b",
                                        "webhook_secret": "sh4red"}, follow_redirects=True)
        html = ok.get_data(as_text=True)
        assert "Scheduled: https://site.example/ every 6h; next run" in html
        (s,) = Schedules(store, 60).for_site(SITE)
        assert s.options.notify == ["ops@example.org"] and s.options.respect_robots and s.options.sitemaps
        assert s.options.notify_when == "changes" and s.options.webhook_signed and s.options.webhook_targets == [
            "https://hooks.example.org/a", "https://hooks.example.org/b"]
        assert "t0k" not in html and "sh4red" not in html  # the token in a URL and the secret stay hidden
        assert f'data-schedule="{s.id}"' in html and "every 6h" in html
        home = c.get("/").get_data(as_text=True)
        row = re.search(r'<tr data-site="[0-9a-f]+">.*?</tr>', home, re.S)
        assert row and "next-run" in row.group(0) and (s.next_run and "UTC" in row.group(0))
        c.post(f"/schedules/{s.id}/pause", data={"csrf_token": token})
        assert Schedules(store, 60).require(s.id).paused
        assert "paused" in c.get(page).get_data(as_text=True)
        c.post(f"/schedules/{s.id}/resume", data={"csrf_token": token})
        run = c.post(f"/schedules/{s.id}/run", data={"csrf_token": token}, follow_redirects=True)
        assert "Started crawl" in run.get_data(as_text=True)
        busy = c.post(f"/schedules/{s.id}/run", data={"csrf_token": token}, follow_redirects=True)
        assert "still running" in busy.get_data(as_text=True)
        c.post(f"/schedules/{s.id}/delete", data={"csrf_token": token})
        assert Schedules(store, 60).get(s.id) is None
        assert c.post("/schedules/nope/run", data={"csrf_token": token}).status_code == 303


def test_a_site_scheduled_before_its_first_crawl_has_a_page(api: FlaskClient) -> None:
    assert api.get(f"/sites?url={SITE}").status_code == 404
    sid = create(api).json["id"]
    html = api.get(f"/sites?url={SITE}").get_data(as_text=True)
    assert f'data-schedule="{sid}"' in html and "No finished crawl yet" in html
    no_url = api.post("/schedules", data={"kind": "every", "when": "1h"})
    assert no_url.status_code == 303 and no_url.headers["Location"].endswith("/")


def test_ids_that_are_not_schedule_ids_are_404s_never_other_keys(api: FlaskClient) -> None:
    sid = create(api, headers={"Authorization": "Bearer s3cret"}).json["id"]
    for bad in (f"{sid}:secrets", "x" * 5000, "..", sid.upper()):
        assert api.get(f"/api/schedules/{bad}").status_code == 404
        assert api.patch(f"/api/schedules/{bad}", json={"paused": True}).status_code == 404
        assert api.post(f"/api/schedules/{bad}/run").status_code == 404
        assert api.delete(f"/api/schedules/{bad}").status_code == 404
    assert api.get(f"/api/schedules/{sid}").status_code == 200


def test_a_site_takes_at_most_so_many_schedules(api: FlaskClient) -> None:
    from linkpatrol.watch.schedules import MAX_PER_SITE

    for _ in range(MAX_PER_SITE):
        assert create(api).status_code == 201
    over = create(api)
    assert over.status_code == 400 and over.json["field"] == "url" and "schedules already" in over.json["error"]
    assert create(api, url="https://other.example/").status_code == 201
