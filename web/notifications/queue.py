"""Enqueueing mail jobs (from the worker's event pump and from the web app's mail actions).

The retry policy is given at enqueue time (RQ's ``Retry``), from ``MailSettings``. The notification
job of a crawl has the fixed id ``mail-<crawl id>`` and is enqueued with RQ's atomic ``unique=True``,
so a second enqueue of the same crawl is a no-op.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any

from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job

from linkpatrol.store.connection import Client
from linkpatrol.store.keys import Keys
from linkpatrol.watch.webhooks import redact
from web.notifications.mail.jobs import send_crawl_report, send_test_mail
from web.notifications.settings import MailSettings
from web.notifications.webhooks.jobs import send_webhook


def mail_queue(connection: Client, keys: Keys) -> Queue:
    """The RQ queue of mail jobs. ``connection`` must not decode responses (RQ stores pickles)."""
    return Queue(keys.mail_queue, connection=connection)


def retry_policy(settings: MailSettings) -> Retry | None:
    if settings.attempts <= 1:
        return None
    return Retry(max=settings.attempts - 1, interval=settings.retry_intervals())


def _enqueue(
    queue: Queue, func: Callable[..., str], args: tuple[Any, ...], job_id: str, meta: dict[str, Any],
    settings: MailSettings, retry: bool = True, unique: bool = False,
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


def webhook_job_id(crawl_id: str, index: int) -> str:
    return f"webhook-{crawl_id}-{index}"


def enqueue_webhooks(queue: Queue, crawl_id: str, urls: list[str], settings: MailSettings) -> list[Job]:
    """One job per webhook URL of an ended crawl (fixed ids, ``unique``: a second enqueue is a no-op).
    The delivery id is chosen here, once: every attempt sends the same one."""
    jobs = []
    for index, url in enumerate(urls):
        meta = {"kind": "webhook", "crawl_id": crawl_id, "target": redact(url),
                "title": f"Webhook: crawl {crawl_id} ended, to {redact(url)}"}
        try:
            jobs.append(_enqueue(queue, send_webhook, (crawl_id, url, str(uuid.uuid4())),
                                 webhook_job_id(crawl_id, index), meta, settings, unique=True))
        except DuplicateJobError:
            continue
    return jobs


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
