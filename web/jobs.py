"""Mail jobs: the functions RQ runs (plain arguments, no Flask) and the helpers that enqueue them.

Exactly once, as far as SMTP allows:
- the notification job of a crawl has the id ``mail-<crawl id>`` and is enqueued with RQ's atomic
  ``unique=True``, so a second enqueue of the same crawl is a no-op;
- before handing a message to SMTP the job checks the crawl's sent marker (``Keys.mail_sent``, one
  field per job and address) and sets it right after the server accepted the message. A retry,
  or a job re-run after its worker died, skips what was already sent.
- The window left: the server accepted the message and the worker died before the marker was
  written (a few milliseconds). That mail goes out twice, with the same Message-ID.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

import redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job, get_current_job

from crawler.config import Config
from crawler.keys import Keys
from crawler.storage import CrawlStore
from web.mail import InvalidAddress, ReportLinks, build_report, build_test_message, validate_address
from web.mailer import MailError, PermanentMailError, TransientMailError, open_transport
from web.notify_config import MailSettings

logger = logging.getLogger(__name__)


# -- enqueueing (called by the worker's event pump and by the web app) -----------------------------
def mail_queue(connection: redis.Redis, keys: Keys) -> Queue:
    """The RQ queue of mail jobs. ``connection`` must not decode responses (RQ stores pickles)."""
    return Queue(keys.mail_queue, connection=connection)


def retry_policy(settings: MailSettings) -> Retry | None:
    if settings.attempts <= 1:
        return None
    return Retry(max=settings.attempts - 1, interval=settings.retry_intervals())


def _enqueue(
    queue: Queue, func: Any, args: tuple[Any, ...], job_id: str, meta: dict[str, Any], settings: MailSettings,
    retry: bool = True, unique: bool = False,
) -> Job:
    return queue.enqueue_call(
        func,
        args=args,
        job_id=job_id,
        meta=meta,
        retry=retry_policy(settings) if retry else None,
        timeout=settings.job_timeout,
        result_ttl=settings.result_ttl,
        description=meta.get("title") or job_id,
        unique=unique,
    )


def notification_job_id(crawl_id: str) -> str:
    return f"mail-{crawl_id}"


def enqueue_notification(queue: Queue, crawl_id: str, settings: MailSettings) -> Job | None:
    """The one notification job of an ended crawl; None when it already exists."""
    meta = {"kind": "notify", "crawl_id": crawl_id, "title": f"Notify: crawl {crawl_id} ended"}
    try:
        return _enqueue(queue, send_crawl_report, (crawl_id,), notification_job_id(crawl_id), meta, settings,
                        unique=True)
    except DuplicateJobError:
        return None


def enqueue_report(queue: Queue, crawl_id: str, recipients: list[str], settings: MailSettings) -> Job:
    """"Send this report now": a new job each time it is asked for."""
    meta = {"kind": "report", "crawl_id": crawl_id, "to": recipients,
            "title": f"Report of crawl {crawl_id} to {', '.join(recipients)}"}
    job_id = f"report-{crawl_id}-{secrets.token_hex(4)}"
    return _enqueue(queue, send_crawl_report, (crawl_id, recipients), job_id, meta, settings)


def enqueue_test(queue: Queue, address: str, settings: MailSettings) -> Job:
    """A test email checks the settings: one attempt, no retries, so the answer comes quickly."""
    meta = {"kind": "test", "to": [address], "title": f"Test email to {address}"}
    return _enqueue(queue, send_test_mail, (address,), f"test-{secrets.token_hex(6)}", meta, settings,
                    retry=False)


# -- attempt bookkeeping, kept in job.meta["attempts"] so the jobs page can show each one ----------
def _begin_attempt(job: Job | None, transport: str) -> None:
    if job is None:
        return
    attempts = job.meta.setdefault("attempts", [])
    attempts.append({"n": len(attempts) + 1, "started": time.time(), "via": transport})
    job.save_meta()


def _end_attempt(job: Job | None, error: str | None = None, permanent: bool = False, note: str = "") -> None:
    if job is None:
        return
    attempt = job.meta["attempts"][-1]
    attempt.update(ended=time.time(), error=error, permanent=permanent, note=note)
    if permanent:
        # RQ would retry any exception while retries are left: this one must not be.
        job.retries_left = 0
    job.save_meta()


# -- the job functions -----------------------------------------------------------------------------
def _clients() -> tuple[Config, MailSettings, redis.Redis]:
    config = Config.from_env()
    return config, MailSettings.from_env(), redis.Redis.from_url(config.redis_url, decode_responses=True)


def send_crawl_report(crawl_id: str, recipients: list[str] | None = None) -> str:
    """Mail the report of a crawl: to ``recipients``, or to the crawl's notify addresses when None."""
    config, settings, client = _clients()
    job = get_current_job()
    job_id = job.id if job is not None else "direct"
    try:
        store = CrawlStore(client, config.prefix)
        crawl = store.get(crawl_id)
        if crawl is None:
            _begin_attempt(job, "-")
            _end_attempt(job, note="crawl deleted: nothing to send")
            return "crawl deleted: nothing to send"
        addresses = list(recipients) if recipients is not None else list(crawl.options.notify)
        sent_key = Keys(config.prefix).mail_sent(crawl_id)
        pending = [a for a in addresses if not client.hexists(sent_key, f"{job_id} {a}")]
        _begin_attempt(job, settings.transport)
        if not pending:
            _end_attempt(job, note="already sent")
            return "already sent to " + ", ".join(addresses) if addresses else "no addresses to notify"
        dead = store.problems(crawl_id, ("dead",), referrers=settings.max_referrers)
        links = ReportLinks(settings.base_url)
        delivered: list[str] = []
        failures: list[MailError] = []
        try:
            with open_transport(settings) as transport:
                for address in pending:
                    try:
                        to = validate_address(address)
                        validate_address(settings.sender)
                    except InvalidAddress as exc:  # no retry will fix it
                        failures.append(PermanentMailError(f"{address}: {exc}"))
                        continue
                    msg = build_report(crawl, dead, sender=settings.sender, to=to, links=links,
                                       max_targets=settings.max_targets, max_referrers=settings.max_referrers,
                                       key=f"{job_id} {address}")
                    try:
                        transport.send(msg, to)
                    except MailError as exc:
                        failures.append(exc)
                        continue
                    client.hset(sent_key, f"{job_id} {address}", repr(time.time()))
                    delivered.append(address)
        except MailError as exc:  # could not even connect
            failures.append(exc)
        return _conclude(job, delivered, failures, settings)
    finally:
        client.close()


