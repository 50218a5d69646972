"""The web app's security promises, each against the real app under gunicorn on loopback (issue 11):
no way around the login (item 3), no open redirect after it (4), rate-limit buckets keyed by checked
identity only (5), hostile ids, numbers and bodies answered 4xx on every route (6), the address policy at
the form (8), and page-controlled text isolated against bidi overrides (10)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pytest
import redis

from linkpatrol.model.addresses import AddressPolicy, legacy_ipv4, nat64_embedded
from linkpatrol.model.verdicts import Outcome
from linkpatrol.model.wire import LinkResult
from linkpatrol.store.crawls import CrawlStore
from tests.support.browser import BROWSER_MARKS
from tests.support.fake_crawl import FakePage, run_crawl
from tests.support.processes import ROOT
from tests.support.webapp import SITE, finished_crawl, make_app
from tests.support.webserver import WebClient, WebServer

LOGIN = {"LINKPATROL_USERNAME": "admin", "LINKPATROL_PASSWORD": "pw"}
TOKEN = {"LINKPATROL_API_TOKEN": "tok"}
BEARER = {"Authorization": "Bearer tok"}
# For the tests below that send many wrong credentials on purpose: past a few, the login throttle
# would answer 429 (tests/web/test_login_throttle.py holds it to its own promises).
NO_THROTTLE = {"LINKPATROL_LOGIN_LIMIT": "0"}


@contextmanager
def serving(redis_url: str, tmp_path: Path, env: dict[str, str]) -> Iterator[WebServer]:
    """gunicorn with ``env``; after the test, its log holds no traceback."""
    web = WebServer(redis_url, tmp_path / "web.log", env).wait_ready()
    try:
        yield web
    finally:
        web.stop()
    log = web.output()
    assert "Traceback" not in log, log[-3000:]


# -- item 3: a credential closes everything but the login page, static files and the OpenAPI document --
def pages_and_forms(crawl_id: str) -> list[tuple[str, str]]:
    link = f"/crawls/{crawl_id}/link?url={quote(SITE + '/missing', safe='')}"
    return [("GET", "/"), ("GET", f"/crawls/{crawl_id}"), ("GET", link),
            ("GET", f"/sites?url={SITE}/"), ("GET", "/jobs"), ("GET", "/crawlers"),
            ("POST", "/crawls"), ("POST", f"/crawls/{crawl_id}/cancel"), ("POST", f"/crawls/{crawl_id}/delete"),
            ("POST", f"/crawls/{crawl_id}/rerun"), ("POST", f"/crawls/{crawl_id}/mail"), ("POST", "/mail/test"),
            ("POST", "/schedules")]


JSON_ROUTES = ["/progress", "/crawlers.json", "/jobs.json", "/api/crawls"]


def assert_closed(client: WebClient, crawl_id: str, headers: dict[str, str] | None = None) -> None:
    """Nothing but the open endpoints answers, and no form does anything (checked by the caller)."""
    token = client.csrf_token("/login")  # a visitor can get a valid CSRF token from the login page
    for method, path in pages_and_forms(crawl_id):
        if method == "GET":
            answer = client.get(path, headers=headers)
        else:
            answer = client.post_form(path, {"csrf_token": token, "url": "https://example.org/",
                                             "to": "someone@example.org"}, headers=headers)
        location = answer.header("Location") or ""
        assert answer.status == 302 and location.startswith("/login"), (method, path, answer.status)
    for path in [*JSON_ROUTES, f"/crawls/{crawl_id}/progress", f"/api/crawls/{crawl_id}"]:
        answer = client.get(path, headers=headers)
        assert answer.status == 401 and answer.json()["status"] == 401, path
    assert client.post_json("/api/crawls", {"url": "https://example.org/"}, headers=headers).status == 401
    for path in ("/login", "/static/style.css", "/api/openapi.json"):
        assert client.get(path, headers=headers).status == 200, path


@pytest.mark.parametrize("env", [TOKEN, LOGIN, {**LOGIN, **TOKEN}], ids=["token-only", "login-only", "both"])
def test_any_credential_closes_every_page_form_and_json_route(redis_url: str, store: CrawlStore,
                                                             tmp_path: Path, env: dict[str, str]) -> None:
    crawl = finished_crawl(store)
    with serving(redis_url, tmp_path, {**env, **NO_THROTTLE}) as web:
        assert_closed(web.client(), crawl.id)
        # A made-up token and a wrong basic pair open nothing either.
        assert_closed(web.client(), crawl.id, {"Authorization": "Bearer made-up"})
        assert_closed(web.client(), crawl.id, {"Authorization": "Basic YWRtaW46bm8="})  # admin:no
        assert store.count() == 1 and store.require(crawl.id).state == "finished"
        assert not store.r.keys("rq:*") and not store.r.keys("*mail*")  # no mail job was queued
        # The right credential: the token (or basic) opens the API and the JSON routes, not the pages.
        if "LINKPATROL_API_TOKEN" in env:
            c = web.client()
            for path in JSON_ROUTES:
                assert c.get(path, headers=BEARER).status == 200, path
            assert c.get("/", headers=BEARER).status == 302
        # A login opens everything; with a token only, the login page takes the token.
        c = web.client()
        answer = c.login("admin", "pw") if "LINKPATROL_USERNAME" in env else c.login("", "tok")
        assert answer.status == 302 and answer.header("Location") == "/"
        for _, path in pages_and_forms(crawl.id)[:6]:
            assert c.get(path).status == 200, path
        for path in JSON_ROUTES:
            assert c.get(path).status == 200, path
        assert c.login("admin", "wrong").status == 401 and c.login("", "wrong").status == 401


def test_no_credential_leaves_a_laptop_app_open(redis_url: str, tmp_path: Path) -> None:
    with serving(redis_url, tmp_path, {}) as web:
        c = web.client()
        assert c.get("/").status == 200 and c.get("/crawlers.json").status == 200
        assert c.get("/login").status == 302


def test_a_published_service_refuses_to_start_without_a_credential(redis_url: str, tmp_path: Path) -> None:
    """docker-compose's web service sets LINKPATROL_REQUIRE_LOGIN=1: no credential, no app."""
    compose = (ROOT / "docker-compose.yml").read_text()
    web_service = compose[compose.index("\n  web:"):compose.index("\n  worker:")]
    assert 'LINKPATROL_REQUIRE_LOGIN: "1"' in web_service
    refused = WebServer(redis_url, tmp_path / "refused.log", {"LINKPATROL_REQUIRE_LOGIN": "1"})
    assert refused.process.wait(60) != 0
    refused.stop()
    assert "no login configured" in refused.output()
    for env in ({"LINKPATROL_ALLOW_NO_LOGIN": "1"}, TOKEN, LOGIN):
        with serving(redis_url, tmp_path, {"LINKPATROL_REQUIRE_LOGIN": "1", **env}) as web:
            assert web.client().get("/").status == (200 if "LINKPATROL_ALLOW_NO_LOGIN" in env else 302)


