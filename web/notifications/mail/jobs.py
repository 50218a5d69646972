"""The mail jobs RQ runs: importable module-level functions with plain arguments, no Flask. Each
reads the settings from the environment and builds its Redis client through ``linkpatrol.store.connection``.

Exactly once, as far as SMTP allows:
- the notification job of a crawl is enqueued once (``web.notifications.queue``: a fixed id, ``unique=True``);
- before handing a message to SMTP the job checks the crawl's sent ledger (``CrawlStore.mail_sent``,
  one entry per job and address) and records the mail right after the server accepted it
  (``mark_mail_sent``). A retry, or a job re-run after its worker died, skips what was already sent.
  The store's client waits while Redis cannot serve (``_store``), so a 250 that comes during a BUSY
  is recorded when Redis serves again instead of failing the job into a second send.
- The window left is the server's answer time: the job records the hand-over right before the final
  end-of-data line (``mark_mail_handed``); a later attempt that finds a hand-over with no answer sends
  again with the same Message-ID, or not, as ``LINKPATROL_MAIL_UNANSWERED`` says (docs/NOTIFICATIONS.md,
  "The mail window").
- The crawl's ``notify_when`` may make the notification job a no-op (``linkpatrol.watch.notify_when.skip_reason``):
  it then ends as skipped, with the reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from rq.job import Job, get_current_job

from linkpatrol.config import Config
from linkpatrol.model.verdicts import FAILING
from linkpatrol.reports.diff import diff
from linkpatrol.store import connection
from linkpatrol.store.crawls import CrawlStore
from linkpatrol.store.patience import PatientRetry
from linkpatrol.watch.notify_when import skip_reason
from web.notifications.attempts import begin_attempt, end_attempt
from web.notifications.mail.message import (
    InvalidAddress,
    ReportLinks,
    build_report,
    build_test_message,
    validate_address,
)
from web.notifications.mail.transport import MailError, PermanentMailError, TransientMailError, open_transport
from web.notifications.settings import MailSettings

logger = logging.getLogger(__name__)


@contextmanager
def _store(config: Config, settings: MailSettings) -> Iterator[CrawlStore]:
    """The crawl store on a client that waits while Redis cannot serve (BUSY, LOADING, down...) for as
    long as the job may run: a ledger write after the server's 250 is retried until it is stored."""
    client = connection.client(config.redis_url, retry=PatientRetry(settings.job_timeout, "a mail job"))
    store = CrawlStore.from_config(client, config)
    try:
        yield store
    finally:
        store.close()


