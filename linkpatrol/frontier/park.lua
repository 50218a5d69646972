-- PARK: a page of a crawl that renders (its `render` option) needs a browser. Its reason is noted once
-- per url (the `render_why_<reason>` counter of the record, and url -> reason in KEYS[5], so whoever
-- leases the url again knows without reading the page again). With a crawler in ARGV[2], the lease it
-- holds is parked: tagged "~render" in the in-flight hash (so the crawl cannot end while the page waits:
-- COMPLETE ends a crawl only with nothing in flight), its clock stopped, and its message appended to the
-- render queue KEYS[2], which only crawlers that render lease from (with POP, given that list).
-- KEYS: 1 crawl record, 2 render queue, 3 in-flight, 4 lease clocks, 5 url -> why it is rendered.
-- ARGV: 1 url, 2 crawler holding the lease ("": only note the reason), 3 its message, 4 the reason.
-- Returns 1 parked, 3 noted (no crawler given), 2 noted but no crawler can render for this crawl
-- (`render_unavailable`: read the page as it is), 0 the crawl is not running, -1 the crawler does not
-- hold the lease (any more).
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
if redis.call('HSETNX', KEYS[5], ARGV[1], ARGV[4]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'render_why_' .. ARGV[4], 1)
end
if redis.call('HEXISTS', KEYS[1], 'render_unavailable') == 1 then return 2 end
if ARGV[2] == '' then return 3 end
local tag = ARGV[2] .. '\n'
local held = redis.call('HGET', KEYS[3], ARGV[1])
if not held or string.sub(held, 1, #tag) ~= tag then return -1 end
redis.call('HSET', KEYS[3], ARGV[1], '~render\n' .. ARGV[3])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[3])
return 1
