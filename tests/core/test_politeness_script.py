"""The politeness scripts on their own, against the test Redis: leases expire, the bucket refills,
a not-before blocks everyone, and a run of 429s backs off exponentially."""

from __future__ import annotations

import time

import redis

from linkpatrol.politeness import Limits, script
from linkpatrol.store.keys import Keys

ACQUIRE = script("acquire")
PENALIZE = script("penalize")

K = Keys()
HOST = "example.test:8080"
KEYS = [K.host_slots(HOST), K.host_bucket(HOST), K.host_not_before(HOST)]


def acquire(r: redis.Redis, token: str, conc: int = 0, rate: float = 0, lease_ms: int = 60_000,
            *releases: str) -> list[int]:
    return list(r.register_script(ACQUIRE)(keys=KEYS, args=[conc, rate, max(1.0, rate / 5), token, lease_ms,
                                                            60_000, *releases]))


def test_concurrency_leases_release_and_expire(rclient: redis.Redis) -> None:
    assert acquire(rclient, "a", 2) == [1, 0]
    assert acquire(rclient, "b", 2) == [1, 0]
    assert acquire(rclient, "c", 2) == [0, -1]  # full
    assert acquire(rclient, "c", 2, 0, 60_000, "a") == [1, 0]  # a release carried by the next acquire
    # A crawler killed while holding slots: they free themselves when the lease expires.
    rclient.delete(K.host_slots(HOST))
    assert acquire(rclient, "x", 1, 0, 200) == [1, 0]
    assert acquire(rclient, "y", 1, 0, 200) == [0, -1]
    time.sleep(0.3)
    assert acquire(rclient, "y", 1, 0, 200) == [1, 0]
    assert 0 < rclient.pttl(K.host_slots(HOST)) <= 200


def test_token_bucket_spaces_requests(rclient: redis.Redis) -> None:
    assert acquire(rclient, "a", 0, 5) == [1, 0]  # 5/s: a burst of one, then one every 200 ms
    granted, wait = acquire(rclient, "b", 0, 5)
    assert granted == 0 and 150 < wait <= 200
    time.sleep(wait / 1000 + 0.01)
    assert acquire(rclient, "b", 0, 5) == [1, 0]
    assert 0 < rclient.pttl(K.host_bucket(HOST)) <= 60_000


def test_not_before_and_backoff(rclient: redis.Redis) -> None:
    penalize = rclient.register_script(PENALIZE)
    pubsub = rclient.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(K.host_events)
    args: list[int | str] = [2000, 60_000, 3, K.host_events]
    assert penalize(keys=[K.host_not_before(HOST), K.host_strikes(HOST)], args=[HOST, 1500, *args]) == 1500
    granted, wait = acquire(rclient, "a", 2)
    assert granted == 0 and 1000 < wait <= 1500  # nobody may go before the Retry-After is over
    deadline = time.monotonic() + 5
    msg = None
    while msg is None and time.monotonic() < deadline:  # the first read may be the subscribe reply
        msg = pubsub.get_message(timeout=1)
    assert msg is not None and msg["data"] == f"{HOST} 1500"
    # A shorter wait never shortens a longer one.
    assert penalize(keys=[K.host_not_before(HOST), K.host_strikes(HOST)], args=[HOST, 500, *args]) == 0
    # 429s without Retry-After: nothing for the first two, then 2 s, 4 s...
    rclient.delete(K.host_not_before(HOST))
    got = [penalize(keys=[K.host_not_before(HOST), K.host_strikes(HOST)], args=[HOST, -1, *args])
           for _ in range(4)]
    assert got == [0, 0, 2000, 4000]
    assert 0 < rclient.pttl(K.host_strikes(HOST)) <= 60_000
    pubsub.close()


def test_the_strictest_of_several_limits_keeps_within_each() -> None:
    """A request that belongs to several crawls' sites (a robots.txt) is paced by all of them."""
    assert Limits.strictest(iter([Limits(4, 0.0), Limits(0, 2.5), Limits(2, 10.0)])) == Limits(2, 2.5)
    assert Limits.strictest([Limits(0, 0.0), Limits(0, 0.0)]).unlimited
    assert Limits.strictest([]) == Limits()
