"""A folder of built HTML served on loopback, so that ``linkpatrol check DIR`` crawls it as a site.

It answers as static hosts do: ``index.html`` for a folder (a folder without one is a 404, not a
listing the crawler would follow), ``/page`` from ``page.html`` when there is no ``page`` (GitHub
Pages, Netlify). Mounted at the path of the production address (``--site-url
https://example.org/docs/`` serves the folder at ``/docs/``), root-relative links resolve as in
production; a path outside the mount is answered with a redirect to the production site, which is
where such a link leads.

Only what would be published is served: a regular file whose real path (symlinks resolved) stays
inside the folder. A symlink leaving it (``etc -> /etc``, a file elsewhere), a device, a FIFO or a
socket is a 404, as a static host answers for a path it does not have; the check never opens one in
a way that can block (a FIFO with no writer) or never end (``/dev/zero``).
"""

from __future__ import annotations

import functools
import os
import stat
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

# What the crawler asks a site for by itself: the production site's are no concern of a copy
# checked on loopback, so outside the mount they are not redirected there.
OWN_PATHS = frozenset({"/robots.txt", "/sitemap.xml"})
INDEXES = ("index.html", "index.htm")
NOT_INSIDE, NOT_REGULAR = "Outside the checked folder", "Not a regular file"


def inside(root: str, real: str) -> bool:
    """Whether the real path ``real`` is ``root`` or under it."""
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def open_inside(root: str, local: str) -> tuple[BinaryIO | None, str]:
    """``local`` opened for reading if it is a regular file whose real path is inside ``root`` (a real
    path itself); else None and why. Opened non-blocking and checked again on the open file, so a path
    swapped for a FIFO between the two checks cannot hold the thread."""
    real = os.path.realpath(local)
    if not inside(root, real):
        return None, NOT_INSIDE
    try:
        if not stat.S_ISREG(os.stat(real).st_mode):
            return None, NOT_REGULAR
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return None, "File not found"
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None, NOT_REGULAR
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb"), ""


STOP_POLL = 0.01  # seconds: how long stop() may wait for the serving thread to notice (socketserver polls)


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
        return self._send_file(self.translate_path(self.path), path)

    def _send_file(self, local: str, path: str) -> BinaryIO | None:
        """SimpleHTTPRequestHandler's answer (a folder's index, the slash redirect, the file), but only
        for what ``open_inside`` allows; no directory listing, no If-Modified-Since."""
        real = os.path.realpath(local)
        if os.path.isdir(real):
            if not inside(self.directory, real):
                self.send_error(HTTPStatus.NOT_FOUND, NOT_INSIDE)
                return None
            if not path.endswith("/"):
                query = urlsplit(self.path).query
                self._redirect(HTTPStatus.MOVED_PERMANENTLY, path + "/" + (f"?{query}" if query else ""))
                return None
            local = next((os.path.join(real, n) for n in INDEXES if os.path.lexists(os.path.join(real, n))), "")
            if not local:
                self.send_error(HTTPStatus.NOT_FOUND, "No index.html in this folder")
                return None
        elif local.endswith("/"):
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        f, why = open_inside(self.directory, local)
        if f is None:
            self.send_error(HTTPStatus.NOT_FOUND, why)
            return None
        try:
            fs = os.fstat(f.fileno())
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-type", self.guess_type(local))
            self.send_header("Content-Length", str(fs.st_size))
            self.send_header("Last-Modified", self.date_time_string(fs.st_mtime))
            self.end_headers()
        except BaseException:
            f.close()
            raise
        return f

    def translate_path(self, path: str) -> str:
        local = super().translate_path("/" + path[len(self.mount):] if path.startswith(self.mount) else path)
        if not local.endswith("/") and not os.path.exists(local) and os.path.isfile(local + ".html"):
            return local + ".html"
        return local

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
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": STOP_POLL},
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
