"""Whether what a component returned is to be awaited (``to_await``), and awaiting it (``awaited``): one
rule for the downloader-middleware chain (``crawler/download/downloader.py``) and the signal manager
(``crawler/signals.py``), which both call Scrapy components that may answer with a coroutine or a
Deferred but almost always answer at once."""

from __future__ import annotations

import inspect
from types import CoroutineType
from typing import Any

from scrapy import Request
from scrapy.http import Response
from scrapy.utils.defer import ensure_awaitable
from scrapy.utils.python import global_object_name
from twisted.internet.defer import Deferred


async def awaited(answer: Any, method: Any) -> Any:
    """What ``answer`` (``to_await`` said so) gives, awaited. A coroutine, what our components return,
    is awaited as it is; anything else goes through Scrapy's ``ensure_awaitable`` (a Deferred warned of
    as deprecated, naming ``method``), whose name for the method is built only then."""
    if type(answer) is CoroutineType:
        return await answer
    return await ensure_awaitable(answer, _warn=global_object_name(method))


def to_await(answer: Any) -> bool:
    """A coroutine, a Deferred or another awaitable. The usual answers, None, a Response, a Request, are
    told apart first: ``inspect.isawaitable`` ends in an ABC's ``isinstance``, dear at 30 calls a url."""
    if answer is None or isinstance(answer, (Response, Request)):
        return False
    return isinstance(answer, Deferred) or inspect.isawaitable(answer)
