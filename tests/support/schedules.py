"""Helpers for the schedule tests: RQ's cron process (``python -m web.processes.cron``) and the
environment that makes ticks quick and the clock movable (a site that changes between two crawls is
``tests.support.receivers.ChangingSite``)."""

from __future__ import annotations

import contextlib
import signal
from pathlib import Path

import psutil

from tests.support.processes import LoggedProcess


def schedule_env(redis_url: str, clock: Path, **extra: str) -> dict[str, str]:
    """A tick every second, a one-minute minimum, and the clock offset read from ``clock`` (seconds)."""
    return {"REDIS_URL": redis_url, "LINKPATROL_SCHEDULE_TICK": "1", "LINKPATROL_MIN_SCHEDULE_INTERVAL": "60",
            "LINKPATROL_TEST_CLOCK_FILE": str(clock), **extra}


def kill_strays(redis_url: str) -> int:
    """SIGKILL worker processes of this Redis left without their parent: a work horse forked in the
    instant between ``WorkerProcess.kill_tree`` listing the tree and killing its parent outlives it and
    would run its tick job after the test moved the clock. Returns how many there were."""
    strays = 0
    for proc in psutil.process_iter(["cmdline", "ppid"]):
        with contextlib.suppress(psutil.Error):
            if proc.info["ppid"] == 1 and "web.processes.worker" in " ".join(proc.info["cmdline"] or []) \
                    and proc.environ().get("REDIS_URL") == redis_url:
                proc.send_signal(signal.SIGKILL)
                strays += 1
    return strays


class CronProcess(LoggedProcess):
    """``python -m web.processes.cron`` with its log in a file (appended to across restarts)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        super().__init__(["web.processes.cron"], env, log, append=True)
