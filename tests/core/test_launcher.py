"""``make run`` (linkpatrol.cli.launcher): a port another program holds is one line naming the variable to
change and an exit before anything starts; otherwise the address is announced only once our web app
answers there, and Ctrl-C stops every process it started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import ROOT, wait_for


@pytest.fixture
def occupied() -> Iterator[int]:
    """A port another program listens on (it never answers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def launch(env: dict[str, str], state: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "linkpatrol.cli.launcher"], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "LINKPATROL_STATE_DIR": str(state), **env})


def refused(env: dict[str, str], state: Path) -> tuple[int, str, str, float]:
    began = time.monotonic()
    proc = launch(env, state)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err, time.monotonic() - began


def test_web_port_taken_is_one_line_and_nothing_starts(occupied: int, redis_url: str, tmp_path: Path) -> None:
    code, out, err, took = refused({"LINKPATROL_WEB_PORT": str(occupied), "REDIS_URL": redis_url}, tmp_path)
    assert code == 2
    [line] = err.splitlines()
    assert f"port {occupied}" in line and "LINKPATROL_WEB_PORT" in line and "in use" in line
    assert "running" not in out and "started" not in out and "http://" not in out
    assert not (tmp_path / "logs").exists()  # no process was started
    assert took < 20  # at once: the old launcher started everything, announced the URL and quit 5 s later


def test_redis_port_taken_is_one_line_and_nothing_starts(occupied: int, tmp_path: Path) -> None:
    env = {"LINKPATROL_REDIS_PORT": str(occupied), "LINKPATROL_WEB_PORT": "0", "REDIS_URL": ""}
    code, out, err, _ = refused(env, tmp_path)
    assert code == 2 and "LINKPATROL_WEB_PORT must be at least 1, got '0'" in err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        env["LINKPATROL_WEB_PORT"] = str(s.getsockname()[1])  # free once closed
    code, out, err, _ = refused(env, tmp_path)
    assert code == 2
    [line] = err.splitlines()
    assert f"port {occupied}" in line and "LINKPATROL_REDIS_PORT" in line
    assert out == "" and not (tmp_path / "redis").exists()


def test_announces_its_own_web_app_and_stops_everything(redis_url: str, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = launch({"LINKPATROL_WEB_PORT": str(port), "REDIS_URL": redis_url, "LINKPATROL_CRAWLERS": "1"}, tmp_path)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("linkpatrol is running"):
                break
        assert lines and lines[-1].startswith("linkpatrol is running"), "".join(lines)
        # Announced only once the app answers: the first request after the line succeeds.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
            assert resp.status == 200 and b"linkpatrol" in resp.read().lower()
        names = {log.stem for log in (tmp_path / "logs").glob("*.log")}
        assert names == {"crawler-1", "web", "worker", "cron"}
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("stopped.")
    # Every process it started is gone: nothing listens on the web port any more.
    wait_for(lambda: _refuses(port), timeout=10, what=f"port {port} to be free")


def _refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False
