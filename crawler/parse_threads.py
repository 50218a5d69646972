"""Where a parse runs: a large body's parse (a page, a stylesheet, a sitemap, a rendered page's merge)
in a daemon thread of its own, a small one in place on the reactor's thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from scrapy.http import Response

T = TypeVar("T")

# A body this small is parsed on the reactor's thread: at most tens of milliseconds even for the worst
# markup (16 KB of nested <div>s or of links), where starting a thread costs more than the parse of a
# typical small page (a quarter of a millisecond).
INLINE_PARSE = 16 * 1024


async def off_reactor(scan: Callable[..., T], *args: Any) -> T:
    """Run a parse (``scan_page``, ``scan_stylesheet``, ``read_sitemap``) in a worker thread. Parsing
    on the reactor's thread stalls every other request in flight: a 1 MB page of deeply nested
    elements takes seconds to parse, and when the loop gets back to work it reads a first part of
    each answer that arrived meanwhile, then runs its due timers: the download timeouts of those
    pages fire before the rest is read. They were reported dead by "timeout", and the #anchors
    asked of them never checked (tests/crawler/test_page_contents.py shows it). In a thread, the
    loop keeps reading sockets (the GIL switches every few ms): a timeout means the server was slow.

    Whatever the parse raises reaches the caller as an ``Exception``: a ``StopIteration`` cannot be
    set on a future (``asyncio.to_thread`` then never wakes its task, which died with its lease).
    The thread is a daemon of its own, not a pool's: a parse that never ends holds neither the other
    parses nor the process's exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # the awaiting task was cancelled
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    def run() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = scan(*args)
        except BaseException as exc:
            error = exc
        if isinstance(error, StopIteration) or (error is not None and not isinstance(error, Exception)):
            error = RuntimeError(f"{name} raised {error!r}")  # not something a future may carry
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    name = getattr(scan, "__name__", "parse")
    threading.Thread(target=run, name=f"parse-{name}", daemon=True).start()
    return await future


async def parse_body(scan: Callable[..., T], response: Response, *args: Any) -> T:
    """``scan(response, *args)``: in place for a small body, else in a thread (``off_reactor``)."""
    if len(response.body) <= INLINE_PARSE:
        return scan(response, *args)
    return await off_reactor(scan, response, *args)
