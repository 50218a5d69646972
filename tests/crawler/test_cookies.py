"""Cookies as a browser keeps them (tests/support/sites/cookies.py): a jar per crawl, standard rules,
never across crawls or sites, never in Redis, the API or the log."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from scrapy import Request
from scrapy.http import Response

from crawler.downloadermiddlewares import crawl_cookies
from crawler.downloadermiddlewares.crawl_cookies import (
    MAX_COOKIE_BYTES,
    CrawlCookiesMiddleware,
    CrawlJar,
    is_public_suffix,
)
from crawler.downloadermiddlewares.redirect import check_redirect
from crawler.failures import RedirectLoop
from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.records import Crawl
from linkpatrol.model.wire import LinkResult
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.processes import CrawlerProcess, crawl_to_end
from tests.support.sites.cookies import OTHER, SITE, CookieSite, Issued, Seen
from tests.support.webapp import make_app

STAGING = "staging=own-cookie-7f3a"  # the crawl's own Cookie header (its ``headers`` option)
TOKEN = "Bearer own-token-52c1"  # and its own Authorization header


@dataclass
class Run:
    crawl: Crawl
    seen: list[Seen]  # what the site received during this crawl
    issued: list[Issued]  # the cookies it set during this crawl
    results: dict[str, LinkResult]


@dataclass
class Crawls:
    store: CrawlStore
    client: Any
    redis_url: str
    site: CookieSite
    proc: CrawlerProcess
    first: Run  # default options
    second: Run  # same site again, with the crawl's own Cookie header
    head: Run  # head_first, against a server that refuses HEAD where it sets cookies


@pytest.fixture(scope="module")
def crawls(redis_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawls]:  # type: ignore[no-untyped-def]
    """Three crawls of the cookie site, one after the other, by one crawler process (DEBUG log)."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()
    store = CrawlStore(client)
    site = CookieSite().start()
    proc = CrawlerProcess(redis_server.url, tmp_path_factory.mktemp("cookies") / "crawler.log",
                          {"LINKPATROL_LOG_LEVEL": "DEBUG"})

    def run(options: CrawlOptions) -> Run:
        seen, issued = len(site.requests()), len(site.cookies_issued())
        crawl = crawl_to_end(store, site.url("/"), options)
        assert crawl.state == "finished"
        return Run(crawl, site.requests()[seen:], site.cookies_issued()[issued:],
                   {r.url: r for r in store.iter_results(crawl.id)})

    try:
        first = run(CrawlOptions())
        second = run(CrawlOptions(headers={"Cookie": STAGING, "Authorization": TOKEN}))
        site.refuse_head = True
        head = run(CrawlOptions(head_first=True, fresh=True))  # fresh: not the first crawls' shared results
        yield Crawls(store, client, redis_server.url, site, proc, first, second, head)
    finally:
        proc.stop()
        site.stop()
        client.close()


def test_a_consent_wall_is_followed_to_the_article(crawls: Crawls) -> None:
    """/article -> /consent (sets the cookie) -> /article again, now with it: 200, as in a browser."""
    site = crawls.site
    for host in (SITE, OTHER):
        article = crawls.first.results[site.url("/article", host)]
        assert (article.outcome, article.status, article.error) == ("ok", 200, None), host
        assert [hop for hop, _ in article.redirects] == [site.url("/article", host),
                                                         site.url("/consent?next=/article", host)]
    assert crawls.second.results[site.url("/article")].outcome == "ok"


def test_a_loop_that_sets_no_new_cookie_is_still_a_loop(crawls: Crawls) -> None:
    site = crawls.site
    for run in (crawls.first, crawls.second, crawls.head):
        for host in (SITE, OTHER):
            # Even while /greedy, crawled at the same time, changes the same jar at every hop.
            assert run.results[site.url("/loop-a", host)].error == "redirect-loop"
            # A new cookie at every hop: followed as a browser would, up to its 20 redirects.
            assert run.results[site.url("/greedy", host)].error == "too-many-redirects"
    greedy = [s for s in crawls.first.seen if s.host == SITE and s.path == "/greedy"]
    assert len(greedy) == 21


def test_cookies_follow_the_standard_rules(crawls: Crawls) -> None:
    """Path, Secure and expiry are honoured; a page's cookies go with later requests to its site."""
    got = {(s.host, s.method, s.path): s.names() for s in crawls.first.seen}
    assert got[SITE, "GET", "/"] == set()
    assert "x_sid" in got[SITE, "GET", "/page2"] and "x_private" not in got[SITE, "GET", "/page2"]
    assert {"x_sid", "x_private"} <= got[SITE, "GET", "/private/page"]
    sent = set().union(*got.values())
    assert "x_secure" not in sent  # Secure: https only
    assert "x_expired" not in sent


