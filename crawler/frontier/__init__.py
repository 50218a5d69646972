"""The crawler's side of the frontier, in components that each get only what they need; the Scrapy
extension ``crawler.extensions.frontier.FrontierExtension`` builds them, runs their lifecycle and hands
them out (``frontier_of(crawler).contexts``, ``.host_verdicts``, ``.leases``, ``.recorder``).

- ``contexts.py``: the crawls this process works for: which are running, each one's options and rules.
- ``leases.py``: the lease book (what this process holds) and leasing (batches, the per-host cap,
  giving a lease back, dropping one).
- ``host_verdicts.py``: hosts a crawl knows are dead, noted and shared through Redis.
- ``recording.py``: a checked url's links and result into the frontier, its lease released on every path.
- ``reaper.py``: dead peers, overdue leases, the audit of this process's own leases.
- ``registration.py``: the heartbeat, and the watchdog that gives the leases back when stopping hangs.
Their Redis calls go through the core (``linkpatrol.frontier`` and its modules); none is made here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any


def in_background(tasks: set[asyncio.Task[Any]], work: Awaitable[Any]) -> None:
    """Run ``work`` as a task kept in ``tasks`` until it ends (a task nobody references may be
    collected before it ends)."""
    task = asyncio.ensure_future(work)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
