-- STOP: end a running crawl that reached a limit of its own (its duration): like CANCEL, its queue is
-- dropped and what it found stays, but it ends "finished", with the limit flagged in the record
-- (ARGV[3], e.g. "limit_duration") so the report says why it stopped early. Leases still in flight
-- are recorded when they come back (COMPLETE), without queueing anything.
-- KEYS: 1 crawl record, 2 queue, 3 active crawls, 4 ended-crawl events. ARGV: 1 crawl id, 2 now,
-- 3 the flag to set. Returns 1 when stopped, 0 when the crawl was not running.
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'finished', 'finished_at', ARGV[2], ARGV[3], '1')
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[1], 'notify') == '1' then redis.call('RPUSH', KEYS[4], ARGV[1]) end
return 1
