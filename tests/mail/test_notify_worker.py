"""The mail worker end to end: ``python -m web.processes.worker`` processes, the private Redis, a real SMTP server."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import redis
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry

from linkpatrol.model.options import CrawlOptions
from linkpatrol.model.verdicts import Outcome
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.keys import Keys
from tests.support.mail import WorkerProcess, finish_crawl, mail_env, sent_markers
from tests.support.processes import SiteServer, wait_for
from tests.support.smtp import SMTPServer, body

SITE = "http://site.test/"
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def job_of(conn: redis.Redis, crawl_id: str) -> Job | None:
    try:
        return Job.fetch(f"mail-{crawl_id}", connection=conn)
    except Exception:  # NoSuchJobError before the pump enqueued it
        return None


def wait_status(conn: redis.Redis, crawl_id: str, status: JobStatus, timeout: float = 30) -> Job:
    """The job once it has ``status``, its status and meta from one read. (``get_status()`` reads the
    status again: a job fetched while an attempt ran, whose status read came after it finished, showed
    that attempt begun and never ended.)"""
    def check() -> Job | None:
        job = job_of(conn, crawl_id)
        return job if job is not None and job.get_status(refresh=False) == status else None

    return wait_for(check, timeout, what=f"job of {crawl_id} {status}")


def test_report_mail_delivered_with_both_parts(store: CrawlStore, smtp: SMTPServer, smtp_port: int,
                                               mail_workers: Callable[..., WorkerProcess], rq_conn: redis.Redis,
                                               redis_url: str, tmp_path: Path) -> None:
    mail_workers(mail_env(redis_url, smtp_port, tmp_path, LINKPATROL_MAIL_MAX_REFERRERS="2"))
    dead = {
        f"{SITE}missing.html": [(SITE, "Missing page"), (f"{SITE}a.html", HOSTILE), (f"{SITE}b.html", "third")],
        "http://other.test/gone": [(f"{SITE}a.html", "gone")],
    }
    crawl = finish_crawl(store, ["owner@example.org"], dead, ok=[f"{SITE}fine.html"])
    assert crawl.state == "finished" and crawl.dead == 2
    (mail,) = smtp.wait_for(1)
    msg = mail.message
    assert mail.recipients == ["owner@example.org"]
    assert mail.sender == "patrol@linkpatrol.test"
    assert msg["Subject"] == "site.test: 2 dead links found"
    assert msg["To"] == "owner@example.org" and msg["From"] == "patrol@linkpatrol.test"
    assert msg["Message-ID"].endswith("@linkpatrol.test>") and msg["Date"]
    assert msg.get_content_type() == "multipart/alternative"
    text = body(msg, "plain")
    page = body(msg, "html")
    report = f"http://reports.test/crawls/{crawl.id}"
    assert f"Full report: {report}" in text and f'href="{report}"' in page
    # grouped by target, each with at most 2 referrers and a count of the others
    assert "1. http://other.test/gone  (HTTP 404)" in text
    assert f"2. {SITE}missing.html  (HTTP 404)" in text and "linked from 3 pages:" in text
    assert f'- {SITE} "Missing page"' in text and "and 1 more (see the full report)" in text
    assert "Dead links: 2" in text and "Pages crawled: 3" in text
    # crawled text is escaped in HTML: no tag from a page survives
    assert "<script>" not in page and "onerror=\"" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert f'<a href="{SITE}missing.html">' in page
    job = wait_status(rq_conn, crawl.id, JobStatus.FINISHED)
    assert [a.get("error") for a in job.meta["attempts"]] == [None]
    assert list(sent_markers(store.r, crawl.id)) == [f"mail-{crawl.id} owner@example.org"]


def test_smtp_down_then_up_delivers_once_after_retries(store: CrawlStore, smtp_port: int,
                                                       mail_workers: Callable[..., WorkerProcess],
                                                       rq_conn: redis.Redis, redis_url: str,
                                                       tmp_path: Path) -> None:
    mail_workers(mail_env(redis_url, smtp_port, tmp_path, LINKPATROL_MAIL_ATTEMPTS="8"))
    crawl = finish_crawl(store, ["owner@example.org"], {f"{SITE}x": [(SITE, "x")]})

    def failed_attempts() -> int:
        job = job_of(rq_conn, crawl.id)
        return len([a for a in (job.meta.get("attempts", []) if job else []) if a.get("error")])

    wait_for(lambda: failed_attempts() >= 2, 40, what="two failed attempts")
    job = job_of(rq_conn, crawl.id)
    assert job is not None and job.get_status() in (JobStatus.SCHEDULED, JobStatus.QUEUED, JobStatus.STARTED)
    server = SMTPServer(smtp_port).start()
    try:
        server.wait_for(1, 40)
        job = wait_status(rq_conn, crawl.id, JobStatus.FINISHED)
        attempts = job.meta["attempts"]
        assert len(attempts) >= 3
        assert all("connection refused" in a["error"] for a in attempts[:-1])
        assert attempts[-1]["error"] is None and "sent to owner@example.org" in attempts[-1]["note"]
        time.sleep(3)  # longer than a retry interval: nothing else goes out
        assert len(server.deliveries) == 1
    finally:
        server.stop()


def test_permanent_failure_does_not_retry(store: CrawlStore, smtp: SMTPServer, smtp_port: int,
                                          mail_workers: Callable[..., WorkerProcess], rq_conn: redis.Redis,
                                          redis_url: str, tmp_path: Path) -> None:
    smtp.handler.refuse["nobody@example.org"] = "550 5.1.1 no such user here"
    mail_workers(mail_env(redis_url, smtp_port, tmp_path))
    crawl = finish_crawl(store, ["nobody@example.org", "owner@example.org"], {})
    job = wait_status(rq_conn, crawl.id, JobStatus.FAILED)
    time.sleep(3)  # three retry intervals
    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    (attempt,) = job.meta["attempts"]
    assert attempt["permanent"] and "550 5.1.1 no such user here" in attempt["error"]
    assert job.id in FailedJobRegistry(Keys().mail_queue, connection=rq_conn).get_job_ids()
    # the other address got its (friendly) mail, once
    (mail,) = smtp.deliveries
    assert mail.recipients == ["owner@example.org"]
    assert mail.message["Subject"] == "site.test: no dead links found"
    assert "Good news" in body(mail.message, "plain")


def test_two_completion_detections_send_one_mail(store: CrawlStore, smtp: SMTPServer, smtp_port: int,
                                                 mail_workers: Callable[..., WorkerProcess], rq_conn: redis.Redis,
                                                 redis_url: str, tmp_path: Path) -> None:
    crawl = finish_crawl(store, ["owner@example.org"], {f"{SITE}x": [(SITE, "x")]})
    keys = store.keys
    # The crawl ended once (the Lua pushed one event); a cancel afterwards must not push another...
    assert store.cancel(crawl.id) is False
    assert store.r.lrange(keys.ended_events, 0, -1) == [crawl.id]
    # ...and even duplicated events, one left behind by a dead pump, and two racing workers give one mail.
    store.r.rpush(keys.ended_events, crawl.id)
    store.r.rpush(keys.ended_events_processing, crawl.id)
    env = mail_env(redis_url, smtp_port, tmp_path)
    mail_workers(env)
    mail_workers(env)
    smtp.wait_for(1)
    wait_status(rq_conn, crawl.id, JobStatus.FINISHED)
    wait_for(lambda: store.r.llen(keys.ended_events) + store.r.llen(keys.ended_events_processing) == 0,
             10, what="events consumed")
    time.sleep(3)
    assert len(smtp.deliveries) == 1


def test_worker_killed_mid_send_still_sends_once(store: CrawlStore, smtp: SMTPServer, smtp_port: int,
                                                 mail_workers: Callable[..., WorkerProcess], rq_conn: redis.Redis,
                                                 redis_url: str, tmp_path: Path) -> None:
    # Retries without delay: a SIGKILLed worker's scheduler lock lasts a minute (see docs/NOTIFICATIONS.md).
    env = mail_env(redis_url, smtp_port, tmp_path, LINKPATROL_MAIL_RETRY_DELAY="0")
    smtp.handler.hold = True
    first = mail_workers(env)
    crawl = finish_crawl(store, ["owner@example.org"], {f"{SITE}x": [(SITE, "x")]})
    assert smtp.handler.holding.wait(30), "the job never reached DATA"
    first.kill_tree()
    job = job_of(rq_conn, crawl.id)
    assert job is not None and job.get_status() == JobStatus.STARTED
    smtp.handler.hold = False
    smtp.handler.release.set()
    mail_workers(env)
    smtp.wait_for(1, 40)
    job = wait_status(rq_conn, crawl.id, JobStatus.FINISHED)
    first_attempt, *_, last = job.meta["attempts"]
    assert "ended" not in first_attempt  # interrupted by the kill
    assert "sent to owner@example.org" in last["note"]
    time.sleep(3)
    assert len(smtp.deliveries) == 1


def test_real_crawl_by_two_crawlers_mails_once(store: CrawlStore, smtp: SMTPServer, smtp_port: int,
                                               mail_workers: Callable[..., WorkerProcess],
                                               crawlers: Callable[..., object], site: SiteServer,
                                               rq_conn: redis.Redis, redis_url: str, tmp_path: Path) -> None:
    """The whole path: two scrapy crawlers race through the fixture site; whichever completes the last
    request ends the crawl; the worker mails the report once."""
    crawlers()
    crawlers()
    mail_workers(mail_env(redis_url, smtp_port, tmp_path))
    crawl = store.create(site.url("main"), CrawlOptions(notify=["owner@example.org"]))
    job = wait_for(lambda: (j := job_of(rq_conn, crawl.id))
                   and j.get_status(refresh=False) in (JobStatus.FINISHED, JobStatus.FAILED) and j,
                   120, what="the mail job to end")
    assert job.get_status() == JobStatus.FINISHED, job.meta
    (mail,) = smtp.deliveries
    done = store.require(crawl.id)
    assert done.state == "finished" and done.dead > 0
    # The fixture's about page links to its own #team, which no element has: one missing anchor.
    assert done.outcome_count(Outcome.MISSING_ANCHOR) == 1
    assert mail.message["Subject"] == f"{done.host}: {done.dead} dead links and 1 missing anchor found"
    text = body(mail.message, "plain")
    assert f"{site.url('main').rstrip('/')}/missing.html  (HTTP 404)" in text
    time.sleep(3)
    assert len(smtp.deliveries) == 1
