"""Mail actions from the pages: send a crawl's report to an address now, and send a test email.

Both enqueue a job (the worker sends it) and answer at once; the jobs page follows it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, request, url_for

from crawler.storage import MAX_NOTIFY
from web import store
from web.jobs import enqueue_report, enqueue_test
from web.jobs_page import mail_settings, queue
from web.mail import InvalidAddress, validate_address, validate_addresses

bp = Blueprint("notify", __name__)


@bp.post("/crawls/<crawl_id>/mail")
def send_report(crawl_id: str) -> Any:
    crawl = store().get(crawl_id) if len(crawl_id) <= 64 else None
    if crawl is None:
        abort(404, "There is no such crawl: it may have been deleted.")
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
    back = url_for("jobs.index")
    try:
        address = validate_address(request.form.get("to", ""))
    except InvalidAddress as exc:
        flash(f"Test email not sent: {exc}.", "error")
        return redirect(back, 303)
    settings = mail_settings()
    job = enqueue_test(queue(), address, settings)
    flash(f"Test email to {address} queued as job {job.id}: it goes through {settings.transport}.", "ok")
    return redirect(back, 303)


def init_app(app: Flask) -> None:
    """Register the mail blueprints (the jobs page and these actions) on the app."""
    from web import jobs_page

    app.register_blueprint(jobs_page.bp)
    app.register_blueprint(bp)
