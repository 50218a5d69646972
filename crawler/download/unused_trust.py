"""aiohttp imported without loading the system's certificates twice for contexts we never use.

``aiohttp.connector`` makes two TLS contexts when it is imported (its defaults for ``ssl=True`` and
``ssl=False``), and each loads the system's CA bundle: about 19 ms of CPU apiece, 38 ms of every
crawler's start, which ``linkpatrol check`` pays for each crawler on its critical path (a check's start
is CPU-bound on two cores: docs/ARCHITECTURE.md, Speed). Our handler never uses them: every request
that goes over TLS, to an https site or through an https proxy, carries the handler's own context
(``DownloadHandler._tls``), made from ``DOWNLOAD_VERIFY_CERTIFICATES`` at the first such request.

So ``python -m crawler.run`` imports aiohttp first, inside ``no_default_trust``: while it runs, a new
context's ``set_default_verify_paths`` loads nothing. aiohttp's two defaults then trust no certificate
at all: should some path ever reach them, a TLS connection fails verification (a "tls" verdict); it is
never accepted unchecked. Only for that first import, in a process with no other thread yet (the
swap is not thread-safe); the service's ``scrapy crawl`` crawlers start once and skip it."""

from __future__ import annotations

import contextlib
import ssl
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def no_default_trust() -> Iterator[None]:
    """``ssl.SSLContext.set_default_verify_paths`` loads nothing while this runs; restored after."""
    loads = ssl.SSLContext.set_default_verify_paths
    ssl.SSLContext.set_default_verify_paths = lambda self: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        ssl.SSLContext.set_default_verify_paths = loads  # type: ignore[method-assign]


def import_aiohttp() -> None:
    """The process's first import of aiohttp, without the system's certificates in its default
    contexts; nothing when aiohttp is imported already (its contexts were made as usual)."""
    if "aiohttp" in sys.modules:
        return
    with no_default_trust():
        import aiohttp  # noqa: F401
