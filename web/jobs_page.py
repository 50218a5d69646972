"""``/jobs``: the mail jobs, Kue style. Queued, running, scheduled retries (attempt number and the
time of the next one), failed (with the error), finished; retry and delete (POST, CSRF-protected by
the app's CSRFProtect, behind its login like every page); counts that update live from ``/jobs.json``.

Only jobs of the mail queue are shown or touched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import redis
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, url_for
from rq import Queue
from rq.exceptions import InvalidJobOperation, InvalidJobOperationError, NoSuchJobError
from rq.job import JOB_ID_PATTERN, Job, JobStatus
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from crawler.keys import Keys
from web.jobs import mail_queue
from web.notify_config import MailSettings

bp = Blueprint("jobs", __name__)
STATES = ("queued", "started", "scheduled", "failed", "finished")
LABELS = {"queued": "Queued", "started": "Running", "scheduled": "Scheduled retries", "failed": "Failed",
          "finished": "Finished"}
LIMIT = 50


# -- what the mail blueprints share: the RQ connection and the mail settings -----------------------
def rq_connection() -> redis.Redis:
    """A client that does not decode responses (RQ stores pickles), one per app."""
    conn = current_app.extensions.get("linkpatrol_rq")
    if conn is None:
        timeout = current_app.config.get("REDIS_TIMEOUT", 3.0)
        conn = redis.Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=timeout,
                                    socket_timeout=timeout)
        current_app.extensions["linkpatrol_rq"] = conn
    return conn  # type: ignore[no-any-return]


def mail_settings() -> MailSettings:
    settings = current_app.config.get("MAIL_SETTINGS")
    if settings is None:
        settings = MailSettings.from_env()
        current_app.config["MAIL_SETTINGS"] = settings
    return settings  # type: ignore[no-any-return]


def queue() -> Queue:
    return mail_queue(rq_connection(), Keys(current_app.config["LINKPATROL_PREFIX"]))


# -- reading jobs ----------------------------------------------------------------------------------
def _iso(value: dt.datetime | float | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        value = dt.datetime.fromtimestamp(value, dt.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _registries(q: Queue) -> dict[str, Any]:
    return {
        "started": StartedJobRegistry(queue=q),
        "scheduled": ScheduledJobRegistry(queue=q),
        "failed": FailedJobRegistry(queue=q),
        "finished": FinishedJobRegistry(queue=q),
    }


def counts(q: Queue) -> dict[str, int]:
    out = {"queued": q.count}
    out.update({state: reg.count for state, reg in _registries(q).items()})
    return out


def job_view(job: Job, state: str, q: Queue) -> dict[str, Any]:
    meta = job.meta or {}
    raw = meta.get("attempts", [])
    attempts = []
    for i, a in enumerate(raw):
        running = state == "started" and i == len(raw) - 1
        error = a.get("error")
        if not a.get("ended") and not running:
            error = "interrupted: the worker stopped during this attempt"
        attempts.append({"n": a.get("n"), "started": _iso(a.get("started")), "ended": _iso(a.get("ended")),
                         "error": error, "permanent": bool(a.get("permanent")), "note": a.get("note") or ""})
    max_attempts = 1 + len(job.retry_intervals or [])
    error = next((a["error"] for a in reversed(attempts) if a["error"]), None)
    if state == "failed" and not error:
        result = job.latest_result()
        error = (result.exc_string or "").strip().splitlines()[-1:] if result else None
        error = error[0] if error else "failed"
    view: dict[str, Any] = {
        "id": job.id,
        "title": meta.get("title") or job.description or job.id,
        "kind": meta.get("kind", ""),
        "crawl_id": meta.get("crawl_id"),
        "state": state,
        "created_at": _iso(job.created_at),
        "enqueued_at": _iso(job.enqueued_at),
        "ended_at": _iso(job.ended_at),
        "attempts": attempts,
        "attempt": len(attempts),
        "max_attempts": max_attempts,
        "next_attempt_at": None,
        "error": error if state in ("failed", "scheduled", "queued", "started") else None,
        "result": None,
        "can_retry": state in ("failed", "scheduled"),
        "can_delete": state != "started",
    }
    if state == "scheduled":
        with contextlib.suppress(NoSuchJobError):
            view["next_attempt_at"] = _iso(ScheduledJobRegistry(queue=q).get_scheduled_time(job))
    if state == "finished":
        view["result"] = job.return_value()
    return view


def listing(q: Queue, limit: int = LIMIT) -> dict[str, list[dict[str, Any]]]:
    ids: dict[str, list[str]] = {"queued": q.get_job_ids(0, limit)}
    for state, reg in _registries(q).items():
        ids[state] = reg.get_job_ids(0, limit - 1, desc=state in ("failed", "finished"))
    out: dict[str, list[dict[str, Any]]] = {}
    for state, job_ids in ids.items():
        jobs = Job.fetch_many(job_ids, connection=q.connection)
        out[state] = [job_view(job, state, q) for job in jobs if job is not None]
    return out


# -- pages and actions -----------------------------------------------------------------------------
@bp.get("/jobs")
def index() -> Any:
    q = queue()
    return render_template("jobs/index.html", counts=counts(q), jobs=listing(q), states=STATES, labels=LABELS,
                           settings=mail_settings())


@bp.get("/jobs.json")
def as_json() -> Any:
    q = queue()
    settings = mail_settings()
    return jsonify({"counts": counts(q), "jobs": listing(q), "transport": settings.transport,
                    "smtp": settings.smtp_enabled})


def _job(job_id: str) -> tuple[Job, Queue]:
    q = queue()
    if not JOB_ID_PATTERN.fullmatch(job_id) or len(job_id) > 128:
        abort(404, "There is no such job.")
    try:
        job = Job.fetch(job_id, connection=q.connection)
    except NoSuchJobError:
        abort(404, "There is no such job: it may have been deleted or expired.")
    if job.origin != q.name:
        abort(404, "There is no such job.")
    return job, q


@bp.post("/jobs/<job_id>/retry")
def retry(job_id: str) -> Any:
    job, q = _job(job_id)
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
    return redirect(url_for("jobs.index"), 303)


@bp.post("/jobs/<job_id>/delete")
def delete(job_id: str) -> Any:
    job, _ = _job(job_id)
    if job.get_status() == JobStatus.STARTED:
        flash("A job cannot be deleted while it runs; wait for its attempt to end.", "error")
    else:
        try:
            job.delete()
        except (InvalidJobOperation, InvalidJobOperationError) as exc:
            flash(f"Could not delete the job: {exc}", "error")
        else:
            flash(f"{job.meta.get('title') or job.id}: deleted.", "ok")
    return redirect(url_for("jobs.index"), 303)
