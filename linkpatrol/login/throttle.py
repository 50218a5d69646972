"""Login throttling shared by every web process: per account and per client address, in Redis.

A login is any check of a credential: the login form (a user name and password, or the API token as
the password), and each request that carries a bearer token or HTTP basic pair. The account is
``user:<name>`` for a pair (the name as typed) or ``token``; the address is the client's IP (an IPv6
client counts by its /64, which one machine usually holds whole).

- Every failure counts for the account and for the address. From ``failures`` failures on (in a
  sliding ``window``: a counter expires a window after its last failure), each further failure blocks
  the account and the address for a delay that starts at ``first_delay`` and doubles, up to
  ``max_delay``. An attacker rotating account names is held by the address; one rotating addresses,
  by the account.
- While blocked, a login is refused (429 with Retry-After) before the credential is looked at, and
  is not counted: the answer never says whether a guess was right, and hammering during the block
  does not make it longer.
- The real user is never locked out for longer than the cap, and an address that signed in to the
  account before (the last ``KNOWN_ADDRESSES``, for ``KNOWN_FOR`` seconds) is not held by the
  account's block at all, only by its own address's.
- A successful login form resets the account's counter. A bearer token or basic pair that is right
  does not (an attacker could otherwise ride on a busy API client's successes); it only makes its
  address known.

Redis errors propagate: the web app answers 503 when Redis cannot serve.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linkpatrol import env as read
from linkpatrol.store.keys import Keys

HERE = Path(__file__).resolve().parent
KNOWN_ADDRESSES = 20  # addresses remembered per account
KNOWN_FOR = 30 * 24 * 3600  # seconds an address stays known after its last successful login
REFRESH_KNOWN = 24 * 3600  # a right bearer token or basic pair refreshes its address at most this often


@dataclass(frozen=True)
class LoginLimits:
    failures: int = 5  # failures per account or address before the first block; 0 switches it off
    window: float = 900.0  # seconds a failure is remembered after the last one
    first_delay: float = 1.0  # seconds of the first block; each further failure doubles it
    max_delay: float = 300.0  # the cap: nobody waits longer than this for one more try

    @property
    def enabled(self) -> bool:
        return self.failures > 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LoginLimits:
        """``LINKPATROL_LOGIN_LIMIT``: ``5/900`` (failures per window of seconds; ``0`` switches the
        throttle off); ``LINKPATROL_LOGIN_MAX_DELAY``: the cap in seconds (300)."""
        d = cls()
        failures, window = read.per_window(env, "LINKPATROL_LOGIN_LIMIT", (d.failures, d.window), "5/900")
        return cls(failures=failures, window=window,
                   max_delay=read.number(env, "LINKPATROL_LOGIN_MAX_DELAY", d.max_delay, minimum=d.first_delay))


@dataclass(frozen=True)
class Check:
    wait: float  # seconds before this client may try again; 0: go ahead
    last_login: float | None = None  # when the address last signed in to the account (if known)

    @property
    def known(self) -> bool:
        return self.last_login is not None

    @property
    def retry_after(self) -> int:
        """``wait`` as a Retry-After header gives it: whole seconds, at least 1."""
        return max(1, math.ceil(self.wait))


def address_bucket(address: str | None) -> str:
    """The bucket of a client address: the IPv4 address itself, an IPv6 address's /64 network (one
    machine usually holds a whole /64), anything unreadable as it is."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class LoginThrottle:
    """The protocol over one client and key layout. ``account`` is ``user:<name>`` or ``token``;
    ``address`` the client's IP as the web app read it."""

    def __init__(self, client: Any, keys: Keys, limits: LoginLimits | None = None) -> None:
        self.r = client
        self.keys = keys
        self.limits = limits or LoginLimits()
        self._failed = client.register_script((HERE / "failed.lua").read_text())

    def check(self, account: str, address: str | None) -> Check:
        """How long this client must wait before its credential may be looked at (one round trip)."""
        if not self.limits.enabled:
            return Check(0.0)
        bucket = address_bucket(address)
        pipe = self.r.pipeline(transaction=False)
        pipe.pttl(self.keys.login_block(f"account:{account}"))
        pipe.pttl(self.keys.login_block(f"address:{bucket}"))
        pipe.zscore(self.keys.login_known(account), bucket)
        account_ms, address_ms, score = pipe.execute()
        last_login = float(score) if score is not None and float(score) > time.time() - KNOWN_FOR else None
        # PTTL: -2 absent, -1 no TTL (never written so)
        wait_ms = max(0 if last_login is not None else int(account_ms), int(address_ms))
        return Check(wait_ms / 1000 if wait_ms > 0 else 0.0, last_login)

    def failed(self, account: str, address: str | None) -> float:
        """Count a wrong credential. Returns the seconds this client must now wait (0: none yet)."""
        if not self.limits.enabled:
            return 0.0
        bucket = address_bucket(address)
        limits = self.limits
        wait_ms = self._failed(
            keys=[self.keys.login_failures(f"account:{account}"), self.keys.login_block(f"account:{account}"),
                  self.keys.login_failures(f"address:{bucket}"), self.keys.login_block(f"address:{bucket}"),
                  self.keys.login_known(account)],
            args=[limits.failures, int(limits.window * 1000), max(1, int(limits.first_delay * 1000)),
                  max(1, int(limits.max_delay * 1000)), bucket, time.time() - KNOWN_FOR])
        return int(wait_ms) / 1000

    def signed_in(self, account: str, address: str | None) -> None:
        """A login form succeeded: the account starts afresh, and the address becomes known."""
        if not self.limits.enabled:
            return
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(self.keys.login_failures(f"account:{account}"), self.keys.login_block(f"account:{account}"))
        self._remember(pipe, account, address)
        pipe.execute()

    def remember(self, account: str, address: str | None, check: Check) -> None:
        """A bearer token or basic pair was right (``check``: what ``check`` said before): its address
        becomes known, the counters stay. A write at most once a day per address and account."""
        if not self.limits.enabled or (check.last_login or 0) > time.time() - REFRESH_KNOWN:
            return
        pipe = self.r.pipeline(transaction=True)
        self._remember(pipe, account, address)
        pipe.execute()

    def _remember(self, pipe: Any, account: str, address: str | None) -> None:
        key = self.keys.login_known(account)
        now = time.time()
        pipe.zadd(key, {address_bucket(address): now})
        pipe.zremrangebyscore(key, "-inf", now - KNOWN_FOR)
        pipe.zremrangebyrank(key, 0, -KNOWN_ADDRESSES - 1)
        pipe.expire(key, KNOWN_FOR)
