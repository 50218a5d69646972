"""Login throttling (issue 17, item 6): a brute force on the login form, HTTP basic or the bearer token is
answered 429 with a growing Retry-After after a few failures, per account and per client address, the
same by every web process sharing a Redis; the real user is never held longer than the cap, and not at
all from an address that signed in before. The protocol itself is tested directly on Redis first."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import redis

from linkpatrol.env import BadSetting
from linkpatrol.login.throttle import Check, LoginLimits, LoginThrottle, address_bucket
from linkpatrol.store.keys import Keys
from tests.support.webapp import make_app
from tests.support.webserver import Answer, WebClient, WebServer

LOGIN = {"LINKPATROL_USERNAME": "admin", "LINKPATROL_PASSWORD": "pw"}
TOKEN = {"LINKPATROL_API_TOKEN": "tok"}
PROXIED = {"LINKPATROL_TRUSTED_PROXIES": "1"}  # each test client says its address in X-Forwarded-For


# -- the protocol, on Redis -----------------------------------------------------------------------------
def test_the_block_doubles_up_to_the_cap_for_the_account_and_the_address(rclient: redis.Redis) -> None:
    throttle = LoginThrottle(rclient, Keys(), LoginLimits(failures=3, window=60, max_delay=4))
    waits = [throttle.failed("user:admin", "10.0.0.1") for _ in range(7)]
    assert waits == [0, 0, 1, 2, 4, 4, 4]  # seconds: doubling from the limit on, then the cap
    # The account is held from anywhere, the address for any account; others are free.
    assert 3 < throttle.check("user:admin", "10.0.0.1").wait <= 4
    assert 3 < throttle.check("user:admin", "10.0.0.2").wait <= 4
    assert 3 < throttle.check("user:someone", "10.0.0.1").wait <= 4
    assert throttle.check("user:someone", "10.0.0.2") == Check(0.0)
    # Every key it wrote expires by itself.
    keys = list(rclient.scan_iter(match="lp:login:*"))
    assert len(keys) == 4 and all(0 < rclient.pttl(k) <= 64_000 for k in keys)


def test_a_sign_in_resets_the_account_and_its_address_is_not_held_by_the_accounts_block(
        rclient: redis.Redis) -> None:
    throttle = LoginThrottle(rclient, Keys(), LoginLimits(failures=2, window=60, max_delay=60))
    throttle.signed_in("user:admin", "192.0.2.10")  # the real user, earlier
    for i in range(4):  # an attacker rotating addresses: one failure each, so only the account fills up
        throttle.failed("user:admin", f"198.51.100.{i}")
    assert throttle.check("user:admin", "198.51.100.99").wait > 3
    home = throttle.check("user:admin", "192.0.2.10")
    assert home.wait == 0 and home.known
    throttle.signed_in("user:admin", "192.0.2.10")  # a success resets the account's counter and block
    assert throttle.check("user:admin", "198.51.100.99").wait == 0
    assert throttle.failed("user:admin", "198.51.100.99") == 0  # counting starts afresh


def test_addresses_and_limits_are_read_as_meant() -> None:
    assert address_bucket("2001:db8:1:2::1") == address_bucket("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert address_bucket("2001:db8:1:3::1") != address_bucket("2001:db8:1:2::1")
    assert address_bucket("::ffff:203.0.113.5") == "203.0.113.5" and address_bucket(None) == "unknown"
    assert LoginLimits.from_env({}) == LoginLimits()
    assert LoginLimits.from_env({"LINKPATROL_LOGIN_LIMIT": "3/60", "LINKPATROL_LOGIN_MAX_DELAY": "30"}) == \
        LoginLimits(failures=3, window=60, max_delay=30)
    assert not LoginLimits.from_env({"LINKPATROL_LOGIN_LIMIT": "0"}).enabled
    for bad in ({"LINKPATROL_LOGIN_LIMIT": "five"}, {"LINKPATROL_LOGIN_LIMIT": "5/0"},
                {"LINKPATROL_LOGIN_MAX_DELAY": "0.1"}, {"LINKPATROL_LOGIN_LIMIT": "-1"}):
        with pytest.raises(BadSetting, match="LINKPATROL_LOGIN"):
            LoginLimits.from_env(bad)


# -- the real app under gunicorn -------------------------------------------------------------------------
@contextmanager
def servers(redis_url: str, tmp_path: Path, env: dict[str, str], count: int = 2) -> Iterator[list[WebServer]]:
    """``count`` gunicorn processes on one Redis (as several web containers would be); afterwards their
    logs hold no traceback."""
    with ExitStack() as stack:
        started = []
        for i in range(count):
            web = WebServer(redis_url, tmp_path / f"web{i}.log", {**env, **PROXIED})
            stack.callback(web.stop)
            started.append(web)
        yield [web.wait_ready() for web in started]
    for web in started:
        assert "Traceback" not in web.output(), web.output()[-3000:]


def visitor(web: WebServer, address: str) -> WebClient:
    """A browser at ``address`` (its proxy says so in X-Forwarded-For)."""
    client = web.client()
    request = client.request
    client.request = lambda method, path, body=None, headers=None: request(  # type: ignore[method-assign]
        method, path, body, {"X-Forwarded-For": address, **(headers or {})})
    return client


def retry_after(answer: Answer) -> int:
    value = answer.header("Retry-After")
    assert value is not None and value.isdigit(), value
    return int(value)


def assert_form_429(answer: Answer) -> int:
    """The login form again, with a message a person understands, a 429 and Retry-After."""
    assert answer.status == 429, (answer.status, answer.text[:300])
    assert "Too many failed sign-ins. Try again in" in answer.text and 'name="password"' in answer.text
    return retry_after(answer)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def guess_until_blocked_for(attempt: Callable[[int], Answer], seconds: int) -> None:
    """Wrong guesses through ``attempt(i)`` (each a 401): the limit's five, then one more after each
    block has passed, until the block that follows the last is ``seconds`` long (1, 2, 4...)."""
    for i in range(5):
        assert attempt(i).status == 401, i
    block, i = 1, 5
    while block < seconds:
        time.sleep(block + 0.3)
        assert attempt(i).status == 401, i
        block, i = block * 2, i + 1


def test_password_brute_force_gets_429_with_a_growing_retry_after_across_processes(
        redis_url: str, tmp_path: Path) -> None:
    with servers(redis_url, tmp_path, LOGIN) as (one, two):
        attacker = [visitor(one, "203.0.113.7"), visitor(two, "203.0.113.7")]
        for i in range(5):  # alternating between the two processes: one count in Redis
            answer = attacker[i % 2].login("admin", f"guess{i}")
            assert answer.status == 401, answer.status
        assert "Too many failed sign-ins" in answer.text  # the fifth failure says a wait has begun
        first = assert_form_429(attacker[1].login("admin", "pw"))  # even the right password: nothing learnt
        assert first == 1
        api = attacker[0].get("/api/crawls", headers=basic("admin", "pw"))  # HTTP basic is a login too
        assert api.status == 429 and api.json()["status"] == 429 and "Too many failed sign-ins" in api.json()["error"]
        assert retry_after(api) >= 1
        time.sleep(first + 0.3)
        assert attacker[0].login("admin", "guess5").status == 401  # one guess per block, then a longer one
        second = assert_form_429(attacker[1].login("admin", "guess6"))
        assert second == 2
        time.sleep(second + 0.3)
        assert attacker[1].login("admin", "guess7").status == 401
        assert assert_form_429(attacker[0].login("admin", "guess8")) == 4
        # Rotating account names does not help: the address is held whatever the name.
        assert_form_429(attacker[0].login("root", "guess"))
        time.sleep(4.3)  # both blocks have passed: the real user signs in, which resets the account
        real = visitor(two, "192.0.2.10")
        assert real.login("admin", "pw").status == 302 and real.get("/").status == 200
        assert attacker[0].login("admin", "guess9").status == 401  # the address's 8th failure: 8 s
        assert assert_form_429(attacker[1].login("admin", "pw")) >= 7
        nope = visitor(one, "192.0.2.11").login("admin", "nope")  # the account counts afresh: no wait
        assert nope.status == 401 and "Too many" not in nope.text


def test_rotating_addresses_are_held_by_the_account_but_not_the_real_users_known_address(
        redis_url: str, tmp_path: Path) -> None:
    with servers(redis_url, tmp_path, LOGIN, count=1) as (web,):
        home = visitor(web, "192.0.2.10")
        assert home.login("admin", "pw").status == 302  # the real user signed in from here before
        # A botnet: every guess from a new address, so only the account's count grows.
        guess_until_blocked_for(lambda i: visitor(web, f"198.51.100.{i}").login("admin", f"guess{i}"), 4)
        fresh = visitor(web, "198.51.100.200")
        assert assert_form_429(fresh.login("admin", "pw")) >= 3  # held from anywhere new, right or wrong
        api = fresh.get("/api/crawls", headers=basic("admin", "pw"))
        assert api.status == 429 and retry_after(api) >= 3
        # The real user, from the address it signed in from before, is not locked out.
        assert visitor(web, "192.0.2.10").get("/api/crawls", headers=basic("admin", "pw")).status == 200
        again = visitor(web, "192.0.2.10")
        assert again.login("admin", "pw").status == 302 and again.get("/").status == 200


def test_token_brute_force_gets_json_429_on_the_api_and_the_form(redis_url: str, tmp_path: Path) -> None:
    bearer = {"Authorization": "Bearer tok"}
    with servers(redis_url, tmp_path, TOKEN) as (one, two):
        ci = visitor(one, "192.0.2.20")
        assert ci.get("/api/crawls", headers=bearer).status == 200  # its address becomes known
        attacker = [visitor(one, "203.0.113.8"), visitor(two, "203.0.113.8")]
        guess_until_blocked_for(lambda i: attacker[i % 2].get("/api/crawls",
                                                              headers={"Authorization": f"Bearer guess{i}"}), 4)
        for web_client in attacker:  # both processes, even with the right token
            answer = web_client.get("/api/crawls", headers=bearer)
            assert answer.status == 429 and answer.header("Content-Type") == "application/json"
            assert answer.json()["status"] == 429 and "Too many failed sign-ins" in answer.json()["error"]
            assert retry_after(answer) >= 3
        # The login page takes the token as its password when no user name is set: the same account.
        assert_form_429(attacker[0].login("", "tok"))
        assert visitor(two, "198.51.100.9").get("/progress", headers=bearer).status == 429  # any new address
        assert visitor(two, "192.0.2.20").get("/api/crawls", headers=bearer).status == 200  # not the CI's


def test_redis_unavailable_at_a_login_is_a_503(refused_port: int) -> None:
    client = make_app(f"redis://127.0.0.1:{refused_port}/0", REDIS_TIMEOUT=0.5, USERNAME="admin", PASSWORD="pw",
                      API_TOKEN="tok").test_client()
    form = client.post("/login", data={"username": "admin", "password": "pw"})
    assert form.status_code == 503 and "Temporarily unavailable" in form.get_data(as_text=True)
    api = client.get("/api/crawls", headers={"Authorization": "Bearer tok"})
    assert api.status_code == 503 and api.json["status"] == 503 and api.headers["Retry-After"] == "30"
