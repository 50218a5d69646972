-- A failed login: count it for the account and for the client address. From the limit on, each
-- further failure blocks the account (and the address) for a delay that doubles every time, up to
-- the cap; a counter expires a window after its last failure, so a slow, steady attacker never
-- starts afresh. The account's block does not hold back an address that signed in to it before.
-- KEYS[1] account failures  KEYS[2] account block  KEYS[3] address failures  KEYS[4] address block
-- KEYS[5] the account's known addresses
-- ARGV[1] limit  ARGV[2] window (ms)  ARGV[3] first delay (ms)  ARGV[4] cap (ms)  ARGV[5] the address
-- ARGV[6] the oldest last-login time (Unix seconds) that still makes an address known
-- Returns how long (ms) this client must now wait.
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local first = tonumber(ARGV[3])
local cap = tonumber(ARGV[4])

local function count(failures, block)
  local n = redis.call('INCR', failures)
  local delay = 0
  if n >= limit then
    delay = math.floor(math.min(first * 2 ^ math.min(n - limit, 40), cap))
    if delay > 0 then
      redis.call('SET', block, '1', 'PX', delay)
    end
  end
  redis.call('PEXPIRE', failures, window + delay)
  return delay
end

local account = count(KEYS[1], KEYS[2])
local address = count(KEYS[3], KEYS[4])
local known = redis.call('ZSCORE', KEYS[5], ARGV[5])
if known and tonumber(known) > tonumber(ARGV[6]) then
  account = 0
end
return math.max(account, address)
