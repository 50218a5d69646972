"""``python -m web.processes.cron``: RQ's cron scheduler, enqueueing the schedule tick.

Every ``LINKPATROL_SCHEDULE_TICK`` seconds (default 10) it puts one ``web.schedules.jobs.tick`` job on
the schedules queue (``Keys.schedule_queue``), which the RQ worker (``python -m web.processes.worker``)
runs. Any number of these processes may run (one per machine for availability): extra ticks cost a
few Redis reads and never start a second crawl. A tick job not taken within a few ticks expires
(``ttl``), so a worker that was down finds one tick waiting, not hundreds.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from rq.cron import CronScheduler

from linkpatrol.config import Config
from linkpatrol.env import BadSetting
from linkpatrol.store import connection
from linkpatrol.store.keys import Keys
from web.schedules.jobs import tick

TICKS_KEPT = 3  # a tick job waits at most this many intervals for a worker, then expires


def build(rq_connection: connection.Client, keys: Keys, interval: int) -> CronScheduler:
    scheduler = CronScheduler(connection=rq_connection)
    scheduler.register(tick, queue_name=keys.schedule_queue, interval=interval, job_timeout=300,
                       result_ttl=600, ttl=max(30, interval * TICKS_KEPT), failure_ttl=86400,
                       name=f"{keys.prefix}-schedule-tick")
    return scheduler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.processes.cron", description=__doc__.split("\n\n")[0])
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config = Config.from_env()
    except BadSetting as exc:
        print(f"web.processes.cron: {exc}", file=sys.stderr)
        return 2
    rq_connection = connection.client(config.redis_url, decode=False, timeout=30)
    try:
        rq_connection.ping()
    except connection.RedisError as exc:
        print(f"web.processes.cron: cannot reach Redis at {config.redis_location}: {exc}", file=sys.stderr)
        return 1
    keys = Keys.from_config(config)
    logging.getLogger("linkpatrol.watch.schedules").info("schedule tick every %d s on queue %s",
                                                   config.schedule_tick, keys.schedule_queue)
    while True:  # start() returns on SIGTERM/SIGINT; a Redis outage restarts the loop
        try:
            build(rq_connection, keys, config.schedule_tick).start()
            return 0
        except connection.RedisError as exc:
            logging.getLogger("linkpatrol.watch.schedules").error("cron scheduler: %s; starting again in 2 s", exc)
            time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())
