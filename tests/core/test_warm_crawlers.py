"""Crawlers a check starts before it has read its options (``linkpatrol.cli.warm_crawlers``): how many,
from the command line as typed, and the crawler's side, which waits for its environment on stdin."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import redis

from linkpatrol.cli.warm_crawlers import CRAWLER_COMMAND, WARM, default_crawlers, tell, wanted
from linkpatrol.store.keys import Keys
from linkpatrol.store.registry import list_crawlers
from tests.support.processes import ROOT, TEST_CRAWLER_ENV, wait_for


@pytest.mark.parametrize(("argv", "env", "expected"), [
    (["check", "https://example.org/"], {}, default_crawlers()),  # one per CPU, as the check's plan says
    (["check", "https://example.org/"], {"REDIS_URL": "redis://h"}, 0),  # the shared crawlers do the work
    (["check", "https://example.org/", "--crawlers", "3"], {"REDIS_URL": "redis://h"}, 3),
    (["check", "--crawlers=1", "docs/"], {}, 1),
    (["check", "--crawlers", "0", "docs/"], {}, 0),
    (["check", "--crawlers", "many", "docs/"], {}, 0),  # the check's parser says what is wrong
    (["check", "--help"], {}, 0),
    (["enqueue", "https://example.org/"], {}, 0),
    ([], {}, 0),
])
def test_how_many_crawlers_a_command_line_will_start(argv: list[str], env: dict[str, str], expected: int) -> None:
    assert wanted(argv, env) == expected


def warm_crawler(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(CRAWLER_COMMAND, cwd=ROOT, env={**env, WARM: "1"}, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_warm_crawler_that_is_never_told_its_environment_exits_by_itself() -> None:
    """The command that started it went away (or needed no crawler): the end of its input ends it,
    without a Redis to reach (its address would only have come with the environment)."""
    proc = warm_crawler({k: v for k, v in os.environ.items() if k != "REDIS_URL"})
    assert proc.stdin is not None
    proc.stdin.close()
    assert proc.wait(60) == 0


@pytest.mark.parametrize("line", [b"not json\n", b'["a list"]\n', b'{"REDIS_URL": 6379}\n', b"\xff\xfe{\n"])
def test_a_warm_crawler_told_something_else_than_an_environment_says_so_and_ends(line: bytes) -> None:
    proc = subprocess.Popen(CRAWLER_COMMAND, cwd=ROOT, env={**os.environ, WARM: "1"}, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = proc.communicate(line, timeout=60)
    assert proc.returncode == 1
    assert b"not one JSON object of strings" in out and b"Traceback" not in out


def test_a_warm_crawler_starts_with_the_environment_it_is_told(redis_url: str, rclient: redis.Redis) -> None:
    """Started with none of the crawler's settings (no Redis address), told them on stdin: it reads its
    settings from what it was told and registers on that Redis; SIGTERM ends it cleanly (exit code 0),
    its input still open and watched."""
    told = {**os.environ, **TEST_CRAWLER_ENV, "REDIS_URL": redis_url, "SCRAPY_SETTINGS_MODULE": "crawler.settings"}
    proc = warm_crawler({k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SCRAPY_SETTINGS_MODULE")})
    try:
        time.sleep(0.2)  # still importing, or waiting: either way it reads the line when it is ready
        assert tell(proc, told)
        wait_for(lambda: [c["pid"] for c in list_crawlers(rclient, Keys())] == [proc.pid], 60,
                 what="the warm crawler registered")
        proc.terminate()
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        assert proc.stdin is not None
        proc.stdin.close()


def test_a_crawler_stops_when_its_command_ends(redis_url: str, rclient: redis.Redis) -> None:
    """Its input stays open after the environment: its end (the command's, however it ended) stops the
    crawler as SIGTERM does, with its goodbye to the registry and exit code 0."""
    told = {**os.environ, **TEST_CRAWLER_ENV, "REDIS_URL": redis_url, "SCRAPY_SETTINGS_MODULE": "crawler.settings"}
    proc = warm_crawler(os.environ.copy())
    try:
        assert tell(proc, told)
        wait_for(lambda: len(list_crawlers(rclient, Keys())) == 1, 60, what="the crawler registered")
        assert proc.poll() is None  # running on, its input open
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(30) == 0
        assert list_crawlers(rclient, Keys()) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
