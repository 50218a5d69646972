"""What a crawler's reaper does with the work of a peer whose heartbeat stopped, against real crawler
processes: a claimed start message that is not UTF-8 goes back without a traceback and ends a dead
letter; a url that stops every crawler holding it is decided after LINKPATROL_LEASE_ATTEMPTS of them,
not queued to stop the next one for ever."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable

import redis

from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.processes import CrawlerProcess, SiteServer, linkpatrol_cli, wait_for

Factory = Callable[..., CrawlerProcess]
KEYS = Keys()


def test_a_dead_peers_undecodable_start_message_goes_back_and_becomes_a_dead_letter(
        store: CrawlStore, crawlers: Factory, rclient: redis.Redis, redis_url: str, site: SiteServer) -> None:
    proc = crawlers()
    # A first crawl proves the start loop runs: the take-back a crawler does when it starts is over,
    # so what a dead peer claimed from now on is the reaper's to give back.
    rclient.rpush(KEYS.start, json.dumps({"url": site.url("ext", "/ok?first"), "max_depth": 0}))
    wait_for(lambda: [c for c in store.list() if c.state != "queued"], 60, what="the first crawl started")

    ghost = "ghost-1"
    valid = json.dumps({"url": site.url("ext", "/ok?ghost"), "max_depth": 0})
    pipe = redis.Redis.from_url(redis_url).pipeline(transaction=True)
    pipe.hset(KEYS.crawlers, ghost, json.dumps({"host": "gone", "pid": 1, "started": 0, "seen": 0}))
    pipe.rpush(KEYS.start_claimed(ghost), b"\xff\xfe bad bytes", valid)  # no heartbeat key: it is dead
    pipe.execute()

    wait_for(lambda: rclient.llen(KEYS.start_dead) == 1, 30, what="the bad message a dead letter")
    wait_for(lambda: len([c for c in store.list() if c.state != "queued"]) == 2, 30, what="the valid message's crawl")
    assert not rclient.exists(KEYS.start_claimed(ghost)) and not rclient.hexists(KEYS.crawlers, ghost)
    output = proc.output()
    assert f"crawler {ghost} stopped answering" in output
    assert "Traceback" not in output and "reaper failed" not in output
    shown = linkpatrol_cli(redis_url, "start-queue", "dead")
    assert shown.returncode == 0 and "not UTF-8 text" in shown.stdout


def test_a_url_that_stops_every_crawler_holding_it_is_decided_after_three(
        store: CrawlStore, crawlers: Factory, rclient: redis.Redis, site: SiteServer) -> None:
    # /slow answers after 30 s: whoever leases it holds it, and is frozen (SIGSTOP) while it does, as a
    # url that hangs a whole crawler would. Three crawlers go that way; the fourth decides the url.
    env = {"LINKPATROL_TIMEOUT": "120", "LINKPATROL_LEASE_ATTEMPTS": "3"}
    procs = [crawlers(env) for _ in range(4)]
    wait_for(lambda: rclient.hlen(KEYS.crawlers) == 4, 90, what="four crawlers registered")
    pids = {worker: json.loads(info)["pid"] for worker, info in rclient.hgetall(KEYS.crawlers).items()}
    by_pid = {p.pid: p for p in procs}
    crawl = store.create(site.url("ext", "/slow"))
    frozen: list[str] = []

    def holder() -> str | None:
        value = rclient.hget(KEYS.inflight(crawl.id), crawl.url)
        worker = value.split("\n", 1)[0] if value else None
        return worker if worker in pids and worker not in frozen else None

    try:
        for _ in range(3):
            worker = wait_for(holder, 60, what="a live crawler to lease the url")
            os.kill(pids[worker], signal.SIGSTOP)
            frozen.append(worker)
        wait_for(lambda: store.require(crawl.id).state == "finished", 60, what="the crawl to end")
    finally:
        for worker in frozen:
            by_pid[pids[worker]].kill()
    result = store.result(crawl.id, crawl.url)
    assert result is not None and (result.outcome, result.error) == ("dead", "timeout")
    (survivor,) = [p for p in procs if p.process.poll() is None]
    assert "was held by 3 crawlers that stopped answering" in survivor.output()
    assert "Traceback" not in survivor.output()
