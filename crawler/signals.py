"""Scrapy's signals, sent with the work of looking up their receivers done once.

Scrapy sends eight or so signals per request, and each send looks up its receivers anew: a generator
chain over pydispatch's four receiver tables (this sender and this signal, any signal, any sender, both
any), a dict to drop duplicates, weak references resolved, then for each receiver pydispatch's
``robustApply`` reads its code object to pass only the keywords it takes. Inside a crawler that is 10 to
14 µs for each of the four signals with a receiver (``request_reached_downloader``, ``headers_received``,
``bytes_received``, ``response_received``) and 2 to 4 µs for each of the four without one: about 7% of
a crawler's CPU, for lists that change only when a component connects.

``QuietSignalManager`` keeps, per sender and signal, how each receiver is called (``_Route``: its
reference, weak or strong as pydispatch holds it, and the keywords it takes, as ``robustApply`` reads
them), with the entries of the four tables it was built from. A send reads those four tables (dict
lookups) and, when they hold the same entries, calls the routes; when they changed (a connect, a
disconnect, a receiver collected), the routes are built again through pydispatch's own lookup. A weak
reference is still resolved at every send, so a receiver that is collected is not called, as before.
What a send returns and logs is Scrapy's: (receiver, result or Failure), in receiver order; a receiver's
error logged by Scrapy's logger with its message; ``dont_log`` and StopDownload not logged.

A signal sent to be awaited (``send_catch_log_async``: ``item_scraped`` after every page and link, with
three receivers in a crawler) costs more again in Scrapy's code: a coroutine and an asyncio Task for
each receiver and a ``gather`` over them, though every receiver here is a plain function that returns
at once. Here the receivers are called in turn, as each of Scrapy's tasks would first do, and only what
some receiver returned to be awaited (a coroutine, a Deferred: ``crawler.awaiting.awaited``) is awaited:
one as it is (no Task), several together (``gather``); the result for an error is the exception, as
Scrapy's.

Receivers live in pydispatch's global tables keyed by the sender (the crawler), so connecting through
Scrapy's manager or this one is the same. ``SignalsExtension`` puts it in place before the engine is
built (extensions are built first), so the engine, downloader and scraper, which keep
``crawler.signals``, send through it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

from pydispatch.dispatcher import WEAKREF_TYPES, getAllReceivers, getReceivers
from pydispatch.dispatcher import Any as AnySignal
from pydispatch.robustapply import function
from scrapy.crawler import Crawler
from scrapy.exceptions import StopDownload
from scrapy.signalmanager import SignalManager
from scrapy.utils.asyncio import is_asyncio_available
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from crawler.awaiting import awaited, to_await

# Where Scrapy logs a receiver's error, so that the line reads and filters the same.
logger = logging.getLogger("scrapy.utils.signal")


def _tables(sender: Any, signal: Any) -> tuple[Sequence[Any], Sequence[Any], Sequence[Any], Sequence[Any]]:
    """The four tables pydispatch's ``getAllReceivers`` reads, in its order: their raw entries (weak
    references or receivers) for this sender and this signal, any signal, any sender, both any."""
    return (getReceivers(sender, signal), getReceivers(sender, AnySignal),
            getReceivers(AnySignal, signal), getReceivers(AnySignal, AnySignal))


@dataclass(frozen=True, slots=True)
class _Route:
    """One receiver: its table entry, and the keywords it takes (None: all, it has ``**kwargs``)."""

    entry: Any
    weak: bool
    takes: frozenset[str] | None

    @classmethod
    def of(cls, entry: Any) -> _Route | None:
        weak = isinstance(entry, WEAKREF_TYPES)
        receiver = entry() if weak else entry
        if receiver is None:
            return None
        _, code, bound = function(receiver)  # robustApply's reading of the receiver
        takes = None if code.co_flags & inspect.CO_VARKEYWORDS else \
            frozenset(code.co_varnames[bound:code.co_argcount])
        return cls(entry, weak, takes)

    def receiver(self) -> Any:
        return self.entry() if self.weak else self.entry

    def call(self, receiver: Any, named: dict[str, Any]) -> Any:
        if self.takes is None:
            return receiver(**named)
        return receiver(**{k: v for k, v in named.items() if k in self.takes})


class QuietSignalManager(SignalManager):
    def __init__(self, sender: Any = AnySignal) -> None:
        super().__init__(sender)
        # signal -> (the tables' entries the routes were built from, the routes), for this manager's sender
        self._routes: dict[Any, tuple[tuple[Any, ...], tuple[_Route, ...]]] = {}

    def routes(self, sender: Any, signal: Any) -> tuple[_Route, ...]:
        tables = _tables(sender, signal)
        if not any(tables):  # half the signals a crawler sends: nothing more to look at
            return ()
        entries = (*tables[0], *tables[1], *tables[2], *tables[3])
        known = self._routes.get(signal) if sender is self.sender else None
        if known is not None and known[0] == entries:
            return known[1]
        # pydispatch's own lookup: its order, its duplicates dropped, its dead references skipped
        routes = tuple(route for entry in getAllReceivers(sender, signal) if (route := _Route.of(entry)))
        if sender is self.sender:
            self._routes[signal] = (entries, routes)
        return routes

    def send_catch_log(self, signal: Any, **kwargs: Any) -> list[tuple[Any, Any]]:
        sender = kwargs.pop("sender", self.sender)
        routes = self.routes(sender, signal)
        if not routes:
            return []
        dont_log: tuple[type[BaseException], ...] = (*_dont_log(kwargs), StopDownload)
        spider = kwargs.get("spider")
        named = {"signal": signal, "sender": sender, **kwargs}
        results: list[tuple[Any, Any]] = []
        for route in routes:
            receiver = route.receiver()
            if receiver is None:
                continue
            result: Any
            try:
                result = route.call(receiver, named)
                if isinstance(result, Deferred):
                    logger.error("Cannot return deferreds from signal handler: %(receiver)s",
                                 {"receiver": receiver}, extra={"spider": spider})
            except dont_log:
                result = Failure()
            except Exception:
                result = Failure()
                _log_error(receiver, spider)
            results.append((receiver, result))
        return results

    async def send_catch_log_async(self, signal: Any, **kwargs: Any) -> list[tuple[Any, Any]]:
        sender = kwargs.get("sender", self.sender)
        routes = self.routes(sender, signal)
        if not routes:
            return []
        if not is_asyncio_available():  # Scrapy's Deferred-based path, which has no tasks to spare
            return await super().send_catch_log_async(signal, **kwargs)
        kwargs.pop("sender", None)
        dont_log = _dont_log(kwargs)
        spider = kwargs.get("spider")
        named = {"signal": signal, "sender": sender, **kwargs}
        results: list[tuple[Any, Any]] = []
        waiting: list[tuple[int, Any, Any]] = []  # (place in results, receiver, what it returned to be awaited)
        for route in routes:
            receiver = route.receiver()
            if receiver is None:
                continue
            try:
                result = route.call(receiver, named)
            except dont_log as exc:
                result = exc
            except Exception as exc:
                _log_error(receiver, spider)
                result = exc
            else:
                if to_await(result):
                    waiting.append((len(results), receiver, result))
            results.append((receiver, result))
        if len(waiting) == 1:  # most sends: awaited as it is, no Task to run it beside nothing
            place, receiver, pending = waiting[0]
            results[place] = (receiver, await _awaited(receiver, pending, dont_log, spider))
        elif waiting:
            ended = await asyncio.gather(*(_awaited(receiver, pending, dont_log, spider)
                                           for _, receiver, pending in waiting))
            for (place, receiver, _), result in zip(waiting, ended, strict=True):
                results[place] = (receiver, result)
        return results


def _dont_log(kwargs: dict[str, Any]) -> tuple[type[BaseException], ...]:
    """The exceptions a send is told not to log (popped: receivers never see it), as a tuple."""
    dont_log = kwargs.pop("dont_log", None)
    if dont_log is None:  # most sends: spares the Sequence check, an ABC's
        return ()
    return tuple(dont_log) if isinstance(dont_log, Sequence) else (dont_log,)


async def _awaited(receiver: Any, pending: Any, dont_log: tuple[type[BaseException], ...], spider: Any) -> Any:
    try:
        return await awaited(pending, receiver)
    except dont_log as exc:
        return exc
    except Exception as exc:
        _log_error(receiver, spider)
        return exc


def _log_error(receiver: Any, spider: Any) -> None:
    logger.error("Error caught on signal handler: %(receiver)s", {"receiver": receiver}, exc_info=True,
                 extra={"spider": spider})


class SignalsExtension:
    """Not an extension of features: it swaps the crawler's signal manager for ``QuietSignalManager``."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if type(crawler.signals) is SignalManager:
            crawler.signals = QuietSignalManager(crawler.signals.sender)
        return cls()
