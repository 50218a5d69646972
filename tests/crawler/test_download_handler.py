"""The crawler's download handler (crawler/download: aiohttp, the address policy in its resolver) against
real servers on loopback: raw sockets that answer as the test says, broken answers and certificates
included. The handler runs in the test's own event loop, without the address guard middleware; the
last test runs a crawler process."""

from __future__ import annotations

import asyncio
import gc
import gzip
import ipaddress
import json
import logging
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.download.handler import DownloadHandler
from crawler.download.resolver import GuardedResolver
from crawler.failures import NotAllowedAddress, error_kind
from linkpatrol.model.addresses import AddressPolicy
from linkpatrol.store.crawls import CrawlStore
from tests.support.certificates import certificates
from tests.support.processes import ROOT, CrawlerProcess, crawl_to_end

Factory = Callable[..., CrawlerProcess]
CLOSE, RESET, SLOW = b"close", b"reset", b"slow"  # answers that are no answers
OPEN = AddressPolicy(allow_private=True)  # LINKPATROL_ALLOW_PRIVATE=1
LOCAL_ONLY = AddressPolicy.from_env({"LINKPATROL_ALLOWED_NETWORKS": "127.0.0.1/32"})


def answer(status: str = "200 OK", body: bytes = b"", **headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    if "Content_Length" not in headers and "Transfer_Encoding" not in headers:
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join([*head, "Connection: close"]) + "\r\n\r\n").encode() + body


class RawSite:
    """A server on loopback in a thread of its own: each request's path picks its answer, sent as it is
    (``ROUTES``, ``/echo/...`` as ``/echo``; a callable gets the request's head), or ``CLOSE`` (closed
    without an answer), ``RESET`` (reset without an answer), ``SLOW`` (no answer for 30 s). It counts the
    requests per path and keeps the heads it got."""

    def __init__(self, routes: dict[str, Any], bind: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.routes, self.bind, self.tls = routes, bind, tls
        self.hits: Counter[str] = Counter()
        self.heads: list[bytes] = []
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        started.wait(10)

    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._serve, self.bind, 0, ssl=self.tls))
        self.port = self.server.sockets[0].getsockname()[1]
        started.set()
        self.loop.run_forever()

    def url(self, path: str, host: str = "") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host or (f'[{self.bind}]' if ':' in self.bind else self.bind)}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.heads.append(head)
            path = head.split(b" ", 2)[1].decode().split("?")[0]
            self.hits[path] += 1
            found = self.routes.get("/echo" if path.startswith("/echo/") else path, answer("404 Not Found"))
            found = found(head) if callable(found) else found
            if found == RESET:
                writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                           struct.pack("ii", 1, 0))
                writer.transport.abort()
            elif found == SLOW:
                await asyncio.sleep(30)
            elif found != CLOSE:
                writer.write(found)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):  # a client that gave up
            pass
        finally:
            writer.close()

    async def _shutdown(self) -> None:
        self.server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0.01)  # the transports closed above finish closing

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def echo(head: bytes) -> bytes:
    return answer(body=head, Content_Type="text/plain")


ROUTES: dict[str, Any] = {
    "/ok": answer(body=b"<html>ok</html>", Content_Type="text/html"),
    "/echo": echo,
    "/redirect": answer("302 Found", Location="/ok"),
    "/cookie": answer(body=b"set", Set_Cookie="session=1; Path=/"),
    "/gzip": answer(body=gzip.compress(b"<html>zipped</html>"), Content_Type="text/html", Content_Encoding="gzip"),
    "/huge": answer(Content_Length="5000000000"),  # claims 5 GB; HEAD and GET alike
    "/not-modified": answer("304 Not Modified", Content_Length="5000000000"),
    "/big": answer(body=b"x" * 5000),
    "/big-chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    + b"".join(b"3e8\r\n" + b"x" * 1000 + b"\r\n" for _ in range(5)) + b"0\r\n\r\n",
    "/cut": answer(body=b"x" * 100, Content_Length="1000", Content_Type="text/html"),  # closed mid-body
    "/closed": CLOSE,
    "/reset": RESET,
    "/slow": SLOW,
}


