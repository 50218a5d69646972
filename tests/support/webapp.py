"""Helpers for the web tests: an app bound to the test's Redis, and crawl results written through the
frontier's own scripts (the same path the crawler's pipeline takes)."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from linkpatrol.model.records import Crawl
from linkpatrol.model.verdicts import ErrorKind, Outcome
from linkpatrol.model.wire import LinkResult
from linkpatrol.store.crawls import CrawlStore
from tests.support.fake_crawl import FakePage, run_crawl
from web import create_app, resources

SITE = "https://site.example"
HOSTILE = "<script>window.pwned=1</script>"
HOSTILE_IMG = "<img src=x onerror=window.pwned=1>"
FORMULA = '=HYPERLINK("http://evil.example","click")'


# The apps made in the running test, closed at its end (``close_apps``, from tests/conftest.py).
_made: list[Flask] = []


def make_app(redis_url: str, **overrides: Any) -> Flask:
    config = {"TESTING": True, "IGNORE_ENV": True, "REDIS_URL": redis_url, "SECRET_KEY": "test",
              "WTF_CSRF_ENABLED": False, "RATE_LIMIT": 0, **overrides}
    app = create_app(config)
    _made.append(app)
    return app


def close_apps() -> None:
    """Close the Redis clients of every app made since the last call. An app is a web of reference
    cycles: left to the garbage collector, a connection it opened could be freed after its socket, and
    that socket's ResourceWarning would fail whatever test runs at that collection."""
    while _made:
        found = _made.pop().extensions[resources.EXTENSION]
        for client in (found.store.r, found.rq):
            client.close()


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def finished_crawl(store: CrawlStore, extra_ok: int = 0, every_outcome: bool = False) -> Crawl:
    """A finished crawl of SITE: a home page and an about page whose links are ok, dead (by status
    and by failure kind), blocked, rate-limited and redirected; ``every_outcome`` adds an excluded
    (robots.txt), an unsupported (ftp:) link, a page over the size cap (a warning) and a link to a
    missing anchor of the about page."""
    home, about = f"{SITE}/", f"{SITE}/about"
    more = {
        f"{SITE}/private": (LinkResult(f"{SITE}/private", Outcome.EXCLUDED, error=ErrorKind.ROBOTS), "Private"),
        "ftp://files.example/a.zip": (LinkResult("ftp://files.example/a.zip", Outcome.UNSUPPORTED,
                                                 error=ErrorKind.UNSUPPORTED_SCHEME, external=True), "Archive"),
        f"{SITE}/huge.html": (LinkResult(f"{SITE}/huge.html", Outcome.WARNING, 200, error=ErrorKind.TOO_LARGE),
                              "Huge page"),
    } if every_outcome else {}
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
        **more,
    }
    pages = {target: FakePage(result) for target, (result, _) in targets.items()}
    home_links = [(t, text) for t, (_, text) in targets.items()]
    if every_outcome:
        home_links.append((f"{about}#team", "Our team"))
    pages[home] = FakePage(LinkResult(home, "ok", 200), home_links, True)
    pages[about] = FakePage(targets[about][0], [(f"{SITE}/missing", "Broken again")], True, anchors={"history"})
    done = run_crawl(store, f"{SITE}/", pages)
    assert done.state == "finished", done.state
    return done