def _conclude(job: Job | None, delivered: list[str], failures: list[MailError], settings: MailSettings) -> str:
    done = f"sent to {', '.join(delivered)} via {settings.transport}" if delivered else ""
    if not failures:
        _end_attempt(job, note=done)
        return done
    error = "; ".join(str(f) for f in failures)
    transient = [f for f in failures if not f.permanent]
    if transient:
        _end_attempt(job, error=error, note=done)
        logger.warning("mail attempt failed, may retry: %s", error)
        raise TransientMailError(error)
    _end_attempt(job, error=error, permanent=True, note=done)
    logger.warning("mail failed permanently: %s", error)
    raise PermanentMailError(error)


def send_test_mail(address: str) -> str:
    """Send the "test email" through the configured transport."""
    _, settings, client = _clients()
    client.close()
    job = get_current_job()
    _begin_attempt(job, settings.transport)
    try:
        msg = build_test_message(sender=validate_address(settings.sender), to=address, transport=settings.transport,
                                 key=f"{job.id if job else 'direct'} {address}")
        with open_transport(settings) as transport:
            transport.send(msg, address)
    except InvalidAddress as exc:
        _end_attempt(job, error=str(exc), permanent=True)
        raise PermanentMailError(str(exc)) from exc
    except MailError as exc:
        _end_attempt(job, error=str(exc), permanent=exc.permanent)
        raise
    done = f"test email sent to {address} via {settings.transport}"
    _end_attempt(job, note=done)
    return done
