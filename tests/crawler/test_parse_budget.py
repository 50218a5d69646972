"""The crawler's parse budget (crawler/parse_budget.py): answers wait their turn instead of being
decoded all at once, and every hold is given back on every path (a lost one would stall the crawler
for ever). The crawl of many near-cap pages against a real crawler is in test_bombs.py."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from typing import Any

from scrapy import Request
from scrapy.http import HtmlResponse

from crawler.parse_budget import HOLD, Hold, ParseBudget
from crawler.settling import settles

MB = 1 << 20


def run(main: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(main())  # type: ignore[arg-type]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_answers_wait_their_turn_first_come_first_served() -> None:
    async def main() -> None:
        budget = ParseBudget(10 * MB)
        first = await budget.hold(6 * MB)
        order: list[str] = []

        async def take(name: str, size: int) -> Hold:
            hold = await budget.hold(size)
            order.append(name)
            return hold

        big = asyncio.create_task(take("big", 8 * MB))
        small = asyncio.create_task(take("small", 1 * MB))  # fits now, but comes after "big"
        await settle()
        assert order == [] and budget.held == 6 * MB and budget.waits == 2
        first.release()
        await settle()
        assert order == ["big", "small"] and budget.held == 9 * MB
        (await big).release()
        (await small).release()
        assert budget.held == 0 and budget.peak == 9 * MB

    run(main)


def test_an_answer_larger_than_the_budget_goes_alone() -> None:
    async def main() -> None:
        budget = ParseBudget(10 * MB)
        small = await budget.hold(1 * MB)
        huge = asyncio.create_task(budget.hold(50 * MB))
        after = asyncio.create_task(budget.hold(1 * MB))
        await settle()
        assert not huge.done() and not after.done()
        small.release()
        await settle()
        assert huge.done() and not after.done() and budget.held == 50 * MB
        huge.result().release()
        await settle()
        assert after.done() and budget.held == 1 * MB

    run(main)


def test_decoded_size_replaces_the_cap_held_while_decoding() -> None:
    async def main() -> None:
        budget = ParseBudget(40 * MB)
        decoding = await budget.hold(32 * MB)  # a gzip answer, its size unknown: the cap
        waiting = asyncio.create_task(budget.hold(32 * MB))
        await settle()
        assert not waiting.done()
        decoding.resize(2 * MB)  # decoded: 2 MB
        await settle()
        assert waiting.done() and budget.held == 34 * MB
        decoding.release()
        decoding.release()  # twice is harmless
        waiting.result().release()
        assert budget.held == 0

    run(main)


def test_a_cancelled_waiter_holds_nothing_and_lets_the_next_in() -> None:
    async def main() -> None:
        budget = ParseBudget(10 * MB)
        first = await budget.hold(5 * MB)
        cancelled = asyncio.create_task(budget.hold(8 * MB))
        behind = asyncio.create_task(budget.hold(4 * MB))  # fits beside the first, waits behind the 8
        await settle()
        cancelled.cancel()
        await settle()
        assert cancelled.cancelled() and behind.done() and budget.held == 9 * MB
        first.release()
        behind.result().release()
        assert budget.held == 0

    run(main)


def test_a_waiter_cancelled_just_as_it_was_let_in_gives_it_back() -> None:
    async def main() -> None:
        budget = ParseBudget(10 * MB)
        first = await budget.hold(8 * MB)
        waiter = asyncio.create_task(budget.hold(8 * MB))
        await settle()
        first.release()  # lets the waiter in: its future is set, the task not resumed yet
        waiter.cancel()
        await settle()
        assert waiter.cancelled() and budget.held == 0

    run(main)


def test_a_response_freed_gives_its_hold_back() -> None:
    # An answer that never reaches a callback (dropped, retried, an error) gives back when freed.
    async def main() -> None:
        budget = ParseBudget(10 * MB)
        response: HtmlResponse | None = HtmlResponse("http://x.example/", body=b"<html></html>")
        hold = await budget.hold(8 * MB)
        hold.tie_to(response)
        waiter = asyncio.create_task(budget.hold(8 * MB))
        await settle()
        assert not waiter.done()
        response = None
        gc.collect()
        await settle()
        assert waiter.done()
        waiter.result().release()
        assert budget.held == 0

    run(main)


class Leases:
    def __init__(self) -> None:
        self.given_back: list[tuple[str, str]] = []

    def give_back(self, crawl_id: str, url: str) -> None:
        self.given_back.append((crawl_id, url))


class Spider:
    """The two things ``settles`` asks of the spider."""

    def __init__(self) -> None:
        self.leases = Leases()

    def answered(self, response: HtmlResponse) -> str:
        return "recorded alone"


def held_response(hold: Hold) -> HtmlResponse:
    request = Request("http://x.example/", meta={"lp": {"crawl": "c1", "url": "http://x.example/"}, HOLD: hold})
    return HtmlResponse("http://x.example/", body=b"<html></html>", request=request)


def test_a_callback_gives_its_hold_back_on_every_path() -> None:
    async def main() -> None:
        budget = ParseBudget(10 * MB)
        release = asyncio.Event()

        async def parses(self: Any, response: HtmlResponse) -> str:
            return "item"

        async def fails(self: Any, response: HtmlResponse) -> str:
            raise ValueError("a parser bug")

        async def stuck(self: Any, response: HtmlResponse) -> str:
            await release.wait()
            return "never"

        spider = Spider()
        for callback, expected in ((parses, "item"), (fails, "recorded alone")):
            response = held_response(await budget.hold(8 * MB))
            assert await settles(callback)(spider, response) == expected
            assert budget.held == 0, callback.__name__
        response = held_response(await budget.hold(8 * MB))
        task = asyncio.create_task(settles(stuck)(spider, response))
        await settle()
        assert budget.held == 8 * MB
        task.cancel()
        await settle()
        assert task.cancelled() and budget.held == 0
        assert spider.leases.given_back == [("c1", "http://x.example/")]

    run(main)


def test_a_waiter_cancelled_as_room_is_made_leaves_the_room_to_the_next() -> None:
    async def main() -> None:
        budget = ParseBudget(10 * MB)
        first = await budget.hold(8 * MB)
        cancelled = asyncio.create_task(budget.hold(8 * MB))
        behind = asyncio.create_task(budget.hold(8 * MB))
        await settle()
        cancelled.cancel()
        first.release()  # before the cancelled task runs again: the room goes to the one behind
        await settle()
        assert cancelled.cancelled() and behind.done() and budget.held == 8 * MB
        behind.result().release()
        assert budget.held == 0

    run(main)
