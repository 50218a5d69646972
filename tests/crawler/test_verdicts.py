"""Verdicts a site owner can trust, against a fixture site of hard cases (tests/support/sites/verdicts.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.records import Crawl
from linkpatrol.model.wire import LinkResult
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, crawl_to_end
from tests.support.sites import verdicts
from tests.support.sites.fixture import closed_port

Factory = Callable[..., CrawlerProcess]


@pytest.fixture(scope="module")
def refused() -> int:
    return closed_port()


@pytest.fixture(scope="module")
def hard_site(refused: int) -> Iterator[SiteServer]:
    server = SiteServer("verdicts", str(refused))
    yield server
    server.stop()




def results(store: CrawlStore, crawl_id: str) -> dict[str, LinkResult]:
    return {r.url: r for r in store.iter_results(crawl_id)}


@pytest.fixture(scope="module")
def finished(hard_site: SiteServer, redis_server, tmp_path_factory: pytest.TempPathFactory,  # type: ignore[no-untyped-def]
             ) -> Iterator[tuple[CrawlStore, Crawl, CrawlerProcess, float]]:
    """One crawl of the hard-case site with default options, shared by the tests below (it is the
    slow part: 70 MB of pages and a thousand links to a host that does not exist)."""
    import redis

    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushall()
    store = CrawlStore(client)
    proc = CrawlerProcess(redis_server.url, tmp_path_factory.mktemp("verdicts") / "crawler.log")
    try:
        started = time.monotonic()
        crawl = crawl_to_end(store, hard_site.url("main"))
        yield store, crawl, proc, time.monotonic() - started
    finally:
        proc.stop()
        client.close()


def test_a_page_found_first_through_link_rel_next_is_parsed(finished, hard_site: SiteServer) -> None:  # type: ignore[no-untyped-def]
    store, crawl, _, _ = finished
    res = results(store, crawl.id)
    m = hard_site.url("main", "")
    assert res[f"{m}/next.html"].outcome == "ok"
    gone = store.problems(crawl.id)
    source = next(r for r in gone if r.url == f"{m}/_sources/next.txt")
    assert source.status == 404
    assert {(r.page, r.text) for r in source.referrers} == {(f"{m}/next.html", "View page source")}
    assert hard_site.hits("main").get("GET /next.html") == 1  # once, parsed, not checked twice


def test_links_are_checked_with_get_so_a_lying_head_is_caught(finished, hard_site: SiteServer) -> None:  # type: ignore[no-untyped-def]
    store, crawl, _, _ = finished
    res = results(store, crawl.id)
    lies, in_scope = hard_site.url("ext", "/head-lies"), hard_site.url("main", "/in-scope-lies")
    assert (res[lies].outcome, res[lies].status) == ("dead", 404)
    assert (res[in_scope].outcome, res[in_scope].status) == ("dead", 404)
    hits = hard_site.hits("ext")
    assert hits.get("HEAD /head-lies") is None and hits.get("GET /head-lies") == 1


def test_browsers_redirect_limit(finished, hard_site: SiteServer) -> None:  # type: ignore[no-untyped-def]
    store, crawl, _, _ = finished
    res = results(store, crawl.id)
    twelve = res[hard_site.url("main", "/r12/0")]
    assert (twelve.outcome, twelve.status, len(twelve.redirects)) == ("ok", 200, 12)
    assert twelve.final_url == hard_site.url("main", "/r12/12")
    assert res[hard_site.url("main", "/r21/0")].error == "too-many-redirects"
    assert res[hard_site.url("main", "/loop-a")].error == "redirect-loop"


def test_a_redirect_a_browser_does_not_follow_is_dead_with_its_own_kind(  # type: ignore[no-untyped-def]
        finished, hard_site: SiteServer) -> None:
    """file:, gopher:, data:, javascript: targets: broken for a visitor (never ``dead 302``, never followed);
    mailto: is handed to a mail program, as a mailto: link would be: not checked."""
    store, crawl, _, _ = finished
    res = results(store, crawl.id)
    got = {path: (res[hard_site.url("main", path)].outcome, res[hard_site.url("main", path)].status,
                  res[hard_site.url("main", path)].error) for path in verdicts.ODD_REDIRECTS}
    dead = ("dead", None, "redirect-unsupported")
    assert got == {"/to-file": dead, "/to-gopher": dead, "/to-data": dead, "/to-javascript": dead,
                   "/hop-to-file": dead, "/to-mailto": ("unsupported", None, "unsupported-scheme")}
    hop = res[hard_site.url("main", "/hop-to-file")]
    assert hop.redirects == [[hard_site.url("main", "/hop-to-file"), 302]]
    assert hop.final_url == hard_site.url("main", "/to-file")
    assert store.require(crawl.id).counters["error_redirect-unsupported"] == 5
    problem = next(p for p in store.problems(crawl.id) if p.url == hard_site.url("main", "/to-file"))
    assert problem.error == "redirect-unsupported"


def test_big_pages_are_parsed_up_to_the_cap(finished, hard_site: SiteServer) -> None:  # type: ignore[no-untyped-def]
    store, crawl, _, _ = finished
    res = results(store, crawl.id)
    m = hard_site.url("main", "")
    assert (res[f"{m}/big20.html"].outcome, res[f"{m}/big20.html"].status) == ("ok", 200)
    assert res[f"{m}/gone-at-end"].status == 404  # the last link of a 20 MB page was read
    huge = res[f"{m}/big50.html"]
    assert (huge.outcome, huge.status, huge.error) == ("warning", 200, "too-large")
    assert res[f"{m}/gone-at-start"].status == 404  # what arrived before the cap was parsed
    assert f"{m}/never-read" not in res


def test_a_dead_host_is_decided_once_for_the_whole_crawl(finished) -> None:  # type: ignore[no-untyped-def]
    store, crawl, _, seconds = finished
    res = results(store, crawl.id)
    dead_host = [r for url, r in res.items() if verdicts.DEAD_HOST in url]
    assert len(dead_host) == verdicts.DEAD_HOST_LINKS
    assert {(r.outcome, r.error) for r in dead_host} == {("dead", "dns")}
    refused = [r for r in res.values() if "/p" in r.url and r.url.startswith("http://127.0.0.1:") and r.error]
    assert len(refused) == verdicts.REFUSED_LINKS and {r.error for r in refused} == {"refused"}
    c = store.require(crawl.id).counters
    # All but the first few of those links were decided without a request and without pacing.
    assert c["checked_host"] >= verdicts.DEAD_HOST_LINKS + verdicts.REFUSED_LINKS - 20
    assert c["error_dns"] == verdicts.DEAD_HOST_LINKS and c["error_refused"] == verdicts.REFUSED_LINKS
    assert seconds < 60  # paced at 5 per second, the dead host alone took over 200 s


def test_the_record_says_how_links_were_checked(finished) -> None:  # type: ignore[no-untyped-def]
    store, crawl, _, _ = finished
    c = store.require(crawl.id).counters
    assert c["checked_get"] > 0 and c["checked_head"] == 0
    checked = sum(c[f"checked_{m}"] for m in ("get", "head", "head_get", "host", "none"))
    assert checked == c["links_checked"]
    assert c["error_too-large"] == 1 and c["error_redirect-loop"] == 1 and c["error_too-many-redirects"] == 1


def test_a_failed_link_is_a_line_not_a_traceback(finished) -> None:  # type: ignore[no-untyped-def]
    _, _, proc, _ = finished
    log = proc.output()
    assert "Traceback" not in log
    assert len(log.splitlines()) < 300, "one line per failed link at most at INFO"
    assert f"{verdicts.DEAD_HOST} answers dns" in log


# Last: the ``store`` fixture empties Redis, and with it the shared crawl above.
def test_head_first_is_a_per_crawl_choice(store: CrawlStore, crawlers: Factory, hard_site: SiteServer) -> None:
    crawlers()
    crawl = crawl_to_end(store, hard_site.url("main", "/"), CrawlOptions(head_first=True, max_depth=0))
    res = results(store, crawl.id)
    # The price of HEAD: a server that lies about it is believed for links to other hosts...
    assert res[hard_site.url("ext", "/head-lies")].outcome == "ok"
    # ...but the crawled site is always read with GET (its HTML answers are parsed).
    assert res[hard_site.url("main", "/in-scope-lies")].status == 404
    assert store.require(crawl.id).counters["checked_head"] >= 2