# -- item 4: where the login sends you ------------------------------------------------------------------
HOSTILE_NEXT = [
    "/%09/evil.example", "/%0d%0a/x", "/%0a/evil.example", "%09//evil.example", "//evil.example",
    "/%5Cevil.example", "%5C%5Cevil.example", "/%5C/evil.example", "%5C/evil.example", "///evil.example",
    "https://evil.example/", "http:evil.example", "javascript:alert(1)", "%20//evil.example",
    "%00//evil.example", "/%2F/evil.example", "data:text/html,x", "evil.example", "/%5C%09/evil.example",
]


def browser_reads(base: str, location: str) -> tuple[str, str]:
    """(scheme, host:port) a browser goes to for ``location`` (WHATWG: tabs and newlines dropped,
    backslashes are slashes in http URLs)."""
    cleaned = re.sub(r"[\t\n\r]", "", location.strip("".join(chr(c) for c in range(0x21)))).replace("\\", "/")
    target = urlsplit(urljoin(base, cleaned))
    return target.scheme, target.netloc


def test_login_redirects_only_to_local_paths(redis_url: str, tmp_path: Path) -> None:
    with serving(redis_url, tmp_path, LOGIN) as web:
        base = f"http://127.0.0.1:{web.port}/login"
        for raw in HOSTILE_NEXT:
            c = web.client()
            assert c.get(f"/login?next={raw}").status == 200, raw
            answer = c.login("admin", "pw", raw)
            assert answer.status == 302, (raw, answer.status)
            location = answer.header("Location") or ""
            assert browser_reads(base, location) == ("http", f"127.0.0.1:{web.port}"), (raw, location)
            assert "evil" not in location or location.startswith("/evil"), (raw, location)
        for raw in ("/%09/evil.example", "/%0d%0a/x"):  # the two cases issue 11 names: the home page
            assert web.client().login("admin", "pw", raw).header("Location") == "/", raw
        for raw, expected in [("/jobs", "/jobs"), ("/crawls%3Fpage%3D2", "/crawls?page=2"),
                              (quote("/sites?url=https://example.org/a b", safe=""),
                               "/sites?url=https://example.org/a%20b")]:
            assert web.client().login("admin", "pw", raw).header("Location") == expected, raw


