-- Helpers LINKS and COMPLETE share. The loader (linkpatrol.frontier.script) puts this text in front of
-- each script that uses it, under a comment naming the part, so the text Redis runs shows both.

-- A page's anchors are sorted 8-digit hashes, "\nh1\nh2\n" (wire.Completion.anchors_arg): found by
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

-- The crawl's page budget (0: none), from the record's max_pages field; a record written before the
-- field existed holds it in its options.
local function page_budget(record)
  local budget = redis.call('HGET', record, 'max_pages')
  if budget == false then
    local options = redis.call('HGET', record, 'options')
    if options then budget = cjson.decode(options)['max_pages'] end
  end
  return tonumber(budget) or 0
end
