-- SEED: start a queued crawl: state running, the seed url queued (deduplicated), the crawl active, and
-- the crawl's limits settled: options the crawl left unset take the crawlers' defaults, written into
-- the record so every crawler, the report and the API see the same limits.
-- KEYS: 1 crawl record, 2 urls, 3 queue, 4 active crawls. ARGV: 1 crawl id, 2 seed message, 3 seed url,
-- 4 now, 5 the options with the defaults filled in (JSON; "" leaves them), 6 page budget (0: none),
-- 7 depth limit ("": none), 8 duration limit in seconds ("": none).
-- Returns 1 when it started the crawl, 0 when the crawl was not queued (already started, ended, gone).
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'queued' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'running', 'started_at', ARGV[4], 'pages_queued', 1)
if ARGV[5] and ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'options', ARGV[5], 'max_pages', ARGV[6], 'max_depth', ARGV[7], 'max_duration', ARGV[8])
end
if redis.call('HSETNX', KEYS[2], ARGV[3], '') == 1 then redis.call('RPUSH', KEYS[3], ARGV[2]) end
redis.call('SADD', KEYS[4], ARGV[1])
return 1
