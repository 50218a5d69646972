"""The mail blueprint: ``/jobs`` (the mail jobs, Kue style: queued, running, scheduled retries with
the attempt number and the time of the next one, failed with the error, finished; retry and delete;
counts that update live from ``/jobs.json``) and the mail actions of the pages (send a crawl's report
now, send a test email). Every POST is CSRF-protected by the app's CSRFProtect, behind its login like
every page. An action enqueues a job (the worker sends it) and answers at once.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from rq import Queue
from rq.exceptions import InvalidJobOperation, InvalidJobOperationError
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from linkpatrol.model.option_values import MAX_NOTIFY
from web.jobs.listing import LABELS, STATES, counts, find, listing
from web.notifications.mail.message import InvalidAddress, validate_address, validate_addresses
from web.notifications.queue import enqueue_report, enqueue_test, mail_queue
from web.notifications.settings import MailSettings
from web.resources import get_crawl_or_404, keys, rq_connection

bp = Blueprint("jobs", __name__, template_folder="templates")


def mail_settings() -> MailSettings:
    """The app's mail settings (``MAIL_SETTINGS``), read from the environment on first use."""
    settings = current_app.config.get("MAIL_SETTINGS")
    if settings is None:
        settings = MailSettings.from_env()
        current_app.config["MAIL_SETTINGS"] = settings
    return settings  # type: ignore[no-any-return]


def queue() -> Queue:
    return mail_queue(rq_connection(), keys())


def _job_or_404(job_id: str) -> tuple[Job, Queue]:
    q = queue()
    job = find(q, job_id)
    if job is None:
        abort(404, "There is no such job: it may have been deleted or expired.")
    return job, q


# -- the jobs page ---------------------------------------------------------------------------------
@bp.get("/jobs")
def jobs() -> Any:
    q = queue()
    return render_template("jobs/jobs.html", counts=counts(q), jobs=listing(q), states=STATES, labels=LABELS,
                           settings=mail_settings())


@bp.get("/jobs.json")
def jobs_json() -> Any:
    q = queue()
    settings = mail_settings()
    return jsonify({"counts": counts(q), "jobs": listing(q), "transport": settings.transport,
                    "smtp": settings.smtp_enabled})


@bp.post("/jobs/<job_id>/retry")
def retry_job(job_id: str) -> Any:
    job, q = _job_or_404(job_id)
    status = job.get_status()
    if status == JobStatus.FAILED:
        FailedJobRegistry(queue=q).requeue(job)
        flash(f"{job.meta.get('title') or job.id}: queued for one more attempt.", "ok")
    elif status == JobStatus.SCHEDULED:
        ScheduledJobRegistry(queue=q).remove(job)
        q.enqueue_job(job)
        flash(f"{job.meta.get('title') or job.id}: the next attempt starts now.", "ok")
    else:
        flash(f"Only failed or scheduled jobs can be retried; this one is {status}.", "error")
    return redirect(url_for("jobs.jobs"), 303)


@bp.post("/jobs/<job_id>/delete")
def delete_job(job_id: str) -> Any:
    job, _ = _job_or_404(job_id)
    if job.get_status() == JobStatus.STARTED:
        flash("A job cannot be deleted while it runs; wait for its attempt to end.", "error")
    else:
        try:
            job.delete()
        except (InvalidJobOperation, InvalidJobOperationError) as exc:
            flash(f"Could not delete the job: {exc}", "error")
        else:
            flash(f"{job.meta.get('title') or job.id}: deleted.", "ok")
    return redirect(url_for("jobs.jobs"), 303)


# -- mail actions ----------------------------------------------------------------------------------
@bp.post("/crawls/<crawl_id>/mail")
def send_report(crawl_id: str) -> Any:
    crawl = get_crawl_or_404(crawl_id)
    back = url_for("reports.report", crawl_id=crawl.id)
    try:
        addresses = validate_addresses(request.form.get("to", ""))
    except InvalidAddress as exc:
        flash(f"Report not sent: {exc}.", "error")
        return redirect(back, 303)
    if not addresses:
        flash("Report not sent: give an email address.", "error")
        return redirect(back, 303)
    if len(addresses) > MAX_NOTIFY:
        flash(f"Report not sent: at most {MAX_NOTIFY} addresses at once.", "error")
        return redirect(back, 303)
    settings = mail_settings()
    job = enqueue_report(queue(), crawl.id, addresses, settings)
    where = "" if settings.smtp_enabled else f" (no SMTP server is configured: it is written to {settings.mail_dir})"
    flash(f"The report is on its way to {', '.join(addresses)}{where}. Follow job {job.id} on the jobs page.", "ok")
    return redirect(back, 303)


@bp.post("/mail/test")
def send_test() -> Any:
    back = url_for("jobs.jobs")
    try:
        address = validate_address(request.form.get("to", ""))
    except InvalidAddress as exc:
        flash(f"Test email not sent: {exc}.", "error")
        return redirect(back, 303)
    settings = mail_settings()
    job = enqueue_test(queue(), address, settings)
    flash(f"Test email to {address} queued as job {job.id}: it goes through {settings.transport}.", "ok")
    return redirect(back, 303)