def test_cookies_stay_with_the_site_that_set_them(crawls: Crawls) -> None:
    """127.0.0.1 and localhost are one server (and cookies ignore ports) but two sites: neither gets
    the other's cookies, not even one 127.0.0.1 set with ``Domain=localhost``."""
    for run in (crawls.first, crawls.second, crawls.head):
        to_other = [s for s in run.seen if s.host == OTHER]
        assert to_other and all(not any(n.startswith("x_") for n in s.names()) for s in to_other)
        assert all(STAGING not in s.cookie for s in to_other)
        to_site = [s for s in run.seen if s.host == SITE]
        assert all("y_sid" not in s.names() for s in to_site)
    # localhost's sign-in service sends the visitor back to 127.0.0.1, which gets its own cookie only.
    landing = next(s for s in crawls.first.seen if s.path == "/landing")
    assert landing.host == SITE and "x_sid" in landing.names() and "y_sid" not in landing.names()
    assert crawls.first.results[crawls.site.url("/bounce", OTHER)].outcome == "ok"


def test_a_crawl_never_sends_the_cookies_of_another_crawl(crawls: Crawls) -> None:
    """Same site, same crawler process: the second crawl starts with an empty jar."""
    first_values = {c.value for c in crawls.first.issued}
    for run in (crawls.second, crawls.head):
        own = {c.value for c in run.issued}
        received = {part.split("=", 1)[1].strip() for s in run.seen for part in s.cookie.split(";")
                    if "=" in part}
        received.discard(STAGING.split("=", 1)[1])
        assert received and received <= own and not received & first_values
    home = next(s for s in crawls.second.seen if s.path == "/")
    assert home.cookie == STAGING  # its own header, nothing from the first crawl


def test_the_crawls_own_cookie_header_goes_with_the_jar_to_its_site_only(crawls: Crawls) -> None:
    # robots.txt and the /sitemap.xml probe belong to no crawl (one fetch serves every crawl of the site)
    to_site = [s for s in crawls.second.seen if s.host == SITE and s.path not in ("/robots.txt", "/sitemap.xml")]
    assert to_site and all(STAGING in s.cookie for s in to_site)
    page2 = next(s for s in to_site if s.path == "/page2")
    assert page2.cookie.startswith(STAGING + "; ") and "x_sid" in page2.names()  # one header, both
    assert all(s.authorization == TOKEN for s in to_site)
    # Redirected from the site to another one: neither of the crawl's own headers follows.
    away = next(s for s in crawls.second.seen if s.path == "/echo?from=away")
    assert away.host == OTHER and away.authorization == ""
    assert not any(name == "staging" or name.startswith("x_") for name in away.names())


def test_head_first_checks_share_the_jar(crawls: Crawls) -> None:
    """HEAD /consent sets the cookie and answers 405; the GET that follows carries it, and the
    consent wall of the other site ends at its article."""
    site = crawls.site
    article = crawls.head.results[site.url("/article", OTHER)]
    assert (article.outcome, article.status) == ("ok", 200)
    consent = [s for s in crawls.head.seen if s.host == OTHER and s.path.startswith("/consent")]
    assert [(s.method, "consent" in s.names()) for s in consent] == [("HEAD", False), ("GET", True)]


def test_no_cookie_value_reaches_redis_the_api_or_the_log(crawls: Crawls) -> None:
    values = [c.value for run in (crawls.first, crawls.second, crawls.head) for c in run.issued]
    secrets = [*values, STAGING.split("=", 1)[1], TOKEN]
    assert len(values) > 30
    own_headers = Keys().crawl_headers(crawls.second.crawl.id)  # the crawl's own header, kept as before
    stored = [redis_text(crawls.client, key) for key in crawls.client.scan_iter(count=1000) if key != own_headers]
    assert any(crawls.site.url("/consent?next=/article") in text for text in stored)  # results are readable
    with make_app(crawls.redis_url).test_client() as web:
        answers = [web.get(f"/api/crawls/{run.crawl.id}{tail}")
                   for run in (crawls.first, crawls.second, crawls.head) for tail in ("", "/broken")]
    assert all(a.status_code == 200 for a in answers)
    api = [a.get_data(as_text=True) for a in answers]
    log = crawls.proc.output()
    assert "Redirecting (302)" in log  # the DEBUG log of every hop was written
    for text in (*stored, *api, log):
        assert not any(secret in text for secret in secrets)


def redis_text(client: Any, key: str) -> str:
    """Whatever a key holds, as text."""
    kind = client.type(key)
    if kind == "string":
        return str(client.get(key))
    if kind == "hash":
        return json.dumps(client.hgetall(key))
    if kind == "list":
        return json.dumps(client.lrange(key, 0, -1))
    if kind == "set":
        return json.dumps(sorted(client.smembers(key)))
    if kind == "zset":
        return json.dumps(client.zrange(key, 0, -1))
    return ""


