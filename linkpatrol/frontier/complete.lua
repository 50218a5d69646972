-- COMPLETE: record one checked url, count it, release its lease and detect the end of the crawl, in
-- one atomic step (so a crawl finishes exactly once). The links the url holds were queued before, in
-- bounded batches, by LINKS while the lease was held. Idempotent: a url that already has a result is
-- not counted again.
-- The #anchors other pages asked of this url before it was read (a set per url, LINKS's) are settled
-- here, ARGV[21] at most per call: while more are left, a call stores the page's anchors (or, for a
-- page not read for anchors, an empty marker) where LINKS looks first, so nobody adds to the set
-- any more, settles one batch and returns 3 without recording anything: the caller calls again
-- (the lease is still held, so the crawl cannot end meanwhile). No call grows with the set: a
-- hostile site asking /x#a1 ... /x#a50000 of a page read last costs as many short calls.
-- KEYS: 1 crawl record, 2 urls (results and dupefilter), 3 queue, 4 in-flight, 5 active crawls,
--       6 problems, 7 redirects, 8 ended-crawl events, 9 anchors (page -> its anchors),
--       10 orphan candidates (unused here, kept for the key order), 11 page-budget decisions of
--       promoted pages (LINKS's; dropped here), 12 urls held back as a trap (never counted as pages),
--       13 lease clocks (OVERDUE's), 14 referrers past the cap per url (LINKS's), 15 redirected urls ->
--       the result a missing anchor of theirs is stored with (LINKS reads it), 16 pages past the
--       per-page cap -> links not taken (at most ARGV[24] pages named; the counter counts all)
-- ARGV: 1 url, 2 result (wire format), 3 outcome, 4 status class, 5 "1" when a parsed page, "p" when
--       parsed although it was queued as a check (an in-scope target found by a <link>, <img>...
--       that answered HTML: it takes a place in the page budget now, or is not counted as a page when
--       the budget is spent), "0" otherwise, 6 "1" when redirected, 7 now, 8 referrer key prefix,
--       9 unused (LINKS keeps the referrers), 10 crawl id, 11 how it was checked (verdicts.CheckMethod),
--       12 retries spent, 13 error kind or "", 14 the page's anchors as hashes "\nh1\nh2\n" ("" when
--       it was not read for anchors; wire.anchor_hash), 15 the result stored for a missing anchor,
--       16 the prefix of the sets of anchors asked of pages not read yet, 17 unused (was: a sitemap's
--       listing), 18 links past the per-page cap that were not taken ("0"), 19 that cap, 20 "1" when
--       the depth limit turned some of the page's links into checks, 21 wanted anchors settled per call,
--       22 the page this url landed on after redirects, whose anchors decide its fragments ("": none;
--       with no anchors in ARGV[14], a page queued to be read, asked in turn), 23 the result stored
--       for a missing anchor of this url (ARGV[15] naming the landing page and the redirects),
--       24 pages past the per-page cap named at most (KEYS[16])
-- A missing anchor is a row of its own: url "page#name" in the urls hash and the problems set, with
-- its referrers; the page's own row stays ok. A url that redirected to a page queued to be read hands
-- the anchors asked of it on to that page (">url\nhash\tname": still the row "url#name" when missing),
-- once: a landing page that redirects in turn drops what was handed on.
-- Returns 2 when this call finished the crawl, 1 otherwise, 3 when wanted anchors are left to settle
-- (nothing recorded yet: call again), -1 when the crawl is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local state = redis.call('HGET', KEYS[1], 'state')
local url = ARGV[1]
local prefix = ARGV[8]
local prev = redis.call('HGET', KEYS[2], url)
-- The page's anchors are sorted 8-digit hashes, "\nh1\nh2\n" (wire.Completion.anchors_arg): found by
-- binary search, not by scanning the blob (10,000 ids are 90 KB; a scan per asked anchor made a batch
-- of 200 take 30 ms). A blob of another shape is scanned.
local function has_anchor(blob, asked)  -- asked: "hash\tname"
  local hash = string.match(asked, '^(%x+)\t')
  local n = (#blob - 1) / 9
  if #hash ~= 8 or n < 0 or n ~= math.floor(n) then return string.find(blob, '\n' .. hash .. '\n', 1, true) ~= nil end
  local wanted, lo, hi = tonumber(hash, 16), 1, n
  while lo <= hi do
    local mid = math.floor((lo + hi) / 2)
    local at = tonumber(string.sub(blob, mid * 9 - 7, mid * 9), 16)
    if at == wanted then return true elseif at < wanted then lo = mid + 1 else hi = mid - 1 end
  end
  return false
end
local function anchor_name(asked) return string.match(asked, '^%x+\t(.*)$') end
local function drop_refs(key)  -- the list LINKS keeps, and its count past the cap
  redis.call('DEL', prefix .. key)
  redis.call('HDEL', KEYS[14], key)
end
local function missing(target, asked, result)  -- its referrers are kept already (LINKS)
  local key = target .. '#' .. anchor_name(asked)
  if redis.call('HSETNX', KEYS[2], key, result) == 1 then
    redis.call('SADD', KEYS[6], key)
    redis.call('HINCRBY', KEYS[1], 'outcome_missing_anchor', 1)
  end
end
local landing = ARGV[22]
if landing == url then landing = '' end
-- An anchor asked of this url, handed on to the page it landed on: checked against that page's
-- anchors, asked of it while it is not read yet, dropped when it is not read for anchors.
local function hand_on(asked)
  local there = redis.call('HGET', KEYS[9], landing)
  if there and there ~= '' then
    if has_anchor(there, asked) then drop_refs(url .. '#' .. anchor_name(asked))
    else missing(url, asked, ARGV[23]) end
  elseif there == false and redis.call('HGET', KEYS[2], landing) == '' then
    redis.call('SADD', ARGV[16] .. landing, '>' .. url .. '\n' .. asked)
  else
    drop_refs(url .. '#' .. anchor_name(asked))
  end
end
-- The anchors asked of this url before it was read: checked now, handed on to the page it landed on,
-- or dropped when it was not read. Those another url handed on here (">url\n...") are that url's rows.
local per_call = tonumber(ARGV[21]) or 100
local function settle_wanted(blob, count)
  for _, member in ipairs(redis.call('SPOP', ARGV[16] .. url, count)) do
    local row, asked = url, member
    if string.sub(member, 1, 1) == '>' then row, asked = string.match(member, '^>([^\n]*)\n(.*)$') end
    if blob ~= '' and not has_anchor(blob, asked) then
      missing(row, asked, row == url and ARGV[23] or redis.call('HGET', KEYS[15], row) or ARGV[15])
    elseif blob == '' and landing ~= '' and row == url then hand_on(asked)
    else drop_refs(row .. '#' .. anchor_name(asked)) end
  end
end
local function note_landing()  -- LINKS hands on what it is asked of this url from now on
  if landing ~= '' then redis.call('HSET', KEYS[15], url, ARGV[23]) end
end
if (prev == false or prev == '') and redis.call('SCARD', ARGV[16] .. url) > per_call then
  -- From now on LINKS checks what it is asked of this url at once (or drops it: the "" marker).
  local stored = redis.call('HGET', KEYS[9], url)  -- a page redone: kept, unless a marker and now read
  if stored == false or (stored == '' and ARGV[14] ~= '') then redis.call('HSET', KEYS[9], url, ARGV[14]) end
  note_landing()
  settle_wanted(ARGV[14], per_call)
  return 3
end
local function page_budget()
  local budget = redis.call('HGET', KEYS[1], 'max_pages')
  if budget == false then  -- a record written before the field existed: the options hold it
    local options = redis.call('HGET', KEYS[1], 'options')
    if options then budget = cjson.decode(options)['max_pages'] end
  end
  return tonumber(budget) or 0
end
if prev == false or prev == '' then
  local max_pages = page_budget()
  local is_page = ARGV[5] == '1'
  if ARGV[5] == 'p' then  -- LINKS may have decided it already
    local decided = redis.call('HGET', KEYS[11], url)
    if decided then is_page = decided == '1'
    elseif redis.call('SISMEMBER', KEYS[12], url) == 1 then is_page = false
    else is_page = max_pages == 0 or redis.call('HINCRBY', KEYS[1], 'pages_queued', 1) <= max_pages end
    if not is_page and not decided and redis.call('SISMEMBER', KEYS[12], url) == 0 then
      redis.call('HSET', KEYS[1], 'limit_pages', '1')
    end
  end
  if ARGV[20] == '1' then redis.call('HSET', KEYS[1], 'limit_depth', '1') end
  redis.call('HSET', KEYS[2], url, ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'links_checked', 1)
  redis.call('HINCRBY', KEYS[1], 'checked_' .. ARGV[11], 1)
  if ARGV[12] ~= '0' then redis.call('HINCRBY', KEYS[1], 'retries', tonumber(ARGV[12])) end
  if ARGV[13] ~= '' then redis.call('HINCRBY', KEYS[1], 'error_' .. ARGV[13], 1) end
  if is_page then redis.call('HINCRBY', KEYS[1], 'pages_crawled', 1) end
  redis.call('HINCRBY', KEYS[1], 'outcome_' .. ARGV[3], 1)
  redis.call('HINCRBY', KEYS[1], 'status_' .. ARGV[4], 1)
  if ARGV[3] == 'dead' then redis.call('HINCRBY', KEYS[1], 'broken', 1) end
  if ARGV[6] == '1' then
    redis.call('SADD', KEYS[7], url)
    redis.call('HINCRBY', KEYS[1], 'redirected', 1)
  end
  if ARGV[3] == 'ok' then drop_refs(url) else redis.call('SADD', KEYS[6], url) end
  note_landing()
  local blob = ARGV[14]
  if blob ~= '' then redis.call('HSET', KEYS[9], url, blob)
  elseif redis.call('HGET', KEYS[9], url) == '' then redis.call('HDEL', KEYS[9], url) end
  settle_wanted(blob, per_call)  -- what is left: at most a batch
  redis.call('DEL', ARGV[16] .. url)
  if ARGV[18] ~= '0' then  -- links past the per-page cap, not followed: counted, each page named
    redis.call('HINCRBY', KEYS[1], 'links_over_cap', tonumber(ARGV[18]))
    if redis.call('HSETNX', KEYS[1], 'links_over_cap_page', url) == 1 then
      redis.call('HSET', KEYS[1], 'link_cap', ARGV[19])
    end
    redis.call('HINCRBY', KEYS[1], 'links_over_cap_pages', 1)
    if redis.call('HLEN', KEYS[16]) < (tonumber(ARGV[24]) or 0) then
      redis.call('HSET', KEYS[16], url, ARGV[18])
    end
  end
end
redis.call('HDEL', KEYS[4], url)
redis.call('HDEL', KEYS[11], url)
redis.call('ZREM', KEYS[13], url)
if state == 'running' and redis.call('LLEN', KEYS[3]) == 0 and redis.call('HLEN', KEYS[4]) == 0 then
  redis.call('HSET', KEYS[1], 'state', 'finished', 'finished_at', ARGV[7])
  redis.call('SREM', KEYS[5], ARGV[10])
  if redis.call('HGET', KEYS[1], 'notify') == '1' then redis.call('RPUSH', KEYS[8], ARGV[10]) end
  return 2
end
return 1
