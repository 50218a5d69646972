"""Running on several machines: Redis with a password and TLS, two installs sharing one Redis under
two prefixes, and a crawler stopped with SIGTERM giving its work back."""

from __future__ import annotations

import datetime
import ipaddress
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from linkpatrol.cli.redis_server import find_binary, free_port
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import list_crawlers
from tests.support.processes import CrawlerProcess, SiteServer, wait_for
from tests.support.sites import generated

Factory = Callable[..., CrawlerProcess]
PASSWORD = "correct-horse-battery-staple"


def write_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca.pem, server.pem, server.key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "linkpatrol test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def start_redis(directory: Path, url: str, *args: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [find_binary(), "--bind", "127.0.0.1", "--requirepass", PASSWORD, "--save", "", "--appendonly", "no",
         "--dir", str(directory), "--logfile", str(directory / "redis.log"), *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )

    def up() -> bool:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False
        finally:
            client.close()

    wait_for(up, 10, what="redis-server")
    return proc


@pytest.fixture(scope="module")
def small_site() -> Iterator[SiteServer]:
    server = SiteServer("generated", "60")
    yield server
    server.stop()


def crawl_and_check(store: CrawlStore, site: SiteServer, pages: int = 60) -> None:
    crawl = store.create(site.url("main"))
    wait_for(lambda: store.require(crawl.id).state == "finished", 60, what="crawl to finish")
    found = {r.url: {ref.page for ref in r.referrers} for r in store.problems(crawl.id)}
    assert found == generated.truth(site.ports["main"], pages)
    assert store.require(crawl.id).links_checked == generated.expected_urls(pages)


def test_password_and_two_prefixes_share_one_redis(tmp_path: Path, crawlers: Factory,
                                                   small_site: SiteServer) -> None:
    port = free_port()
    url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
    proc = start_redis(tmp_path, url, "--port", str(port))
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).ping()
        crawlers({"LINKPATROL_PREFIX": "alpha"}, url=url)
        crawlers({"LINKPATROL_PREFIX": "beta"}, url=url)
        for prefix in ("alpha", "beta"):
            crawl_and_check(CrawlStore(client, prefix), small_site)
        # Each install's crawler did its own crawl (the registry catches up at the next heartbeat).
        wait_for(lambda: all(w["done"] > 0 for p in ("alpha", "beta") for w in list_crawlers(client, Keys(p))), 10,
                 what="heartbeats")
        alpha, beta = list_crawlers(client, Keys("alpha")), list_crawlers(client, Keys("beta"))
        assert len(alpha) == 1 and len(beta) == 1 and alpha[0]["id"] != beta[0]["id"]
        keys = [str(k) for k in client.keys("*")]
        assert keys and all(k.startswith(("alpha:", "beta:")) for k in keys)
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


def test_tls_with_a_private_ca(tmp_path: Path, crawlers: Factory, small_site: SiteServer) -> None:
    ca, cert, key = write_tls_files(tmp_path)
    port = free_port()
    url = f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_ca_certs={ca}"
    proc = start_redis(tmp_path, url, "--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert),
                       "--tls-key-file", str(key), "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no")
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        # Certificates are verified: without the CA the connection is refused.
        with pytest.raises(redis.ConnectionError):
            redis.Redis.from_url(f"rediss://:{PASSWORD}@127.0.0.1:{port}/0", socket_connect_timeout=2).ping()
        proc_crawler = crawlers(url=url)
        crawl_and_check(CrawlStore(client), small_site)
        assert len(list_crawlers(client, Keys())) == 1
        assert proc_crawler.stop() == 0
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


def test_sigterm_returns_in_flight_work_and_exits_zero(store: CrawlStore, crawlers: Factory,
                                                       rclient: redis.Redis) -> None:
    site = SiteServer("generated", "300", "0.1")
    try:
        env = {"LINKPATROL_CONCURRENCY": "8"}
        first, second = crawlers(env), crawlers(env)
        crawl = store.create(site.url("main"))
        wait_for(lambda: store.require(crawl.id).links_checked > 40 and len(list_crawlers(rclient, Keys())) == 2
                 and all(w["held"] > 0 for w in list_crawlers(rclient, Keys())), 60, what="both crawlers busy")
        [leaving] = [w["id"] for w in list_crawlers(rclient, Keys()) if w["pid"] == second.pid]
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(30) == 0
        # Nothing is left leased to it: what it had not started went back to the queue (the log says how
        # many when there were some; what was under way when the signal came was finished first).
        held = [url for url, lease in rclient.hgetall(Keys().inflight(crawl.id)).items()
                if lease.startswith(leaving + "\n")]
        assert held == [], second.output()[-3000:]
        log = second.output()
        assert "Traceback" not in log and "Spider closed (shutdown)" in log, log[-3000:]
        assert [w["pid"] for w in list_crawlers(rclient, Keys())] == [first.pid]  # gone at once, not after a TTL
        wait_for(lambda: store.require(crawl.id).state == "finished", 120, what="crawl to finish")
        found = {r.url: {ref.page for ref in r.referrers} for r in store.problems(crawl.id)}
        assert found == generated.truth(site.ports["main"], 300)
        assert store.require(crawl.id).links_checked == generated.expected_urls(300)
    finally:
        site.stop()