# -- item 5: rate-limit buckets ---------------------------------------------------------------------------
def test_a_made_up_token_is_never_counted_in_the_real_tokens_bucket(redis_url: str, rclient: redis.Redis,
                                                                      tmp_path: Path) -> None:
    env = {**TOKEN, **NO_THROTTLE, "LINKPATROL_RATE_LIMIT": "3/60"}
    with serving(redis_url, tmp_path, env) as web:
        attacker = web.client()
        token = attacker.csrf_token("/login")
        for _ in range(10):
            assert attacker.post_json("/api/crawls", {"url": "https://example.org/"},
                                      headers={"Authorization": "Bearer made-up"}).status == 401
            assert attacker.post_form("/crawls", {"url": "https://example.org/", "csrf_token": token},
                                      headers={"Authorization": "Bearer made-up"}).status == 302
        assert not list(rclient.scan_iter(match="lp:ratelimit:*"))
        real = web.client()
        for _ in range(3):
            assert real.post_json("/api/crawls", {"url": "https://example.org/"}, headers=BEARER).status == 201
        assert real.post_json("/api/crawls", {"url": "https://example.org/"}, headers=BEARER).status == 429
        assert [k.split(":")[2] for k in rclient.scan_iter(match="lp:ratelimit:*")] == ["token"]
    # An open app counts a made-up token by address, never as "token".
    rclient.flushdb()
    with serving(redis_url, tmp_path, {"LINKPATROL_RATE_LIMIT": "3/60"}) as web:
        c = web.client()
        for _ in range(3):
            assert c.post_json("/api/crawls", {"url": "https://example.org/"},
                               headers={"Authorization": "Bearer made-up"}).status == 201
        assert [k.split(":")[2] for k in rclient.scan_iter(match="lp:ratelimit:*")] == ["ip"]


# -- item 6: hostile ids, numbers and bodies on every route --------------------------------------------
# Digits str.isdigit() accepts and int() refuses, or reads in another script (fullwidth 1, Arabic-Indic 3).
# A 5,000-digit value makes the request line longer than gunicorn takes: it answers 414 itself.
BAD_NUMBERS = ["²", "1" * 3900, "9" * 5000, "-1", "0", "1.5", "0x10", "\uff11", "\u0663", " 1", "1e3"]
DEEP = b'{"url": "https://example.org/", "notify": ' + b"[" * 5000 + b"]" * 5000 + b"}"


def bad_ids(crawl_id: str) -> list[str]:
    return [f"{crawl_id}:urls", f"{crawl_id}:index", f"{crawl_id}:headers", crawl_id.upper(), "x" * 2000,
            quote(f"{crawl_id}\r\n"), "%00", "..", quote("²"), quote(f"{crawl_id}:hosts", safe=""),
            "%2e%2e%2fcrawls"]


def every_route() -> list[tuple[str, str, list[str]]]:
    """(method, rule, argument names) of every route of the app."""
    app = make_app("redis://127.0.0.1:1/0")
    return [(m, rule.rule, sorted(rule.arguments)) for rule in app.url_map.iter_rules()
            for m in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}) if rule.endpoint != "auth.logout"]


def fill(rule: str, value: str) -> str:
    path = re.sub(r"<any\([^)]*\):action>", "pause", rule)
    return re.sub(r"<(?:[a-z]+:)?[a-z_]+>", value, path)


