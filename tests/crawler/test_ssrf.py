"""The server-side request forgery guard: the address policy, and real crawls with the guard on."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from linkpatrol.model.addresses import AddressPolicy, BadNetworkList
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, wait_ended

Factory = Callable[..., CrawlerProcess]
GUARDED = {"LINKPATROL_ALLOW_PRIVATE": ""}


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("127.3.4.5", False),
        ("::1", False),
        ("10.0.0.8", False),
        ("172.16.5.4", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("fd00:ec2::254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("fe80::1", False),
        ("224.0.0.1", False),
        ("not-an-ip", False),
    ],
)
def test_default_policy(address: str, allowed: bool) -> None:
    assert AddressPolicy().allows(address) is allowed


def test_allow_private_and_allowlist() -> None:
    assert AddressPolicy.from_env({"LINKPATROL_ALLOW_PRIVATE": "1"}).allows("127.0.0.1")
    policy = AddressPolicy.from_env({"LINKPATROL_ALLOWED_NETWORKS": "10.1.0.0/16, 127.0.0.1/32"})
    assert policy.allows("10.1.2.3") and policy.allows("127.0.0.1")
    assert not policy.allows("10.2.0.1") and not policy.allows("127.0.0.2")
    assert not policy.refuses_host("localhost") and policy.refuses_host("127.0.0.2")
    assert AddressPolicy().refuses_host("localhost") and AddressPolicy().refuses_host("[::1]")
    assert not AddressPolicy().refuses_host("example.org")  # names are resolved by the crawler
    with pytest.raises(BadNetworkList):
        AddressPolicy.from_env({"LINKPATROL_ALLOWED_NETWORKS": "10.0.0.0/33"})


@pytest.fixture(scope="module")
def ssrf_site() -> Iterator[SiteServer]:
    server = SiteServer("ssrf")
    yield server
    server.stop()




def test_loopback_seed_is_not_fetched(store: CrawlStore, crawlers: Factory, ssrf_site: SiteServer) -> None:
    crawlers(GUARDED)
    crawl = store.create(ssrf_site.url("main"))  # the web app refuses this seed; the CLI or a script may not
    wait_ended(store, crawl.id)
    seed = store.result(crawl.id, ssrf_site.url("main"))
    assert seed is not None
    assert (seed.outcome, seed.error) == ("excluded", "address-not-allowed")
    assert ssrf_site.hits("main") == {}  # not a single request reached the site, robots.txt included


def test_redirect_to_a_refused_address_is_not_followed(store: CrawlStore, crawlers: Factory,
                                                       ssrf_site: SiteServer) -> None:
    crawlers({**GUARDED, "LINKPATROL_ALLOWED_NETWORKS": "127.0.0.1/32"})
    crawl = store.create(ssrf_site.url("main"))
    wait_ended(store, crawl.id)
    ok = store.result(crawl.id, ssrf_site.url("main", "/ok"))
    assert ok is not None and ok.outcome == "ok"
    bounce = store.result(crawl.id, ssrf_site.url("main", "/bounce"))
    assert bounce is not None
    assert (bounce.outcome, bounce.error) == ("excluded", "address-not-allowed")
    assert bounce.redirects and bounce.redirects[0][1] == 302
    direct = store.result(crawl.id, f"http://127.0.0.2:{ssrf_site.ports['main']}/direct")
    assert direct is not None and direct.error == "address-not-allowed"
    assert not any("secret" in hit or "direct" in hit for hit in ssrf_site.hits("main"))
