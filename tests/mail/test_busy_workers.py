"""A Redis that answers BUSY for 7 seconds (another client's Lua busy loop) beside real mail worker
processes, a slow SMTP server, a webhook receiver and RQ's cron process: the workers wait it out in
the same processes, the mail whose answer came during the BUSY is sent exactly once, and mails,
webhooks and schedule ticks go on afterwards."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import FinishedJobRegistry
from rq.worker import Worker

from linkpatrol.store import connection
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from linkpatrol.store.patience import PatientRetry
from tests.support.busy import busy_redis
from tests.support.mail import WorkerProcess, finish_crawl, mail_env, sent_markers
from tests.support.processes import wait_for
from tests.support.receivers import WebhookReceiver
from tests.support.schedules import CronProcess, schedule_env
from tests.support.smtp import SlowAnswer, SMTPServer

SITE = "http://site.test/"
OWNER = "owner@example.org"
BUSY_SECONDS = 7.0


@pytest.fixture
def slow_smtp(smtp_port: int) -> Iterator[SMTPServer]:
    """Answers 2.5 s after the final ".": the answer to the first mail arrives during the BUSY."""
    server = SMTPServer(smtp_port, SlowAnswer(delay=2.5)).start()
    yield server
    server.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


def ended(conn: redis.Redis, job_id: str, timeout: float = 60) -> Job:
    def check() -> Job | None:
        try:
            job = Job.fetch(job_id, connection=conn)
        except NoSuchJobError:  # the event pump has not enqueued it yet
            return None
        return job if job.get_status(refresh=False) in (JobStatus.FINISHED, JobStatus.FAILED) else None

    job: Job = wait_for(check, timeout, 0.2, f"job {job_id} to end")
    return job


def worker_names(conn: redis.Redis) -> set[str]:
    return {w.name for w in Worker.all(connection=conn)}


def ticks(conn: redis.Redis) -> int:
    return FinishedJobRegistry(Keys().schedule_queue, connection=conn).count


def test_the_patient_client_runs_each_command_once_after_the_busy(redis_url: str, rclient: redis.Redis) -> None:
    """What every worker client relies on, against a real busy loop: a transaction sent during the
    BUSY runs once after it; a WATCHed one runs once or gets WatchError (its caller reads again); an
    error that is not "cannot serve now" comes at once; patience has an end."""
    patient = connection.client(redis_url, retry=PatientRetry(30, "the test"))
    brief = connection.client(redis_url, retry=PatientRetry(0.5, "the test"))
    rclient.set("text", "x")
    results: dict[str, object] = {}

    def transaction() -> None:
        with patient.pipeline() as pipe:
            pipe.incr("counter")
            pipe.rpush("log", "one")
            results["transaction"] = pipe.execute()

    def watched() -> None:
        with patient.pipeline() as pipe:
            pipe.watch("counter")
            pipe.multi()
            pipe.incr("watched")
            try:
                results["watched"] = pipe.execute()
            except redis.WatchError as exc:
                results["watched"] = exc

    try:
        with busy_redis(redis_url) as end:
            threads = [threading.Thread(target=f) for f in (transaction, watched)]
            for thread in threads:
                thread.start()
            started = time.monotonic()
            with pytest.raises(redis.ResponseError, match="BUSY"):
                brief.get("text")
            assert 0.4 < time.monotonic() - started < 5
            time.sleep(2)
            end()
            for thread in threads:
                thread.join(10)
        assert results["transaction"] == [1, 1]  # run once, after the BUSY
        assert rclient.get("counter") == "1" and rclient.lrange("log", 0, -1) == ["one"]
        assert isinstance(results["watched"], redis.WatchError) or results["watched"] == [1]
        started = time.monotonic()
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            patient.lpush("text", "y")
        assert time.monotonic() - started < 1
    finally:
        patient.close()
        brief.close()


def test_workers_wait_out_a_7_second_busy_and_send_each_mail_once(
        store: CrawlStore, slow_smtp: SMTPServer, smtp_port: int, receiver: WebhookReceiver,
        mail_workers: Callable[..., WorkerProcess], rq_conn: redis.Redis, redis_url: str, tmp_path: Path) -> None:
    clock = tmp_path / "clock"
    clock.write_text("0")
    # A heartbeat grace longer than the BUSY, as by default (60 s): RQ must not take back a running job
    # only because no heartbeat could be written meanwhile (docs/NOTIFICATIONS.md, "Redis busy or away").
    env = mail_env(redis_url, smtp_port, tmp_path, LINKPATROL_ALLOW_PRIVATE="1", LINKPATROL_SMTP_TIMEOUT="20",
                   LINKPATROL_JOB_HEARTBEAT_GRACE="20", **schedule_env(redis_url, clock))
    workers = [mail_workers(env), mail_workers(env)]
    cron = CronProcess(env, tmp_path / "cron.log")
    try:
        wait_for(lambda: len(worker_names(rq_conn)) == 2, 30, 0.2, "two RQ workers")
        names = worker_names(rq_conn)
        wait_for(lambda: ticks(rq_conn) >= 1, 30, 0.2, "a first schedule tick")
        hook = receiver.url("/hooks/ended")
        first = finish_crawl(store, [OWNER], {f"{SITE}x": [(SITE, "x")]}, webhooks=[hook])
        assert isinstance(slow_smtp.handler, SlowAnswer) and slow_smtp.handler.taken.wait(30)
        assert list(sent_markers(store.r, first.id)) == [f"handed mail-{first.id} {OWNER}"]

        # The server answers 250 about 2.5 s into the BUSY: the job records it once Redis serves again.
        with busy_redis(redis_url) as end:
            time.sleep(BUSY_SECONDS)
            end()
        busy_over = ticks(rq_conn)

        job = ended(rq_conn, f"mail-{first.id}")
        assert job.get_status() == JobStatus.FINISHED, job.meta
        assert list(sent_markers(store.r, first.id)) == [f"mail-{first.id} {OWNER}"]
        (attempt,) = job.meta["attempts"]  # one attempt, not failed on BUSY and retried
        assert attempt["note"].startswith(f"sent to {OWNER} via SMTP") and attempt["error"] is None, attempt
        assert ended(rq_conn, f"webhook-{first.id}-0").get_status() == JobStatus.FINISHED

        # Afterwards: a second crawl's mail and webhook go out, and schedule ticks run again.
        second = finish_crawl(store, [OWNER], {f"{SITE}y": [(SITE, "y")]}, webhooks=[hook])
        assert ended(rq_conn, f"mail-{second.id}").get_status() == JobStatus.FINISHED
        assert ended(rq_conn, f"webhook-{second.id}-0").get_status() == JobStatus.FINISHED
        wait_for(lambda: ticks(rq_conn) >= busy_over + 2, 30, 0.2, "two schedule ticks after the BUSY")
        time.sleep(2)  # longer than a retry interval: a duplicate would have come by now

        mails = slow_smtp.deliveries  # one mail per crawl, none twice
        assert [m.message["Subject"] for m in mails] == ["site.test: 1 dead link found",
                                                          "site.test: 1 new dead link, 1 fixed"]
        assert len({m.message["Message-ID"] for m in mails}) == 2
        hooks = receiver.requests()
        assert sorted(r.headers["X-Linkpatrol-Delivery"] for r in hooks) == sorted(
            {r.headers["X-Linkpatrol-Delivery"] for r in hooks}) and len(hooks) == 2

        # The same processes and the same RQ workers (no restart of their loop) did all of it.
        assert worker_names(rq_conn) == names
        for worker in workers:
            log = worker.output()
            assert worker.process.poll() is None, log[-3000:]
            assert "unhandled exception" not in log and "quitting" not in log, log[-3000:]
        logs = "".join(w.output() for w in workers)
        assert "BUSY" in logs, logs[-3000:]
    finally:
        cron.stop()


def test_a_work_loop_that_gives_up_is_started_again_in_the_same_process(
        store: CrawlStore, slow_smtp: SMTPServer, smtp_port: int, rq_conn: redis.Redis, redis_url: str,
        tmp_path: Path) -> None:
    """The last line of defence: past its patience (1 s here, 120 s by default) a BUSY reaches RQ's
    loop while it watches a running mail job, and the loop quits; the process starts a new work loop
    (a new RQ worker), the running job still ends once, and the next mail goes out."""
    env = mail_env(redis_url, smtp_port, tmp_path, LINKPATROL_SMTP_TIMEOUT="20", LINKPATROL_JOB_HEARTBEAT_GRACE="20")
    worker = WorkerProcess(env, tmp_path / "worker.log", ("--patience", "1"))
    try:
        (first,) = wait_for(lambda: worker_names(rq_conn), 30, 0.2, "the RQ worker")
        one = finish_crawl(store, [OWNER], {f"{SITE}x": [(SITE, "x")]})
        assert isinstance(slow_smtp.handler, SlowAnswer) and slow_smtp.handler.taken.wait(30)
        with busy_redis(redis_url) as end:
            time.sleep(4)
            end()
        wait_for(lambda: worker_names(rq_conn) - {first}, 30, 0.2, "a new work loop")
        assert ended(rq_conn, f"mail-{one.id}").get_status() == JobStatus.FINISHED
        two = finish_crawl(store, [OWNER], {f"{SITE}y": [(SITE, "y")]})
        assert ended(rq_conn, f"mail-{two.id}").get_status() == JobStatus.FINISHED
        time.sleep(2)  # longer than a retry interval: a duplicate would have come by now
        assert len(slow_smtp.deliveries) == 2
        assert worker.process.poll() is None
        log = worker.output()
        assert f"worker {first} stopped unasked" in log and "starting a new work loop in 1 s" in log, log[-3000:]
    finally:
        worker.stop()
