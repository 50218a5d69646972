"""``python -m web.mail.worker``: the mail worker.

Two things in one process:
- an event pump (a thread) that turns ended-crawl events into mail jobs: it moves a crawl id from
  ``Keys.finished_events`` into ``Keys.finished_events_processing`` (LMOVE, atomic), enqueues the
  crawl's notification job (a fixed job id, enqueued with RQ's atomic ``unique=True``: a second
  enqueue is a no-op), then removes the id from the processing list. Ids left there by a worker that
  died in between are enqueued again when any worker starts: at worst a no-op.
- an RQ worker with its scheduler (delayed retries need it) on the mail queue.

The crawler's Lua pushes an event exactly once per crawl, however many processes race to see it end.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading

from rq import Queue, Worker
from rq.job import Job

from linkpatrol import connection
from linkpatrol.config import BadSetting, Config
from linkpatrol.connection import Client
from linkpatrol.events import EndedCrawlEvents
from linkpatrol.keys import Keys
from web.mail.queue import enqueue_notification, mail_queue
from web.mail.settings import MailSettings

logger = logging.getLogger("linkpatrol.worker")


class EventPump:
    """Ended-crawl events -> one notification job per crawl."""

    def __init__(self, events: EndedCrawlEvents, queue: Queue, settings: MailSettings) -> None:
        self.events = events
        self.queue = queue
        self.settings = settings
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    def handle(self, crawl_id: str) -> None:
        job = enqueue_notification(self.queue, crawl_id, self.settings)
        if job is None:
            logger.info("crawl %s: mail job already exists", crawl_id)
        else:
            logger.info("crawl %s ended: mail job %s enqueued", crawl_id, job.id)
        self.events.done(crawl_id)

    def recover(self) -> int:
        """Enqueue what a worker that died left taken and not done."""
        left = self.events.leftovers()
        for crawl_id in left:
            logger.info("recovering the ended-crawl event of %s", crawl_id)
            self.handle(crawl_id)
        return len(left)

    def step(self, timeout: int = 1) -> str | None:
        crawl_id = self.events.take(timeout)
        if crawl_id is not None:
            self.handle(crawl_id)
        return crawl_id

    def run(self) -> None:
        recovering = False
        while not self._stop.is_set():
            try:
                if recovering:  # an id may have been moved and not enqueued when Redis went away
                    self.recover()
                    recovering = False
                self.step()
            except connection.RedisError as exc:
                logger.error("event pump: %s; retrying in 2 s", exc)
                recovering = True
                self._stop.wait(2)

    def start(self) -> EventPump:
        self.thread = threading.Thread(target=self.run, name="event-pump", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.thread is not None:
            self.thread.join(5)


class MailWorker(Worker):
    """RQ's forking worker with a configurable grace before a silent job counts as abandoned.

    RQ keeps a started job in its StartedJobRegistry until ``min(monitor interval, time left) + 60``
    seconds after the last heartbeat; only then does its maintenance hand the job to the retry logic.
    ``heartbeat_grace`` replaces that 60 (tests shorten it to a few seconds)."""

    heartbeat_grace = 60

    def get_heartbeat_ttl(self, job: Job) -> int:
        return max(1, super().get_heartbeat_ttl(job) - 60 + self.heartbeat_grace)


def build_worker(connection: Client, queue: Queue, settings: MailSettings) -> MailWorker:
    worker = MailWorker(
        [queue],
        connection=connection,
        job_monitoring_interval=settings.monitor_interval,
        maintenance_interval=settings.maintenance_interval,
        # RQ runs maintenance (which takes back abandoned jobs) only between two blocking dequeues,
        # each lasting worker_ttl - 15 seconds: tie the two together.
        worker_ttl=settings.maintenance_interval + 15,
    )
    worker.heartbeat_grace = settings.heartbeat_grace
    return worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.mail.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty (tests, cron)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = MailSettings.from_env()
        config = Config.from_env()
    except BadSetting as exc:
        print(f"web.mail.worker: {exc}", file=sys.stderr)
        return 2
    keys = Keys.from_config(config)
    # RQ blocks on its queue for up to a minute at a time: no socket timeout on its client.
    rq_connection = connection.client(config.redis_url, decode=False, timeout=None)
    events = connection.client(config.redis_url, timeout=30)
    try:
        rq_connection.ping()
    except connection.RedisError as exc:
        print(f"web.mail.worker: cannot reach Redis at {config.redis_location}: {exc}", file=sys.stderr)
        return 1
    queue = mail_queue(rq_connection, keys)
    logger.info("mail worker on queue %s; mail goes to %s", queue.name, settings.transport)
    pump = EventPump(EndedCrawlEvents(events, keys), queue, settings)
    pump.recover()
    pump.start()
    try:
        worker = build_worker(rq_connection, queue, settings)
        worker.work(with_scheduler=True, burst=args.burst, logging_level=args.log_level)
    finally:
        pump.stop()
        events.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
