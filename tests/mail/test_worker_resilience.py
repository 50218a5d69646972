"""The mail worker when things go wrong: killed while the SMTP server sits on a message it has taken
(the mail window), killed without its scheduler child, and a Redis that answers BUSY."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
import redis
from rq.job import Job, JobStatus

from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.mail import WorkerProcess, finish_crawl, mail_env, sent_markers
from tests.support.processes import wait_for
from tests.support.smtp import SlowAnswer, SMTPServer

SITE = "http://site.test/"
OWNER = "owner@example.org"
SCHEDULER_LOCK = f"rq:scheduler-lock:{Keys().mail_queue}"


@pytest.fixture
def slow_smtp(smtp_port: int) -> Iterator[SMTPServer]:
    server = SMTPServer(smtp_port, SlowAnswer()).start()
    yield server
    server.stop()


def ended(conn: redis.Redis, crawl_id: str, timeout: float = 60) -> Job:
    def check() -> Job | None:
        job = Job.fetch(f"mail-{crawl_id}", connection=conn)
        return job if job.get_status(refresh=False) in (JobStatus.FINISHED, JobStatus.FAILED) else None

    job: Job = wait_for(check, timeout, what="the mail job to end")
    return job


def kill_during_the_answer(store: CrawlStore, server: SMTPServer, env: dict[str, str],
                           mail_workers: Callable[..., WorkerProcess]) -> str:
    """A worker hands the mail over; the server has it; the worker dies before the answer."""
    first = mail_workers(env)
    crawl = finish_crawl(store, [OWNER], {f"{SITE}x": [(SITE, "x")]})
    assert isinstance(server.handler, SlowAnswer) and server.handler.taken.wait(30)
    # The job recorded the hand-over before the final "." and has no answer yet.
    assert list(sent_markers(store.r, crawl.id)) == [f"handed mail-{crawl.id} {OWNER}"]
    first.kill_tree()
    return crawl.id


def test_unanswered_hand_over_is_resent_with_the_same_message_id(store: CrawlStore, slow_smtp: SMTPServer,
                                                                  smtp_port: int,
                                                                  mail_workers: Callable[..., WorkerProcess],
                                                                  rq_conn: redis.Redis, redis_url: str,
                                                                  tmp_path: Path) -> None:
    env = mail_env(redis_url, smtp_port, tmp_path, LINKPATROL_MAIL_RETRY_DELAY="0",
                   LINKPATROL_SMTP_TIMEOUT="20")
    crawl_id = kill_during_the_answer(store, slow_smtp, env, mail_workers)
    mail_workers(env)
    job = ended(rq_conn, crawl_id)
    assert job.get_status() == JobStatus.FINISHED
    first, second = slow_smtp.deliveries
    assert first.message["Message-ID"] == second.message["Message-ID"]  # a receiver can drop the copy
    note = job.meta["attempts"][-1]["note"]
    assert f"{OWNER}: sent again: an earlier attempt handed it to the server" in note
    assert list(sent_markers(store.r, crawl_id)) == [f"mail-{crawl_id} {OWNER}"]


def test_unanswered_hand_over_is_not_resent_when_told_so(store: CrawlStore, slow_smtp: SMTPServer, smtp_port: int,
                                                         mail_workers: Callable[..., WorkerProcess],
                                                         rq_conn: redis.Redis, redis_url: str,
                                                         tmp_path: Path) -> None:
    env = mail_env(redis_url, smtp_port, tmp_path, LINKPATROL_MAIL_RETRY_DELAY="0", LINKPATROL_SMTP_TIMEOUT="20",
                   LINKPATROL_MAIL_UNANSWERED="skip")
    crawl_id = kill_during_the_answer(store, slow_smtp, env, mail_workers)
    mail_workers(env)
    job = ended(rq_conn, crawl_id)
    assert job.get_status() == JobStatus.FINISHED
    assert f"{OWNER}: not sent again" in job.meta["attempts"][-1]["note"]
    time.sleep(3)  # longer than a retry interval
    assert len(slow_smtp.deliveries) == 1


def test_the_scheduler_goes_with_its_killed_worker(mail_workers: Callable[..., WorkerProcess], rclient: redis.Redis,
                                                   redis_url: str, tmp_path: Path) -> None:
    env = mail_env(redis_url, None, tmp_path)
    first = mail_workers(env)
    holder = wait_for(lambda: rclient.get(SCHEDULER_LOCK), 20, what="the scheduler lock")
    (scheduler,) = wait_for(lambda: psutil.Process(first.process.pid).children(), 10, what="the scheduler child")
    first.process.send_signal(signal.SIGKILL)  # the worker alone: its scheduler child is not touched
    first.process.wait(10)
    _, alive = psutil.wait_procs([scheduler], timeout=5)
    assert not alive or alive[0].status() == psutil.STATUS_ZOMBIE, "the scheduler outlived its worker"
    assert rclient.get(SCHEDULER_LOCK) is None  # released on its way out, not left to expire
    mail_workers(env)
    new_holder = wait_for(lambda: rclient.get(SCHEDULER_LOCK), 5, what="a new worker to take the scheduler lock")
    assert new_holder != holder


def test_worker_and_pump_wait_through_a_busy_redis(store: CrawlStore, smtp: SMTPServer, smtp_port: int,
                                                   mail_workers: Callable[..., WorkerProcess], rclient: redis.Redis,
                                                   redis_url: str, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Another client's 4-second script: every other client gets BUSY meanwhile. The worker process and
    an event pump started during the script both wait, and the next crawl's mail goes out once."""
    from linkpatrol.store import connection
    from linkpatrol.store.events import EndedCrawlEvents
    from linkpatrol.store.patience import PatientRetry
    from web.notifications.queue import mail_queue
    from web.notifications.settings import MailSettings
    from web.processes.worker import EventPump

    env = mail_env(redis_url, smtp_port, tmp_path)
    worker = mail_workers(env)
    wait_for(lambda: rclient.get(SCHEDULER_LOCK), 20, what="the worker to start")
    old = rclient.config_get("busy-reply-threshold")["busy-reply-threshold"]
    rclient.config_set("busy-reply-threshold", 100)  # BUSY after 0.1 s instead of 5 s
    busy = redis.Redis.from_url(redis_url)
    script = threading.Thread(target=busy.eval, args=(
        "local t = redis.call('TIME')[1] + 4 while tonumber(redis.call('TIME')[1]) < t do end return 1", 0))
    rq = redis.Redis.from_url(redis_url)
    events = redis.Redis.from_url(redis_url, decode_responses=True)
    patient = connection.client(redis_url, retry=PatientRetry(30, "a ping"))
    pump = EventPump(EndedCrawlEvents(events, store.keys), mail_queue(rq, store.keys), MailSettings.from_env(env),
                     CrawlStore(events))
    try:
        script.start()
        time.sleep(0.5)
        pump.start()  # its first BLMOVE meets BUSY
        started = time.monotonic()
        assert patient.ping() is True  # waits for the script's end
        assert time.monotonic() - started > 2
        script.join(10)
    finally:
        rclient.config_set("busy-reply-threshold", old)
    try:
        finish_crawl(store, [OWNER], {f"{SITE}x": [(SITE, "x")]})
        (mail,) = smtp.wait_for(1, 30)
        assert mail.recipients == [OWNER] and mail.message["Subject"] == "site.test: 1 dead link found"
    finally:
        pump.stop()
        for client in (busy, rq, events, patient):
            client.close()
    assert worker.process.poll() is None, worker.output()[-3000:]
    log = worker.output()
    assert "Redis cannot serve the mail worker now (BUSY" in log, log[-3000:]
    assert "unhandled exception" not in log and "quitting" not in log
    assert "event pump: Redis cannot serve us now (BUSY" in caplog.text
    assert "Redis cannot serve a ping now (BUSY" in caplog.text