def test_every_route_answers_bad_input_with_4xx(redis_url: str, store: CrawlStore, tmp_path: Path) -> None:
    crawl = finished_crawl(store)
    with serving(redis_url, tmp_path, {**LOGIN, **TOKEN, "LINKPATROL_RATE_LIMIT": "0"}) as web:
        c = web.client()
        assert c.login("admin", "pw").status == 302
        token = c.csrf_token("/")
        seen: list[tuple[str, str, int]] = []
        failures: list[tuple[str, str, int]] = []  # every route walked before the verdict

        def send(method: str, path: str, body: bytes | None = None) -> None:
            if method == "GET":
                answer = c.get(path, headers=BEARER)
            elif path.startswith("/api/"):
                answer = c.request(method, path, body if body is not None else b"{}",
                                   {"Content-Type": "application/json", **BEARER})
            else:
                answer = c.post_form(path, {"csrf_token": token})
            seen.append((method, path[:80], answer.status))
            if answer.status >= 500 or "Traceback" in answer.text:
                failures.append((method, path[:120], answer.status))

        routes = every_route()
        assert len(routes) >= 30
        for method, rule, args in routes:
            if args:
                for value in bad_ids(crawl.id):
                    send(method, fill(rule, value))
                    if "crawl_id" in args:
                        assert seen[-1][2] in (400, 404), seen[-1]
            if method == "GET":
                base = fill(rule, crawl.id)
                for name in ("page", "per_page"):
                    for number in BAD_NUMBERS:
                        send(method, f"{base}?{name}={quote(number)}")
            if method in ("POST", "PATCH") and rule.startswith("/api/"):
                send(method, fill(rule, crawl.id), DEEP)
                send(method, fill(rule, crawl.id), b"[" * 5000)
        # The cases issue 11 names, answered 400 or 404 exactly.
        for path in ("/", "/progress", "/api/crawls", f"/crawls/{crawl.id}"):
            for number in ("²", "1" * 4000):
                answer = c.get(f"{path}?page={quote(number)}", headers=BEARER)
                assert answer.status == 400, (path, number, answer.status)
        for path in (f"/crawls/{crawl.id}:urls", f"/api/crawls/{crawl.id}:urls", f"/api/crawls/{crawl.id}:urls/broken"):
            assert c.get(path, headers=BEARER).status == 404, path
        deep = c.post_json("/api/crawls", raw=DEEP, headers=BEARER)
        assert deep.status == 400 and deep.json()["field"] == "body"
        assert c.get("/login?next=/%0d%0a/x").status == 200  # the form again, no 500
        assert store.count() == 1  # nothing hostile created a crawl
        assert len(seen) > 400
        assert not failures, failures


# -- item 8: the address policy at the form -------------------------------------------------------------
REFUSED_SEEDS = ["http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://127.1/", "http://0/",
                 "http://0x7f.1/", "http://[::127.0.0.1]/", "http://[::ffff:0:7f00:1]/", "http://[64:ff9b::7f00:1]/",
                 "http://[64:ff9b:1::a00:1]/", "http://[64:ff9b:1:a00:0:100::]/", "http://[::ffff:169.254.169.254]/",
                 "http://[64:ff9b:1::a9fe:a9fe]/"]


def test_the_form_and_the_api_refuse_every_address_form_of_a_local_host(redis_url: str, store: CrawlStore,
                                                                         tmp_path: Path) -> None:
    with serving(redis_url, tmp_path, {}) as web:
        c = web.client()
        for seed in REFUSED_SEEDS:
            api = c.post_json("/api/crawls", {"url": seed})
            assert api.status == 400 and api.json()["field"] == "url", (seed, api.status, api.text)
            form = c.post_form("/crawls", {"url": seed, "csrf_token": c.csrf_token()})
            assert form.status == 400 and "private or local network" in form.text, seed
        assert store.count() == 0
        for seed in ("http://[64:ff9b::808:808]/", "http://[64:ff9b:1::808:808]/", "http://134744072/"):
            assert c.post_json("/api/crawls", {"url": seed}).status == 201, seed


@pytest.mark.parametrize(("host", "address"), [("2130706433", "127.0.0.1"), ("0x7f000001", "127.0.0.1"),
                                                ("0177.0.0.1", "127.0.0.1"), ("127.1", "127.0.0.1"), ("0", "0.0.0.0"),
                                                ("10.1", "10.0.0.1"), ("example.org", None), ("1.2.3.4.5", "0.0.0.0")])