@pytest.fixture(scope="module")
def site() -> Iterator[RawSite]:
    server = RawSite(ROUTES)
    yield server
    server.stop()


def crawler(**settings: Any) -> Crawler:
    return get_crawler(settings_dict={"DOWNLOAD_VERIFY_CERTIFICATES": True, "DOWNLOAD_MAXSIZE": 1025 * 1024 * 1024,
                                      "CONCURRENT_REQUESTS": 8, "CONCURRENT_REQUESTS_PER_DOMAIN": 3, **settings})


def download(requests: list[Request], policy: AddressPolicy = OPEN,
             check: Callable[[DownloadHandler], Awaitable[None]] | None = None) -> list[Response | Exception]:
    """Each request through one handler (in this order), its response or the exception it raised."""
    async def run() -> list[Response | Exception]:
        handler = DownloadHandler(crawler(), GuardedResolver(policy))
        found: list[Response | Exception] = []
        try:
            for request in requests:
                try:
                    found.append(await handler.download_request(request))
                except Exception as exc:
                    found.append(exc)
            if check is not None:
                await check(handler)
        finally:
            await handler.close()
        return found
    return asyncio.run(run())


def kinds(found: list[Response | Exception]) -> list[Any]:
    return [r.status if isinstance(r, Response) else str(error_kind(r)) for r in found]


# -- what is sent: the URL as Scrapy normalised it, only Scrapy's headers -------------------------------------
def test_the_url_is_sent_as_scrapy_normalised_it(site: RawSite) -> None:
    paths = ["/echo/caf%C3%A9/a%2Fb/%7Euser?q=a+b&r=%2F&s=a%20b", "/echo/café/ü?x=é y", "/echo/a/./b/../c?"]
    requests = [Request(site.url(p)) for p in paths]
    found = download(requests)
    for request, response in zip(requests, found, strict=True):
        assert isinstance(response, Response) and response.status == 200
        line = response.body.split(b"\r\n", 1)[0].decode()
        parts = urlsplit(request.url)
        assert line == f"GET {parts.path}{'?' if parts.query else ''}{parts.query} HTTP/1.1", (request.url, line)
    assert found[1].body.startswith(b"GET /echo/caf%C3%A9/%C3%BC?x=%C3%A9%20y ")  # type: ignore[union-attr]
    head = found[0].body.lower()  # type: ignore[union-attr]
    # No header of aiohttp's own: no Accept-Encoding (nothing is decompressed), no body length for a GET.
    assert b"accept-encoding" not in head and b"content-length" not in head and b"user-agent" not in head
    assert f"host: 127.0.0.1:{site.port}".encode() in head


def test_the_requests_headers_are_sent_each_value_as_a_line_and_never_proxy_authorization(site: RawSite) -> None:
    request = Request(site.url("/echo"), headers={"X-One": "a", "Proxy-Authorization": "Basic c2VjcmV0",
                                                  "X-Text": "caf\u00e9"})
    request.headers.appendlist("X-Many", "1")
    request.headers.appendlist("X-Many", "2")
    [response] = download([request])
    assert isinstance(response, Response)
    head = response.body.split(b"\r\n\r\n", 1)[0].lower().split(b"\r\n")
    assert b"x-one: a" in head and b"x-many: 1" in head and b"x-many: 2" in head
    assert "x-text: café".encode() in head
    assert not [line for line in head if line.startswith(b"proxy-authorization")]
    assert request.headers[b"Proxy-Authorization"] == b"Basic c2VjcmV0"  # the request's own are left as they were


