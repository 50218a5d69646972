-- REQUEUE: put crawler ARGV[1]'s leases back in the queue: all of them, or only the urls ARGV[3..];
-- at the head (interrupted work goes first) or, with ARGV[2] == 'tail', at the end (work put off).
-- With ARGV[2] == 'dead' (crawler ARGV[1] stopped answering: its heartbeat expired), all its leases go
-- back at the head, each message's attempt count ("a": crawlers that stopped while holding it) one
-- higher; one that reaches ARGV[4] (0: no bound) is not queued again, to stop the next crawler the
-- same way: it is taken over by crawler ARGV[3], which records a verdict for it (as for OVERDUE).
-- KEYS: 1 crawl record, 2 queue, 3 in-flight, 4 lease clocks. Returns how many leases went back;
-- 'dead': {that count, url, crawler that held it, message, ...} of the leases taken over.
local state = redis.call('HGET', KEYS[1], 'state')
local tag = ARGV[1] .. '\n'
local dead = ARGV[2] == 'dead'
local push = ARGV[2] == 'tail' and 'RPUSH' or 'LPUSH'
local bound = dead and tonumber(ARGV[4]) or 0
local n = 0
local taken = {}
local function back(field, v)
  local msg = string.sub(v, #tag + 1)
  redis.call('ZREM', KEYS[4], field)
  if dead and state == 'running' then
    local m = cjson.decode(msg)
    m['a'] = (tonumber(m['a']) or 0) + 1
    msg = cjson.encode(m)
    if bound > 0 and m['a'] >= bound then
      redis.call('HSET', KEYS[3], field, ARGV[3] .. '\n' .. msg)
      taken[#taken + 1] = field
      taken[#taken + 1] = ARGV[1]
      taken[#taken + 1] = msg
      return
    end
  end
  redis.call('HDEL', KEYS[3], field)
  if state == 'running' then redis.call(push, KEYS[2], msg) end
  n = n + 1
end
if #ARGV > 2 and not dead then
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
if dead then
  table.insert(taken, 1, n)
  return taken
end
return n
