"""The processes ``linkpatrol check`` starts on this machine: a private Redis and crawler processes,
in a temporary folder, each in a session (and so a process group) of its own, so that the terminal's
Ctrl-C reaches only the command, which then stops them in order and removes the folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import redis

from linkpatrol.redis_server import RedisServer

TEMP_PREFIX = "linkpatrol-check-"  # + the command's pid: the temporary folder of a run (tests look for leftovers)
STOP_GRACE = 5.0  # seconds a crawler gets to give its leases back after SIGTERM, then SIGKILL
REDIS_ATTEMPTS = 3  # another process may take the free port between its choice and redis-server's bind


def default_crawlers() -> int:
    """One crawler process per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class ServiceFailed(RuntimeError):
    """Something check started could not start or died; the message says what, in a line or a few."""


class LocalServices:
    """What one check run started, and stops again whatever happens (``stop`` is idempotent)."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-"))
        self.redis: RedisServer | None = None
        self.crawlers: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    # -- Redis --------------------------------------------------------------------------------------
    def start_redis(self) -> str:
        """A private redis-server on a free port of 127.0.0.1, nothing written to disk but its log."""
        for attempt in range(REDIS_ATTEMPTS):
            server = RedisServer(self.workdir / f"redis-{attempt}", persistent=False)
            self.redis = server
            try:
                server.start()
            except RuntimeError:
                server.stop(kill=True)
                continue
            if self._owns_port(server):
                return server.url
            server.stop(kill=True)  # its port was taken: what answered there is another process's Redis
        raise ServiceFailed(f"could not start redis-server ({self.redis.binary if self.redis else 'none'})")

    @staticmethod
    def _owns_port(server: RedisServer) -> bool:
        client = redis.Redis(port=server.port, socket_connect_timeout=1)
        try:
            pid = int(client.info("server")["process_id"])
        except redis.RedisError:
            return False
        finally:
            client.close()
        return server.process is not None and server.process.poll() is None and pid == server.process.pid

    # -- crawlers -----------------------------------------------------------------------------------
    def start_crawlers(self, count: int, env: dict[str, str]) -> None:
        """``count`` processes ``python -m scrapy crawl links`` with ``env``, their output in the work folder."""
        for _ in range(count):
            log = open(self.workdir / f"crawler-{len(self.crawlers) + 1}.log", "wb")  # noqa: SIM115 - closed in stop()
            self._logs.append(log)
            self.crawlers.append(subprocess.Popen(
                [sys.executable, "-m", "scrapy", "crawl", "links"], env=env, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            ))

    def exited_crawlers(self) -> list[tuple[int, int]]:
        """(number from 1, exit code) of the crawlers that are no longer running."""
        return [(i, code) for i, proc in enumerate(self.crawlers, 1) if (code := proc.poll()) is not None]

    def log_tail(self, number: int, lines: int = 15) -> str:
        path = self.workdir / f"crawler-{number}.log"
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- stopping -----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Crawlers first (SIGTERM, then SIGKILL of their process groups), then Redis; then the folder."""
        for proc in self.crawlers:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + STOP_GRACE
        for proc in self.crawlers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.0, deadline - time.monotonic()))
            _kill_group(proc)
        self.crawlers = []
        for log in self._logs:
            log.close()
        self._logs = []
        if self.redis is not None:
            try:
                self.redis.stop()
            except subprocess.TimeoutExpired:
                self.redis.stop(kill=True)
            self.redis = None
        shutil.rmtree(self.workdir, ignore_errors=True)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a child that outlived its grace, with its process group (its session: start_new_session)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait(10)
