"""Attempt bookkeeping of the RQ jobs of the mail queue (mails and webhooks), kept in
``job.meta["attempts"]`` so the jobs page can show each attempt: when, what it did, what failed."""

from __future__ import annotations

import time

from rq.job import Job


def begin_attempt(job: Job | None, via: str) -> None:
    if job is None:
        return
    attempts = job.meta.setdefault("attempts", [])
    attempts.append({"n": len(attempts) + 1, "started": time.time(), "via": via})
    job.save_meta()


def end_attempt(job: Job | None, error: str | None = None, permanent: bool = False, note: str = "",
                skipped: str = "") -> None:
    """``skipped``: why nothing was due (the jobs page shows the job as skipped, with this reason)."""
    if job is None:
        return
    attempt = job.meta["attempts"][-1]
    attempt.update(ended=time.time(), error=error, permanent=permanent, note=note)
    if skipped:
        job.meta["skipped"] = skipped
    if permanent:
        # RQ would retry any exception while retries are left: this one must not be.
        job.retries_left = 0
    job.save_meta()
