"""The shared frontier: atomic Lua scripts over the keys of ``crawler.keys``.

Requests are leased, not popped: ``pop`` moves a message from the crawl's queue into its in-flight
hash, tagged with the worker that holds it; ``complete`` records the result, queues the new links
(deduplicated per crawl), releases the lease and, in the same atomic step, detects that the crawl has
nothing queued and nothing in flight: so a crawl finishes exactly once, whichever process sees it.
A worker whose heartbeat key expired has its leases put back by ``requeue``. ``complete`` is
idempotent: a url that already has a result is not counted or expanded twice, so a request done twice
(after a worker was wrongly thought dead) changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from crawler.keys import Keys

SEED = """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'queued' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'running', 'started_at', ARGV[4], 'pages_queued', 1)
if redis.call('HSETNX', KEYS[2], ARGV[3], '') == 1 then redis.call('RPUSH', KEYS[3], ARGV[2]) end
redis.call('SADD', KEYS[4], ARGV[1])
return 1
"""

POP = """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'running' then return {} end
local items = redis.call('LPOP', KEYS[2], tonumber(ARGV[1]))
if not items then return {} end
for _, msg in ipairs(items) do
  redis.call('HSET', KEYS[3], cjson.decode(msg)['u'], ARGV[2] .. '\\n' .. msg)
end
return items
"""

COMPLETE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local state = redis.call('HGET', KEYS[1], 'state')
local url = ARGV[1]
local prefix = ARGV[8]
local prev = redis.call('HGET', KEYS[2], url)
if prev == false or prev == '' then
  redis.call('HSET', KEYS[2], url, ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'links_checked', 1)
  if ARGV[5] == '1' then redis.call('HINCRBY', KEYS[1], 'pages_crawled', 1) end
  redis.call('HINCRBY', KEYS[1], 'outcome_' .. ARGV[3], 1)
  redis.call('HINCRBY', KEYS[1], 'status_' .. ARGV[4], 1)
  if ARGV[3] == 'dead' then redis.call('HINCRBY', KEYS[1], 'broken', 1) end
  if ARGV[6] == '1' then
    redis.call('SADD', KEYS[7], url)
    redis.call('HINCRBY', KEYS[1], 'redirected', 1)
  end
  if ARGV[3] == 'ok' then redis.call('DEL', prefix .. url) else redis.call('SADD', KEYS[6], url) end
  if state == 'running' then
    local max_pages = tonumber(ARGV[11])
    local max_refs = tonumber(ARGV[9])
    for i = 12, #ARGV, 4 do
      local target = ARGV[i]
      local seen = redis.call('HGET', KEYS[2], target)
      if seen == false then
        redis.call('HSET', KEYS[2], target, '')
        local msg = ARGV[i + 1]
        if ARGV[i + 2] == '1' and max_pages > 0
           and redis.call('HINCRBY', KEYS[1], 'pages_queued', 1) > max_pages then
          msg = string.gsub(msg, '"k":"page"', '"k":"check"', 1)
        end
        redis.call('RPUSH', KEYS[3], msg)
        seen = ''
      end
      if ARGV[i + 3] ~= '' and string.sub(seen, 1, 9) ~= '{"o":"ok"' then
        local rk = prefix .. target
        if redis.call('LLEN', rk) < max_refs then redis.call('RPUSH', rk, ARGV[i + 3]) end
      end
    end
  end
end
redis.call('HDEL', KEYS[4], url)
if state == 'running' and redis.call('LLEN', KEYS[3]) == 0 and redis.call('HLEN', KEYS[4]) == 0 then
  redis.call('HSET', KEYS[1], 'state', 'finished', 'finished_at', ARGV[7])
  redis.call('SREM', KEYS[5], ARGV[10])
  if redis.call('HGET', KEYS[1], 'notify') == '1' then redis.call('RPUSH', KEYS[8], ARGV[10]) end
  return 2
end
return 1
"""

CANCEL = """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'queued' and state ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finished_at', ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[1], 'notify') == '1' then redis.call('RPUSH', KEYS[4], ARGV[1]) end
return 1
"""

