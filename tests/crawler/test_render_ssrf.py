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

pytestmark = pytest.mark.skipif(not os.access("/usr/bin/chromium", os.X_OK),
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
