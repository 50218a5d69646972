"""URL identity: every spelling of one resource normalises to one URL (RFC 3986 section 6.2.2), and
URLs that may name different resources never meet. The scope key of a URL (``host_of``) agrees."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest
from w3lib.url import safe_url_string

from linkpatrol.model import urls
from linkpatrol.model.urls import InvalidURL, host_of, normalize_url

# (every spelling, the normal form): each spelling, and the normal form itself, normalise to it.
SAME = [
    # the example: UTF-8, escapes in upper case, an escaped unreserved letter decoded
    (["http://h.example/enc/café.html", "http://h.example/enc/caf%C3%A9.html",
      "http://h.example/enc/caf%c3%a9.html", "http://h.example/enc/%63af%C3%A9.html",
      "http://h.example/enc/%63%61%66%c3%A9.html", "HTTP://H.EXAMPLE:80/enc/caf%c3%a9.html#x"],
     "http://h.example/enc/caf%C3%A9.html"),
    # scheme and host case, default ports, the empty path, a trailing dot on the host
    (["HTTP://Example.COM", "http://example.com/", "http://EXAMPLE.com:80/", "hTTp://example.com.:80",
      "http://example.com:0080/"], "http://example.com/"),
    (["https://a.example:443/x", "HTTPS://A.example/x", "https://a.example./x"], "https://a.example/x"),
    (["http://a.example?q=1", "http://a.example/?q=1", "http://a.example:80?q=1"], "http://a.example/?q=1"),
    # every unreserved character escaped, in either case
    (["http://a.example/%41%5a%61%7A%30%39%2D%2E%5F%7E", "http://a.example/%41%5A%61%7a%30%39%2d%2e%5f%7e",
      "http://a.example/AZaz09-._~"], "http://a.example/AZaz09-._~"),
    (["http://a.example/~user/", "http://a.example/%7Euser/", "http://a.example/%7euser/"],
     "http://a.example/~user/"),
    # reserved characters keep their escape, in upper case
    (["http://a.example/a%2fb", "http://a.example/a%2Fb"], "http://a.example/a%2Fb"),
    (["http://a.example/%3f%23%5b%5d%40%21%24%26%27%28%29%2a%2b%2c%3b%3d%3a%25",
      "http://a.example/%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%3A%25"],
     "http://a.example/%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%3A%25"),
    # the query: the same case/unreserved normalisation, nothing else
    (["http://a.example/s?x=%2f&y=%7e&z=%c3%a9", "http://a.example/s?x=%2F&y=~&z=é"],
     "http://a.example/s?x=%2F&y=~&z=%C3%A9"),
    (["http://a.example/s?q=a+b", "http://a.example/s?q=%61+b"], "http://a.example/s?q=a+b"),
    (["http://a.example/s?q=a b", "http://a.example/s?q=a%20b"], "http://a.example/s?q=a%20b"),
    # non-ASCII: UTF-8 in the path and the query, IDNA in the host
    (["http://Bücher.example/ü", "http://xn--bcher-kva.example/%C3%BC", "http://BÜCHER.example/%c3%bc"],
     "http://xn--bcher-kva.example/%C3%BC"),
    (["http://a.example/日本?語=言", "http://a.example/%E6%97%A5%E6%9C%AC?%E8%AA%9E=%E8%A8%80"],
     "http://a.example/%E6%97%A5%E6%9C%AC?%E8%AA%9E=%E8%A8%80"),
    # dot segments, which a browser resolves before asking (escaped dots are dots)
    (["http://a.example/a/./b/../c", "http://a.example/a/c", "http://a.example/x/../a/c",
      "http://a.example/a/%2E/b/%2e%2E/c", "http://a.example/../a/c"], "http://a.example/a/c"),
    (["http://a.example/a/b/..", "http://a.example/a/b/../", "http://a.example/a/."], "http://a.example/a/"),
    (["http://a.example/..", "http://a.example/.", "http://a.example/a/../../.."], "http://a.example/"),
    # white space around, spaces inside
    (["  http://a.example/a b\n", "http://a.example/a%20b"], "http://a.example/a%20b"),
    # IPv6 literals: lower case, RFC 5952 compression, default port dropped, port kept
    (["http://[::1]:8080/", "http://[0:0:0:0:0:0:0:1]:8080", "http://[0::1]:8080/"], "http://[::1]:8080/"),
    (["http://[::1]:80/", "http://[::1]"], "http://[::1]/"),
    (["http://[2001:DB8:0:0::1]/x", "http://[2001:db8::1]/x"], "http://[2001:db8::1]/x"),
    (["http://[::FFFF:127.0.0.1]/", "http://[::ffff:7f00:1]/"], "http://[::ffff:127.0.0.1]/"),
    # userinfo is kept, its escapes normalised like the rest
    (["http://User:P%40ss@Example.org/", "http://User:P%40ss@example.org:80"], "http://User:P%40ss@example.org/"),
]


@pytest.mark.parametrize(("spellings", "normal"), SAME, ids=[case[1] for case in SAME])
def test_spellings_of_one_url_normalise_to_one(spellings: list[str], normal: str) -> None:
    for raw in [*spellings, normal]:
        assert normalize_url(raw)[0] == normal, raw


# Each group: URLs that may name different resources, so they must stay different.
DIFFERENT = [
    ["http://a.example/a%2Fb", "http://a.example/a/b"],  # an escaped slash is data, not a separator
    ["http://a.example/a%3Fb", "http://a.example/a?b"],
    ["http://a.example/a%23b", "http://a.example/a#b"],
    ["http://a.example/s?q=a+b", "http://a.example/s?q=a%20b", "http://a.example/s?q=a%2Bb"],
    ["http://a.example/s?a=1&b=2", "http://a.example/s?b=2&a=1"],  # no reordering
    ["http://a.example/s?x=%2F", "http://a.example/s?x=/"],
    ["http://a.example/s?x=%26y", "http://a.example/s?x&y"],
    ["http://a.example/s?x=%3D", "http://a.example/s?x=="],
    ["http://a.example/%25", "http://a.example/%2525", "http://a.example/%"],  # no double decoding
    ["http://a.example/%2541", "http://a.example/A"],
    ["http://a.example/A", "http://a.example/a"],  # the path is case-sensitive
    ["http://a.example/x", "http://a.example/x/"],
    ["http://a.example/s?p=/a/../b", "http://a.example/s?p=/b"],  # dot segments only in the path
    ["http://a.example/a..b", "http://a.example/a/b", "http://a.example/.a", "http://a.example/a/.../b"],
    ["http://a.example/", "https://a.example/"],
    ["http://a.example:8080/", "http://a.example/", "http://a.example:443/"],
    ["https://a.example:80/", "https://a.example/"],
    ["http://[::1]/", "http://[::2]/", "http://127.0.0.1/"],
    ["http://[::1]:8080/", "http://[::1:8080]/"],
    ["http://u@a.example/", "http://a.example/", "http://U@a.example/"],
]


@pytest.mark.parametrize("group", DIFFERENT, ids=[group[0] for group in DIFFERENT])
def test_urls_that_may_differ_stay_apart(group: list[str]) -> None:
    normals = [normalize_url(u)[0] for u in group]
    assert len(set(normals)) == len(group), normals


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://a.example/x#Top", ("http://a.example/x", "Top")),
        ("http://a.example/x?q=1#", ("http://a.example/x?q=1", "")),
        ("http://a.example/x#a%2fb", ("http://a.example/x", "a%2fb")),  # the fragment is the page's business
        ("http://a.example/x?q#f#g", ("http://a.example/x?q", "f%23g")),
        ("http://a.example/s?", ("http://a.example/s", "")),
        ("http://a.example/100%", ("http://a.example/100%", "")),  # not an escape: left alone
        ("http://a.example/%zz%4", ("http://a.example/%zz%4", "")),
        ("http://a.example/a%2e%2eb", ("http://a.example/a..b", "")),
        ("http://a.example/[x]|y", ("http://a.example/%5Bx%5D%7Cy", "")),
        ("http://a.example/it's?q='", ("http://a.example/it's?q=%27", "")),  # w3lib's WHATWG sets
        ("http://a.example/a\tb", ("http://a.example/ab", "")),  # browsers drop tabs and newlines
        ("http://[fe80::1%25eth0]:8/", ("http://[fe80::1%25eth0]:8/", "")),  # a zone identifier is kept
    ],
)
def test_normal_forms(raw: str, expected: tuple[str, str]) -> None:
    assert normalize_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("   ", "empty"),
        ("/relative/path", "needs a scheme"),
        ("ftp://a.example/", "only http and https"),
        ("mailto:a@b.example", "only http and https"),
        ("http://[::1/", "malformed"),
        ("http://[not-an-address]/", "malformed"),
        ("http://a.example:port/", "malformed"),
        ("http://a.example:65536/", "malformed"),
        ("http://:80/", "no host"),
        ("http://./", "no host"),
        ("https://a.example/?" + "q" * 2100, "longer than"),
        ("http://exa mple.org/", "contains a space"),
        ("http://exa<mple.org/", "contains '<'"),
        ("http://a|b.example/", "contains '|'"),
        ("http://a^b.example/", "contains '\\^'"),
    ],
)
def test_invalid_urls_say_why(raw: str, message: str) -> None:
    with pytest.raises(InvalidURL, match=message):
        normalize_url(raw)


# -- properties over many generated urls --------------------------------------------------------------
ALPHABET = ("abcXYZ019-._~" * 3 + "%%%%/?#&=+;:,!$*()'@[]| \t\"<>\\^`{}" + "éü日\x00\x7f")
PLAIN = "abcXYZ019-._~" * 2 + "%%%%/////....??#&=+;:,!$*()"  # what the fast path takes, and "#"
HEX = "0123456789abcdefABCDEF"


def generated(n: int = 3000, seed: int = 7, alphabet: str = ALPHABET) -> Iterator[str]:
    rnd = random.Random(seed)
    hosts = ["a.example", "A.Example", "a.example:80", "a.example:8080", "[::1]", "[::1]:81", "user:pw@a.example",
             "b%41.example", "bücher.example"]
    for _ in range(n):
        chars = []
        for _ in range(rnd.randint(0, 30)):
            c = rnd.choice(alphabet)
            if c == "%" and rnd.random() < 0.8:
                c += rnd.choice(HEX) + rnd.choice(HEX)
            chars.append(c)
        yield f"{rnd.choice(['http', 'HTTPS'])}://{rnd.choice(hosts)}/{''.join(chars)}"


def _normal_or_none(raw: str) -> tuple[str, str] | None:
    try:
        return normalize_url(raw)
    except InvalidURL:
        return None


def test_normalisation_is_idempotent() -> None:
    for raw in generated():
        first = _normal_or_none(raw)
        if first is None:
            continue
        assert normalize_url(first[0])[0] == first[0], raw
        # Scrapy passes every request url through safe_url_string: a page keeps its name as a referrer.
        assert safe_url_string(first[0]) == first[0], raw
        assert _ESCAPE_IN_LOWER_CASE.search(first[0]) is None, (raw, first)
        assert _UNRESERVED_ESCAPED.search(first[0]) is None, (raw, first)


_ESCAPE_IN_LOWER_CASE = re.compile(r"%(?:[a-f][0-9A-Fa-f]|[0-9A-F][a-f])")
_UNRESERVED_ESCAPED = re.compile(r"%(?:4[1-9A-F]|5[0-9A]|6[1-9A-F]|7[0-9A]|3[0-9]|2[DE]|5F|7E)")


def test_the_fast_path_gives_what_w3lib_would(monkeypatch: pytest.MonkeyPatch) -> None:
    """URLs of plain characters skip w3lib's safe_url_string: the result must be the one it gives."""
    samples = [*generated(3000, seed=11), *generated(3000, seed=12, alphabet=PLAIN)]
    assert sum(urls._ALREADY_SAFE.fullmatch(raw) is not None for raw in samples) > 1500
    fast = [_normal_or_none(raw) for raw in samples]
    monkeypatch.setattr(urls, "_ALREADY_SAFE", re.compile(r"(?!)"))  # never matches: always w3lib
    normalize_url.cache_clear()
    try:
        slow = [_normal_or_none(raw) for raw in samples]
    finally:
        normalize_url.cache_clear()
    assert sum(f is not None for f in fast) > 1000  # many valid samples
    assert fast == slow


