"""Redis that cannot serve (a long script makes it answer BUSY; stopped) gives honest 503s from the real
app under gunicorn: every route answers 503 with Retry-After, JSON routes a JSON body, never a 500 and
never a traceback in the server's log (issue 11, item 1, web side)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.store.crawls import CrawlStore
from tests.support.processes import linkpatrol_cli, wait_for
from tests.support.webapp import finished_crawl
from tests.support.webserver import WebClient, WebServer

# A read-only script that never ends: Redis answers every other client BUSY once it has run longer
# than busy-reply-threshold, until SCRIPT KILL.
ENDLESS = "while true do end"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own: it is made busy or stopped, which the shared one must never be."""
    server = RedisServer(tmp_path / "redis", persistent=False).start()
    yield server
    server.stop()


def routes(crawl_id: str) -> list[tuple[str, bool]]:
    """(path, answers JSON) for every kind of route the app has."""
    return [
        ("/", False), (f"/crawls/{crawl_id}", False), (f"/crawls/{crawl_id}/link?url=x", False),
        ("/sites?url=https://site.example/", False), ("/jobs", False), ("/crawlers", False),
        ("/progress", True), (f"/crawls/{crawl_id}/progress", True), ("/jobs.json", True),
        ("/crawlers.json", True), ("/api/crawls", True), (f"/api/crawls/{crawl_id}", True),
        (f"/api/crawls/{crawl_id}/broken", True), (f"/api/crawls/{crawl_id}/diff", True),
    ]


def assert_all_503(client: WebClient, crawl_id: str, headers: dict[str, str] | None = None,
                   form_token: str = "none") -> None:
    """Every kind of route answers 503; so does a form post (with the visitor's CSRF token when it has
    one), which must not be taken for a forged form (400) nor fail the CSRF check (500)."""
    for path, is_json in routes(crawl_id):
        answer = client.get(path, headers=headers)
        assert answer.status == 503, (path, answer.status, answer.text[:300])
        assert answer.header("Retry-After") == "30", path
        if is_json:
            assert answer.header("Content-Type") == "application/json", path
            assert answer.json()["status"] == 503, path
        else:
            assert "Temporarily unavailable" in answer.text, path
    # A page asked for as JSON answers JSON too; a new crawl is refused the same way.
    asked = client.get("/", headers={**(headers or {}), "Accept": "application/json"})
    assert asked.status == 503 and asked.json()["error"].startswith("The crawl database (Redis)")
    created = client.post_json("/api/crawls", {"url": "https://example.org/"}, headers=headers)
    assert created.status == 503 and created.header("Retry-After") == "30"
    form = client.post_form("/crawls", {"url": "https://example.org/", "csrf_token": form_token}, headers=headers)
    assert form.status == 503 or (form_token == "none" and form.status == 400), form.status


def make_busy(server: RedisServer) -> threading.Thread:
    admin = redis.Redis(port=server.port)
    for name in ("busy-reply-threshold", "lua-time-limit"):  # Redis 7 name, then the older alias
        try:
            admin.config_set(name, 100)
            break
        except redis.ResponseError:
            continue
    admin.close()

    def run() -> None:
        client = redis.Redis(port=server.port)
        try:
            client.eval(ENDLESS, 0)
        except redis.ResponseError:
            pass  # "Script killed by user"
        finally:
            client.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def busy() -> bool:
        probe = redis.Redis(port=server.port, socket_timeout=2)
        try:
            probe.ping()
            return False
        except redis.ResponseError as exc:
            return str(exc).startswith("BUSY")
        finally:
            probe.close()

    wait_for(busy, 10, what="Redis to answer BUSY")
    return thread


def end_script(server: RedisServer, thread: threading.Thread) -> None:
    admin = redis.Redis(port=server.port)
    admin.script_kill()
    admin.close()
    thread.join(10)


@pytest.mark.parametrize("secret", ["test-secret", ""], ids=["secret-key", "key-kept-in-redis"])
def test_busy_redis_gives_503_everywhere(own_redis: RedisServer, tmp_path: Path, secret: str) -> None:
    store = CrawlStore(redis.Redis.from_url(own_redis.url, decode_responses=True))
    crawl = finished_crawl(store)
    web = WebServer(own_redis.url, tmp_path / "web.log", {"LINKPATROL_SECRET_KEY": secret}).wait_ready()
    try:
        client = web.client()
        assert client.get(f"/crawls/{crawl.id}").status == 200  # the session's key is known from here on
        token = client.csrf_token("/")
        thread = make_busy(own_redis)
        try:
            assert_all_503(client, crawl.id, form_token=token)
            assert_all_503(web.client(), crawl.id)  # a new visitor: no session yet
        finally:
            end_script(own_redis, thread)
        assert client.get(f"/crawls/{crawl.id}").status == 200
        assert client.get("/api/crawls").json()["total"] == 1
        if not secret:  # once is enough: the command line says "later" with exit code 3, no traceback
            thread = make_busy(own_redis)
            try:
                done = linkpatrol_cli(own_redis.url, "status", crawl.id)
            finally:
                end_script(own_redis, thread)
            assert done.returncode == 3 and "cannot serve now" in done.stderr and "Traceback" not in done.stderr
    finally:
        web.stop()
        store.close()
    log = web.output()
    assert "Traceback" not in log and "BUSY" in log  # each 503 is one warning line


def test_busy_redis_with_a_login_configured(own_redis: RedisServer, tmp_path: Path) -> None:
    """No secret key, a login and a token, and Redis busy from the app's first request: the session
    cannot be opened (its key is kept in Redis), so the login gate itself answers 503, not a redirect to
    a login page that could not work and not a 500; static files are still served."""
    store = CrawlStore(redis.Redis.from_url(own_redis.url, decode_responses=True))
    crawl = finished_crawl(store)
    env = {"LINKPATROL_SECRET_KEY": "", "LINKPATROL_USERNAME": "admin", "LINKPATROL_PASSWORD": "pw",
           "LINKPATROL_API_TOKEN": "tok"}
    thread = make_busy(own_redis)
    web = WebServer(own_redis.url, tmp_path / "web.log", env)
    try:
        try:
            web.wait_ready()  # it fetches a static file
            assert_all_503(web.client(), crawl.id)
            assert_all_503(web.client(), crawl.id, {"Authorization": "Bearer tok"})
            assert web.client().get("/login").status == 503
        finally:
            end_script(own_redis, thread)
        client = web.client()
        assert client.get(f"/crawls/{crawl.id}").status == 302
        assert client.login("admin", "pw", "/jobs").header("Location") == "/jobs"
        assert client.get(f"/crawls/{crawl.id}").status == 200
    finally:
        web.stop()
        store.close()
    assert "Traceback" not in web.output()


def test_stopped_redis_gives_503_then_recovers(own_redis: RedisServer, tmp_path: Path) -> None:
    store = CrawlStore(redis.Redis.from_url(own_redis.url, decode_responses=True))
    crawl = finished_crawl(store)
    store.close()
    web = WebServer(own_redis.url, tmp_path / "web.log", {"LINKPATROL_SECRET_KEY": ""}).wait_ready()
    try:
        client = web.client()
        assert client.get("/").status == 200
        own_redis.stop()
        assert_all_503(client, crawl.id)
        assert_all_503(web.client(), crawl.id)
        own_redis.start()  # the same port; the data is gone (not persistent), the app is not
        assert client.get("/").status == 200
        assert client.get(f"/api/crawls/{crawl.id}").status == 404
    finally:
        web.stop()
    assert "Traceback" not in web.output()
