"""A folder of built HTML served on loopback, so that ``linkpatrol check DIR`` crawls it as a site.

It answers as static hosts do: ``index.html`` for a folder (a folder without one is a 404, not a
listing the crawler would follow), ``/page`` from ``page.html`` when there is no ``page`` (GitHub
Pages, Netlify). Mounted at the path of the production address (``--site-url
https://example.org/docs/`` serves the folder at ``/docs/``), root-relative links resolve as in
production; a path outside the mount is answered with a redirect to the production site, which is
where such a link leads.
"""

from __future__ import annotations

import functools
import os
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# What the crawler asks a site for by itself: the production site's are no concern of a copy
# checked on loopback, so outside the mount they are not redirected there.
OWN_PATHS = frozenset({"/robots.txt", "/sitemap.xml"})


class _Server(ThreadingHTTPServer):
    # A backlog of 5 (socketserver's default) makes a busy crawler's connections wait for SYN
    # retransmits: one-second stalls.
    request_queue_size = 1024
    daemon_threads = True


class _Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the crawlers reuse their connections
    mount = "/"
    outside = ""  # where a path outside the mount is redirected ("https://example.org"); "" for 404

    def __init__(self, *args: Any, mount: str = "/", outside: str = "", **kwargs: Any) -> None:
        self.mount, self.outside = mount, outside
        super().__init__(*args, **kwargs)

    def send_head(self) -> Any:
        path = urlsplit(self.path).path
        if path == self.mount.rstrip("/") and self.mount != "/":
            return self._redirect(HTTPStatus.MOVED_PERMANENTLY, self.mount)
        if not path.startswith(self.mount):
            if self.outside and path not in OWN_PATHS:
                return self._redirect(HTTPStatus.PERMANENT_REDIRECT, self.outside + self.path)
            self.send_error(HTTPStatus.NOT_FOUND, "Not in the checked folder")
            return None
        return super().send_head()

    def translate_path(self, path: str) -> str:
        local = super().translate_path("/" + path[len(self.mount):] if path.startswith(self.mount) else path)
        if not local.endswith("/") and not os.path.exists(local) and os.path.isfile(local + ".html"):
            return local + ".html"
        return local

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(HTTPStatus.NOT_FOUND, "No index.html in this folder")
        return None

    def _redirect(self, status: HTTPStatus, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return None

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the crawl's report is the log


class FolderServer:
    """``root`` served on 127.0.0.1 at ``mount`` (a path ending in ``/``), on a free port, from a
    thread of this process. ``outside``: the origin a path outside the mount is redirected to."""

    def __init__(self, root: Path, mount: str = "/", outside: str = "") -> None:
        self.root = Path(root).resolve()
        self.mount = mount if mount.endswith("/") else mount + "/"
        self.outside = outside.rstrip("/")
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FolderServer:
        handler = functools.partial(_Handler, directory=str(self.root), mount=self.mount, outside=self.outside)
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="linkpatrol-folder", daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The folder's root as the crawl sees it."""
        return self.origin + self.mount

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