def test_percent_escapes_of_every_byte() -> None:
    for byte in range(256):
        for escape in {f"%{byte:02x}", f"%{byte:02X}"}:
            url = normalize_url(f"http://a.example/p{escape}q?k{escape}v")[0]
            char = chr(byte)
            if char.isascii() and (char.isalnum() or char in "-._~"):
                assert url == f"http://a.example/p{char}q?k{char}v"
            else:
                assert url == f"http://a.example/p%{byte:02X}q?k%{byte:02X}v"


# -- the scope key ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://A.example/x", "a.example"),
        ("https://a.example/y", "a.example"),
        ("http://a.example:8080/", "a.example:8080"),
        ("http://a.example:80/", "a.example"),
        ("https://a.example:443/", "a.example"),
        ("http://a.example:443/", "a.example:443"),
        ("http://a.example./", "a.example"),
        ("http://user:pw@a.example:81/", "a.example:81"),
        ("http://[::1]:8080/", "[::1]:8080"),
        ("http://[::1]/", "[::1]"),
        ("http://[::1]:80/", "[::1]"),
        ("https://[::1]:443/", "[::1]"),
        ("http://[0:0::1]:8080/x", "[::1]:8080"),
        ("http://[::1:8080]/", "[::1:8080]"),  # another address, not "::1" on port 8080
        ("http://[2001:DB8::1]:8443/", "[2001:db8::1]:8443"),
        ("http://[::FFFF:127.0.0.1]:81/", "[::ffff:127.0.0.1]:81"),
        ("http://127.0.0.1:8080/", "127.0.0.1:8080"),
        ("http://[bad/", ""),
        ("http://a.example:bad/", ""),
        ("not a url", ""),
    ],
)
def test_host_of(url: str, host: str) -> None:
    assert host_of(url) == host


def test_host_of_agrees_with_the_normal_form() -> None:
    for raw in generated(1000, seed=3):
        normal = _normal_or_none(raw)
        if normal is not None:
            assert host_of(raw) == host_of(normal[0]), raw
    assert host_of("http://[::1]:8080/") != host_of("http://[::1:8080]/")
