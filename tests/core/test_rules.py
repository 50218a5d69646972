"""A crawl's rules (``linkpatrol.model.rules``): exclude patterns, the site's hosts, accepted statuses."""

from __future__ import annotations

import pytest

from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.rules import AcceptRule, CrawlRules, compile_pattern, site_host
from linkpatrol.model.urls import host_of, normalize_url


def rules(seed_host: str = "example.org", **options: object) -> CrawlRules:
    return CrawlRules.from_options(CrawlOptions(**options).validate(), seed_host)  # type: ignore[arg-type]


# -- exclude --------------------------------------------------------------------------------------------
def test_no_patterns_exclude_nothing() -> None:
    assert not rules().excluded("https://example.org/anything")


@pytest.mark.parametrize(
    ("url", "excluded"),
    [
        ("https://example.org/calendar/2024/01", True),
        ("https://example.org/blog/?sort=asc", True),
        ("https://example.org/blog/?page=2&sort=asc", True),
        ("https://example.org/blog/?page=2", False),
        ("https://cdn.example.net/logo.png", True),
        ("https://example.org/logo.png", False),
        ("https://example.org/CALENDAR/", False),  # case matters unless the pattern says (?i)
    ],
)
def test_patterns_are_searched_in_the_whole_url(url: str, excluded: bool) -> None:
    crawl = rules(exclude=["/calendar/", r"[?&]sort=", r"^https://cdn\.example\.net/"])
    assert crawl.excluded(url) is excluded


def test_patterns_see_the_normalised_url() -> None:
    crawl = rules(exclude=[r"/%C3%BC/", "(?i)/private"])
    assert crawl.excluded(normalize_url("https://example.org/ü/x")[0])
    assert crawl.excluded("https://example.org/PRIVATE/page")


def test_compile_pattern_says_why() -> None:
    assert compile_pattern(r"a+b").search("xaab")
    with pytest.raises(ValueError, match="not a regular expression"):
        compile_pattern("(unclosed")


# -- the site -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seed", "host", "in_scope"),
    [
        ("example.org", "example.org", True),
        ("example.org", "www.example.org", True),  # the www. twin, always
        ("www.example.org", "example.org", True),  # and the bare domain of a www. seed
        ("example.org", "docs.example.org", False),  # subdomains only when asked
        ("example.org", "example.org:8080", False),  # another port is another site
        ("example.org:8080", "www.example.org:8080", True),  # the twin on the seed's port
        ("example.org:8080", "www.example.org", False),
        ("example.org", "notexample.org", False),
        ("example.org", "example.org.evil.example", False),
        ("127.0.0.1:8080", "127.0.0.1:8080", True),
        ("127.0.0.1:8080", "www.127.0.0.1:8080", False),  # an address has no www. twin
        ("[::1]:8080", "[::1]:8080", True),
    ],
)
def test_the_seed_host_and_its_twin(seed: str, host: str, in_scope: bool) -> None:
    assert rules(seed).in_scope(host) is in_scope


def test_same_site_hosts() -> None:
    crawl = rules("example.org", same_site=["Docs.Example.ORG", "static.example.net:8443", "bücher.example"])
    assert crawl.in_scope("docs.example.org")
    assert crawl.in_scope("static.example.net:8443") and not crawl.in_scope("static.example.net")
    assert crawl.in_scope(host_of(normalize_url("https://bücher.example/")[0]))
    assert not crawl.in_scope("www.docs.example.org")  # twins and subdomains are the seed's only
    assert not crawl.in_scope("other.example.org")


@pytest.mark.parametrize(
    ("seed", "host", "in_scope"),
    [
        ("example.org", "docs.example.org", True),
        ("example.org", "a.b.example.org", True),
        ("www.example.org", "docs.example.org", True),  # subdomains of the domain, not of www.
        ("example.org", "docs.example.org:8080", False),
        ("example.org:8080", "docs.example.org:8080", True),
        ("example.org", "badexample.org", False),
        ("example.org", "example.org.evil.example", False),
        ("127.0.0.1", "x.127.0.0.1", False),
    ],
)
def test_subdomains(seed: str, host: str, in_scope: bool) -> None:
    assert rules(seed, subdomains=True).in_scope(host) is in_scope


