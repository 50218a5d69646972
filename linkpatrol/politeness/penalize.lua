-- KEYS: not-before, strikes. ARGV: host, wait ms (-1: a 429 without Retry-After), base ms, max ms,
-- strikes before backing off, channel. Returns the wait now in force because of this answer (0: none).
local wait = tonumber(ARGV[2])
if wait < 0 then
  local n = redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], 60000)
  local at = tonumber(ARGV[5])
  if n < at then return 0 end
  wait = tonumber(ARGV[3]) * 2 ^ (n - at)
end
wait = math.floor(math.min(wait, tonumber(ARGV[4])))
if wait <= 0 or redis.call('PTTL', KEYS[1]) >= wait then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', wait)
redis.call('PUBLISH', ARGV[6], ARGV[1] .. ' ' .. wait)
return wait
