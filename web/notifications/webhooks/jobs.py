"""The webhook job: one per webhook URL of an ended crawl, enqueued by the mail worker's event pump
(``web.notifications.queue.enqueue_webhooks``) with the mail jobs' retry policy (exponential backoff).

Each attempt reads the crawl and its diff again, so the body says what is true when it is sent; the
delivery id (an argument, fixed at enqueue time) is the same in every attempt, so a receiver can
recognise a retry of a delivery it already took.
"""

from __future__ import annotations

import logging

from rq.job import get_current_job

from linkpatrol.config import Config
from linkpatrol.model.addresses import AddressPolicy
from linkpatrol.model.verdicts import FAILING
from linkpatrol.reports.diff import diff
from linkpatrol.store import connection
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.patience import PatientRetry
from linkpatrol.watch.notify_when import skip_reason
from linkpatrol.watch.webhooks import (
    DELIVERY_HEADER,
    EVENT,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WebhookError,
    deliver,
    encode,
    payload,
    redact,
    sign,
)
from web.notifications.attempts import begin_attempt, end_attempt
from web.notifications.mail.message import ReportLinks
from web.notifications.settings import MailSettings

logger = logging.getLogger(__name__)


def send_webhook(crawl_id: str, url: str, delivery: str) -> str:
    """POST the ended crawl's summary to ``url``."""
    settings = MailSettings.from_env()
    job = get_current_job()
    where = redact(url)
    begin_attempt(job, where)
    config = Config.from_env()
    # Waits while Redis cannot serve (BUSY, LOADING...) for as long as the job may run.
    client = connection.client(config.redis_url, retry=PatientRetry(settings.job_timeout, "a webhook job"))
    store = CrawlStore.from_config(client, config)
    try:
        crawl = store.get(crawl_id)
        if crawl is None:
            end_attempt(job, note="crawl deleted: nothing to send")
            return "crawl deleted: nothing to send"
        changes = diff(store, crawl)
        # As the mail counts them: the site's accepted links are no reason to notify.
        failing, _ = changes.accepted.split(store.problems(crawl_id, FAILING, referrers=0))
        reason = skip_reason(crawl, changes, len(failing))
        if reason:
            logger.info("crawl %s: no webhook to %s: %s", crawl_id, where, reason)
            end_attempt(job, note=f"skipped: {reason}", skipped=reason)
            return f"skipped: {reason}"
        body = encode(payload(crawl, changes, ReportLinks(settings.base_url).report_url(crawl_id), delivery))
        headers = {DELIVERY_HEADER: delivery, EVENT_HEADER: EVENT}
        secret = store.webhook_secret(crawl_id)
        if secret:
            headers[SIGNATURE_HEADER] = sign(body, secret)
    finally:
        store.close()
    try:
        answer = deliver(url, body, headers, AddressPolicy.from_env(), timeout=settings.webhook_timeout)
    except WebhookError as exc:
        end_attempt(job, error=str(exc), permanent=exc.permanent)
        logger.warning("webhook of crawl %s %s: %s", crawl_id, "failed" if exc.permanent else "may retry", exc)
        raise
    done = f"delivered to {where}: HTTP {answer.status}"
    end_attempt(job, note=done)
    return done