def test_no_redirect_no_decompression_no_cookie_jar(site: RawSite) -> None:
    found = download([Request(site.url("/redirect")), Request(site.url("/gzip")), Request(site.url("/cookie")),
                      Request(site.url("/echo"))])
    redirect, zipped, _, after = found
    assert isinstance(redirect, Response) and redirect.status == 302 and redirect.headers[b"Location"] == b"/ok"
    assert isinstance(zipped, Response) and gzip.decompress(zipped.body) == b"<html>zipped</html>"
    assert zipped.headers[b"Content-Encoding"] == b"gzip"
    assert isinstance(after, Response) and b"cookie" not in after.body.lower()


def test_head_and_answers_without_a_body_are_not_too_large(site: RawSite) -> None:
    """A Content-Length past the max describes no body after a HEAD or a 304: a 200 and a 304, not
    too-large; the same GET is too-large at its headers."""
    found = download([Request(site.url("/huge"), method="HEAD"), Request(site.url("/not-modified")),
                      Request(site.url("/huge"))])
    assert kinds(found) == [200, 304, "too-large"]
    assert found[0].headers[b"Content-Length"] == b"5000000000"  # type: ignore[union-attr]


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
def test_an_ipv6_literal_is_fetched() -> None:
    try:
        v6 = RawSite(ROUTES, bind="::1")
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        found = download([Request(v6.url("/ok"))])
        assert kinds(found) == [200]
        assert found[0].ip_address == ipaddress.ip_address("::1")  # type: ignore[union-attr]
    finally:
        v6.stop()


# -- sizes, cut answers, timeouts -------------------------------------------------------------------------------
def test_a_body_past_download_maxsize_is_too_large(site: RawSite) -> None:
    found = download([Request(site.url(p), meta={"download_maxsize": 1000}) for p in ("/big", "/big-chunked")]
                     + [Request(site.url("/big"), meta={"download_maxsize": 5000})])
    assert kinds(found) == ["too-large", "too-large", 200]  # announced, then counted as it arrives


def test_answers_cut_short_keep_their_verdicts(site: RawSite) -> None:
    found = download([Request(site.url(p)) for p in ("/cut", "/closed", "/reset")])
    assert kinds(found) == ["incomplete-response", "connection-reset", "connection-reset"]


def test_a_per_request_timeout(site: RawSite) -> None:
    started = time.monotonic()
    found = download([Request(site.url("/slow"), meta={"download_timeout": 0.5})])
    assert kinds(found) == ["timeout"] and time.monotonic() - started < 5


