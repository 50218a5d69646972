"""The operator's view of live crawlers: the web page, its JSON, and the CLI list, against real
crawler processes; a killed crawler drops off once its heartbeat expires."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient

from tests.support.processes import ROOT, CrawlerProcess, wait_for
from tests.support.webapp import make_app

Factory = Callable[..., CrawlerProcess]


def listed(client: FlaskClient) -> list[dict[str, Any]]:
    resp = client.get("/crawlers.json")
    assert resp.status_code == 200
    data = resp.get_json()
    assert data["count"] == len(data["crawlers"])
    return list(data["crawlers"])


def test_live_crawlers_listed_and_dead_ones_disappear(redis_url: str, crawlers: Factory) -> None:
    client = make_app(redis_url).test_client()
    assert listed(client) == []
    assert "No crawler is running" in client.get("/crawlers").get_data(as_text=True)
    first, second = crawlers(), crawlers()
    wait_for(lambda: len(listed(client)) == 2, 30, what="two crawlers in the web view")
    live = listed(client)
    assert {w["pid"] for w in live} == {first.pid, second.pid}
    assert all(w["host"] and w["started_at"] and w["seconds_since_heartbeat"] < 10 for w in live)
    html = client.get("/crawlers").get_data(as_text=True)
    assert str(first.pid) in html and str(second.pid) in html
    cli = subprocess.run([sys.executable, "-m", "linkpatrol", "crawlers"], cwd=ROOT, capture_output=True, text=True,
                         env={"REDIS_URL": redis_url, "PATH": "/usr/bin:/bin"}, check=True, timeout=30)
    assert {w["pid"] for w in json.loads(cli.stdout)} == {first.pid, second.pid}

    second.kill()  # no goodbye: only the heartbeat's expiry tells
    wait_for(lambda: [w["pid"] for w in listed(client)] == [first.pid], 30, what="the dead crawler to drop off")


def test_the_old_paths_lead_to_the_crawlers(redis_url: str) -> None:
    """Bookmarks and scripts of the version that called crawlers workers still arrive."""
    client = make_app(redis_url).test_client()
    for old, new in (("/workers", "/crawlers"), ("/workers.json", "/crawlers.json")):
        resp = client.get(old)
        assert resp.status_code == 308 and resp.headers["Location"].endswith(new)
    assert client.get("/workers.json", follow_redirects=True).get_json() == {"count": 0, "crawlers": []}
