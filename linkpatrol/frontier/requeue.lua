-- REQUEUE: put worker ARGV[1]'s leases back in the queue: all of them, or only the urls ARGV[3..];
-- at the head (interrupted work goes first) or, with ARGV[2] == 'tail', at the end (work put off).
-- KEYS: 1 crawl record, 2 queue, 3 in-flight, 4 lease clocks. Returns how many leases went back.
local state = redis.call('HGET', KEYS[1], 'state')
local tag = ARGV[1] .. '\n'
local push = ARGV[2] == 'tail' and 'RPUSH' or 'LPUSH'
local n = 0
local function back(field, v)
  redis.call('HDEL', KEYS[3], field)
  redis.call('ZREM', KEYS[4], field)
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
