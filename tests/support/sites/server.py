"""A fast fixture HTTP server (aiohttp, real listen backlog) serving several sites on several ports.

Run as ``python -m tests.support.sites.server [--bind ADDRESS] SITE [ARGS]``: it binds every site of the
module ``tests.support.sites.SITE`` on a free port of ADDRESS (default 127.0.0.1), prints one JSON line
``{"name": port, ...}`` and serves until killed. On any port:

- ``GET /__hits`` answers the request counts per "METHOD path" of that site;
- ``GET /__log`` answers ``{"now": t, "max_concurrent": n, "bytes": body bytes sent, "log": [[arrival,
  method, path, status, client address, conditional], ...]}``, times from the server's monotonic clock;
  ``conditional``: the request carried If-None-Match or If-Modified-Since.

A route with the header ``X-Once`` answers its status only the first time, and 200 afterwards (a
host that rate-limits once). A route with an ``etag`` or a ``last_modified`` sends it and answers 304,
without a body, to a conditional request that names it (``lies``: to any conditional request).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Route:
    status: int = 200
    body: str = ""
    content_type: str = "text/html"
    headers: dict[str, str] = field(default_factory=dict)
    head_status: int | None = None  # answer HEAD with this status instead (a server that refuses HEAD)
    delay: float = 0.0  # seconds before answering
    reset: bool = False  # close the connection without an answer
    raw: bytes | None = None  # a body sent as it is (binary: a gzipped sitemap), instead of ``body``
    etag: str = ""  # sent as ETag; If-None-Match naming it gets a 304
    last_modified: str = ""  # sent as Last-Modified; If-Modified-Since naming it gets a 304
    lies: bool = False  # 304 to every conditional request, whatever changed


class Generated(dict):  # type: ignore[type-arg]
    """Routes computed from the path: ``make(path)`` answers a Route or None (404)."""

    def __init__(self, make: Any) -> None:
        super().__init__()
        self.make = make

    def get(self, path: str, default: Any = None) -> Any:  # type: ignore[override]
        return self.make(path) or default


def _unchanged(request: web.Request, route: Route) -> bool:
    """Whether a conditional request names the route's current version (If-None-Match first, as RFC 9110
    says)."""
    if "If-None-Match" in request.headers:
        return bool(route.etag) and request.headers["If-None-Match"] == route.etag
    return bool(route.last_modified) and request.headers.get("If-Modified-Since") == route.last_modified


def make_app(routes: dict[str, Route], ports: dict[str, int]) -> web.Application:
    hits: Counter[str] = Counter()
    log: list[list[Any]] = []
    state = {"now": 0, "max": 0, "bytes": 0}
    answered: set[str] = set()

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path_qs
        if path == "/__hits":
            return web.json_response(dict(hits))
        if path == "/__log":
            return web.json_response({"now": time.monotonic(), "max_concurrent": state["max"],
                                      "bytes": state["bytes"], "log": log})
        arrival = time.monotonic()
        hits[f"{request.method} {path}"] += 1
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        try:
            route = routes.get(path) or routes.get(request.path)
            if route is None:
                log.append([arrival, request.method, path, 404, request.remote])
                return web.Response(status=404, text="not found", content_type="text/plain")
            if route.delay:
                await asyncio.sleep(route.delay)
            if route.reset:
                assert request.transport is not None
                request.transport.close()
                raise asyncio.CancelledError
            status = route.status
            if request.method == "HEAD" and route.head_status is not None:
                status = route.head_status
            headers = {k: v.format(**ports) for k, v in route.headers.items() if k != "X-Once"}
            if "X-Once" in route.headers:
                if path in answered:
                    status, headers = 200, {}
                answered.add(path)
            conditional = "If-None-Match" in request.headers or "If-Modified-Since" in request.headers
            if route.etag:
                headers["ETag"] = route.etag
            if route.last_modified:
                headers["Last-Modified"] = route.last_modified
            if status == 200 and conditional and (route.lies or _unchanged(request, route)):
                status = 304
            log.append([arrival, request.method, path, status, request.remote, conditional])
            if status == 304:
                return web.Response(status=304, headers=headers)
            data = route.raw if route.raw is not None else (route.body.format(**ports) if route.body else "").encode()
            state["bytes"] += len(data)
            return web.Response(status=status, body=data, headers=headers, content_type=route.content_type)
        finally:
            state["now"] -= 1

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def serve(bind: str, module_name: str, args: list[str]) -> None:
    module = importlib.import_module(f"tests.support.sites.{module_name}")
    sites: dict[str, Any] = module.build(*args)
    ports: dict[str, int] = {}
    runners = []
    for name, spec in sites.items():
        routes, tls = (spec, None) if isinstance(spec, dict) else spec
        ssl_ctx = None
        if tls is not None:
            ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_ctx.load_cert_chain(*tls)
        runner = web.AppRunner(make_app(routes, ports), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, bind, 0, backlog=1024, ssl_context=ssl_ctx)
        await site.start()
        ports[name] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        runners.append(runner)
    print(json.dumps(ports), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("site")
    parser.add_argument("args", nargs="*")
    opts = parser.parse_args()
    asyncio.run(serve(opts.bind, opts.site, opts.args))
