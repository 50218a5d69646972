"""``python -m web.processes.worker``: the mail worker.

Two things in one process:
- an event pump (a thread) that turns ended-crawl events into jobs: it moves a crawl id from
  ``Keys.ended_events`` into ``Keys.ended_events_processing`` (LMOVE, atomic), enqueues the
  crawl's notification job when it has notify addresses and one job per webhook URL (fixed job ids,
  enqueued with RQ's atomic ``unique=True``: a second enqueue is a no-op), then removes the id from the
  processing list. Ids left there by a worker that died in between are enqueued again when any worker
  starts: at worst a no-op.
- an RQ worker with its scheduler (delayed retries need it) on the mail queue. The scheduler is a
  child process that ends with its parent (``OrphanFreeScheduler``).

Redis that cannot serve now (down, BUSY with another client's script, LOADING...): every client of
the process waits and retries each command (``linkpatrol.store.patience.PatientRetry``: RQ's loop, its
work-horse monitoring, heartbeats, job bookkeeping, death registration, the scheduler child and the
horse inherit it); past that patience the pump's loop and ``run_worker`` start over.

The crawler's Lua pushes an event exactly once per crawl, however many processes race to see it end.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from rq import Queue, Worker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import StopRequested
from rq.job import Job
from rq.scheduler import RQScheduler

from linkpatrol.config import BadSetting, Config
from linkpatrol.store import connection
from linkpatrol.store.connection import Client
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.events import EndedCrawlEvents
from linkpatrol.store.keys import Keys
from linkpatrol.store.patience import PatientRetry
from web.notifications.queue import enqueue_notification, enqueue_webhooks, mail_queue
from web.notifications.settings import MailSettings

logger = logging.getLogger("linkpatrol.worker")
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# How long the worker's clients wait for a Redis that cannot serve (a restart loading a big data set,
# a failover) before the error reaches RQ's loop, which then ends and ``run_worker`` starts it again.
PATIENCE = 120.0
RESTART_DELAYS = (1, 2, 5, 10, 30)  # seconds before each new start of a work loop that keeps dying


class EventPump:
    """Ended-crawl events -> one notification job per crawl."""

    def __init__(self, events: EndedCrawlEvents, queue: Queue, settings: MailSettings, store: CrawlStore) -> None:
        self.events = events
        self.queue = queue
        self.settings = settings
        self.store = store
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    def handle(self, crawl_id: str) -> None:
        crawl = self.store.get(crawl_id)
        if crawl is None:
            logger.info("crawl %s ended and was deleted: nothing to notify", crawl_id)
        if crawl is not None and crawl.options.notify:
            job = enqueue_notification(self.queue, crawl_id, self.settings)
            if job is None:
                logger.info("crawl %s: mail job already exists", crawl_id)
            else:
                logger.info("crawl %s ended: mail job %s enqueued", crawl_id, job.id)
        if crawl is not None and crawl.options.webhooks:
            jobs = enqueue_webhooks(self.queue, crawl_id, crawl.options.webhooks, self.settings)
            logger.info("crawl %s ended: %d webhook job(s) enqueued (%d already there)", crawl_id, len(jobs),
                        len(crawl.options.webhooks) - len(jobs))
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
            except (connection.RedisError, OSError) as exc:
                if connection.unavailable(exc):
                    logger.warning("event pump: Redis cannot serve us now (%s); retrying in 2 s", exc)
                else:  # a bug or bad data: say so loudly, but keep the pump alive
                    logger.exception("event pump: %s; retrying in 2 s", exc)
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


class OrphanFreeScheduler(RQScheduler):
    """RQ's scheduler, run in a child process that ends with its parent.

    Killed alone (SIGKILL, OOM), the worker would leave its scheduler child running and holding the
    queue's scheduler lock, so no other worker schedules retries until that orphan is stopped. Here the
    child asks the kernel for SIGTERM when its parent dies (Linux ``PR_SET_PDEATHSIG``), and also checks
    its parent between two rounds (other systems, and a parent that died before the request): either way
    it stops the RQ way (within its one-second round), releasing the lock, and a new worker takes it
    at once."""

    _parent = 0

    def start(self) -> Any:
        self._parent = os.getpid()  # the worker, read before the fork
        return super().start()

    def work(self) -> None:
        self._install_signal_handlers()  # SIGTERM means "release the lock and stop" before it can come
        _die_with_parent()
        if os.getppid() != self._parent:  # the worker died before the request took effect
            self.request_stop()
        super().work()

    @property
    def should_reacquire_locks(self) -> bool:  # read once per round, before sleeping: the cheap check
        if self._parent and os.getppid() != self._parent and not self._stop_requested:
            logger.warning("scheduler: the worker that started it is gone; stopping")
            self.request_stop()
        return bool(super().should_reacquire_locks)


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the per-round parent check remains
        pass


class MailWorker(Worker):
    """RQ's forking worker with a configurable grace before a silent job counts as abandoned, a
    scheduler that dies with it, and a record of whether it was asked to stop.

    RQ keeps a started job in its StartedJobRegistry until ``min(monitor interval, time left) + 60``
    seconds after the last heartbeat; only then does its maintenance hand the job to the retry logic.
    ``heartbeat_grace`` replaces that 60 (tests shorten it to a few seconds).

    RQ's loop retries a dropped connection only around its dequeue and quits on any other Redis
    error, BUSY included (a ``ResponseError``), wherever it comes: in ``monitor_work_horse``,
    ``set_current_job_working_time``, ``register_death``... Give it a client with a
    ``PatientRetry`` (``main`` does): then no step of the job's life meets such an error before the
    client's patience is over."""

    heartbeat_grace = 60
    stop_asked = False  # SIGTERM/SIGINT: a work loop that ends then must not be started again

    def get_heartbeat_ttl(self, job: Job) -> int:
        return max(1, super().get_heartbeat_ttl(job) - 60 + self.heartbeat_grace)

    def handle_warm_shutdown_request(self) -> None:
        self.stop_asked = True
        super().handle_warm_shutdown_request()

    def _pubsub_exception_handler(self, exc: Exception, pubsub: Any, pubsub_thread: Any) -> None:
        """RQ's handler keeps its command channel (``rq`` stop/kill commands) alive through a dropped
        connection only: the same for every "cannot serve now"."""
        if connection.unavailable(exc):
            self.log.warning("Worker %s: command channel: Redis cannot serve now (%s); retrying in 2 s", self.name,
                             exc)
            time.sleep(2.0)
            return
        super()._pubsub_exception_handler(exc, pubsub, pubsub_thread)

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
                         log_format: str = DEFAULT_LOGGING_FORMAT) -> None:
        """RQ's ``Worker._start_scheduler`` with our scheduler class (RQ names its class in the method)."""
        self.scheduler = OrphanFreeScheduler(
            self.queues, connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format, log_format=log_format, serializer=self.serializer,
        )
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return  # another worker schedules; maintenance tries again (RQ: acquire_locks(auto_start=True))
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()


