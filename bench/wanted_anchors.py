"""Fragments asked of a page read last: ``python -m bench.wanted_anchors --asked 50000 --ids 10000``.

A home page links /x#a0 ... /x#a<asked-1> before /x is read (a hostile site: the set of anchors asked
of /x grows with every such link); then /x is recorded, holding ids a0 ... a<ids-1>. On a private Redis,
through ``linkpatrol.frontier.Scripts``. Prints the longest script call while /x is recorded (SLOWLOG,
every command over 0.2 ms logged), the number of calls, and the missing anchors counted (asked - ids
when right). To compare with an earlier version, run this file from a worktree of that revision
(``git worktree add /tmp/before REV``): the scripts' arguments change with their Python wrapper, so an
old script cannot be driven by today's wrapper.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import redis

from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.frontier import Scripts
from linkpatrol.model.verdicts import Outcome
from linkpatrol.model.wire import Completion, FoundLink, FrontierMessage, LinkResult, MessageKind, Referrer
from linkpatrol.store.crawls import CrawlStore

SITE = "http://site.example"
SLOWLOG_US = 200


def run(client: Any, asked: int, ids: int) -> dict[str, Any]:
    client.flushall()
    store = CrawlStore(client)
    scripts = Scripts(client, store.keys)
    crawl = store.create(SITE + "/")
    client.lpop(store.keys.start)
    scripts.seed(crawl.id, SITE + "/", 0.0)
    scripts.pop(crawl.id, 1, "w0")
    x = SITE + "/x"
    links = [FoundLink(x, FrontierMessage(x, MessageKind.PAGE, 1), Referrer(SITE + "/", f"a{n}", "a", f"a{n}"), f"a{n}")
             for n in range(asked)]
    scripts.complete(Completion(crawl.id, LinkResult(SITE + "/", Outcome.OK, status=200), True, links),
                     now=1.0, max_referrers=10)
    scripts.pop(crawl.id, 1, "w0")
    client.config_set("slowlog-log-slower-than", SLOWLOG_US)
    client.config_set("slowlog-max-len", 100_000)
    client.slowlog_reset()
    client.config_resetstat()
    page = Completion(crawl.id, LinkResult(x, Outcome.OK, status=200), True, anchors={f"a{n}" for n in range(ids)})
    scripts.complete(page, now=2.0, max_referrers=10)
    calls = [e for e in client.slowlog_get(100_000) if str(e["command"]).startswith("b'EVALSHA")]
    stats = client.info("commandstats")
    return {
        "longest_ms": max((e["duration"] for e in calls), default=0) / 1000,
        "calls": stats.get("cmdstat_evalsha", {}).get("calls", 0),
        "missing": store.require(crawl.id).outcome_count(Outcome.MISSING_ANCHOR),
        "state": store.require(crawl.id).state,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asked", type=int, default=50_000)
    parser.add_argument("--ids", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp) / "redis").start()
        client = redis.Redis.from_url(server.url, decode_responses=True, socket_timeout=600)
        try:
            r = run(client, args.asked, args.ids)
            print(f"{args.asked} asked, {args.ids} ids: longest call {r['longest_ms']:.1f} ms "
                  f"(SLOWLOG over {SLOWLOG_US} us), {r['calls']} calls, {r['missing']} missing, crawl {r['state']}")
        finally:
            client.close()
            server.stop()


if __name__ == "__main__":
    main()
