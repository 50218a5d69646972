"""The mail jobs RQ runs: importable module-level functions with plain arguments, no Flask. Each
reads the settings from the environment and builds its Redis client through ``linkpatrol.connection``.

Exactly once, as far as SMTP allows:
- the notification job of a crawl is enqueued once (``web.mail.queue``: a fixed id, ``unique=True``);
- before handing a message to SMTP the job checks the crawl's sent ledger (``CrawlStore.mail_sent``,
  one entry per job and address) and records the mail right after the server accepted it
  (``mark_mail_sent``). A retry, or a job re-run after its worker died, skips what was already sent.
- The window left: the server accepted the message and the worker died before the ledger was
  written (a few milliseconds). That mail goes out twice, with the same Message-ID.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rq.job import Job, get_current_job

from linkpatrol import connection
from linkpatrol.config import Config
from linkpatrol.diff import diff
from linkpatrol.store import CrawlStore
from linkpatrol.verdicts import Outcome
from web.mail.message import InvalidAddress, ReportLinks, build_report, build_test_message, validate_address
from web.mail.settings import MailSettings
from web.mail.transport import MailError, PermanentMailError, TransientMailError, open_transport

logger = logging.getLogger(__name__)


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


@contextmanager
def _store(config: Config) -> Iterator[CrawlStore]:
    store = CrawlStore.from_config(connection.client(config.redis_url), config)
    try:
        yield store
    finally:
        store.close()


# -- the job functions -----------------------------------------------------------------------------
def send_crawl_report(crawl_id: str, recipients: list[str] | None = None) -> str:
    """Mail the report of a crawl: to ``recipients``, or to the crawl's notify addresses when None."""
    settings = MailSettings.from_env()
    job = get_current_job()
    job_id = job.id if job is not None else "direct"
    with _store(Config.from_env()) as store:
        crawl = store.get(crawl_id)
        if crawl is None:
            _begin_attempt(job, "-")
            _end_attempt(job, note="crawl deleted: nothing to send")
            return "crawl deleted: nothing to send"
        addresses = list(recipients) if recipients is not None else list(crawl.options.notify)
        pending = [a for a in addresses if not store.mail_sent(crawl_id, job_id, a)]
        _begin_attempt(job, settings.transport)
        if not pending:
            _end_attempt(job, note="already sent")
            return "already sent to " + ", ".join(addresses) if addresses else "no addresses to notify"
        dead = store.problems(crawl_id, (Outcome.DEAD, Outcome.MISSING_ANCHOR), referrers=settings.max_referrers)
        orphans = store.orphans(crawl_id) if crawl.options.sitemaps else None
        changes = diff(store, crawl)  # what changed since the site's previous finished crawl
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
                                       key=f"{job_id} {address}", orphans=orphans, changes=changes)
                    try:
                        transport.send(msg, to)
                    except MailError as exc:
                        failures.append(exc)
                        continue
                    store.mark_mail_sent(crawl_id, job_id, address)
                    delivered.append(address)
        except MailError as exc:  # could not even connect
            failures.append(exc)
    return _conclude(job, delivered, failures, settings)


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
    settings = MailSettings.from_env()
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
