"""Redis that cannot serve for a while: another client's Lua busy loop, so every other client gets
``BUSY`` (crawler, web and mail worker tests)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

import redis

BUSY_LOOP = "local i = 0 while true do i = i + 1 end"


@contextlib.contextmanager
def busy_redis(url: str, threshold_ms: int = 100) -> Iterator[Callable[[], None]]:
    """Another client's Lua busy loop: from ``threshold_ms`` after it starts until the returned
    ``end()`` (SCRIPT KILL) every other client of the server gets ``BUSY``. The loop starts on entry;
    ``end()`` is also called on exit."""
    admin = redis.Redis.from_url(url, decode_responses=True)
    old = str(admin.config_get("busy-reply-threshold")["busy-reply-threshold"])
    admin.config_set("busy-reply-threshold", threshold_ms)
    looping = redis.Redis.from_url(url, socket_timeout=300)
    outcome: list[BaseException] = []

    def loop() -> None:
        try:
            looping.eval(BUSY_LOOP, 0)
        except redis.ResponseError as exc:  # "Script killed by user with SCRIPT KILL..."
            outcome.append(exc)

    thread = threading.Thread(target=loop, name="busy-loop")

    def end() -> None:
        if thread.is_alive():
            admin.script_kill()
            thread.join(10)

    thread.start()
    time.sleep(threshold_ms / 1000 + 0.2)
    try:
        yield end
    finally:
        end()
        admin.config_set("busy-reply-threshold", old)
        looping.close()
        admin.close()
    assert outcome and "killed" in str(outcome[0]).lower(), outcome
