-- KEYS: slots, bucket, not-before. ARGV: concurrency, rate/s, burst, token, lease ms, bucket ttl ms,
-- then tokens to release. Returns {1, 0} when granted, {0, ms to wait} or {0, -1} when every slot is taken.
for i = 7, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
local wait = redis.call('PTTL', KEYS[3])
if wait > 0 then return {0, wait} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local conc = tonumber(ARGV[1])
if conc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if redis.call('ZCARD', KEYS[1]) >= conc then return {0, -1} end
end
local rate = tonumber(ARGV[2])
if rate > 0 then
  local burst = tonumber(ARGV[3])
  local b = redis.call('HMGET', KEYS[2], 't', 'ts')
  local tokens = tonumber(b[1]) or burst
  local ts = tonumber(b[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
  if tokens < 1 then return {0, math.ceil((1 - tokens) * 1000 / rate)} end
  redis.call('HSET', KEYS[2], 't', tostring(tokens - 1), 'ts', now)
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
if conc > 0 then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[5]), ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return {1, 0}
