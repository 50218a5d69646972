-- LINKS: queue one bounded batch of the links a checked url holds, before COMPLETE records its result
-- and releases its lease (the lease keeps the crawl from ending meanwhile). A page's links come in as
-- many LINKS calls as it takes, a few hundred links each: no call grows with what a page holds.
-- Idempotent like COMPLETE: a url is deduplicated per crawl, so a batch sent twice (a retry, a page
-- done again after its crawler was thought dead) queues nothing twice; a url that already has a result
-- is not expanded again. Uses the prelude (has_anchor, anchor_name, page_budget).
-- KEYS: 1 crawl record, 2 urls (results and dupefilter), 3 queue, 4 problems, 5 anchors (page -> its
--       anchors), 6 orphan candidates, 7 page-budget decisions of promoted pages (url -> "1"/"0"),
--       8 urls counted per id template (linkpatrol.model.traps.id_template -> count), 9 urls held back,
--       10 referrers past the cap per url (url -> count), 11 redirected urls -> the result a missing
--       anchor of theirs is stored with (its final_url: the page they landed on; COMPLETE's)
-- ARGV[1]: one JSON object (linkpatrol.frontier.Scripts.completion_steps writes it): url, page ("1" a
--       parsed page, "p" parsed although queued as a check: see COMPLETE, "0" otherwise), refs (referrer
--       key prefix), max_refs (referrers kept per url), missing (the result stored for a missing anchor),
--       wanted (the prefix of the sets of anchors asked of pages not read yet), listing (0/1: the links
--       are a sitemap's listing), id_limit (urls of one id template followed at most; 0: no limit);
--       then 6 ARGV per link: target, message, message to queue instead once over the page budget or
--       held back as a trap (or ""), referrer (or ""), "hash\tname" of the anchor its fragment names
--       (or ""; "!hash\tname": an anchor of this very page that the crawler found missing), trap:
--       "" (none), "T\tkind\tprefix" (a trap by its shape: held back) or "C\tprefix\ttemplate" (counted
--       under its id template, held back past id_limit).
-- A fragment naming a page is checked at once when the page's anchors are stored (an empty value:
-- the page is being recorded without anchors, the fragment is not checked), else added to the set of
-- anchors asked of it, which COMPLETE settles in bounded calls when the page is read. A page that
-- redirected (KEYS[11]) is answered by the page it landed on, one hop: checked at once against its
-- anchors, or asked of it (">url\nhash\tname": the row stays "url#name") while it is not read yet.
-- Referrers past max_refs are counted (KEYS[10]), not kept: the count shown is the true one.
-- A url held back is queued as a check (one request, not parsed) and counted in ``trap_held``; the
-- first trap's prefix and kind are kept in ``trap_under`` and ``trap_kind``. A page link turned into a
-- check by the page budget sets ``limit_pages``.
-- Returns the number of urls it queued, or -1 when nothing was done (the crawl is not running, the
-- url already has a result, or it is a promoted page over the budget).
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return -1 end
local a = cjson.decode(ARGV[1])
local url = a.url
local prev = redis.call('HGET', KEYS[2], url)
if prev ~= false and prev ~= '' then return -1 end
local prefix = a.refs
local max_refs = tonumber(a.max_refs)
local max_pages = page_budget(KEYS[1])
if a.page == 'p' then  -- decided once per url, whichever batch (or COMPLETE) comes first
  local decided = redis.call('HGET', KEYS[7], url)
  if decided == false and redis.call('SISMEMBER', KEYS[9], url) == 1 then
    decided = '0'  -- held back as a trap: checked, not expanded
    redis.call('HSET', KEYS[7], url, decided)
  elseif decided == false then
    local ok = max_pages == 0 or redis.call('HINCRBY', KEYS[1], 'pages_queued', 1) <= max_pages
    decided = ok and '1' or '0'
    if not ok then redis.call('HSET', KEYS[1], 'limit_pages', '1') end
    redis.call('HSET', KEYS[7], url, decided)
  end
  if decided ~= '1' then return -1 end
end
local function add_ref(key, ref)
  if ref == '' then return end
  if redis.call('LLEN', prefix .. key) < max_refs then redis.call('RPUSH', prefix .. key, ref)
  else redis.call('HINCRBY', KEYS[10], key, 1) end
end
local function missing(target, asked, ref, result)
  local key = target .. '#' .. anchor_name(asked)
  if redis.call('HSETNX', KEYS[2], key, result or a.missing) == 1 then
    redis.call('SADD', KEYS[4], key)
    redis.call('HINCRBY', KEYS[1], 'outcome_missing_anchor', 1)
  end
  add_ref(key, ref)
end
local listing = a.listing == 1
local candidates = not listing and redis.call('EXISTS', KEYS[6]) == 1
local id_limit = tonumber(a.id_limit) or 0
local function held_back(target, trap)  -- true when the url is to be checked, not followed
  if trap == '' then return false end
  local kind, prefix, template
  if string.sub(trap, 1, 2) == 'T\t' then
    kind, prefix = string.match(trap, '^T\t([^\t]*)\t(.*)$')
  else
    prefix, template = string.match(trap, '^C\t([^\t]*)\t(.*)$')
    if id_limit <= 0 or redis.call('HINCRBY', KEYS[8], template, 1) <= id_limit then return false end
    kind = 'ids'
  end
  redis.call('HINCRBY', KEYS[1], 'trap_held', 1)
  redis.call('SADD', KEYS[9], target)
  if redis.call('HSETNX', KEYS[1], 'trap_under', prefix) == 1 then redis.call('HSET', KEYS[1], 'trap_kind', kind) end
  return true
end
local queued = 0
for i = 2, #ARGV, 6 do
  local target = ARGV[i]
  local seen = redis.call('HGET', KEYS[2], target)
  if listing then
    if seen == false then redis.call('SADD', KEYS[6], target) end
  elseif candidates then
    redis.call('SREM', KEYS[6], target)
  end
  if seen == false then
    redis.call('HSET', KEYS[2], target, '')
    local msg = ARGV[i + 1]
    if ARGV[i + 2] ~= '' then
      if held_back(target, ARGV[i + 5]) then
        msg = ARGV[i + 2]
      elseif max_pages > 0 and redis.call('HINCRBY', KEYS[1], 'pages_queued', 1) > max_pages then
        msg = ARGV[i + 2]
        redis.call('HSET', KEYS[1], 'limit_pages', '1')
      end
    end
    redis.call('RPUSH', KEYS[3], msg)
    queued = queued + 1
    seen = ''
  end
  -- Referrers are kept for urls not checked yet and for problems, not for what answered ok.
  if ARGV[i + 3] ~= '' and (seen == '' or redis.call('SISMEMBER', KEYS[4], target) == 1) then
    add_ref(target, ARGV[i + 3])
  end
  local asked = ARGV[i + 4]
  if string.sub(asked, 1, 1) == '!' then
    missing(target, string.sub(asked, 2), ARGV[i + 3])
  elseif asked ~= '' then
    local anchors = redis.call('HGET', KEYS[5], target)
    if anchors == '' or (anchors == false and seen ~= '') then  -- not read for anchors
      local landed = redis.call('HGET', KEYS[11], target)
      local page = landed and cjson.decode(landed)['f']
      local there = nil
      if page and page ~= target then there = redis.call('HGET', KEYS[5], page) end
      if there and there ~= '' then  -- a redirect: the page it landed on answers
        if not has_anchor(there, asked) then missing(target, asked, ARGV[i + 3], landed) end
      elseif there == false and redis.call('HGET', KEYS[2], page) == '' then  -- ... when it is read
        redis.call('SADD', a.wanted .. page, '>' .. target .. '\n' .. asked)
        add_ref(target .. '#' .. anchor_name(asked), ARGV[i + 3])
      end
    elseif anchors then
      if not has_anchor(anchors, asked) then
        missing(target, asked, ARGV[i + 3], redis.call('HGET', KEYS[11], target) or nil)
      end
    else  -- not read yet: asked of it, checked when it is
      redis.call('SADD', a.wanted .. target, asked)
      add_ref(target .. '#' .. anchor_name(asked), ARGV[i + 3])
    end
  end
end
return queued
