"""Crawlers on other machines: a small network of its own built with ``ip netns`` and veth pairs.

Namespace ``srv`` holds Redis (password required) and the fixture site on a bridge address; two
crawlers run in namespaces of their own and reach both by that address only, never loopback. The test
itself talks to Redis through a unix socket in its temporary folder. Everything lives in namespaces
this test creates, with unique names, and is torn down afterwards.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from linkpatrol.cli.redis_server import find_binary
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import list_crawlers
from tests.support.processes import ROOT, TEST_CRAWLER_ENV, SiteServer, wait_for
from tests.support.sites import generated

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(os.geteuid() != 0, reason="building network namespaces needs root"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="needs the `ip` command (iproute2)"),
]

PAGES = 300


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@dataclass
class Net:
    tag: str
    subnet: str
    namespaces: list[str] = field(default_factory=list)

    def ns(self, name: str) -> str:
        return f"{self.tag}-{name}"

    @property
    def server_address(self) -> str:
        return f"{self.subnet}.1"

    def exec(self, name: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns(name)]


@pytest.fixture
def net() -> Iterator[Net]:
    """``srv`` with a bridge at x.y.z.1, and ``c1``, ``c2`` at .2 and .3, joined by veth pairs."""
    tag = f"lp{os.getpid() % 100000}{secrets.token_hex(2)}"
    n = Net(tag, f"10.{random.randint(100, 250)}.{random.randint(0, 255)}")
    try:
        for name in ("srv", "c1", "c2"):
            ip("netns", "add", n.ns(name))
            n.namespaces.append(n.ns(name))
            ip("-n", n.ns(name), "link", "set", "lo", "up")
        srv = n.ns("srv")
        ip("-n", srv, "link", "add", "br0", "type", "bridge")
        ip("-n", srv, "addr", "add", f"{n.server_address}/24", "dev", "br0")
        ip("-n", srv, "link", "set", "br0", "up")
        for i, name in enumerate(("c1", "c2"), start=2):
            ns = n.ns(name)
            ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", f"port{i}", "netns", srv)
            ip("-n", srv, "link", "set", f"port{i}", "master", "br0", "up")
            ip("-n", ns, "addr", "add", f"{n.subnet}.{i}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
        yield n
    finally:
        for ns in n.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


class Crawler:
    def __init__(self, net: Net, name: str, redis_url: str, log: Path) -> None:
        env = {**os.environ, **TEST_CRAWLER_ENV, "REDIS_URL": redis_url, "LINKPATROL_CONCURRENCY": "8"}
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.log = log
        # `ip netns exec` execs the command: the pid is the crawler's own.
        self.process = subprocess.Popen([*net.exec(name), sys.executable, "-m", "scrapy", "crawl", "links"],
                                        cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        return self.process.returncode


def test_crawlers_in_other_namespaces_share_a_crawl_and_survive_a_kill(net: Net, tmp_path: Path) -> None:
    password = secrets.token_urlsafe(16)
    sock = tmp_path / "redis.sock"
    redis_proc = subprocess.Popen(
        [*net.exec("srv"), find_binary(), "--bind", net.server_address, "--port", "6379",
         "--requirepass", password, "--unixsocket", str(sock), "--unixsocketperm", "700",
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path), "--logfile", str(tmp_path / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    site = SiteServer("generated", str(PAGES), "0.2", bind=net.server_address, prefix=net.exec("srv"))
    crawlers: list[Crawler] = []
    client = redis.Redis(unix_socket_path=str(sock), password=password, decode_responses=True)
    try:
        wait_for(lambda: sock.exists(), 10, what="redis-server")
        wait_for(client.ping, 10, what="redis-server to answer")
        url = f"redis://:{password}@{net.server_address}:6379/0"
        crawlers = [Crawler(net, name, url, tmp_path / f"{name}.log") for name in ("c1", "c2")]
        wait_for(lambda: len(list_crawlers(client, Keys())) == 2, 60,
                 what="both crawlers registered over the veth link")
        store = CrawlStore(client)
        crawl = store.create(f"http://{net.server_address}:{site.ports['main']}/")

        def both_working() -> bool:
            workers = list_crawlers(client, Keys())
            return len(workers) == 2 and all(w["done"] > 5 for w in workers)

        wait_for(both_working, 60, what="both crawlers to do work")
        assert store.require(crawl.id).state == "running"
        crawlers[1].stop(signal.SIGKILL)  # mid-crawl, no chance to give anything back
        wait_for(lambda: store.require(crawl.id).state == "finished", 120, what="crawl to finish")

        done = store.require(crawl.id)
        assert done.links_checked == generated.expected_urls(PAGES)
        base = f"http://{net.server_address}:{site.ports['main']}"
        expected = {u.replace(f"http://127.0.0.1:{site.ports['main']}", base): {p.replace(
            f"http://127.0.0.1:{site.ports['main']}", base) for p in pages}
            for u, pages in generated.truth(site.ports["main"], PAGES).items()}
        found = {r.url: {ref.page for ref in r.referrers} for r in store.problems(crawl.id)}
        assert found == expected
        assert all(r.status == 404 for r in store.problems(crawl.id))
        # The dead crawler is gone from the registry; the survivor took over its leases.
        workers = list_crawlers(client, Keys())
        assert len(workers) == 1 and workers[0]["pid"] == crawlers[0].process.pid
        assert "went back to the frontier" in crawlers[0].log.read_text(errors="replace")
        # Every request came over the bridge, from both crawlers' own addresses.
        clients = {entry[4] for entry in site.log("main")["log"]}
        assert clients == {f"{net.subnet}.2", f"{net.subnet}.3"}
        assert crawlers[0].stop() == 0
    finally:
        for c in crawlers:
            c.stop(signal.SIGKILL)
        client.close()
        site.stop()
        redis_proc.terminate()
        redis_proc.wait(10)
        time.sleep(0.1)
