"""The crawler's signal manager (``crawler/signals.py``): a signal nobody listens to costs nothing, a
signal with receivers gives what Scrapy's own manager gives, errors and all, and the receivers it keeps
between sends are the ones connected at each send."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref
from typing import Any

import pytest
from pydispatch.dispatcher import Any as AnySignal
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import StopDownload
from scrapy.signalmanager import SignalManager
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler import settings
from crawler.signals import QuietSignalManager, SignalsExtension


class Receivers:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def takes_request(self, request: Any) -> str:  # only the argument it names is passed
        self.seen.append(("takes_request", request))
        return "ok"

    def takes_all(self, **kwargs: Any) -> None:
        self.seen.append(("takes_all", sorted(kwargs)))

    def raises(self, request: Any) -> None:
        raise ValueError("a receiver's bug")

    def stops(self, request: Any) -> None:
        raise StopDownload(fail=False)


def outcome(results: list[tuple[Any, Any]]) -> list[tuple[str, Any]]:
    """(receiver name, its result, or for a failure the exception's type) of ``send_catch_log``."""
    return [(receiver.__name__, type(result.value) if isinstance(result, Failure) else result)
            for receiver, result in results]


def test_a_signal_nobody_listens_to_returns_nothing_and_calls_nothing() -> None:
    sender, signal = object(), object()
    quiet = QuietSignalManager(sender)
    assert quiet.routes(sender, signal) == ()
    assert quiet.send_catch_log(signal, request="r") == []
    assert asyncio.run(quiet.send_catch_log_async(signal, request="r")) == []


@pytest.mark.parametrize("connect_to", ["this", "any signal", "any sender"])
def test_receivers_get_what_scrapys_manager_gives_them(connect_to: str, caplog: pytest.LogCaptureFixture) -> None:
    sender, signal = object(), object()
    receivers = Receivers()
    plain, quiet = SignalManager(sender), QuietSignalManager(sender)
    on = AnySignal if connect_to == "any signal" else signal
    by = AnySignal if connect_to == "any sender" else sender
    for method in (receivers.takes_request, receivers.takes_all, receivers.raises, receivers.stops):
        quiet.connect(method, on, sender=by)  # the same tables: connected through either, seen by both
    assert len(quiet.routes(sender, signal)) == 4
    with caplog.at_level(logging.ERROR):
        theirs = plain.send_catch_log(signal, request="r", spider=None)
        logged_theirs = [r.getMessage() for r in caplog.records]
        caplog.clear()
        ours = quiet.send_catch_log(signal, request="r", spider=None)
        logged_ours = [r.getMessage() for r in caplog.records]
    assert outcome(ours) == outcome(theirs) == [("takes_request", "ok"), ("takes_all", None),
                                                ("raises", ValueError), ("stops", StopDownload)]
    assert logged_ours == logged_theirs and len(logged_ours) == 1 and "raises" in logged_ours[0]
    assert receivers.seen[:2] == [("takes_request", "r"), ("takes_all", ["request", "sender", "signal", "spider"])]
    ours_async = asyncio.run(quiet.send_catch_log_async(signal, request="r", spider=None))
    assert outcome(ours_async)[:2] == [("takes_request", "ok"), ("takes_all", None)]


def test_the_extension_swaps_the_crawlers_manager_keeping_its_sender() -> None:
    assert "crawler.signals.SignalsExtension" in settings.EXTENSIONS  # the crawler's settings build it
    crawler: Crawler = get_crawler(Spider)
    before = crawler.signals
    SignalsExtension.from_crawler(crawler)
    assert isinstance(crawler.signals, QuietSignalManager) and crawler.signals.sender is before.sender


class AsyncReceivers(Receivers):
    async def waits(self, request: Any) -> str:
        await asyncio.sleep(0)
        self.seen.append(("waits", request))
        return "later"

    async def fails_later(self, request: Any) -> None:
        await asyncio.sleep(0)
        raise ValueError("a receiver's bug, after a wait")

    async def stops_later(self, request: Any) -> None:
        raise StopDownload(fail=False)


ALL_KINDS = ("takes_request", "waits", "raises", "fails_later", "takes_all", "stops", "stops_later")


@pytest.mark.parametrize("connected", [ALL_KINDS, ("takes_request", "waits"), ("fails_later", "takes_all"),
                                       ("stops_later",)], ids=["several-awaited", "one-awaited", "one-fails",
                                                               "one-stops"])
def test_a_signal_sent_to_be_awaited_gives_what_scrapys_manager_gives(
        caplog: pytest.LogCaptureFixture, connected: tuple[str, ...]) -> None:
    """Plain receivers called in turn, awaitable results awaited (one as it is, several together): the
    same results, in the same order, the same error lines, every receiver called once."""
    sender, signal = object(), object()
    receivers = AsyncReceivers()
    plain, quiet = SignalManager(sender), QuietSignalManager(sender)
    for name in connected:
        quiet.connect(getattr(receivers, name), signal)

    def send(manager: SignalManager) -> tuple[list[tuple[str, Any]], list[tuple[str, str]], list[tuple[str, Any]]]:
        receivers.seen.clear()
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            results = asyncio.run(manager.send_catch_log_async(signal, request="r", spider=None,
                                                               dont_log=StopDownload))
        shown = [(name, type(result) if isinstance(result, Exception) else result) for name, result in
                 ((receiver.__name__, result) for receiver, result in results)]
        return shown, [(r.name, r.getMessage()) for r in caplog.records], sorted(receivers.seen, key=str)

    theirs, ours = send(plain), send(quiet)
    assert ours == theirs
    expected = {"takes_request": "ok", "waits": "later", "raises": ValueError, "fails_later": ValueError,
                "takes_all": None, "stops": StopDownload, "stops_later": StopDownload}
    assert ours[0] == [(name, expected[name]) for name in connected]
    errors = sum(name in ("raises", "fails_later") for name in connected)
    assert len(ours[1]) == errors and {name for name, _ in ours[1]} <= {"scrapy.utils.signal"}
    assert ("waits", "r") in ours[2] or "waits" not in connected


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request: Any) -> int:  # a callable object, as robustApply reads one
        self.calls += 1
        return self.calls


