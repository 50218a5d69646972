"""Sessions end at logout (issue 17, item 9): a session cookie captured before a logout opens nothing
afterwards, on the pages and on the API, whichever web process it is sent to; "log out everywhere" ends
every session of the user; a changed password ends the sessions signed in with the old one. The real
app under gunicorn on loopback, two processes on one Redis."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from linkpatrol.store.keys import Keys
from tests.support.webserver import WebClient, WebServer

LOGIN = {"LINKPATROL_USERNAME": "admin", "LINKPATROL_PASSWORD": "pw"}
TOKEN = {"LINKPATROL_API_TOKEN": "tok"}


@contextmanager
def serving(redis_url: str, log: Path, env: dict[str, str]) -> Iterator[WebServer]:
    web = WebServer(redis_url, log, env).wait_ready()
    try:
        yield web
    finally:
        web.stop()
    assert "Traceback" not in web.output(), web.output()[-3000:]


def signed_in(web: WebServer, env: dict[str, str]) -> WebClient:
    client = web.client()
    answer = client.login("admin", "pw") if "LINKPATROL_USERNAME" in env else client.login("", "tok")
    assert answer.status == 302 and answer.header("Location") == "/", answer.status
    assert_open(client)
    return client


def replay(client: WebClient, web: WebServer) -> WebClient:
    """Another browser (or an attacker) holding a copy of ``client``'s cookies, sent to ``web``."""
    copy = web.client()
    copy.cookies = dict(client.cookies)
    return copy


def assert_open(client: WebClient) -> None:
    assert client.get("/").status == 200
    assert client.get("/api/crawls").status == 200


def assert_signed_out(client: WebClient) -> None:
    home = client.get("/")
    assert home.status == 302 and (home.header("Location") or "").startswith("/login"), home.status
    api = client.get("/api/crawls")
    assert api.status == 401 and api.json()["status"] == 401


def log_out(client: WebClient, everywhere: bool = False) -> None:
    form = {"csrf_token": client.csrf_token("/"), **({"everywhere": "1"} if everywhere else {})}
    answer = client.post_form("/logout", form)
    assert answer.status == 302 and answer.header("Location") == "/login"


@pytest.mark.parametrize("env", [LOGIN, TOKEN], ids=["password", "token"])
def test_a_cookie_captured_before_logout_opens_nothing_after_it(redis_url: str, tmp_path: Path,
                                                               env: dict[str, str]) -> None:
    with serving(redis_url, tmp_path / "one.log", env) as one, serving(redis_url, tmp_path / "two.log", env) as two:
        user = signed_in(one, env)
        captured = replay(user, two)
        assert_open(captured)  # the copy works in the other process too
        other = signed_in(two, env)  # a second session of the same user, elsewhere
        log_out(user)
        assert_signed_out(user)
        assert_signed_out(captured)  # the copy, in either process
        assert_signed_out(replay(captured, one))
        assert_open(other)  # a logout ends its own session only
        # The login page does not greet a closed session as signed in.
        assert "Sign out" not in replay(captured, one).get("/login").text
        again = signed_in(one, env)  # signing in again works, with a new session
        assert_open(again)


def test_log_out_everywhere_ends_every_session_of_the_user(redis_url: str, rclient: redis.Redis,
                                                           tmp_path: Path) -> None:
    with serving(redis_url, tmp_path / "web.log", LOGIN) as web:
        laptop, phone = signed_in(web, LOGIN), signed_in(web, LOGIN)
        key = Keys().login_sessions("admin")
        assert rclient.zcard(key) == 2 and 0 < rclient.ttl(key) <= 31 * 24 * 3600 + 1  # ends by itself
        stolen = replay(phone, web)
        assert 'name="everywhere"' in laptop.get("/").text  # the header offers it beside "Sign out"
        log_out(laptop, everywhere=True)
        for client in (laptop, phone, stolen):
            assert_signed_out(client)
        assert not rclient.exists(key)


def test_a_changed_password_ends_the_sessions_signed_in_with_the_old_one(redis_url: str, tmp_path: Path) -> None:
    changed = {**LOGIN, "LINKPATROL_PASSWORD": "new-pw"}
    with serving(redis_url, tmp_path / "old.log", LOGIN) as old, \
            serving(redis_url, tmp_path / "new.log", changed) as new:
        user = signed_in(old, LOGIN)
        assert_signed_out(replay(user, new))  # the process that knows the new password refuses it
        fresh = new.client()
        assert fresh.login("admin", "new-pw").status == 302
        assert_open(fresh)
