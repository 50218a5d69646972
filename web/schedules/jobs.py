"""The tick: an RQ job, enqueued by RQ's cron scheduler (``web.processes.cron``) on the schedules queue,
that starts every due scheduled crawl (``linkpatrol.watch.schedules.Schedules.run_due``).

Ticks may run twice at once or be killed half-way: each due time still gives one crawl (the core's
transaction decides), so the job needs no lock and no retry of its own; the next tick is the retry.
"""

from __future__ import annotations

import logging

from linkpatrol.config import Config
from linkpatrol.store import connection
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.patience import PatientRetry
from linkpatrol.watch.schedules import Schedules

logger = logging.getLogger("linkpatrol.watch.schedules")
# A tick waits this long for a Redis that cannot serve (BUSY, LOADING...), well within its job timeout
# (300 s, ``web.processes.cron``); a tick that fails after all is retried by the next one.
PATIENCE = 60.0


def tick() -> str:
    """Fire the due schedules; returns a line saying what it did (kept as the job's result)."""
    config = Config.from_env()
    client = connection.client(config.redis_url, timeout=30, retry=PatientRetry(PATIENCE, "a schedule tick"))
    try:
        schedules = Schedules(CrawlStore.from_config(client, config), config.min_schedule_interval)
        fired = schedules.run_due()
    finally:
        client.close()
    for f in fired:
        logger.info("schedule tick: %s %s", f.outcome, f.crawl_id or "")
    started = sum(f.outcome == "started" for f in fired)
    return f"{started} started, {len(fired) - started} skipped"
