"""Rendering pages in a headless browser (crawler/render, docs/RENDERING.md): a single-page app crawled
end to end through real servers, Redis and Debian's chromium, with ``render`` never, always and auto;
pages parked for a crawler that renders; a crawl nobody can render for ends with a note; a browser
killed under a page, and a rendering crawler killed mid-page, lose nothing. The scripts of the render
queue are tested directly. One rendering crawler (one browser) serves the module's crawls of the app."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
import redis
from flask.testing import FlaskClient

from crawler.render.detect import shell_reason
from crawler.render.job import AFTER_SCRIPTS
from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.frontier import Scripts
from linkpatrol.frontier.render_queue import NOT_HELD, PARKED, UNAVAILABLE, RenderQueue, render_queue
from linkpatrol.model.options import parse_options
from linkpatrol.model.records import RENDER_REASONS, Crawl
from linkpatrol.model.wire import FrontierMessage
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import list_crawlers
from tests.support.processes import CrawlerProcess, SiteServer, wait_ended, wait_for
from tests.support.webapp import make_app

CHROMIUM = "/usr/bin/chromium"
needs_browser = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                   reason="no chromium at /usr/bin/chromium (make system-deps installs it)")
Factory = Callable[..., CrawlerProcess]
RENDERING = {"LINKPATROL_RENDER_PAGES": "2", "LINKPATROL_RENDER_SETTLE": "1"}
SHELL = b'<html><body><div id="root"></div><script src="/app.js"></script></body></html>'


# -- the auto rule -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("html", "reason"), [
    (SHELL, "empty-mount"),
    (b'<html><body><div id="__next"></div><script>boot()</script><a href="/a">a</a><a href="/b">b</a></body></html>',
     "empty-mount"),
    (b"<html><body><noscript>You need to enable JavaScript to run this app.</noscript><main><p>Loading</p>"
     b"</main><script src=/x.js></script></body></html>", "noscript"),
    (b"<html><body><p>Loading...</p><script src=/x.js></script></body></html>", "few-links"),
    # a hash-router app whose menu is in the HTML: its links lead nowhere without the scripts
    (b'<html><body><nav><a href="#/a">A</a><a href="#/b">B</a><a href="javascript:go()">C</a></nav>'
     b"<script src=/x.js></script></body></html>", "few-links"),
    (b"<html><body><app-root></app-root><script src=/main.js></script></body></html>", "empty-mount"),  # Angular
    (b'<html><body><div id="__nuxt"><!-- --></div><script src=/n.js></script></body></html>', "empty-mount"),
    # a documentation page with an analytics script: many links, nothing to render
    (b"<html><body><nav><a href=/a>A</a><a href=/b>B</a><a href=/c>C</a></nav><p>" + b"Text. " * 60 +
     b"</p><script src=/analytics.js></script></body></html>", None),
    # no script at all: rendering changes nothing, whatever the page looks like
    (b'<html><body><div id="root"></div></body></html>', None),
    (b"", None),
])
def test_the_auto_rule(html: bytes, reason: str | None) -> None:
    found = shell_reason(html)
    assert found == reason
    assert found is None or found in RENDER_REASONS  # each reason has its words on the report


# -- the render queue's scripts ---------------------------------------------------------------------------
def test_park_unpark(rclient: redis.Redis) -> None:
    keys, crawl_id = Keys(), "c1"
    scripts, queue = Scripts(rclient, keys), RenderQueue(rclient, keys)
    rclient.hset(keys.crawl(crawl_id), mapping={"state": "queued", "url": "http://s.test/"})
    scripts.seed(crawl_id, "http://s.test/", 1.0)
    [raw] = scripts.pop(crawl_id, 10, "w1", 2.0)
    url = FrontierMessage.decode(raw).url
    assert queue.park(crawl_id, url, "w2", raw, "always") == NOT_HELD  # not w2's lease
    assert queue.park(crawl_id, url, "w1", raw, "empty-mount") == PARKED
    assert rclient.hget(keys.inflight(crawl_id), url) == "~render\n" + raw  # the crawl cannot end meanwhile
    assert rclient.zscore(keys.lease_clock(crawl_id), url) is None  # waiting is not working
    assert rclient.lrange(render_queue(keys, crawl_id), 0, -1) == [raw]
    assert queue.why(crawl_id, url) == "always"  # the first reason noted stays; counted once
    assert rclient.hget(keys.crawl(crawl_id), "render_why_always") == "1"
    assert scripts.pop(crawl_id, 10, "w3") == []  # an ordinary crawler finds nothing to do
    assert queue.pop(crawl_id, 10, "r1", 3.0) == [raw]  # a rendering one leases it
    assert rclient.hget(keys.inflight(crawl_id), url) == "r1\n" + raw
    assert queue.park(crawl_id, url, "r1", raw, "always") == PARKED  # say it gave it up again
    assert queue.unpark(crawl_id, 4.0) == 1  # nobody renders: back to the ordinary queue
    assert rclient.hget(keys.crawl(crawl_id), "render_unavailable") == "4.0"
    assert rclient.hlen(keys.inflight(crawl_id)) == 0 and rclient.llen(render_queue(keys, crawl_id)) == 0
    assert scripts.pop(crawl_id, 10, "w3") == [raw]
    assert queue.park(crawl_id, url, "w3", raw, "always") == UNAVAILABLE  # read as it is from now on


# -- end to end ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spa() -> Iterator[SiteServer]:
    server = SiteServer("spa")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def render_db(redis_server: RedisServer) -> str:
    """A database of the session's Redis for this module's crawls and its one rendering crawler."""
    url = redis_server.url.rsplit("/", 1)[0] + "/7"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@pytest.fixture(scope="module")
def renderer(render_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrawlerProcess]:
    """One crawler that renders (one browser for the whole module)."""
    proc = CrawlerProcess(render_db, tmp_path_factory.mktemp("render") / "crawler.log", RENDERING)
    yield proc
    proc.stop(timeout=10)


@pytest.fixture
def rstore(render_db: str) -> Iterator[CrawlStore]:
    client = redis.Redis.from_url(render_db, decode_responses=True)
    yield CrawlStore(client)
    client.close()


def found(store: CrawlStore, crawl: Crawl) -> dict[str, tuple[str, int | None]]:
    """Path -> (outcome, status) of every checked url."""
    base = crawl.url.rstrip("/")
    return {res.url.removeprefix(base) or "/": (res.outcome, res.status) for res in store.iter_results(crawl.id)}


def crawl(store: CrawlStore, site: SiteServer, mode: str) -> Crawl:
    options = parse_options({"render": mode, "sitemaps": False})
    return wait_ended(store, store.create(site.url("main"), options).id, 60)


STATIC = {"/": ("ok", 200), "/static.html": ("ok", 200), "/app.js": ("ok", 200)}
AFTER = {
    **STATIC,
    "/docs/intro": ("ok", 200), "/docs/more": ("ok", 200),  # history-API routes: the shell, rendered
    "/about-only.html": ("ok", 200),  # shown by the hash route #/about
    "/from-api.html": ("ok", 200), "/dead-from-api": ("dead", 404),  # added after a fetch()
    "/shadow.html": ("ok", 200),  # in an open shadow root
    "/docs/gone": ("dead", 404),  # a dead link only in the rendered DOM
    "/img/missing.png": ("dead", 404),  # requested by a script, never in the DOM
}


@needs_browser
def test_never_reads_the_html_as_sent(rstore: CrawlStore, renderer: CrawlerProcess, spa: SiteServer) -> None:
    done = crawl(rstore, spa, "never")
    assert found(rstore, done) == STATIC
    assert done.render_note == "" and done.counters["checked_render"] == 0


@needs_browser
def test_always_and_auto_find_what_the_scripts_add(rstore: CrawlStore, renderer: CrawlerProcess,
                                                   spa: SiteServer, render_db: str) -> None:
    wait_for(lambda: [w["render"] for w in list_crawlers(rstore.r, Keys())] == [2], 30,
             what="the crawler registered as rendering 2 pages at once")
    runs = {mode: crawl(rstore, spa, mode) for mode in ("always", "auto", "always")}
    for done in runs.values():
        assert found(rstore, done) == AFTER, done.options.render
    always, auto = crawl(rstore, spa, "always"), runs["auto"]
    assert found(rstore, always) == AFTER  # a rerun finds the same
    assert always.counters["pages_crawled"] == auto.counters["pages_crawled"] == 7
    # always renders every page of the site; auto only the three shells (/, /docs/intro, /docs/more)
    assert always.counters["checked_render"] == 7 and always.counters["render_why_always"] == 7
    assert auto.counters["checked_render"] == 3 and auto.counters["render_why_empty-mount"] == 3
    assert "3 pages rendered in a headless browser" in auto.render_note
    gone = rstore.result(auto.id, spa.url("main", "/docs/gone"))
    assert gone is not None and [(r.page, r.element) for r in gone.referrers] == [
        (spa.url("main", "/docs/intro"), "a" + AFTER_SCRIPTS)]
    image = rstore.result(auto.id, spa.url("main", "/img/missing.png"))
    assert image is not None and {r.element for r in image.referrers} == {"image" + AFTER_SCRIPTS}
    static = rstore.result(auto.id, spa.url("main", "/static.html"))
    assert static is not None and all(AFTER_SCRIPTS not in r.element for r in static.referrers)
    # what a person sees: the report says how many pages were rendered and marks what scripts added
    web = make_app(render_db).test_client()
    page = web.get(f"/crawls/{auto.id}").get_data(as_text=True)
    assert "3 pages rendered in a headless browser" in page and ">found after scripts ran</span>" in page
    assert "yes, 2 at once" in web.get("/crawlers").get_data(as_text=True)
    # each crawl had a browser context of its own, closed once it ended
    wait_for(lambda: renderer.output().count("closing the browser context of crawl-") >= 4, 15,
             what="the crawls' browser contexts closed")


@needs_browser
def test_pages_wait_for_a_crawler_that_renders(rstore: CrawlStore, renderer: CrawlerProcess, spa: SiteServer,
                                               render_db: str, tmp_path: Path) -> None:
    """Half the crawlers render: the other half parks what needs a browser, and the results are exact."""
    plain = CrawlerProcess(render_db, tmp_path / "plain.log")
    try:
        wait_for(lambda: len(list_crawlers(rstore.r, Keys())) == 2, 30, what="two crawlers")
        done = crawl(rstore, spa, "auto")
        assert found(rstore, done) == AFTER
        assert done.counters["checked_render"] == 3
    finally:
        plain.stop(timeout=10)


def test_nobody_renders(store: CrawlStore, crawlers: Factory, spa: SiteServer, client: FlaskClient) -> None:
    """No crawler renders: the crawl ends all the same, says so, and reads the pages as they were sent."""
    crawlers({"LINKPATROL_RENDER_WAIT": "1"})
    done = crawl(store, spa, "always")
    assert done.state == "finished"
    paths = found(store, done)
    assert paths["/"] == ("warning", 200) and paths["/static.html"] == ("warning", 200)
    assert "/docs/gone" not in paths
    root = store.result(done.id, spa.url("main"))
    assert root is not None and root.error == "not-rendered"
    assert any("no crawler could render them" in reason for reason in done.stop_reasons)
    assert done.counters["checked_render"] == 0
    assert "no crawler could render them" in client.get(f"/crawls/{done.id}").get_data(as_text=True)


@needs_browser
def test_a_browser_killed_under_a_page_is_started_again(store: CrawlStore, crawlers: Factory,
                                                        spa: SiteServer) -> None:
    """Chromium SIGKILLed while a page settles: that page is rendered by a browser started again, and the
    crawl goes on (its lease was never lost)."""
    proc = crawlers({**RENDERING, "LINKPATROL_RENDER_PAGES": "1", "LINKPATROL_RENDER_SETTLE": "2"})
    polls = spa.hits("main").get("GET /api/links.json", 0)
    options = parse_options({"render": "always", "sitemaps": False, "max_depth": 1})
    crawl_id = store.create(spa.url("main", "/busy.html"), options).id
    wait_for(lambda: spa.hits("main").get("GET /api/links.json", 0) > polls + 3, 30, what="the busy page rendering")
    browsers = [p for p in psutil.Process(proc.pid).children(recursive=True) if "chrom" in p.name()]
    assert browsers, "no browser process"
    for p in browsers:
        with contextlib.suppress(psutil.Error):
            p.send_signal(signal.SIGKILL)
    done = wait_ended(store, crawl_id, 60)
    busy = store.result(crawl_id, spa.url("main", "/busy.html"))
    assert busy is not None and (busy.outcome, busy.error) == ("ok", None)  # rendered after all
    assert done.counters["checked_render"] == 2  # /busy.html and /static.html
    assert proc.output().count("Launching browser") == 2  # started again once


@needs_browser
def test_a_rendering_crawler_killed_mid_page_loses_nothing(store: CrawlStore, crawlers: Factory,
                                                           spa: SiteServer) -> None:
    """A crawler that does not render and one that does; the one that renders is SIGKILLed while a page
    settles in its browser. The page goes back (the reaper), is parked again by the other crawler (it is
    known to need a browser) and rendered by a crawler that renders started afterwards: nothing lost."""
    crawlers({})
    doomed = crawlers({**RENDERING, "LINKPATROL_RENDER_PAGES": "1", "LINKPATROL_RENDER_SETTLE": "2"})
    wait_for(lambda: len(list_crawlers(store.r, Keys())) == 2, 30, what="two crawlers")
    polls = spa.hits("main").get("GET /api/links.json", 0)
    options = parse_options({"render": "auto", "sitemaps": False, "max_depth": 1})
    crawl_id = store.create(spa.url("main", "/busy.html"), options).id  # few links, a script: a shell
    wait_for(lambda: spa.hits("main").get("GET /api/links.json", 0) > polls + 3, 30, what="the page rendering")
    browser = psutil.Process(doomed.pid).children(recursive=True)
    doomed.kill()
    for proc in browser:  # what the killed crawler started, which nobody reaps now
        with contextlib.suppress(psutil.Error):
            proc.kill()
    crawlers({**RENDERING, "LINKPATROL_RENDER_PAGES": "1"})
    done = wait_ended(store, crawl_id, 60)
    busy = store.result(crawl_id, spa.url("main", "/busy.html"))
    assert busy is not None and (busy.outcome, busy.error) == ("ok", None)
    assert done.counters["checked_render"] == 1 and done.counters["render_why_few-links"] == 1
    assert not [reason for reason in done.stop_reasons if "render" in reason]