# -- certificates ---------------------------------------------------------------------------------------------
def test_certificates_are_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A certificate the test's CA signed for 127.0.0.1 is trusted (the CA stands in for the system's,
    through SSL_CERT_FILE); an expired one, one for another name and a self-signed one are each ``tls``."""
    made = certificates(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    sites = {}
    try:
        for name, files in made.items():
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*files)
            sites[name] = RawSite(ROUTES, tls=context)
        found = download([Request(sites[name].url("/ok")) for name in made])
        assert kinds(found) == [200, "tls", "tls", "tls"]
        assert found[0].certificate is not None  # type: ignore[union-attr]
        assert [sites[name].hits["/ok"] for name in made] == [1, 0, 0, 0]
    finally:
        for server in sites.values():
            server.stop()


def test_a_check_crawler_loads_no_certificates_for_aiohttps_unused_contexts() -> None:
    """``python -m crawler.run`` imports aiohttp first with the system's certificates left out of the two
    contexts aiohttp makes at import and we never use (38 ms of each crawler's start); the swap is undone
    after (a context made later loads them: the handler's, test above and tests/e2e/test_check.py's https
    check). Under plain imports, as in the service's crawlers, aiohttp loads them as always."""
    probe = ("import json, ssl, sys\n"
             "if sys.argv[1] == 'run': import crawler.run\n"
             "import aiohttp.connector as c\n"
             "print(json.dumps([c._SSL_CONTEXT_VERIFIED.cert_store_stats()['x509_ca'],"
             " c._SSL_CONTEXT_UNVERIFIED.cert_store_stats()['x509_ca'],"
             " ssl.create_default_context().cert_store_stats()['x509_ca']]))")
    counts = {how: json.loads(subprocess.run([sys.executable, "-c", probe, how], capture_output=True, text=True,
                                             check=True, cwd=ROOT).stdout) for how in ("run", "plain")}
    system = counts["plain"][2]
    assert system > 0  # the system's bundle holds CAs (SSL_CERT_FILE aside)
    assert counts == {"run": [0, 0, system], "plain": [system, system, system]}


def test_the_tls_context_is_made_at_the_first_request_over_tls(site: RawSite, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the system's certificates costs each crawler's start about 25 ms: a crawl of plain-http
    sites never pays it; the first https request does, once, and is verified."""
    seen: list[bool] = []

    async def made(handler: DownloadHandler) -> None:
        seen.append(handler._tls_context is not None)

    assert kinds(download([Request(site.url("/ok"))], check=made)) == [200] and seen == [False]
    files = certificates(tmp_path)["good"]
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*files)
    secure = RawSite(ROUTES, tls=context)
    try:
        assert kinds(download([Request(site.url("/ok")), Request(secure.url("/ok"))], check=made)) == [200, 200]
    finally:
        secure.stop()
    assert seen == [False, True]


def test_a_tls_connection_whose_server_never_says_goodbye_is_closed_with_the_handler(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An answer with ``Connection: close`` over TLS: the client's close waits for the server's
    close_notify (up to asyncio's 30 s). This server sends its answer, then neither reads nor closes:
    closing the handler aborts that connection, so no socket is left open once the loop ends (it was:
    a ResourceWarning at the next garbage collection, in whatever test ran then)."""
    cert, key = certificates(tmp_path)["good"]
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)  # no client (the test failed before it connected): the thread ends all the same
    held: list[socket.socket] = []

    def serve() -> None:
        conn, _ = listener.accept()
        tls = context.wrap_socket(conn, server_side=True)
        tls.recv(65536)
        tls.sendall(answer(body=b"<html>ok</html>", Content_Type="text/html"))
        held.append(tls)  # neither read nor closed until the test ends

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    unraisable: list[str] = []
    hook, sys.unraisablehook = sys.unraisablehook, lambda u: unraisable.append(repr(u.exc_value))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            found = download([Request(f"https://127.0.0.1:{listener.getsockname()[1]}/ok")])
            gc.collect()
    finally:
        sys.unraisablehook = hook
        server.join(10)
        for sock in [*held, listener]:
            sock.close()
    assert kinds(found) == [200]
    assert not [str(w.message) for w in caught] and not unraisable, ([str(w.message) for w in caught], unraisable)


# -- the address policy at connect time, with no guard middleware ------------------------------------------------
def _loopback_name() -> str | None:
    """This machine's name, when it resolves to loopback addresses only (``/etc/hosts``): a name that is
    not ``localhost`` and is refused for its addresses alone."""
    name = socket.gethostname()
    try:
        found = {info[4][0] for info in socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)}
    except OSError:
        return None
    return name if found and all(ipaddress.ip_address(a).is_loopback for a in found) else None


def test_the_resolver_refuses_what_the_policy_refuses(site: RawSite) -> None:
    name = _loopback_name()
    hosts = ["localhost", "127.0.0.1", "[::ffff:127.0.0.1]", "2130706433", *([name] if name else [])]
    requests = [Request(site.url("/ok", host=host)) for host in hosts]
    before = site.hits["/ok"]
    stats: dict[str, Any] = {}

    async def counted(handler: DownloadHandler) -> None:
        stats.update(handler.crawler.stats.get_stats())  # type: ignore[union-attr]

    found = download(requests, AddressPolicy(), counted)
    assert all(isinstance(r, NotAllowedAddress) for r in found), found
    assert kinds(found) == ["address-not-allowed"] * len(hosts)
    assert site.hits["/ok"] == before  # not a connection reached the site
    assert stats["linkpatrol/ssrf/refused_at_connect"] == len(hosts)