def test_legacy_ipv4_forms_are_read_as_browsers_read_them(host: str, address: str | None) -> None:
    found = legacy_ipv4(host)
    assert (str(found) if found is not None else None) == address


def test_nat64_local_use_prefix_judges_every_layout_that_fits() -> None:
    import ipaddress

    policy = AddressPolicy()
    assert [str(a) for a in nat64_embedded(ipaddress.IPv6Address("64:ff9b:1::a00:1"))] == ["10.0.0.1"]
    # 10.0.0.1 in the /48 layout (bits 48-63 and 72-87): the /96 reading is 0.0.0.0, both refused.
    assert "10.0.0.1" in [str(a) for a in nat64_embedded(ipaddress.IPv6Address("64:ff9b:1:a00:0:100::"))]
    assert not policy.allows("64:ff9b:1:a00:0:100::") and not policy.allows("::ffff:0:a9fe:a9fe")
    assert policy.allows("64:ff9b:1::808:808") and policy.allows("::ffff:0:808:808")


# -- item 10: bidi overrides in page-controlled text ----------------------------------------------------
RLO = "\u202e"


def test_anchor_text_with_a_bidi_override_is_isolated(redis_url: str, store: CrawlStore, tmp_path: Path) -> None:
    hostile = f"{RLO}gnp.exe"
    target = f"{SITE}/gone"
    pages = {target: FakePage(LinkResult(target, Outcome.DEAD, 404)),
             f"{SITE}/": FakePage(LinkResult(f"{SITE}/", "ok", 200), [(target, hostile)], True)}
    crawl = run_crawl(store, f"{SITE}/", pages)
    with serving(redis_url, tmp_path, {}) as web:
        c = web.client()
        for path in (f"/crawls/{crawl.id}", f"/crawls/{crawl.id}/link?url={quote(target, safe='')}"):
            html = c.get(path).text
            assert hostile in html, path
            # Every occurrence sits inside its own <bdi>, closed right after it.
            for match in re.finditer(re.escape(hostile), html):
                before, after = html[:match.start()], html[match.end():]
                context = html[match.start() - 80:match.end() + 20]
                assert before.rstrip("“").endswith("<bdi>") and after.startswith("</bdi>"), (path, context)
        css = c.get("/static/style.css").text
        assert re.search(r"bdi, \.url, \.anchor \{ unicode-bidi: isolate; \}", css)


# In the page as chromium lays it out: the closing quote after the anchor text stays to its right, and
# the line number before it to its left (an override that escaped would carry them along).
LAYOUT = """() => {
  const bdi = [...document.querySelectorAll('.anchor bdi')].find(b => b.textContent.includes('\u202e'));
  const quote = document.createRange();
  quote.setStart(bdi.nextSibling, 0); quote.setEnd(bdi.nextSibling, 1);
  const line = bdi.closest('li').querySelector('.line');
  return {bdi: bdi.getBoundingClientRect().toJSON(), quote: quote.getBoundingClientRect().toJSON(),
          line: line.getBoundingClientRect().toJSON(), isolation: getComputedStyle(bdi).unicodeBidi};
}"""


@BROWSER_MARKS[0]
@BROWSER_MARKS[1]
def test_a_bidi_override_does_not_reorder_what_follows_in_the_browser(
        redis_url: str, store: CrawlStore, tmp_path: Path, browser_page: object) -> None:
    target = f"{SITE}/gone"
    pages = {target: FakePage(LinkResult(target, Outcome.DEAD, 404)),
             f"{SITE}/": FakePage(LinkResult(f"{SITE}/", "ok", 200), [(target, f"{RLO}gnp.exe", 7)], True)}
    crawl = run_crawl(store, f"{SITE}/", pages)
    with serving(redis_url, tmp_path, {}) as web:
        page: Any = browser_page
        page.goto(f"http://127.0.0.1:{web.port}/crawls/{crawl.id}")
        box = page.evaluate(LAYOUT)
    assert box["isolation"] == "isolate"
    assert box["quote"]["left"] >= box["bdi"]["right"] - 1, box
    assert box["line"]["right"] <= box["bdi"]["left"] + 1, box
