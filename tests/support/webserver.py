"""The web app as it runs in production: a gunicorn process on a free loopback port, configured by the
environment like the docker-compose service, with its log (gunicorn's and the app's) in a file; and a
small HTTP client that sends paths exactly as given, never follows redirects and keeps cookies."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from linkpatrol.cli.redis_server import free_port
from tests.support.processes import ROOT


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class WebServer:
    """``gunicorn web:create_app()`` (one gthread worker) against ``redis_url``. Every LINKPATROL_*
    variable of the test's own environment is dropped, so only ``env`` configures it."""

    def __init__(self, redis_url: str, log: Path, env: Mapping[str, str] | None = None) -> None:
        self.port = free_port()
        self.log = log
        base = {k: v for k, v in os.environ.items() if not k.startswith("LINKPATROL_")}
        full_env = {**base, "REDIS_URL": redis_url, "LINKPATROL_SECRET_KEY": "test-secret", **(env or {})}
        self._logfile = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
             "--threads", "4", "--worker-class", "gthread", "--timeout", "60", "web:create_app()"],
            cwd=ROOT, env=full_env, stdout=self._logfile, stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 30) -> WebServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited ({self.process.returncode}):\n{self.output()}")
            try:
                self.client().get("/static/style.css")
                return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"gunicorn did not answer within {timeout}s:\n{self.output()}")

    def client(self) -> WebClient:
        return WebClient(self.port)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 15) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._logfile.close()
        return self.process.returncode


class WebClient:
    """One browser-like visitor: cookies kept, redirects not followed, the path sent as written."""

    def __init__(self, port: int, timeout: float = 30) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body, headers=sent)
            resp = conn.getresponse()
            answer = Answer(resp.status, resp.headers, resp.read())
        finally:
            conn.close()
        for raw in answer.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie(raw)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        return answer

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, data: Mapping[str, str], headers: Mapping[str, str] | None = None) -> Answer:
        return self.request("POST", path, urlencode(data).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})})

    def post_json(self, path: str, payload: Any = None, *, raw: bytes | None = None,
                  headers: Mapping[str, str] | None = None) -> Answer:
        body = raw if raw is not None else json.dumps(payload).encode()
        return self.request("POST", path, body, {"Content-Type": "application/json", **(headers or {})})

    def csrf_token(self, path: str = "/") -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.get(path).text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def login(self, username: str, password: str, next_path: str | None = None) -> Answer:
        token = self.csrf_token("/login")
        path = "/login" + (f"?next={next_path}" if next_path is not None else "")
        return self.post_form(path, {"username": username, "password": password, "csrf_token": token})