def test_the_receivers_are_looked_up_again_when_they_change() -> None:
    """Sends after a connect, a disconnect or a receiver's end reach exactly the receivers connected
    then, as a lookup at every send would; the lookup kept between sends keeps no receiver alive."""
    sender, signal = object(), object()
    quiet = QuietSignalManager(sender)
    first, second = Counter(), Counter()
    quiet.connect(first, signal)
    assert [result for _, result in quiet.send_catch_log(signal, request="r")] == [1]
    quiet.connect(second, signal)
    assert [result for _, result in quiet.send_catch_log(signal, request="r")] == [2, 1]
    quiet.disconnect(first, signal)
    assert [result for _, result in quiet.send_catch_log(signal, request="r")] == [2]
    gone = weakref.ref(second)
    del second
    gc.collect()
    assert gone() is None  # the manager's routes hold it weakly, as pydispatch does
    assert quiet.send_catch_log(signal, request="r") == []
    assert asyncio.run(quiet.send_catch_log_async(signal, request="r")) == []
    # A receiver for any signal of this sender, then one for this signal of any sender.
    anything, everyone = Counter(), Counter()
    quiet.connect(anything, AnySignal)
    assert [result for _, result in quiet.send_catch_log(signal, request="r")] == [1]
    quiet.connect(everyone, signal, sender=AnySignal)
    assert [result for _, result in quiet.send_catch_log(signal, request="r")] == [2, 1]
    quiet.disconnect(anything, AnySignal)
    SignalManager(AnySignal).disconnect(everyone, signal)  # through another manager: the same tables
    assert quiet.send_catch_log(signal, request="r") == []
