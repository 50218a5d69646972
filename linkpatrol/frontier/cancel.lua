-- CANCEL: stop a queued or running crawl; its queue is dropped, what it found stays.
-- KEYS: 1 crawl record, 2 queue, 3 active crawls, 4 ended-crawl events. ARGV: 1 crawl id, 2 now.
-- Returns 1 when cancelled, 0 when the crawl had already ended.
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'queued' and state ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finished_at', ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[1], 'notify') == '1' then redis.call('RPUSH', KEYS[4], ARGV[1]) end
return 1
