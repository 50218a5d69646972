"""Schedules end to end: real RQ workers (``python -m web.processes.worker``), RQ cron processes
(``python -m web.processes.cron``), a real Redis. One test waits for a real 20-second schedule to
crawl a site on loopback with a crawler process; the other moves the clock (``LINKPATROL_TEST_CLOCK_FILE``)
across due times while two workers and two cron processes run and get SIGKILLed and restarted."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import redis
from rq.registry import FinishedJobRegistry

from linkpatrol.model.options import CrawlOptions
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.watch.schedules import SKIPPED_RUNNING, ScheduleRequest, Schedules
from tests.support.mail import WorkerProcess, mail_env
from tests.support.processes import CrawlerProcess, wait_ended, wait_for
from tests.support.receivers import ChangingSite
from tests.support.schedules import CronProcess, kill_strays, schedule_env

SITE = "https://site.example/"
HOUR = 3600


def ticks(rq_conn: redis.Redis) -> int:
    """Tick jobs the workers finished so far."""
    return FinishedJobRegistry(Keys().schedule_queue, connection=rq_conn).count


def wait_ticks(rq_conn: redis.Redis, n: int, timeout: float = 60) -> None:
    start = ticks(rq_conn)
    wait_for(lambda: ticks(rq_conn) >= start + n, timeout, 0.2, f"{n} more schedule ticks")


@contextlib.contextmanager
def cron_processes(env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], CronProcess]]:
    started: list[CronProcess] = []

    def start() -> CronProcess:
        proc = CronProcess(env, tmp_path / f"cron-{len(started)}.log")
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            proc.stop()


def set_clock(clock: Path, offset: float) -> None:
    """Move the processes' clock (``linkpatrol.watch.schedules.now``); a rename, so no reader sees half a number."""
    tmp = clock.with_suffix(".new")
    tmp.write_text(repr(offset))
    tmp.replace(clock)


def test_kills_restarts_and_two_of_everything_give_one_crawl_per_due_time(
        redis_url: str, store: CrawlStore, rq_conn: redis.Redis, tmp_path: Path,
        mail_workers: Callable[[dict[str, str]], WorkerProcess]) -> None:
    clock = tmp_path / "clock"
    set_clock(clock, 0)
    env = mail_env(redis_url, None, tmp_path, **schedule_env(redis_url, clock))
    schedules = Schedules(store, 60)
    s = schedules.create(ScheduleRequest(SITE, CrawlOptions(max_pages=3), every=HOUR, cron=None))
    anchor = s.created_at
    assert s.next_run == anchor + HOUR

    def crawls() -> list[str]:
        return [c.id for c in store.site_crawls(SITE)]

    with cron_processes(env, tmp_path) as crons:
        workers, cron = [mail_workers(env), mail_workers(env)], [crons(), crons()]
        wait_ticks(rq_conn, 3)
        assert crawls() == []  # not due yet

        # A worker and a cron process die (SIGKILL) just before the due time, which then passes.
        workers[0].kill_tree()
        cron[0].kill()
        kill_strays(redis_url)
        set_clock(clock, anchor + HOUR + 2 - time.time())
        first = wait_for(crawls, 30, 0.1, "the due crawl")
        # The dead come back while the others run; then the others die; ticks go on.
        workers[0], cron[0] = mail_workers(env), crons()
        workers[1].kill_tree()
        cron[1].kill()
        wait_ticks(rq_conn, 5)
        assert crawls() == first and len(first) == 1
        assert schedules.require(s.id).next_run == anchor + 2 * HOUR
        assert store.r.llen(store.keys.start) == 1  # one start message for the crawlers

        # No crawler runs, so that crawl is still queued at the next due time: skipped, and said so.
        workers[1], cron[1] = mail_workers(env), crons()
        set_clock(clock, anchor + 2 * HOUR + 2 - time.time())
        wait_for(lambda: schedules.require(s.id).skipped == 1, 30, 0.1, "the skip")
        wait_ticks(rq_conn, 3)
        after_skip = schedules.require(s.id)
        assert after_skip.last_result == SKIPPED_RUNNING and after_skip.skipped == 1 and crawls() == first
        assert after_skip.next_run == anchor + 3 * HOUR

        # An outage: everything down while ten slots go by; back up, the schedule runs once.
        store.cancel(first[0])
        for w in workers:
            w.kill_tree()
        for c in cron:
            c.kill()
        kill_strays(redis_url)
        set_clock(clock, anchor + 12.5 * HOUR - time.time())
        time.sleep(1)
        assert crawls() == first, (schedules.require(s.id), [w.output()[-3000:] for w in workers])
        mail_workers(env), mail_workers(env), crons(), crons()
        second = wait_for(lambda: [c for c in crawls() if c not in first], 30, 0.1, "the crawl after the outage")
        wait_ticks(rq_conn, 5)
        assert len(second) == 1 and len(crawls()) == 2
        final = schedules.require(s.id)
        assert final.next_run == anchor + 13 * HOUR and final.runs == 2 and final.last_crawl == second[0]


def test_a_real_schedule_on_the_real_clock_crawls_the_site(
        redis_url: str, store: CrawlStore, tmp_path: Path, crawlers: Callable[..., CrawlerProcess],
        mail_workers: Callable[[dict[str, str]], WorkerProcess]) -> None:
    site = ChangingSite().start()
    try:
        site.pages["/alive"] = (200, "<p>here</p>")
        site.links("/alive", "/gone")
        env = mail_env(redis_url, None, tmp_path, REDIS_URL=redis_url, LINKPATROL_SCHEDULE_TICK="2",
                       LINKPATROL_MIN_SCHEDULE_INTERVAL="20")  # the real clock: no test offset
        crawlers()
        mail_workers(env)
        # Every 20 s rather than a production-like minute or more: the same path (RQ's cron process, the
        # tick, the worker, the crawlers) on the real clock, 40 s less of the suite.
        schedules = Schedules(store, 20)
        s = schedules.create(ScheduleRequest(site.url(), CrawlOptions(), every=20, cron=None))
        with cron_processes(env, tmp_path) as crons:
            crons()
            assert s.next_run is not None and s.next_run - time.time() > 10
            crawl_id = wait_for(lambda: schedules.require(s.id).last_crawl, 100, 0.5, "the scheduled crawl")
            started = store.require(crawl_id).created_at
            assert s.next_run <= started < s.next_run + 10  # on time, within a few ticks
            done = wait_ended(store, crawl_id, 60)
        assert done.state == "finished"
        assert [r.url for r in store.problems(crawl_id)] == [site.url() + "gone"]
        assert schedules.require(s.id).next_run == s.created_at + 40
        assert [c.id for c in store.site_crawls(site.url())] == [crawl_id]
    finally:
        site.stop()
