"""Every response callback of the spider settles its url: an item on every path, or the lease given
back when the callback is cancelled; and the bytes its answer held in the parse budget given back.
A lease held by nobody keeps its crawl from ever ending; a hold never given back stalls the crawler."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from typing import Any, Protocol

from scrapy.http import Response

from crawler.items import CheckedLink
from crawler.parse_budget import release_hold


class GivesBack(Protocol):
    def give_back(self, crawl_id: str, url: str) -> None: ...


class Settles(Protocol):
    """What ``settles`` asks of the spider whose callbacks it wraps."""

    @property
    def leases(self) -> GivesBack: ...

    def answered(self, response: Response) -> CheckedLink:
        """The item of a url whose callback failed: its answer as it came."""
        ...


def settles(callback: Callable[..., Any]) -> Callable[..., Any]:
    """A response callback that always gives its url an item, so its lease is never lost: an error
    the callback did not expect is logged, and the item records the answer as it came (status,
    outcome); a cancelled callback gives the lease back. Scrapy drops whatever a callback that raised
    would have returned, and the lease stayed held by nobody: the crawl never ended.
    A parsing callback gives back the bytes its answer held in the parse budget on every path (a
    synchronous one reads nothing more: its answer's are given back when the response is freed)."""
    if inspect.iscoroutinefunction(callback):
        @functools.wraps(callback)
        async def guarded(self: Settles, response: Response) -> CheckedLink:
            try:
                return await callback(self, response)  # type: ignore[no-any-return]
            except asyncio.CancelledError:
                lp = response.meta.get("lp")
                if lp:
                    self.leases.give_back(lp["crawl"], lp["url"])
                raise
            except Exception:
                return self.answered(response)
            finally:
                release_hold(response)
        return guarded

    @functools.wraps(callback)
    def guarded_sync(self: Settles, response: Response) -> CheckedLink:
        try:
            return callback(self, response)  # type: ignore[no-any-return]
        except Exception:
            return self.answered(response)
    return guarded_sync
