-- SHARE: keep one link's result in the shared link cache (wire.CachedCheck) for ARGV[2] seconds, and
-- keep the cache to at most ARGV[3] entries: the entries written longest ago are dropped first, at most
-- ARGV[5] per call (one put adds one entry, so the bound holds after every call once it held before).
-- Entries written more than their TTL ago are dropped from the order too (their keys expired already).
-- Dropped and expired entries read as absent: the link is checked again.
-- KEYS: 1 the link's entry, 2 the order of the entries (entry key -> when written, Unix seconds).
-- ARGV: 1 the entry, 2 TTL in seconds, 3 entries kept at most (0: no count bound, no order), 4 now,
--       5 drops per call at most.
-- Returns the entries dropped by this call.
local ttl = tonumber(ARGV[2])
local max = tonumber(ARGV[3]) or 0
local drops = tonumber(ARGV[5]) or 100
redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
if max <= 0 then return 0 end
local now = tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], now, KEYS[1])
redis.call('EXPIRE', KEYS[2], ttl)  -- nothing written for a TTL: every entry expired, and so does the order
local dropped = 0
local excess = math.min(redis.call('ZCARD', KEYS[2]) - max, drops)
if excess > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], excess)
  for i = 1, #oldest, 2 do redis.call('DEL', oldest[i]) end
  dropped = #oldest / 2
end
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - ttl, 'LIMIT', 0, drops)
if #stale > 0 then
  redis.call('ZREM', KEYS[2], unpack(stale))
  for i = 1, #stale do redis.call('DEL', stale[i]) end
  dropped = dropped + #stale
end
return dropped
