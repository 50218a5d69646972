"""Helpers for the web tests: an app bound to the test's Redis, and crawl results written through the
frontier's own scripts (the same path the crawler's pipeline takes)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from crawler.frontier import Scripts, message
from crawler.storage import Crawl, CrawlOptions, CrawlStore, LinkResult
from web import create_app

SITE = "https://site.example"
HOSTILE = "<script>window.pwned=1</script>"
HOSTILE_IMG = "<img src=x onerror=window.pwned=1>"
FORMULA = '=HYPERLINK("http://evil.example","click")'


def make_app(redis_url: str, **overrides: Any) -> Flask:
    config = {"TESTING": True, "IGNORE_ENV": True, "REDIS_URL": redis_url, "SECRET_KEY": "test",
              "WTF_CSRF_ENABLED": False, "RATE_LIMIT": 0, **overrides}
    return create_app(config)


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def _complete(scripts: Scripts, crawl_id: str, result: LinkResult, links: list[tuple[str, str]], page: bool) -> Any:
    refs = [(target, message(target, "check", 1), "", json.dumps([result.url, text, "a", ""]))
            for target, text in links]
    return scripts.complete(crawl_id, result.url, result.to_json(), result.outcome,
                            "error" if result.status is None else f"{result.status // 100}xx",
                            is_page=page, redirected=bool(result.redirects), now=time.time(),
                            max_referrers=1000, max_pages=0, links=refs)


def finished_crawl(store: CrawlStore, extra_ok: int = 0) -> Crawl:
    """A finished crawl of SITE: a home page and an about page whose links end in every outcome."""
    crawl = store.create(f"{SITE}/", CrawlOptions())
    scripts = Scripts(store.r, store.keys)
    scripts.seed(crawl.id, f"{SITE}/", time.time())
    store.r.lpop(store.keys.start)
    scripts.pop(crawl.id, 10, "test-worker")
    home, about = f"{SITE}/", f"{SITE}/about"
    targets = {
        about: (LinkResult(about, "ok", 200), "About us"),
        f"{SITE}/missing": (LinkResult(f"{SITE}/missing", "dead", 404), "Missing page"),
        f"{SITE}/hostile": (LinkResult(f"{SITE}/hostile", "dead", 404), HOSTILE),
        f"{SITE}/hostile2": (LinkResult(f"{SITE}/hostile2", "dead", 410), HOSTILE_IMG),
        f"{SITE}/formula": (LinkResult(f"{SITE}/formula", "dead", 500), FORMULA),
        "https://other.example/gone": (LinkResult("https://other.example/gone", "dead", error="dns", external=True),
                                       "Other site"),
        "https://other.example/forbidden": (LinkResult("https://other.example/forbidden", "blocked", 403,
                                                       external=True), "Forbidden"),
        "https://other.example/slow-down": (LinkResult("https://other.example/slow-down", "rate_limited", 429,
                                                       external=True), "Slow down"),
        f"{SITE}/moved": (LinkResult(f"{SITE}/moved", "ok", 200, final_url=f"{SITE}/new",
                                     redirects=[[f"{SITE}/moved", 301]]), "Moved"),
        **{f"{SITE}/ok/{i}": (LinkResult(f"{SITE}/ok/{i}", "ok", 200), f"ok {i}") for i in range(extra_ok)},
    }
    _complete(scripts, crawl.id, LinkResult(home, "ok", 200), [(t, text) for t, (_, text) in targets.items()], True)
    scripts.pop(crawl.id, 100_000, "test-worker")
    for target, (result, _) in targets.items():
        if target == about:
            _complete(scripts, crawl.id, result, [(f"{SITE}/missing", "Broken again")], True)
        else:
            _complete(scripts, crawl.id, result, [], False)
    done = store.require(crawl.id)
    assert done.state == "finished", done.state
    return done
