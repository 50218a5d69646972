-- REMEMBER: keep one page of a site as its last read left it (wire.KnownPage), for conditional re-reads,
-- only while the crawl is one of the site's (a crawl of `linkpatrol check`, or one deleted meanwhile,
-- writes nothing: the keys go with the site's last crawl). Past the cap, the pages written longest ago
-- are dropped, at most ARGV[5] per call.
-- KEYS: 1 the site's crawls (crawl id -> created), 2 the site's pages (url -> KnownPage), 3 their order
--       (url -> when written).
-- ARGV: 1 crawl id, 2 page url, 3 the stored page, 4 now, 5 pages kept at most (0: none kept), 6 drops
--       per call at most.
-- Returns 1 when stored, 0 when not (the crawl is no site's, or nothing is kept).
local cap = tonumber(ARGV[5]) or 0
if cap <= 0 or redis.call('ZSCORE', KEYS[1], ARGV[1]) == false then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
local excess = math.min(redis.call('ZCARD', KEYS[3]) - cap, tonumber(ARGV[6]) or 100)
if excess > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[3], excess)
  for i = 1, #oldest, 2 do redis.call('HDEL', KEYS[2], oldest[i]) end
end
return 1