# -- the job functions -----------------------------------------------------------------------------
def send_crawl_report(crawl_id: str, recipients: list[str] | None = None) -> str:
    """Mail the report of a crawl: to ``recipients``, or to the crawl's notify addresses when None (the
    notification job, which the crawl's ``notify_when`` may skip)."""
    settings = MailSettings.from_env()
    job = get_current_job()
    job_id = job.id if job is not None else "direct"
    with _store(Config.from_env(), settings) as store:
        crawl = store.get(crawl_id)
        if crawl is None:
            begin_attempt(job, "-")
            end_attempt(job, note="crawl deleted: nothing to send")
            return "crawl deleted: nothing to send"
        addresses = list(recipients) if recipients is not None else list(crawl.options.notify)
        pending = [a for a in addresses if not store.mail_sent(crawl_id, job_id, a)]
        begin_attempt(job, settings.transport)
        if not pending:
            end_attempt(job, note="already sent")
            return "already sent to " + ", ".join(addresses) if addresses else "no addresses to notify"
        failing = store.problems(crawl_id, FAILING, referrers=settings.max_referrers)
        changes = diff(store, crawl)  # what changed since the site's previous finished crawl
        failing, _ = changes.accepted.split(failing)  # the site's accepted links are counted, never listed
        reason = skip_reason(crawl, changes, len(failing)) if recipients is None else ""
        if reason:
            logger.info("crawl %s: no mail to %s: %s", crawl_id, ", ".join(pending), reason)
            end_attempt(job, note=f"skipped: {reason}", skipped=reason)
            return f"skipped: {reason}"
        orphans = store.orphans(crawl_id) if crawl.options.sitemaps else None
        links = ReportLinks(settings.base_url)
        delivered: list[str] = []
        failures: list[MailError] = []
        notes: list[str] = []
        try:
            with open_transport(settings) as transport:
                for address in pending:
                    try:
                        to = validate_address(address)
                        validate_address(settings.sender)
                    except InvalidAddress as exc:  # no retry will fix it
                        failures.append(PermanentMailError(f"{address}: {exc}"))
                        continue
                    handed = store.mail_handed(crawl_id, job_id, address)
                    if handed is not None:
                        note = _unanswered(address, handed, settings)
                        logger.warning("crawl %s: %s", crawl_id, note)
                        notes.append(note)
                        if settings.unanswered == "skip":
                            continue
                    msg = build_report(crawl, failing, sender=settings.sender, to=to, links=links,
                                       max_targets=settings.max_targets, max_referrers=settings.max_referrers,
                                       key=f"{job_id} {address}", orphans=orphans, changes=changes)
                    try:
                        transport.send(msg, to, handing=partial(store.mark_mail_handed, crawl_id, job_id, address))
                    except MailError as exc:
                        if not exc.unanswered:  # refused or never handed over: not taken
                            store.clear_mail_handed(crawl_id, job_id, address)
                        failures.append(exc)
                        continue
                    store.mark_mail_sent(crawl_id, job_id, address)
                    delivered.append(address)
        except MailError as exc:  # could not even connect
            failures.append(exc)
    return _conclude(job, delivered, failures, settings, notes)


def _unanswered(address: str, handed: float, settings: MailSettings) -> str:
    when = time.strftime("%H:%M:%S UTC", time.gmtime(handed))
    if settings.unanswered == "skip":
        return (f"{address}: not sent again: an earlier attempt handed it to the server at {when} and its "
                "worker stopped before the answer (LINKPATROL_MAIL_UNANSWERED=skip)")
    return (f"{address}: sent again: an earlier attempt handed it to the server at {when} and its worker "
            "stopped before the answer; same Message-ID, so a receiver can drop a duplicate")


def _conclude(job: Job | None, delivered: list[str], failures: list[MailError], settings: MailSettings,
              notes: list[str] | None = None) -> str:
    done = f"sent to {', '.join(delivered)} via {settings.transport}" if delivered else ""
    done = "; ".join([done, *(notes or [])]).strip("; ")
    if not failures:
        end_attempt(job, note=done)
        return done
    error = "; ".join(str(f) for f in failures)
    transient = [f for f in failures if not f.permanent]
    if transient:
        end_attempt(job, error=error, note=done)
        logger.warning("mail attempt failed, may retry: %s", error)
        raise TransientMailError(error)
    end_attempt(job, error=error, permanent=True, note=done)
    logger.warning("mail failed permanently: %s", error)
    raise PermanentMailError(error)


def send_test_mail(address: str) -> str:
    """Send the "test email" through the configured transport."""
    settings = MailSettings.from_env()
    job = get_current_job()
    begin_attempt(job, settings.transport)
    try:
        msg = build_test_message(sender=validate_address(settings.sender), to=address, transport=settings.transport,
                                 key=f"{job.id if job else 'direct'} {address}")
        with open_transport(settings) as transport:
            transport.send(msg, address)
    except InvalidAddress as exc:
        end_attempt(job, error=str(exc), permanent=True)
        raise PermanentMailError(str(exc)) from exc
    except MailError as exc:
        end_attempt(job, error=str(exc), permanent=exc.permanent)
        raise
    done = f"test email sent to {address} via {settings.transport}"
    end_attempt(job, note=done)
    return done
