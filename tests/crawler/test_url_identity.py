"""URL identity in the crawler: the spellings of one resource are one link (one request, one result with
every referrer), and IPv6 literals are fetched like any host, and refused by the address guard unless
private addresses are allowed."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.request
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse

from crawler.downloadermiddlewares.address_guard import AddressGuardMiddleware
from crawler.extract import extract_links
from crawler.failures import NotAllowedAddress
from linkpatrol.model.addresses import AddressPolicy
from linkpatrol.model.urls import host_of
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, wait_ended
from tests.support.sites import url_identity

Factory = Callable[..., CrawlerProcess]




def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine: cannot bind ::1")


# -- link extraction: four spellings, one target ---------------------------------------------------------
def test_extracted_spellings_have_one_target() -> None:
    body = "".join(f'<a href="{s}">{i}</a>' for i, s in enumerate(url_identity.CAFE_SPELLINGS))
    body += '<a href="http://H.example:80/enc/caf%c3%a9.html#menu">4</a><img src="../enc/./caf%C3%A9.html">'
    response = HtmlResponse("http://h.example/dir/page.html", body=f"<html><body>{body}</body></html>".encode(),
                            encoding="utf-8")
    links = extract_links(response)
    # One link per (target, fragment, element kind) a page holds: the four spellings are one.
    assert [link.target for link in links] == ["http://h.example/enc/caf%C3%A9.html"] * 3
    assert [(link.fragment, link.element) for link in links] == [("", "a"), ("menu", "a"), ("", "img")]
    look = "".join(f'<a href="{u}">x</a>' for u in url_identity.LOOKALIKES)
    response = HtmlResponse("http://h.example/", body=f"<html><body>{look}</body></html>".encode())
    assert len({link.target for link in extract_links(response)}) == len(url_identity.LOOKALIKES)


# -- the address guard and IPv6 literals ---------------------------------------------------------------------
class _Stats:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count


def _guard(policy: AddressPolicy) -> AddressGuardMiddleware:
    return AddressGuardMiddleware(SimpleNamespace(stats=_Stats()), policy)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1]/",
        "http://[::1]:8080/x",
        "http://[0:0::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]:8080/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://[fe80::1]/",
        "http://[fe80::1%25eth0]/",
        "http://[fd00:ec2::254]/",
        "http://[::]/",
        "http://127.0.0.1/",
        "http://localhost:8080/",
        "http://ip6-localhost/",
    ],
)
def test_guard_refuses_loopback_and_private_literals(url: str) -> None:
    guard = _guard(AddressPolicy())
    with pytest.raises(NotAllowedAddress):
        asyncio.run(guard.process_request(Request(url)))
    assert guard.crawler.stats.values == {"linkpatrol/ssrf/refused": 1}  # type: ignore[union-attr]


@pytest.mark.parametrize("url", ["http://[2606:4700::1111]/", "http://[2606:4700::1111]:8443/x",
                                 "http://93.184.215.14/"])
def test_guard_lets_global_literals_through(url: str) -> None:
    assert asyncio.run(_guard(AddressPolicy()).process_request(Request(url))) is None


def test_guard_with_an_allowed_network() -> None:
    guard = _guard(AddressPolicy.from_env({"LINKPATROL_ALLOWED_NETWORKS": "::1/128"}))
    assert asyncio.run(guard.process_request(Request("http://[::1]:8080/"))) is None
    with pytest.raises(NotAllowedAddress):
        asyncio.run(guard.process_request(Request("http://[fd00::1]:8080/")))


@pytest.fixture(scope="module")
def identity_site() -> Iterator[SiteServer]:
    server = SiteServer("url_identity")
    yield server
    server.stop()


def test_one_resource_under_several_spellings_is_fetched_once_and_reported_once(
    store: CrawlStore, crawlers: Factory, identity_site: SiteServer
) -> None:
    crawlers()
    before = identity_site.hits("main")
    crawl = store.create(identity_site.url("main"))
    wait_ended(store, crawl.id)
    hits = {k: v - before.get(k, 0) for k, v in identity_site.hits("main").items() if v != before.get(k, 0)}
    base = identity_site.url("main", "")

    # The missing page: one request whatever its spelling, one result, every referrer.
    cafe = [k for k in hits if unquote(k.split(" ", 1)[1]) == "/enc/café.html"]
    assert sum(hits[k] for k in cafe) == 1, hits
    results = {r.url: r for r in store.iter_results(crawl.id)}
    assert [u for u in results if "caf" in u] == [base + url_identity.CAFE]
    dead = {r.url: r for r in store.problems(crawl.id)}
    assert set(dead) == {base + url_identity.CAFE}  # nothing else is broken
    refs = {(r.page, r.text, r.fragment) for r in dead[base + url_identity.CAFE].referrers}
    pages = {(f"{base}/p{i}.html", text, "") for i in range(1, 5) for text in (f"Café {i}", f"Café picture {i}")}
    assert refs == pages | {(f"{base}/", "Café menu", "menu")}

    # The page linked under six spellings (escaped "~" and "-", dot segments, an upper-case scheme).
    user = [k for k in hits if unquote(k.split(" ", 1)[1]) == url_identity.USER]
    assert user == [f"GET {url_identity.USER}"] and hits[user[0]] == 1, hits
    assert results[base + url_identity.USER].outcome == "ok"

    # Look-alikes are different resources: each asked for once, under exactly its own name.
    for path in url_identity.LOOKALIKES:
        assert hits.get(f"GET {path}") == 1, (path, hits)
        assert results[base + path].outcome == "ok"
    assert store.require(crawl.id).links_checked == len(results)


# -- IPv6 literals, fetched -----------------------------------------------------------------------------------
class IPv6SiteServer(SiteServer):
    """The fixture server on ::1: its URLs need the brackets."""

    def url(self, site: str, path: str = "/") -> str:
        return f"http://[::1]:{self.ports[site]}{path}"

    def _get(self, site: str, path: str) -> Any:
        with urllib.request.urlopen(self.url(site, path), timeout=5) as resp:
            return json.load(resp)


@pytest.fixture(scope="module")
def ipv6_sites() -> Iterator[tuple[SiteServer, SiteServer]]:
    v6 = IPv6SiteServer("ipv6", bind="::1")
    try:
        v4 = SiteServer("ipv6", str(v6.ports["v6"]))
    except BaseException:
        v6.stop()
        raise
    yield v6, v4
    v4.stop()
    v6.stop()


def _outcomes(store: CrawlStore, crawl_id: str) -> dict[str, tuple[str, int | None, str | None]]:
    return {r.url: (r.outcome, r.status, r.error) for r in store.iter_results(crawl_id)}


@needs_ipv6
def test_ipv6_literals_are_fetched_with_their_real_status(
    store: CrawlStore, crawlers: Factory, ipv6_sites: tuple[SiteServer, SiteServer]
) -> None:
    v6, v4 = ipv6_sites
    crawlers()
    seed = v6.url("v6")
    assert host_of(seed) == f"[::1]:{v6.ports['v6']}"
    expected = {
        seed: ("ok", 200, None),
        v6.url("v6", "/ok"): ("ok", 200, None),
        v6.url("v6", "/gone"): ("dead", 404, None),
        v6.url("v6", "/teapot"): ("dead", 418, None),
    }

    # A seed on the IPv6 site: crawled, its links followed.
    before = v6.hits("v6")
    direct = store.create(seed)
    wait_ended(store, direct.id)
    assert _outcomes(store, direct.id) == expected
    crawl = store.require(direct.id)
    assert crawl.pages_crawled == 2  # the home page and /ok, in scope
    assert crawl.dead == 2
    assert {r.url: {(ref.page, ref.text) for ref in r.referrers} for r in store.problems(direct.id)} == {
        v6.url("v6", "/gone"): {(seed, "Gone")},
        v6.url("v6", "/teapot"): {(seed, "Teapot")},
    }
    hits = {k: v - before.get(k, 0) for k, v in v6.hits("v6").items() if v != before.get(k, 0)}
    # "/ok" is linked three times ("[0:0::1]" is "[::1]", a fragment is no other page): one GET. robots.txt
    # is read once (for the rules and its Sitemap: lines); it names none, so /sitemap.xml is probed.
    assert hits == {"GET /robots.txt": 1, "GET /sitemap.xml": 1, "GET /": 1, "GET /ok": 1, "GET /gone": 1,
                    "GET /teapot": 1}, hits

    # An IPv4 page that links to the IPv6 site: each IPv6 link checked with its real status.
    linked = store.create(v4.url("v4"))
    wait_ended(store, linked.id)
    found = _outcomes(store, linked.id)
    assert found == {v4.url("v4"): ("ok", 200, None), v4.url("v4", "/ok"): ("ok", 200, None), **expected}
    assert store.require(linked.id).pages_crawled == 2  # the IPv6 pages are another host: checked only
    assert {r.url for r in store.iter_results(linked.id) if r.external} == set(expected)


@needs_ipv6
def test_guard_refuses_ipv6_loopback_seeds(
    store: CrawlStore, crawlers: Factory, ipv6_sites: tuple[SiteServer, SiteServer]
) -> None:
    v6, v4 = ipv6_sites
    crawlers({"LINKPATROL_ALLOW_PRIVATE": ""})
    before_v6, before_v4 = v6.hits("v6"), v4.hits("v4")
    seeds = [v6.url("v6", "/ok"), f"http://[::ffff:127.0.0.1]:{v4.ports['v4']}/ok"]
    crawls = [store.create(seed) for seed in seeds]
    for crawl, seed in zip(crawls, seeds, strict=True):
        wait_ended(store, crawl.id)
        assert _outcomes(store, crawl.id) == {seed: ("excluded", None, "address-not-allowed")}
    assert v6.hits("v6") == before_v6 and v4.hits("v4") == before_v4  # not a request reached them