def test_the_resolver_allows_what_the_policy_allows(site: RawSite) -> None:
    name = _loopback_name()
    hosts = ["localhost", "127.0.0.1", *([name] if name else [])]
    found = download([Request(site.url("/ok", host=host)) for host in hosts], LOCAL_ONLY)
    assert kinds(found) == [200] * len(hosts)
    assert all(r.ip_address == ipaddress.ip_address("127.0.0.1") for r in found)  # type: ignore[union-attr]


def test_a_name_is_looked_up_once_and_judged_on_every_address() -> None:
    async def run() -> tuple[Any, ...]:
        resolver = GuardedResolver(LOCAL_ONLY)
        answers = await asyncio.gather(*(resolver.resolve("localhost", 80) for _ in range(5)))
        return (answers, await resolver.host_allowed("localhost"), await resolver.host_allowed("[::1]"),
                await resolver.host_allowed("no-such-name.invalid."), await GuardedResolver(AddressPolicy())
                .host_allowed("localhost"))
    answers, local, v6, unknown, refused = asyncio.run(run())
    assert all(a == [{"hostname": "localhost", "host": "127.0.0.1", "port": 80, "family": socket.AF_INET,
                      "proto": socket.IPPROTO_TCP, "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV}]
               for a in answers)
    assert (local, v6, unknown, refused) == (True, False, True, False)


# -- the handler's life: pool limits, no warning at start, closed cleanly ----------------------------------------
def test_pool_limits_quiet_start_and_clean_close(caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> tuple[int, int]:
        handler = DownloadHandler(crawler(CONCURRENT_REQUESTS=7, CONCURRENT_REQUESTS_PER_DOMAIN=2),
                                  GuardedResolver(OPEN))
        connector = handler._session.connector
        assert connector is not None
        limits = connector.limit, connector.limit_per_host
        await handler.close()
        return limits

    with caplog.at_level(logging.WARNING), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert asyncio.run(run()) == (7, 2)
        gc.collect()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.records  # no "experimental"
    assert not caught, [str(w.message) for w in caught]  # no unclosed session or connector


# -- in a crawl: the verdicts and the retries of answers cut short ---------------------------------------------
@pytest.mark.parametrize("render", [
    pytest.param("0", id="plain"),
    pytest.param("1", id="rendering", marks=pytest.mark.skipif(not os.access("/usr/bin/chromium", os.X_OK),
                                                               reason="no chromium at /usr/bin/chromium")),
])
def test_a_crawl_of_broken_answers(store: CrawlStore, crawlers: Factory, render: str) -> None:
    """Each broken answer is asked for twice: a body cut short is retried (and keeps the verdict Twisted's
    client gave it), a connection closed or reset before the answer is sent once more by aiohttp itself
    (Twisted's client sent it once and called it connection-failed). A crawler that renders sends the
    requests that need no browser through the same handler."""
    links = "".join(f'<a href="/{p}">{p}</a>' for p in ("cut", "closed", "reset", "ok"))
    broken = RawSite({**ROUTES, "/": answer(body=f"<html><body>{links}</body></html>".encode(),
                                            Content_Type="text/html")})
    try:
        crawlers({"LINKPATROL_RENDER_PAGES": render})
        crawl = crawl_to_end(store, broken.url("/"))
        found = {r.url.rsplit("/", 1)[1]: (r.outcome, r.error) for r in store.iter_results(crawl.id)}
        assert found == {"": ("ok", None), "ok": ("ok", None), "cut": ("dead", "incomplete-response"),
                         "closed": ("dead", "connection-reset"), "reset": ("dead", "connection-reset")}
        assert {p: broken.hits[p] for p in ("/cut", "/closed", "/reset")} == {"/cut": 2, "/closed": 2, "/reset": 2}
        assert crawl.counters["retries"] == 1  # Scrapy's retry: the cut body only
    finally:
        broken.stop()
