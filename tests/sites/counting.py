"""A fixture server that keeps a log of every request, for the politeness and network tests, and
``CountingSite``, which runs it in a subprocess (optionally inside a network namespace).

Run as ``python -m tests.sites.counting BIND_ADDRESS SITE [ARGS]``: it binds every site of
``tests.sites.SITE`` (routes as in ``tests.sites.server``) on a free port of BIND_ADDRESS, prints one
JSON line ``{"name": port, ...}`` and serves until killed. ``GET /__log`` on any port answers
``{"now": t, "max_concurrent": n, "log": [[arrival, method, path, status, client address], ...]}`` for that site, with
times from the server's monotonic clock. A route with the header ``X-Once`` answers its status only
the first time, and 200 afterwards (a host that rate-limits once).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.sites.server import Route

ROOT = Path(__file__).resolve().parent.parent.parent
FETCH = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"


def make_app(routes: dict[str, Route], ports: dict[str, int]) -> web.Application:
    log: list[list[Any]] = []
    state = {"now": 0, "max": 0}
    answered: set[str] = set()

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.path == "/__log":
            return web.json_response({"now": time.monotonic(), "max_concurrent": state["max"], "log": log})
        arrival = time.monotonic()
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        try:
            route = routes.get(request.path_qs) or routes.get(request.path)
            if route is None:
                log.append([arrival, request.method, request.path_qs, 404, request.remote])
                return web.Response(status=404, text="not found", content_type="text/plain")
            if route.delay:
                await asyncio.sleep(route.delay)
            headers = {k: v.format(**ports) for k, v in route.headers.items() if k != "X-Once"}
            status = route.status
            if "X-Once" in route.headers:
                if request.path_qs in answered:
                    status, headers = 200, {}
                answered.add(request.path_qs)
            log.append([arrival, request.method, request.path_qs, status, request.remote])
            body = route.body.format(**ports) if route.body else ""
            return web.Response(status=status, body=body.encode(), headers=headers, content_type=route.content_type)
        finally:
            state["now"] -= 1

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def serve(bind: str, module_name: str, args: list[str]) -> None:
    module = importlib.import_module(f"tests.sites.{module_name}")
    sites: dict[str, Any] = module.build(*args)
    ports: dict[str, int] = {}
    runners = []
    for name, routes in sites.items():
        runner = web.AppRunner(make_app(routes, ports), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, bind, 0, backlog=1024)
        await site.start()
        ports[name] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        runners.append(runner)
    print(json.dumps(ports), flush=True)
    await asyncio.Event().wait()


class CountingSite:
    def __init__(self, bind: str, module: str, *args: str, prefix: list[str] | None = None) -> None:
        self.bind = bind
        self.prefix = prefix or []
        self.process = subprocess.Popen(
            [*self.prefix, sys.executable, "-m", "tests.sites.counting", bind, module, *args],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"counting site {module} did not start")
        self.ports: dict[str, int] = json.loads(line)

    def url(self, site: str, path: str = "/") -> str:
        return f"http://{self.bind}:{self.ports[site]}{path}"

    def log(self, site: str) -> dict[str, Any]:
        if self.prefix:  # the server lives in another network namespace: ask from inside it
            out = subprocess.run([*self.prefix, sys.executable, "-c", FETCH, self.url(site, "/__log")],
                                 check=True, capture_output=True, text=True, timeout=30).stdout
            return dict(json.loads(out))
        with urllib.request.urlopen(self.url(site, "/__log"), timeout=5) as resp:
            return dict(json.load(resp))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2], sys.argv[3:]))
