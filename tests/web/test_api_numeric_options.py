"""Numbers a client sends that Python's own parsing chokes on answer 400 with a message, never 500:
the JSON API through Flask's test client, against the private Redis."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from linkpatrol.store.crawls import CrawlStore

SITE = "https://example.org/"


@pytest.mark.parametrize("value", ["²", "١٢", "\uff19", "1" * 5000, "5" + "0" * 4299, " 12x"])
def test_a_number_string_python_cannot_read_answers_400(client: FlaskClient, store: CrawlStore, value: str) -> None:
    resp = client.post("/api/crawls", json={"url": SITE, "max_pages": value})
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    message = json.dumps(resp.json)
    assert "max_pages" in message and ("whole number" in message or "at most" in message)
    assert store.list() == []


def test_leading_zeros_are_only_zeros(client: FlaskClient, store: CrawlStore) -> None:
    resp = client.post("/api/crawls", json={"url": SITE, "max_pages": "0" * 4999 + "7"})
    assert resp.status_code == 201, resp.get_data(as_text=True)[:300]
    assert store.require(resp.json["id"]).options.max_pages == 7


def test_a_5000_digit_json_number_answers_400(client: FlaskClient, store: CrawlStore) -> None:
    body = '{"url": "' + SITE + '", "max_depth": ' + "9" * 5000 + "}"
    resp = client.post("/api/crawls", data=body, content_type="application/json")
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert store.list() == []


def test_max_duration_is_read_and_refused_clearly(client: FlaskClient, store: CrawlStore) -> None:
    ok = client.post("/api/crawls", json={"url": SITE, "max_duration": "2h"})
    assert ok.status_code == 201, ok.json
    assert ok.json["options"]["max_duration"] == 7200
    assert store.require(ok.json["id"]).options.max_duration == 7200
    for bad in ("²h", "2 weeks", "0", -5, True, "9" * 5000):
        resp = client.post("/api/crawls", json={"url": SITE, "max_duration": bad})
        assert resp.status_code == 400, (bad, resp.get_data(as_text=True)[:300])
        assert "max_duration" in json.dumps(resp.json)


def test_the_form_shows_the_limits_and_takes_a_time_limit(client: FlaskClient, store: CrawlStore) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'name="max_duration"' in page and "12h unless set" in page
    resp = client.post("/crawls", data={"url": SITE, "max_duration": "45m", "respect_robots": "1"})
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:300]
    (crawl,) = store.list()
    assert crawl.options.max_duration == 45 * 60
    bad = client.post("/crawls", data={"url": SITE, "max_duration": "²h"})
    assert bad.status_code == 400 and "must be a duration" in bad.get_data(as_text=True)
