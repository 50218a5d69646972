-- OVERDUE: the last line of defence against a lease nobody will ever finish (a parser bug that lost
-- its task, a thread stuck in a parse, while the crawler's heartbeat goes on): every lease whose clock
-- started at or before ARGV[1] is taken over by crawler ARGV[2], which records a verdict for it
-- (COMPLETE: the url is decided, not queued again to fail the same way). Its clock is dropped, so
-- one reaper takes it; a clock whose lease is gone (completed, given back) is dropped too.
-- KEYS: 1 in-flight, 2 lease clocks. ARGV: 1 cutoff (seconds), 2 crawler taking over, 3 at most this
-- many per call. Returns {url, crawler that held it, message, ...}.
local out = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, url in ipairs(due) do
  redis.call('ZREM', KEYS[2], url)
  local v = redis.call('HGET', KEYS[1], url)
  local cut = v and string.find(v, '\n', 1, true)
  if cut then
    local msg = string.sub(v, cut + 1)
    redis.call('HSET', KEYS[1], url, ARGV[2] .. '\n' .. msg)
    out[#out + 1] = url
    out[#out + 1] = string.sub(v, 1, cut - 1)
    out[#out + 1] = msg
  end
end
return out
