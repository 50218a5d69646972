"""Real HTTP servers on loopback that the tests change while they run, each in a thread of the test
process (aiohttp): a webhook receiver that answers a script of statuses and records every request, and
a site whose pages the test rewrites between two crawls."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class Received:
    at: float  # time.monotonic() on arrival
    path: str  # with its query string
    headers: dict[str, str]
    body: bytes


class _LoopbackServer:
    """An aiohttp application on 127.0.0.1, on its own event loop in a daemon thread."""

    def __init__(self) -> None:
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raise NotImplementedError

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=128)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def start(self) -> Any:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class WebhookReceiver(_LoopbackServer):
    """Answers the statuses of ``script`` in turn (then 200), recording each request."""

    def __init__(self, script: list[int] | None = None) -> None:
        super().__init__()
        self.script = list(script or [])
        self.received: list[Received] = []
        self._lock = threading.Lock()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        with self._lock:
            self.received.append(Received(time.monotonic(), request.path_qs, dict(request.headers), body))
            status = self.script.pop(0) if self.script else 200
        return web.Response(status=status, text=f"answer {status}")

    def requests(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} webhook requests within {timeout}s, got {len(self.requests())}")
            time.sleep(0.05)
        return self.requests()


class ChangingSite(_LoopbackServer):
    """A site whose pages (path -> (status, html)) the test replaces between crawls; other paths 404."""

    def __init__(self, pages: dict[str, tuple[int, str]] | None = None) -> None:
        super().__init__()
        self.pages = dict(pages or {})

    async def handle(self, request: web.Request) -> web.StreamResponse:
        status, html = self.pages.get(request.path, (404, "not found"))
        return web.Response(status=status, text=html, content_type="text/html")

    def change(self, pages: dict[str, tuple[int, str]]) -> None:
        self.pages = dict(pages)

    def links(self, *targets: str) -> None:
        """The home page links to ``targets`` (paths); robots.txt allows all. Other pages stay as set."""
        body = "".join(f'<a href="{t}">{t}</a> ' for t in targets)
        self.pages["/"] = (200, f"<html><head><title>Home</title></head><body>{body}</body></html>")
        self.pages["/robots.txt"] = (200, "User-agent: *\nAllow: /\n")
