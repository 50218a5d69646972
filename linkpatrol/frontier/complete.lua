-- COMPLETE: record one checked url, count it, release its lease and detect the end of the crawl, in
-- one atomic step (so a crawl finishes exactly once). The links the url holds were queued before, in
-- bounded batches, by LINKS while the lease was held. Idempotent: a url that already has a result is
-- not counted again. Uses the prelude (has_anchor, anchor_name, page_budget).
-- The #anchors other pages asked of this url before it was read (a set per url, LINKS's) are settled
-- here, a.per_call at most per call: while more are left, a call stores the page's anchors (or, for a
-- page not read for anchors, an empty marker) where LINKS looks first, so nobody adds to the set
-- any more, settles one batch and returns 3 without recording anything: the caller calls again
-- (the lease is still held, so the crawl cannot end meanwhile). No call grows with the set: a
-- hostile site asking /x#a1 ... /x#a50000 of a page read last costs as many short calls.
-- KEYS: 1 crawl record, 2 urls (results and dupefilter), 3 queue, 4 in-flight, 5 active crawls,
--       6 problems, 7 redirects, 8 ended-crawl events, 9 anchors (page -> its anchors), 10 page-budget
--       decisions of promoted pages (LINKS's; dropped here), 11 urls held back as a trap (never
--       counted as pages), 12 lease clocks (OVERDUE's), 13 referrers past the cap per url (LINKS's),
--       14 redirected urls -> the result a missing anchor of theirs is stored with (LINKS reads it),
--       15 pages past the per-page cap -> links not taken (at most a.named_pages of them; the counter
--       counts all)
-- ARGV[1]: one JSON object (linkpatrol.frontier.Scripts.completion_steps writes it):
--   url, result (the wire format), outcome, class (status class), page ("1" a parsed page, "p" parsed
--   although queued as a check: an in-scope target found by a <link>, <img>... that answered HTML, which
--   takes a place in the page budget now or is not counted as a page when the budget is spent, "0"
--   otherwise), redirected (0/1), now (a string: seconds), crawl (its id), method (verdicts.CheckMethod),
--   retries, error (error kind or ""), refs (referrer key prefix), wanted (the prefix of the sets of
--   anchors asked of pages not read yet), missing (the result stored for a missing anchor), over_cap
--   (links past the per-page cap not taken), link_cap (that cap), depth_limited (0/1: the depth limit
--   turned some of the page's links into checks), per_call (wanted anchors settled per call), landing
--   (the page this url landed on after redirects, whose anchors decide its fragments; "": none; with
--   no anchors, a page queued to be read, asked in turn), missing_here (the result stored for a
--   missing anchor of this url: naming the landing page and the redirects), named_pages (KEYS[15]'s bound)
-- ARGV[2]: the page's anchors as hashes "\nh1\nh2\n" ("" when it was not read for anchors:
--   wire.anchor_hash), as they are: up to 90 KB that no call decodes
-- A missing anchor is a row of its own: url "page#name" in the urls hash and the problems set, with
-- its referrers; the page's own row stays ok. A url that redirected to a page queued to be read hands
-- the anchors asked of it on to that page (">url\nhash\tname": still the row "url#name" when missing),
-- once: a landing page that redirects in turn drops what was handed on.
-- Returns 2 when this call finished the crawl, 1 otherwise, 3 when wanted anchors are left to settle
-- (nothing recorded yet: call again), -1 when the crawl is gone.
local record, urls, queue, inflight, active, problems, redirects, ended, anchors, decisions, held, clocks,
      refs_over, landed, over_cap_pages = unpack(KEYS)
if redis.call('EXISTS', record) == 0 then return -1 end
local a = cjson.decode(ARGV[1])
local page_anchors = ARGV[2]
local state = redis.call('HGET', record, 'state')
local url = a.url
local prev = redis.call('HGET', urls, url)
local function drop_refs(key)  -- the list LINKS keeps, and its count past the cap
  redis.call('DEL', a.refs .. key)
  redis.call('HDEL', refs_over, key)
end
local function missing(target, asked, result)  -- its referrers are kept already (LINKS)
  local key = target .. '#' .. anchor_name(asked)
  if redis.call('HSETNX', urls, key, result) == 1 then
    redis.call('SADD', problems, key)
    redis.call('HINCRBY', record, 'outcome_missing_anchor', 1)
  end
end
local landing = a.landing
if landing == url then landing = '' end
-- An anchor asked of this url, handed on to the page it landed on: checked against that page's
-- anchors, asked of it while it is not read yet, dropped when it is not read for anchors.
local function hand_on(asked)
  local there = redis.call('HGET', anchors, landing)
  if there and there ~= '' then
    if has_anchor(there, asked) then drop_refs(url .. '#' .. anchor_name(asked))
    else missing(url, asked, a.missing_here) end
  elseif there == false and redis.call('HGET', urls, landing) == '' then
    redis.call('SADD', a.wanted .. landing, '>' .. url .. '\n' .. asked)
  else
    drop_refs(url .. '#' .. anchor_name(asked))
  end
end
-- The anchors asked of this url before it was read: checked now, handed on to the page it landed on,
-- or dropped when it was not read. Those another url handed on here (">url\n...") are that url's rows.
local per_call = tonumber(a.per_call) or 100
local function settle_wanted(blob, count)
  for _, member in ipairs(redis.call('SPOP', a.wanted .. url, count)) do
    local row, asked = url, member
    if string.sub(member, 1, 1) == '>' then row, asked = string.match(member, '^>([^\n]*)\n(.*)$') end
    if blob ~= '' and not has_anchor(blob, asked) then
      missing(row, asked, row == url and a.missing_here or redis.call('HGET', landed, row) or a.missing)
    elseif blob == '' and landing ~= '' and row == url then hand_on(asked)
    else drop_refs(row .. '#' .. anchor_name(asked)) end
  end
end
local function note_landing()  -- LINKS hands on what it is asked of this url from now on
  if landing ~= '' then redis.call('HSET', landed, url, a.missing_here) end
end
if (prev == false or prev == '') and redis.call('SCARD', a.wanted .. url) > per_call then
  -- From now on LINKS checks what it is asked of this url at once (or drops it: the "" marker).
  local stored = redis.call('HGET', anchors, url)  -- a page redone: kept, unless a marker and now read
  if stored == false or (stored == '' and page_anchors ~= '') then redis.call('HSET', anchors, url, page_anchors) end
  note_landing()
  settle_wanted(page_anchors, per_call)
  return 3
end
if prev == false or prev == '' then
  local is_page = a.page == '1'
  if a.page == 'p' then  -- LINKS may have decided it already
    local max_pages = page_budget(record)
    local decided = redis.call('HGET', decisions, url)
    if decided then is_page = decided == '1'
    elseif redis.call('SISMEMBER', held, url) == 1 then is_page = false
    else is_page = max_pages == 0 or redis.call('HINCRBY', record, 'pages_queued', 1) <= max_pages end
    if not is_page and not decided and redis.call('SISMEMBER', held, url) == 0 then
      redis.call('HSET', record, 'limit_pages', '1')
    end
  end
  if a.depth_limited == 1 then redis.call('HSET', record, 'limit_depth', '1') end
  redis.call('HSET', urls, url, a.result)
  redis.call('HINCRBY', record, 'links_checked', 1)
  redis.call('HINCRBY', record, 'checked_' .. a.method, 1)
  if a.retries ~= 0 then redis.call('HINCRBY', record, 'retries', a.retries) end
  if a.error ~= '' then redis.call('HINCRBY', record, 'error_' .. a.error, 1) end
  if is_page then redis.call('HINCRBY', record, 'pages_crawled', 1) end
  redis.call('HINCRBY', record, 'outcome_' .. a.outcome, 1)
  redis.call('HINCRBY', record, 'status_' .. a.class, 1)
  if a.redirected == 1 then
    redis.call('SADD', redirects, url)
    redis.call('HINCRBY', record, 'redirected', 1)
  end
  if a.outcome == 'ok' then drop_refs(url) else redis.call('SADD', problems, url) end
  note_landing()
  local blob = page_anchors
  if blob ~= '' then redis.call('HSET', anchors, url, blob)
  elseif redis.call('HGET', anchors, url) == '' then redis.call('HDEL', anchors, url) end
  settle_wanted(blob, per_call)  -- what is left: at most a batch
  redis.call('DEL', a.wanted .. url)
  if a.over_cap ~= 0 then  -- links past the per-page cap, not followed: counted, each page named
    redis.call('HINCRBY', record, 'links_over_cap', a.over_cap)
    if redis.call('HSETNX', record, 'links_over_cap_page', url) == 1 then
      redis.call('HSET', record, 'link_cap', a.link_cap)
    end
    redis.call('HINCRBY', record, 'links_over_cap_pages', 1)
    if redis.call('HLEN', over_cap_pages) < (tonumber(a.named_pages) or 0) then
      redis.call('HSET', over_cap_pages, url, a.over_cap)
    end
  end
end
redis.call('HDEL', inflight, url)
redis.call('HDEL', decisions, url)
redis.call('ZREM', clocks, url)
if state == 'running' and redis.call('LLEN', queue) == 0 and redis.call('HLEN', inflight) == 0 then
  redis.call('HSET', record, 'state', 'finished', 'finished_at', a.now)
  redis.call('SREM', active, a.crawl)
  if redis.call('HGET', record, 'notify') == '1' then redis.call('RPUSH', ended, a.crawl) end
  return 2
end
return 1
