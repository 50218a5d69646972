"""Reading the mail queue (mails and webhooks) for the jobs page: counts by state, and each job with
its attempts.

Only jobs of the mail queue are shown or touched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import JOB_ID_PATTERN, Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

STATES = ("queued", "started", "scheduled", "failed", "finished")
LABELS = {"queued": "Queued", "started": "Running", "scheduled": "Scheduled retries", "failed": "Failed",
          "finished": "Finished"}
LIMIT = 50


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
        "target": meta.get("target"),  # a webhook's URL, without its query string
        "skipped": meta.get("skipped"),  # why no mail or webhook was due (the crawl's notify_when)
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
        # cleanup=False: viewing the page must not reap jobs (after a long Redis outage RQ's clean-up
        # would take back jobs whose workers are alive and about to report).
        ids[state] = reg.get_job_ids(0, limit - 1, desc=state in ("failed", "finished"), cleanup=False)
    out: dict[str, list[dict[str, Any]]] = {}
    for state, job_ids in ids.items():
        jobs = Job.fetch_many(job_ids, connection=q.connection)
        out[state] = [job_view(job, state, q) for job in jobs if job is not None]
    return out


def find(q: Queue, job_id: str) -> Job | None:
    """A job of this queue by id; None for anything else (a bad id, a job gone, another queue's)."""
    if not JOB_ID_PATTERN.fullmatch(job_id) or len(job_id) > 128:
        return None
    try:
        job = Job.fetch(job_id, connection=q.connection)
    except NoSuchJobError:
        return None
    return job if job.origin == q.name else None