@pytest.mark.parametrize(
    ("entry", "host"),
    [("Docs.Example.ORG", "docs.example.org"), ("example.org:8080", "example.org:8080"),
     ("example.org:80", "example.org"), ("example.org.", "example.org"), ("bücher.example", "xn--bcher-kva.example"),
     ("10.0.0.1", "10.0.0.1"), ("[::1]:8080", "[::1]:8080")],
)
def test_site_host_spells_hosts_as_host_of(entry: str, host: str) -> None:
    assert site_host(entry) == host


@pytest.mark.parametrize("entry", ["", "https://example.org/", "example.org/path", "user@example.org", "exa mple.org",
                                   "a*b.example", "example.org:99999", ":8080", "example.org?x"])
def test_site_host_refuses_what_is_not_a_host(entry: str) -> None:
    with pytest.raises(ValueError, match="not a host name"):
        site_host(entry)


# -- accept ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "rule", "spelled"),
    [
        ("403", AcceptRule(403, 403), "403"),
        (" 200 - 299 ", AcceptRule(200, 299), "200-299"),
        ("403@GitHub.com", AcceptRule(403, 403, "github.com"), "403@github.com"),
        ("500-599@legacy.example.org:8080", AcceptRule(500, 599, "legacy.example.org:8080"),
         "500-599@legacy.example.org:8080"),
        ("999", AcceptRule(999, 999), "999"),
        ("100-100", AcceptRule(100, 100), "100"),
    ],
)
def test_accept_rule_parse(spec: str, rule: AcceptRule, spelled: str) -> None:
    assert AcceptRule.parse(spec) == rule
    assert str(rule) == spelled
    assert AcceptRule.parse(str(rule)) == rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [("abc", "not a status code"), ("", "not a status code"), ("99", "from 100 to 999"), ("1000", "from 100 to 999"),
     ("300-200", "lower code to the higher"), ("403@", "after @"), ("403@https://x/", "after @"),
     ("4O3", "not a status"), ("٤٠٣", "not a status code")],
)
def test_accept_rule_refusals(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AcceptRule.parse(spec)


def test_accepted() -> None:
    crawl = rules(accept=["403@github.com", "500-599@legacy.example.org", "429", "301"])
    assert crawl.accepted(403, "github.com")
    assert not crawl.accepted(403, "gitlab.com")
    assert not crawl.accepted(403, "www.github.com")  # a scoped entry names one host exactly
    assert crawl.accepted(500, "legacy.example.org") and crawl.accepted(599, "legacy.example.org")
    assert not crawl.accepted(600, "legacy.example.org") and not crawl.accepted(499, "legacy.example.org")
    assert crawl.accepted(429, "anywhere.example") and crawl.accepted(301, "example.org")
    assert not crawl.accepted(404, "example.org")
    assert not rules().accepted(403, "github.com")


# -- building -------------------------------------------------------------------------------------------
def test_rules_are_compiled_once_per_options() -> None:
    options = CrawlOptions(exclude=["/a/", "/b/"], same_site=["docs.example.org"], accept=["403"]).validate()
    first = CrawlRules.from_options(options, "example.org")
    assert CrawlRules.from_options(options, "example.org") is first
    # The crawler reads the options again from the record: equal options share the compiled rules.
    assert CrawlRules.from_options(CrawlOptions.from_json(options.to_json()), "example.org") is first
    assert CrawlRules.from_options(options, "other.example") is not first


def test_default_rules() -> None:
    crawl = CrawlRules.from_options(CrawlOptions(), "example.org")
    assert crawl.site == {"example.org", "www.example.org"} and not crawl.subdomain_suffix
    assert crawl.exclude == () and crawl.accept == ()
