"""The crawler's small pieces with many cases: link extraction, Retry-After, failure names."""

from __future__ import annotations

import socket
import ssl

import aiohttp
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
)
from scrapy.http import HtmlResponse

from crawler.downloadermiddlewares.retry_after import retry_after_seconds
from crawler.extract import extract_links, parse_srcset
from crawler.failures import RedirectLoop, TooManyRedirects, error_kind


def test_srcset_keeps_commas_inside_urls() -> None:
    value = "a.png 1x, b.png 2x,data:image/png;base64,AA,BB 3x , c,d.png"
    assert list(parse_srcset(value)) == ["a.png", "b.png", "data:image/png;base64,AA,BB", "c,d.png"]


def test_extract_links_every_element_base_href_and_ignored_schemes() -> None:
    html = b"""<html><head><base href="/sub/"><link rel=preconnect href="https://fonts.example">
    <link rel=stylesheet href="s.css"></head><body>
    <a href="p1.html#top"> Page   <b>one</b></a><a href="mailto:x@y">m</a><a href="#f">f</a><a href="">e</a>
    <a href="tel:1">t</a><a href="data:text/html,hi">d</a><a href="JavaScript:void(0)">j</a>
    <a href="http://[bad/">bad</a><a href="ftp://x.example/f">ftp</a>
    <img src="i.png" srcset="i2.png 2x" alt="An image"><a href="/x"><img src="y.png" alt="logo"></a>
    <script src="//cdn.example/a.js"></script><iframe src="https://ext.example/frame"></iframe>
    <video src="v.mp4"></video><audio src="a.mp3"></audio><source src="s.webm">
    <map><area href="/area" alt="Area"></map></body></html>"""
    response = HtmlResponse("http://h.example/dir/page.html", body=html, encoding="utf-8")
    links = {(lk.target, lk.element): lk for lk in extract_links(response)}
    assert set(links) == {
        ("http://h.example/sub/s.css", "link"),
        ("http://h.example/sub/p1.html", "a"),
        ("http://[bad/", "a"),
        ("ftp://x.example/f", "a"),
        ("http://h.example/sub/i.png", "img"),
        ("http://h.example/sub/i2.png", "img"),
        ("http://h.example/x", "a"),
        ("http://h.example/sub/y.png", "img"),
        ("http://cdn.example/a.js", "script"),
        ("https://ext.example/frame", "iframe"),
        ("http://h.example/sub/v.mp4", "video"),
        ("http://h.example/sub/a.mp3", "audio"),
        ("http://h.example/sub/s.webm", "source"),
        ("http://h.example/area", "area"),
    }
    page = links[("http://h.example/sub/p1.html", "a")]
    assert (page.text, page.fragment, page.follow) == ("Page one", "top", True)
    assert links[("http://h.example/x", "a")].text == "logo"  # an image link is named by its alt text
    assert links[("http://[bad/", "a")].problem == "invalid-url"
    assert links[("ftp://x.example/f", "a")].problem == "unsupported"
    assert not links[("http://h.example/sub/i.png", "img")].follow


def test_extract_links_survives_hostile_html() -> None:
    html = b"<a href='/a'>\x00<<<<b><a href=/b>" + b"<div>" * 5000 + b"<a href='/c' title='" + b"x" * 10**5 + b"'>"
    response = HtmlResponse("http://h.example/", body=html, encoding="utf-8")
    targets = {lk.target for lk in extract_links(response)}
    assert {"http://h.example/a", "http://h.example/b"} <= targets


def test_retry_after_parsing() -> None:
    assert retry_after_seconds(b"5") == 5.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds(b"soon") is None
    assert retry_after_seconds(b"Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0


def _wrapped(inner: BaseException, outer: type[Exception]) -> Exception:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer(str(exc)) from exc
    except Exception as wrapped:
        return wrapped


def test_failures_get_named_kinds() -> None:
    # The same exception types the download handler raises; no DNS query leaves this machine.
    assert error_kind(CannotResolveHostError("no such host")) == "dns"
    assert error_kind(_wrapped(socket.gaierror(socket.EAI_NONAME, "x"), DownloadFailedError)) == "dns"
    assert error_kind(DownloadConnectionRefusedError("refused")) == "refused"
    assert error_kind(DownloadTimeoutError("took longer than 2.0 seconds")) == "timeout"
    assert error_kind(_wrapped(ssl.SSLCertVerificationError(1, "certificate verify failed"),
                               DownloadFailedError)) == "tls"
    assert error_kind(TooManyRedirects("x")) == "too-many-redirects"
    assert error_kind(RedirectLoop("x")) == "redirect-loop"
    assert error_kind(aiohttp.ServerDisconnectedError()) == "connection-reset"
    assert error_kind(_wrapped(ConnectionResetError(104, "reset"), aiohttp.ClientOSError)) == "connection-reset"
    assert error_kind(_wrapped(OSError(113, "no route"), DownloadFailedError)) == "connection-failed"
    assert error_kind(RuntimeError("something else")) == "connection-failed"


def test_a_leased_request_has_the_url_scrapy_would_give_it() -> None:
    """LeasedRequest skips w3lib's escaping only where it would change nothing: every url, and every
    redirect target put in with ``replace``, ends up as Scrapy's own Request has it."""
    from scrapy import Request

    from crawler.leased_requests import LeasedRequest
    from linkpatrol.model.urls import normalize_url
    raw = ["http://example.org/", "https://example.org/a/b?x=1&y=%2F#top", "http://example.org/caf\u00e9 au lait",
           "http://example.org/a b|c[d]", "http://user@example.org/x", "http://[::1]:8080/p?q='1'",
           "http://EXAMPLE.org/%7euser/", "http://example.org/\u0645\u0631\u062d\u0628\u0627?q=\u00fc"]
    urls = [*raw, *(normalize_url(u)[0] for u in raw)]
    for url in urls:
        assert LeasedRequest(url).url == Request(url).url, url
        moved = LeasedRequest("http://example.org/").replace(url=url)
        assert type(moved) is LeasedRequest and moved.url == Request(url).url, url
    assert sum(LeasedRequest(u).url == u for u in urls) >= len(raw)  # the normal forms go through as they are
