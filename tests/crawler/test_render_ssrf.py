"""The address policy in the browser: a rendered page whose script fetches, embeds, frames, beacons to and
opens a WebSocket to a private address (127.0.0.2 stands in for one, as in test_ssrf.py: only
127.0.0.1/32 is allowed), and fetches a redirect that leads there, makes no connection to it at all:
checked at a socket listening on that address."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from linkpatrol.model.options import parse_options
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import CrawlerProcess, SiteServer, wait_ended

needs_browser = pytest.mark.skipif(not os.access("/usr/bin/chromium", os.X_OK),
                                   reason="no chromium at /usr/bin/chromium (make system-deps installs it)")
GUARDED = {"LINKPATROL_ALLOW_PRIVATE": "", "LINKPATROL_ALLOWED_NETWORKS": "127.0.0.1/32",
           "LINKPATROL_RENDER_PAGES": "1", "LINKPATROL_RENDER_SETTLE": "1"}


@pytest.fixture
def private() -> Iterator[socket.socket]:
    """A listening socket on the "private" address: a connection to it is queued even if never accepted."""
    sock = socket.socket()
    sock.bind(("127.0.0.2", 0))
    sock.listen(64)
    sock.setblocking(False)
    yield sock
    sock.close()


def connections(sock: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


@needs_browser
def test_a_rendered_page_reaches_no_private_address(store: CrawlStore, redis_url: str, tmp_path: Path,
                                                    private: socket.socket) -> None:
    port = private.getsockname()[1]
    site = SiteServer("spa", str(port))
    proc = CrawlerProcess(redis_url, tmp_path / "crawler.log", GUARDED)
    try:
        crawl = store.create(site.url("main", "/ssrf.html"), parse_options({"render": "always", "sitemaps": False,
                                                                           "max_depth": 0}))
        done = wait_ended(store, crawl.id, 60)
        assert done.counters["checked_render"] == 1  # the page was rendered...
        static = store.result(crawl.id, site.url("main", "/static.html"))
        assert static is not None and static.outcome == "ok"  # ... and its script ran (it drew this link)
        assert connections(private) == 0  # ... and nothing of it reached the private address
        for path in ("/img.png", "/frame"):  # in the DOM: checked by the crawler, refused too
            res = store.result(crawl.id, f"http://127.0.0.2:{port}{path}")
            assert res is not None and res.error == "address-not-allowed", path
        assert "browser request to" in proc.output() and "refused" in proc.output()
    finally:
        proc.stop(timeout=10)
        site.stop()
    assert connections(private) == 0


def test_the_proxy_connects_only_to_addresses_it_checked(private: socket.socket) -> None:
    """GuardProxy on its own (no browser): what the policy refuses gets a 403 and no connection, by IP
    literal (IPv4, IPv6), in a legacy IPv4 form or through CONNECT; what it allows is forwarded to
    the address it checked, with ``Connection: close``."""
    import asyncio

    from aiohttp import web

    from crawler.download.resolver import GuardedResolver
    from crawler.render.proxy import GuardProxy
    from linkpatrol.model.addresses import AddressPolicy

    port = private.getsockname()[1]

    async def scenario() -> list[bytes]:
        seen: list[str] = []

        async def hello(request: web.Request) -> web.Response:
            seen.append(f"{request.path} {request.headers.get('Connection')}")
            return web.Response(text="hello")

        app = web.Application()
        app.router.add_get("/{tail:.*}", hello)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        allowed_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        refused: list[str] = []
        policy = AddressPolicy.from_env({"LINKPATROL_ALLOWED_NETWORKS": "127.0.0.1/32"})
        proxy = GuardProxy(GuardedResolver(policy), refused.append)
        await proxy.start()
        answers = []
        for head in (f"GET http://127.0.0.2:{port}/x HTTP/1.1\r\nHost: 127.0.0.2\r\n\r\n",
                     f"CONNECT 127.0.0.2:{port} HTTP/1.1\r\n\r\n",
                     f"GET http://[::1]:{port}/x HTTP/1.1\r\n\r\n",
                     f"GET http://2130706434:{port}/x HTTP/1.1\r\n\r\n",  # 127.0.0.2 in one number
                     f"GET http://127.0.0.1:{allowed_port}/ok HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Proxy-Connection: keep-alive\r\n\r\n",
                     "CONNECT 127.0.0.1:99999 HTTP/1.1\r\n\r\n",  # no such port: a 400, no traceback
                     "GET http://127.0.0.1:x/ HTTP/1.1\r\n\r\n",
                     "garbage\r\n\r\n"):
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(head.encode())
            await writer.drain()
            answers.append(await asyncio.wait_for(reader.read(), 5))
            writer.close()
        await proxy.close()
        await runner.cleanup()
        assert seen == ["/ok close"] and len(refused) == 4
        return answers

    answers = asyncio.run(scenario())
    assert [a.split(b"\r\n", 1)[0] for a in answers[:4]] == [b"HTTP/1.1 403 Forbidden"] * 4
    assert answers[4].startswith(b"HTTP/1.1 200") and answers[4].endswith(b"hello")
    assert [a.split(b"\r\n", 1)[0] for a in answers[5:]] == [b"HTTP/1.1 400 Bad Request"] * 3
    assert connections(private) == 0