# -- the pieces, in process ------------------------------------------------------------------------
class Contexts:
    """The two questions the middleware asks the frontier's crawl contexts, answered from a set."""

    def __init__(self, active: set[str]) -> None:
        self.active = active

    def is_active(self, crawl_id: str) -> bool:
        return crawl_id in self.active

    def get(self, crawl_id: str) -> None:
        return None


def _request(url: str, crawl: str) -> Request:
    return Request(url, meta={"lp": {"crawl": crawl, "url": url}})


def test_a_jar_per_crawl_dropped_once_the_crawl_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    contexts = Contexts({"a", "b"})
    mw = CrawlCookiesMiddleware(contexts, max_cookies=100)  # type: ignore[arg-type]

    def send(url: str, crawl: str) -> bytes | None:
        request = _request(url, crawl)
        mw.process_request(request)
        return request.headers.get("Cookie")

    def answer(url: str, crawl: str, *cookies: str) -> None:
        request = _request(url, crawl)
        assert mw.process_response(request, Response(url, headers={"Set-Cookie": list(cookies)},
                                                     request=request)) is not None

    answer("http://site.example/", "a", "sid=one; Path=/")
    assert send("http://site.example/page", "a") == b"sid=one"
    assert send("http://site.example/page", "b") is None
    assert send("http://other.example/", "a") is None
    assert send("http://sub.site.example/", "a") is None  # host-only without a Domain attribute
    assert Request("http://site.example/").meta.get("cookiejar") is None
    robots = Request("http://site.example/robots.txt", headers={"Cookie": "leftover=1"})
    mw.process_request(robots)  # no crawl: shared by every crawl, so no crawl's cookies
    assert robots.headers.get("Cookie") is None
    contexts.active.discard("a")
    monkeypatch.setattr(crawl_cookies, "PRUNE_EVERY", 0.0)
    time.sleep(0.01)
    send("http://site.example/", "b")
    assert "a" not in mw.jars


def test_a_jar_keeps_at_most_its_limit_and_drops_oversized_cookies() -> None:
    mw = CrawlCookiesMiddleware(Contexts({"a"}), max_cookies=50)  # type: ignore[arg-type]
    request = _request("http://site.example/", "a")
    many = [f"c{n}=v{n}; Path=/" for n in range(5000)]
    mw.process_response(request, Response(request.url, headers={"Set-Cookie": many}, request=request))
    jar = mw.jars["a"]
    assert len(jar) == 50 and {c.name for c in jar} == {f"c{n}" for n in range(4950, 5000)}  # the newest
    big = "big=" + "x" * MAX_COOKIE_BYTES
    mw.process_response(request, Response(request.url, headers={"Set-Cookie": [big, "c1=again"]}, request=request))
    assert "big" not in {c.name for c in jar} and "c1" in {c.name for c in jar} and len(jar) == 50


def test_public_suffixes_are_read_offline() -> None:
    started = time.monotonic()
    assert is_public_suffix("co.uk") and is_public_suffix("github.io") and is_public_suffix("org")
    assert not is_public_suffix("example.co.uk") and not is_public_suffix("localhost.example")
    assert time.monotonic() - started < 5  # the bundled list, no download attempt


def test_a_jar_refuses_a_cookie_for_a_whole_public_suffix() -> None:
    mw = CrawlCookiesMiddleware(Contexts({"a"}))  # type: ignore[arg-type]
    request = _request("http://shop.co.uk/", "a")
    mw.process_response(request, Response(request.url, headers={"Set-Cookie": [
        "super=1; Domain=co.uk; Path=/", "own=1; Domain=shop.co.uk; Path=/"]}, request=request))
    assert {c.name for c in mw.jars["a"]} == {"own"}
    assert isinstance(mw.jars["a"], CrawlJar)


def test_a_chain_back_is_a_loop_unless_an_answer_on_the_way_set_a_cookie() -> None:
    chain = ["http://s.example/article", "http://s.example/consent"]
    check_redirect(chain, "http://s.example/article", 2, 20, [False, True])  # the consent page set one
    check_redirect(chain, "http://s.example/article", 2, 20, [True, False])  # so did the article's answer
    for changed in ([False, False], None):
        with pytest.raises(RedirectLoop):
            check_redirect(chain, "http://s.example/article#top", 2, 20, changed)
    with pytest.raises(RedirectLoop):  # set on the way to the consent page, before it: no help
        check_redirect(["http://s.example/", *chain], "http://s.example/consent", 3, 20, [True, False, False])