REQUEUE = """
local state = redis.call('HGET', KEYS[1], 'state')
local tag = ARGV[1] .. '\\n'
local push = ARGV[2] == 'tail' and 'RPUSH' or 'LPUSH'
local n = 0
local function back(field, v)
  redis.call('HDEL', KEYS[3], field)
  if state == 'running' then redis.call(push, KEYS[2], string.sub(v, #tag + 1)) end
  n = n + 1
end
if #ARGV > 2 then
  for i = 3, #ARGV do
    local v = redis.call('HGET', KEYS[3], ARGV[i])
    if v and string.sub(v, 1, #tag) == tag then back(ARGV[i], v) end
  end
else
  local entries = redis.call('HGETALL', KEYS[3])
  for i = 1, #entries, 2 do
    if string.sub(entries[i + 1], 1, #tag) == tag then back(entries[i], entries[i + 1]) end
  end
end
return n
"""


# json.dumps(obj, separators=...) builds a new encoder at every call; this is called per link.
compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def message(url: str, kind: str, depth: int) -> str:
    """A frontier message: kind "page" is fetched with GET and parsed when it is HTML in scope;
    kind "check" is only checked (HEAD, GET when HEAD is refused). Over the crawl's page budget the
    COMPLETE script turns a "page" into a "check" by rewriting ``"k":"page"``."""
    return compact_json({"u": url, "k": kind, "d": depth})


class Scripts:
    """The frontier scripts bound to one client; sync or asyncio, as the client is."""

    def __init__(self, client: Any, keys: Keys) -> None:
        self.keys = keys
        self._seed = client.register_script(SEED)
        self._pop = client.register_script(POP)
        self._complete = client.register_script(COMPLETE)
        self._cancel = client.register_script(CANCEL)
        self._requeue = client.register_script(REQUEUE)

    def seed(self, crawl_id: str, url: str, now: float) -> Any:
        k = self.keys
        return self._seed(
            keys=[k.crawl(crawl_id), k.urls(crawl_id), k.queue(crawl_id), k.active],
            args=[crawl_id, message(url, "page", 0), url, repr(now)],
        )

    def pop(self, crawl_id: str, count: int, worker: str) -> Any:
        k = self.keys
        return self._pop(
            keys=[k.crawl(crawl_id), k.queue(crawl_id), k.inflight(crawl_id)],
            args=[count, worker],
        )

    def complete(
        self,
        crawl_id: str,
        url: str,
        result_json: str,
        outcome: str,
        status_class: str,
        *,
        is_page: bool,
        redirected: bool,
        now: float,
        max_referrers: int,
        max_pages: int,
        links: list[tuple[str, str, str, str]],
    ) -> Any:
        """``links``: (target url, message, "1" when the message is a page that counts against the
        page budget else "", referrer JSON or "" for none). Returns 2 when this call finished the
        crawl, 1 otherwise, -1 if the crawl is gone."""
        k = self.keys
        args: list[Any] = [
            url,
            result_json,
            outcome,
            status_class,
            "1" if is_page else "0",
            "1" if redirected else "0",
            repr(now),
            k.refs_prefix(crawl_id),
            max_referrers,
            crawl_id,
            max_pages,
        ]
        for link in links:
            args.extend(link)
        return self._complete(
            keys=[
                k.crawl(crawl_id),
                k.urls(crawl_id),
                k.queue(crawl_id),
                k.inflight(crawl_id),
                k.active,
                k.problems(crawl_id),
                k.redirects(crawl_id),
                k.finished_events,
            ],
            args=args,
        )

    def cancel(self, crawl_id: str, now: float) -> Any:
        k = self.keys
        return self._cancel(
            keys=[k.crawl(crawl_id), k.queue(crawl_id), k.active, k.finished_events],
            args=[crawl_id, repr(now)],
        )

    def requeue(self, crawl_id: str, worker: str, urls: list[str] | None = None, *, tail: bool = False) -> Any:
        """Put the worker's leases back in the queue: all of them, or only ``urls``; at the head (work
        that was interrupted goes first) or, with ``tail``, at the end (work put off on purpose)."""
        k = self.keys
        return self._requeue(
            keys=[k.crawl(crawl_id), k.queue(crawl_id), k.inflight(crawl_id)],
            args=[worker, "tail" if tail else "head", *(urls or [])],
        )
