-- UNPARK: no live crawler can render and pages of this crawl waited for one long enough. The crawl is
-- marked `render_unavailable` (its report says so; PARK answers 2 from now on: pages are read as they
-- are, a `not-rendered` warning) and up to ARGV[2] parked messages go back to the head of the crawl's
-- queue, their "~render" in-flight entries dropped. Call again while it returns ARGV[2].
-- KEYS: 1 crawl record, 2 render queue, 3 in-flight, 4 queue. ARGV: 1 now, 2 batch.
-- Returns the number of messages moved, -1 when the crawl is not running.
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return -1 end
redis.call('HSETNX', KEYS[1], 'render_unavailable', ARGV[1])
local batch = tonumber(ARGV[2])
local msgs = redis.call('LRANGE', KEYS[2], 0, batch - 1)
if #msgs == 0 then return 0 end
redis.call('LTRIM', KEYS[2], #msgs, -1)
for _, msg in ipairs(msgs) do
  local url = cjson.decode(msg)['u']
  local held = redis.call('HGET', KEYS[3], url)
  if held and string.sub(held, 1, 8) == '~render\n' then
    redis.call('HDEL', KEYS[3], url)
    redis.call('LPUSH', KEYS[4], msg)
  end
end
return #msgs