def build_worker(connection: Client, queue: Queue, settings: MailSettings, *more: Queue) -> MailWorker:
    """``connection``: RQ's client (replies not decoded), with a ``PatientRetry`` (see ``MailWorker``)."""
    worker = MailWorker(
        [queue, *more],
        connection=connection,
        job_monitoring_interval=settings.monitor_interval,
        maintenance_interval=settings.maintenance_interval,
        # RQ runs maintenance (which takes back abandoned jobs) only between two blocking dequeues,
        # each lasting worker_ttl - 15 seconds: tie the two together.
        worker_ttl=settings.maintenance_interval + 15,
    )
    worker.heartbeat_grace = settings.heartbeat_grace
    return worker


def run_worker(build: Callable[[], MailWorker], burst: bool = False, logging_level: str = "INFO") -> None:
    """RQ's work loop, started again (a new worker, a new scheduler child) whenever it ends for any
    reason but a stop request or the end of a burst: the last line of defence behind the patient
    client (a Redis that could not serve for longer than ``PATIENCE``, an error RQ's loop quits on)."""
    restarts = 0
    while True:
        worker = build()
        started = time.monotonic()
        try:
            try:
                worker.work(with_scheduler=True, burst=burst, logging_level=logging_level)
                why = "its loop ended"
            except Exception as exc:  # raised before or after RQ's loop (birth, death registration)
                logger.error("worker %s failed", worker.name, exc_info=not connection.unavailable(exc))
                why = f"{type(exc).__name__}: {exc}"
                if worker.pubsub_thread is not None:  # what RQ's teardown did not reach
                    worker.pubsub_thread.stop()
            if burst or worker.stop_asked:
                return
            restarts = 1 if time.monotonic() - started > 300 else restarts + 1
            delay = RESTART_DELAYS[min(restarts, len(RESTART_DELAYS)) - 1]
            logger.error("worker %s stopped unasked (%s); starting a new work loop in %d s", worker.name, why, delay)
            time.sleep(delay)
        except StopRequested:  # SIGTERM between two loops (RQ's handler of the last worker raises it)
            return


def main(argv: list[str] | None = None) -> int:
    try:
        return _serve(argv)
    except connection.RedisError as exc:
        if not connection.refused(exc):
            raise
        # A user whose ACL lacks a command the worker needs (NOPERM) passes the PING: one line, exit 3.
        print(f"web.processes.worker: {connection.refused_message(exc)}", file=sys.stderr)
        return 3


def _serve(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.processes.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty (tests, cron)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--patience", type=float, default=PATIENCE, metavar="SECONDS",
                        help="how long each Redis command waits while Redis cannot serve (BUSY, LOADING, down) "
                             f"before the work loop starts over (default {PATIENCE:g})")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = MailSettings.from_env()
        config = Config.from_env()
    except BadSetting as exc:
        print(f"web.processes.worker: {exc}", file=sys.stderr)
        return 2
    keys = Keys.from_config(config)
    # RQ blocks on its queue for up to a minute at a time: no socket timeout on its client.
    rq_connection = connection.client(config.redis_url, decode=False, timeout=None,
                                      retry=PatientRetry(args.patience, "the mail worker"))
    events = connection.client(config.redis_url, timeout=30, retry=PatientRetry(args.patience, "the event pump"))
    try:
        rq_connection.ping()
    except connection.RedisError as exc:
        if connection.refused(exc):
            print(f"web.processes.worker: {connection.refused_message(exc, config.redis_location)}", file=sys.stderr)
            return 3
        print(f"web.processes.worker: cannot reach Redis at {config.redis_location}: {exc}", file=sys.stderr)
        return 1
    queue = mail_queue(rq_connection, keys)
    logger.info("mail worker on queue %s; mail goes to %s", queue.name, settings.transport)
    pump = EventPump(EndedCrawlEvents(events, keys), queue, settings, CrawlStore.from_config(events, config))
    pump.recover()  # before a --burst worker looks at the queue
    pump.start()
    try:
        # ``more``: the schedule ticks (web.schedules.jobs.tick, enqueued by python -m web.processes.cron)
        run_worker(lambda: build_worker(rq_connection, queue, settings,
                                        Queue(keys.schedule_queue, connection=rq_connection)),
                   burst=args.burst, logging_level=args.log_level)
    finally:
        pump.stop()
        events.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
