"""Crawl starts, heard: a crawler that started a crawl says so on a pub/sub channel
(``Keys.crawl_events``, published by ``StartQueue``), and every other crawler leases from it at once.

Without it an idle crawler learns of a new crawl at its next look at the running crawls, up to a
quarter of a second later; a crawl of a small site is half done by then. A message missed (Redis away,
the subscription being renewed) costs only that wait: the look still happens.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from linkpatrol.store.connection import RedisError, unavailable
from linkpatrol.store.keys import Keys

logger = logging.getLogger(__name__)


async def listen_for_crawl_starts(client: Any, keys: Keys, heard: Callable[[str], None]) -> None:
    """Call ``heard(crawl_id)`` for every crawl a crawler starts, until cancelled."""
    while True:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(keys.crawl_events)
            while True:
                msg = await pubsub.get_message(timeout=5.0)
                if msg and isinstance(msg.get("data"), str):
                    heard(msg["data"])
        except (RedisError, OSError) as exc:  # heard again after a second; meanwhile the looks do
            logger.log(logging.DEBUG if unavailable(exc) else logging.WARNING, "crawl events: %s", exc)
            await asyncio.sleep(1.0)
        finally:
            await pubsub.aclose()
