"""The processes ``linkpatrol check`` starts on this machine: a private Redis and crawler processes,
in a temporary folder, each in a session (and so a process group) of its own, so that the terminal's
Ctrl-C reaches only the command, which then stops them in order and removes the folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

import redis

from linkpatrol.cli import warm_crawlers
from linkpatrol.cli.redis_server import RedisServer
from linkpatrol.cli.warm_crawlers import TEMP_PREFIX, default_crawlers

__all__ = ["TEMP_PREFIX", "LocalServices", "ServiceFailed", "default_crawlers"]

STOP_GRACE = 5.0  # seconds a crawler on a shared Redis gets to give its leases back after SIGTERM, then SIGKILL
REDIS_ATTEMPTS = 3  # another process may take the free port between its choice and redis-server's bind


class ServiceFailed(RuntimeError):
    """Something check started could not start or died; the message says what, in a line or a few."""


class LocalServices:
    """What one check run started, and stops again whatever happens (``stop`` is idempotent)."""

    def __init__(self) -> None:
        # The folder the warm crawlers log into, when this command started some (linkpatrol.cli.entry).
        self.workdir = warm_crawlers.adopt() or Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-"))
        self.redis: RedisServer | None = None
        self.crawlers: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []  # each crawler's, by its number from 1
        self.private = False  # a private Redis: nothing the crawlers write outlives the run

    # -- Redis --------------------------------------------------------------------------------------
    def start(self, crawlers: int, env: dict[str, str]) -> str:
        """A private redis-server on a free port of 127.0.0.1 (nothing written to disk but its log) and
        ``crawlers`` crawler processes on it (``env`` plus its REDIS_URL), started together: a crawler
        takes about a second to start, Redis a few hundredths, so the crawlers are started first, with
        the address the server is about to listen on (they wait for Redis if they are quicker). Should
        the server not get that port, the crawlers are killed long before they could connect, and both
        start again on another."""
        self.private = True
        for attempt in range(REDIS_ATTEMPTS):
            server = RedisServer(self.workdir / f"redis-{attempt}", persistent=False)
            self.redis = server
            self.start_crawlers(crawlers, {**env, "REDIS_URL": server.url})
            try:
                server.start()
            except RuntimeError:
                server.stop(kill=True)
                self._stop_crawlers()
                continue
            if self._owns_port(server):
                return server.url
            server.stop(kill=True)  # its port was taken: what answered there is another process's Redis
            self._stop_crawlers()
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
        """``count`` crawler processes (``scrapy crawl links``) with ``env``, their output in the work folder:
        those this command started warm first (told ``env`` now), then new ones, told at once."""
        for _ in range(count):
            warm = warm_crawlers.take(env)
            if warm is not None:
                proc, log = warm
            else:
                log = open(self.workdir / f"crawler-{len(self._logs) + 1}-cold.log", "wb")  # noqa: SIM115 - closed in stop()
                proc = warm_crawlers.launch(log)
                warm_crawlers.tell(proc, env)  # a crawler that dies at once says so in its log
            self._logs.append(log)
            self.crawlers.append(proc)

    def exited_crawlers(self) -> list[tuple[int, int]]:
        """(number from 1, exit code) of the crawlers that are no longer running."""
        return [(i, code) for i, proc in enumerate(self.crawlers, 1) if (code := proc.poll()) is not None]

    def log_tail(self, number: int, lines: int = 15) -> str:
        if not 1 <= number <= len(self._logs):
            return ""
        path = Path(self._logs[number - 1].name)
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- stopping -----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Crawlers first, then Redis (the private one killed: it keeps nothing); then the folder. On a
        shared Redis a crawler gets SIGTERM and ``STOP_GRACE`` seconds to give back what it holds (then
        SIGKILL of its process group); on the private one nothing it could give back outlives the run:
        SIGKILL at once (a graceful stop costs a few tenths of a second of Python's shut-down, for
        nothing)."""
        self._stop_crawlers()
        if self.redis is not None:
            try:
                # The private one keeps nothing (no save, no append-only file): SIGKILL, not the 0.1 s
                # of redis-server's shut-down.
                self.redis.stop(kill=self.private)
            except subprocess.TimeoutExpired:
                self.redis.stop(kill=True)
            self.redis = None
        shutil.rmtree(self.workdir, ignore_errors=True)


    def _stop_crawlers(self) -> None:
        if not self.private:
            for proc in self.crawlers:
                if proc.poll() is None:
                    proc.terminate()
            deadline = time.monotonic() + STOP_GRACE
            for proc in self.crawlers:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(max(0.0, deadline - time.monotonic()))
        for proc in self.crawlers:  # all killed, then all waited for: they end together
            _kill_group(proc)
        for proc in self.crawlers:
            proc.wait(10)
            if proc.stdin is not None:  # held open while it ran (warm_crawlers.tell)
                proc.stdin.close()
        self.crawlers = []
        for log in self._logs:
            log.close()
        self._logs = []


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a child that outlived its grace, with its process group (its session: start_new_session);
    the caller waits for it."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
