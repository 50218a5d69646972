"""The crawler's signal manager (``crawler/signals.py``): a signal nobody listens to costs nothing, and
a signal with receivers gives what Scrapy's own manager gives, errors and all."""

from __future__ import annotations

import asyncio
import logging
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
from crawler.signals import QuietSignalManager, SignalsExtension, listened


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
    assert not listened(sender, signal)
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
    assert listened(sender, signal)
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
