"""A site that sets cookies and expects them back, served on 127.0.0.1 and reached under two names.

The crawled site is ``http://127.0.0.1:PORT``; ``http://localhost:PORT`` is the same server under
another name, hence another site for cookies (they ignore ports, RFC 6265 section 8.5, so two ports of
127.0.0.1 would be one site). Every cookie value is issued once (``<name>-<n>-<token>``), so the test
can tell which crawl set a cookie a request carried, and look for any value in logs and reports.

On both names:
- ``/article``: 200 when the request carries ``consent``; otherwise 302 to ``/consent?next=/article``,
  whose answer sets ``consent`` and redirects back (a consent wall, as news sites have);
- ``/loop-a`` and ``/loop-b`` redirect to each other, setting nothing (a real loop);
- ``/greedy`` sets a new cookie and redirects to itself, for ever (no browser gets through);
- ``/echo`` answers 200.

On 127.0.0.1 (the crawled site): ``/`` sets ``x_sid`` (Path=/), ``x_private`` (Path=/private),
``x_secure`` (Secure: never sent over http), ``x_expired`` (already expired) and ``x_other``
(Domain=localhost: not 127.0.0.1's to set), and links to every path above on both names, to
``/page2``, ``/private/page``, ``/away`` (redirects to localhost's ``/echo?from=away``) and to
``localhost``'s ``/bounce``, which sets ``y_sid`` and redirects to ``/landing`` on 127.0.0.1 (a
sign-in service sending the visitor back).

A route with a ``Set-Cookie`` refuses HEAD with 405 when ``refuse_head`` is set (a HEAD-first crawl
then falls back to GET), after setting its cookies.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from dataclasses import dataclass

from aiohttp import web
from multidict import CIMultiDict

from tests.support.receivers import _LoopbackServer

SITE, OTHER = "127.0.0.1", "localhost"
PAST = "Thu, 01 Jan 1970 00:00:00 GMT"


@dataclass(frozen=True)
class Seen:
    host: str  # 127.0.0.1 or localhost
    method: str
    path: str  # with its query string
    cookie: str  # the Cookie header as received ("" without one)
    authorization: str = ""

    def names(self) -> set[str]:
        return {part.split("=", 1)[0].strip() for part in self.cookie.split(";") if part.strip()}


@dataclass(frozen=True)
class Issued:
    host: str
    path: str
    name: str
    value: str


class CookieSite(_LoopbackServer):
    def __init__(self, refuse_head: bool = False) -> None:
        super().__init__()
        self.refuse_head = refuse_head
        self._token = secrets.token_hex(4)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self.seen: list[Seen] = []
        self.issued: list[Issued] = []

    def url(self, path: str = "/", host: str = SITE) -> str:
        return f"http://{host}:{self.port}{path}"

    def requests(self) -> list[Seen]:
        with self._lock:
            return list(self.seen)

    def cookies_issued(self) -> list[Issued]:
        with self._lock:
            return list(self.issued)

    def _cookie(self, host: str, path: str, name: str, attributes: str = "Path=/") -> str:
        with self._lock:
            value = f"{name}-{next(self._numbers)}-{self._token}"
            self.issued.append(Issued(host, path, name, value))
        return f"{name}={value}; {attributes}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        host = (request.host or "").rsplit(":", 1)[0]
        path = request.path
        cookie = request.headers.get("Cookie", "")
        with self._lock:
            self.seen.append(Seen(host, request.method, request.path_qs, cookie,
                                  request.headers.get("Authorization", "")))
        sets: list[str] = []
        status, location, body = 200, "", "<!doctype html><html><body>ok</body></html>"
        if path == "/" and host == SITE:
            sets = [self._cookie(host, path, "x_sid"), self._cookie(host, path, "x_private", "Path=/private"),
                    self._cookie(host, path, "x_secure", "Path=/; Secure"),
                    self._cookie(host, path, "x_expired", f"Path=/; Expires={PAST}"),
                    self._cookie(host, path, "x_other", f"Path=/; Domain={OTHER}")]
            body = self.home()
        elif path == "/article":
            if "consent" not in Seen(host, "", "", cookie).names():
                status, location = 302, "/consent?next=/article"
        elif path == "/consent":
            sets = [self._cookie(host, path, "consent")]
            status, location = 302, request.query.get("next", "/")
        elif path in ("/loop-a", "/loop-b"):
            status, location = 302, "/loop-b" if path == "/loop-a" else "/loop-a"
        elif path == "/greedy":
            sets = [self._cookie(host, path, "greedy")]
            status, location = 302, "/greedy"
        elif path == "/away" and host == SITE:
            status, location = 302, self.url("/echo?from=away", OTHER)
        elif path == "/bounce" and host == OTHER:
            sets = [self._cookie(host, path, "y_sid")]
            status, location = 302, self.url("/landing")
        elif path not in ("/echo", "/page2", "/private/page", "/landing"):
            status, body = 404, "not found"
        if sets and self.refuse_head and request.method == "HEAD":
            status, location = 405, ""
        headers: CIMultiDict[str] = CIMultiDict()
        for value in sets:
            headers.add("Set-Cookie", value)
        if location:
            headers["Location"] = location
        return web.Response(status=status, text=body, content_type="text/html", headers=headers)

    def home(self) -> str:
        paths = ["/article", "/loop-a", "/greedy", "/echo"]
        links = [*paths, "/page2", "/private/page", "/away", *(self.url(p, OTHER) for p in [*paths, "/bounce"])]
        anchors = "".join(f'<a href="{link}">{link}</a>\n' for link in links)
        return f"<!doctype html><html><head><title>Cookies</title></head><body>{anchors}</body></html>"
