"""The crawler's asyncio client packs commands with hiredis (``linkpatrol/store/connection.py``): the
same bytes redis-py's own packer writes, the same refusals, and real commands and pipelines answered
by the test Redis as before."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio.connection import Connection, UnixDomainSocketConnection
from redis.exceptions import DataError

from linkpatrol.store.connection import async_client

HOSTILE = ["", "é", "\u2028", "\x00\r\n$3\r\n", "a b c", "\"'\\", "x" * 7000, "🙂"]
COMMANDS: list[tuple[Any, ...]] = [
    ("SET", "key", "value"),
    ("EVALSHA", "a" * 40, 2, "k1", "k2", *HOSTILE),
    ("HSET", "h", "f", b"\x00\xff raw bytes", "n", 12345678901234567890, "f2", 0.1, "f3", 1e20, "f4", -0.0),
    ("CLIENT SETNAME", "name"),  # a command name of two words, as redis-py's commands pass some
    (b"SCRIPT LOAD", "return 1"),
    ("ZADD", "z", float("inf"), "m", 1.5, "n"),
    ("SET", bytearray(b"key"), memoryview(b"value")),
]


def test_commands_and_pipelines_pack_to_the_bytes_redis_py_writes(redis_url: str) -> None:
    client = async_client(redis_url)
    ours = client.connection_pool.make_connection()
    theirs = Connection()
    assert type(ours).__name__ == "HiredisConnection"
    for command in COMMANDS:
        assert b"".join(ours.pack_command(*command)) == b"".join(theirs.pack_command(*command)), command
    assert b"".join(ours.pack_commands(COMMANDS)) == b"".join(theirs.pack_commands(COMMANDS))


def test_a_unix_socket_url_keeps_its_connection_class_and_packs_with_hiredis() -> None:
    connection = async_client("unix:///tmp/linkpatrol-no-such.sock").connection_pool.make_connection()
    assert isinstance(connection, UnixDomainSocketConnection) and type(connection).__name__.startswith("Hiredis")


@pytest.mark.parametrize("value", [None, True, object()])
def test_a_value_redis_py_refuses_is_a_data_error(redis_url: str, value: Any) -> None:
    ours = async_client(redis_url).connection_pool.make_connection()
    with pytest.raises(DataError):
        Connection().pack_command("SET", "key", value)
    with pytest.raises(DataError):
        ours.pack_command("SET", "key", value)


def test_lone_surrogates_are_refused_as_redis_py_refuses_them(redis_url: str) -> None:
    ours = async_client(redis_url).connection_pool.make_connection()
    for conn in (ours, Connection()):
        with pytest.raises(UnicodeEncodeError):
            conn.pack_command("SET", "key", "\udc80")


def test_real_commands_and_a_pipeline_round_trip(redis_url: str) -> None:
    async def run() -> list[Any]:
        client = async_client(redis_url)
        try:
            await client.hset("lp-test:packing", mapping={"text": HOSTILE[3], "big": "x" * 70_000, "n": 7})
            pipe = client.pipeline(transaction=False)
            pipe.hget("lp-test:packing", "text")
            pipe.hincrby("lp-test:packing", "n", 5)
            pipe.strlen("lp-test:packing")  # a wrong-type reply in the middle of a pipeline
            pipe.hget("lp-test:packing", "big")
            replies: list[Any] = await pipe.execute(raise_on_error=False)
            await client.delete("lp-test:packing")
            return replies
        finally:
            await client.aclose()

    text, n, wrong, big = asyncio.run(run())
    assert (text, n, len(big)) == (HOSTILE[3], 12, 70_000)
    assert "WRONGTYPE" in str(wrong)
