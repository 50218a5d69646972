"""Reading the worker registry (the crawler processes' heartbeats) without Scrapy."""

from __future__ import annotations

import json
from typing import Any

import redis

from crawler.keys import Keys


def list_workers(client: redis.Redis | Any, prefix: str = "lp") -> list[dict[str, Any]]:
    """Live crawler processes, oldest first: id, host, pid, started, last seen, requests done,
    requests held, last crawl worked on. A worker whose heartbeat expired is not listed."""
    keys = Keys(prefix)
    entries = client.hgetall(keys.workers)
    ids = sorted(entries)
    pipe = client.pipeline(transaction=False)
    for worker in ids:
        pipe.exists(keys.worker_alive(worker))
    alive = pipe.execute()
    out = []
    for worker, is_alive in zip(ids, alive, strict=True):
        if is_alive:
            out.append({"id": worker, **json.loads(entries[worker])})
    return sorted(out, key=lambda w: w.get("started", 0))
