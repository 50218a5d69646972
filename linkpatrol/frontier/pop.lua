-- POP: lease up to ARGV[1] messages of a running crawl to crawler ARGV[2]: each moves from the queue
-- into the in-flight hash (url -> "crawler\\nmessage"), where REQUEUE finds it if the crawler dies, and
-- its lease clock starts at ARGV[3] (see OVERDUE).
-- KEYS: 1 crawl record, 2 queue, 3 in-flight, 4 lease clocks. Returns the leased messages.
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'running' then return {} end
local items = redis.call('LPOP', KEYS[2], tonumber(ARGV[1]))
if not items then return {} end
for _, msg in ipairs(items) do
  local url = cjson.decode(msg)['u']
  redis.call('HSET', KEYS[3], url, ARGV[2] .. '\n' .. msg)
  redis.call('ZADD', KEYS[4], ARGV[3], url)
end
return items
