-- wrk script for bench/soak.sh: a mixed, long-running request stream.
--
-- Each request is drawn at random from these kinds (weights in $SOAK_MIX,
-- default "hit=60 miss=10 scan=10 create=10 method=5 path=5"):
--
--   hit     GET /<code>, a code picked from $CODES_FILE (the preloaded links)
--   miss    GET /b<6 base62 digits>: the preloaded codes' shape, but a number
--           past the preloaded range ($SOAK_PRELOADED), so never created
--   scan    GET /<7 random base62 characters> from the whole code space
--   create  POST /api/v1/links, JSON body with a URL unique to the request
--           (seed, thread and counter), so every one is a new link
--   method  an invented method, "FOO" + 8 random [A-Z0-9] (new each time),
--           on /healthz, /<preloaded code> or /api/v1/links in turn
--   path    GET /x/<10 random base62 characters>/y (matches no route)
--
-- Environment:
--   CODES_FILE     one preloaded code per line (required)
--   SOAK_PRELOADED how many codes the preload used ('b' + index in base62);
--                  misses draw indexes past it (default: lines in CODES_FILE)
--   SOAK_MIX       weights, "name=N" separated by spaces or commas
--   SOAK_SEED      integer seed (default 1). Thread i seeds its generator
--                  with SEED * 1000003 + i, so a run with the same seed,
--                  thread count and LuaJIT sends each thread the same
--                  sequence of requests (how many get sent depends on speed)
--
-- done() prints the RESULT line of redirect.lua / create.lua, then
--   MIX hit=.. miss=.. scan=.. create=.. method=.. path=..
-- with the number of requests of each kind the threads generated. wrk
-- counts every answer outside 2xx/3xx as a "status error": here the
-- misses, scans, invented methods and random paths are meant to get 4xx.

local KINDS = { "hit", "miss", "scan", "create", "method", "path" }

local threads = {}
local next_id = 0

function setup(thread)
   next_id = next_id + 1
   thread:set("id", next_id)
   table.insert(threads, thread)
end

local B62 = {}
do
   local a = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
   for i = 1, 62 do B62[i] = a:sub(i, i) end
end
local UP36 = {}
do
   local a = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
   for i = 1, 36 do UP36[i] = a:sub(i, i) end
end

local random = math.random
local concat = table.concat

local codes, ncodes, preloaded = {}, 0, 0
local cum = {}       -- cumulative weights, same order as KINDS
local total_weight = 0
local host_suffix    -- " HTTP/1.1\r\nHost: ...\r\n"
local create_head, url_prefix
local tid = 1
local created = 0
local method_turn = 0
local buf = {}

-- Per-kind counters; globals so that done() can read them with thread:get().
n_hit, n_miss, n_scan, n_create, n_method, n_path = 0, 0, 0, 0, 0, 0

local function parse_mix(s)
   local w = {}
   for _, k in ipairs(KINDS) do w[k] = 0 end
   for name, n in s:gmatch("(%a+)=(%d+)") do
      if w[name] == nil then error("SOAK_MIX: unknown kind '" .. name .. "'") end
      w[name] = tonumber(n)
   end
   return w
end

local function rand_chars(alphabet, size, n)
   for i = 1, n do buf[i] = alphabet[random(size)] end
   return concat(buf, "", 1, n)
end

function init(args)
   local path = os.getenv("CODES_FILE")
   if not path or path == "" then error("CODES_FILE environment variable is not set") end
   local f = assert(io.open(path, "r"))
   for line in f:lines() do
      if line ~= "" then
         ncodes = ncodes + 1
         codes[ncodes] = line
      end
   end
   f:close()
   if ncodes == 0 then error("no codes in " .. path) end
   preloaded = tonumber(os.getenv("SOAK_PRELOADED") or "") or ncodes

   local w = parse_mix(os.getenv("SOAK_MIX") or "hit=60 miss=10 scan=10 create=10 method=5 path=5")
   for i, k in ipairs(KINDS) do
      total_weight = total_weight + w[k]
      cum[i] = total_weight
   end
   if total_weight <= 0 then error("SOAK_MIX: all weights are 0") end

   tid = tonumber(id) or 1
   local seed = tonumber(os.getenv("SOAK_SEED") or "1") or 1
   math.randomseed(seed * 1000003 + tid)
   for _ = 1, 10 do random() end

   local host = wrk.headers["Host"] or (wrk.host .. ":" .. tostring(wrk.port))
   host_suffix = " HTTP/1.1\r\nHost: " .. host .. "\r\n"
   create_head = "POST /api/v1/links" .. host_suffix ..
      "Content-Type: application/json\r\nContent-Length: "
   url_prefix = string.format('{"url":"https://example.com/soak/%d/t%d/', seed, tid)
end

local function get(path)
   return "GET " .. path .. host_suffix .. "\r\n"
end

-- 'b' + 6 base62 digits for an index >= preloaded: never imported.
local function miss_code()
   while true do
      local n = 0
      for i = 1, 6 do
         local d = random(62)
         buf[i] = B62[d]
         n = n * 62 + (d - 1)
      end
      if n >= preloaded then return "b" .. concat(buf, "", 1, 6) end
   end
end

function request()
   local r = random() * total_weight
   if r < cum[1] then
      n_hit = n_hit + 1
      return get("/" .. codes[random(ncodes)])
   elseif r < cum[2] then
      n_miss = n_miss + 1
      return get("/" .. miss_code())
   elseif r < cum[3] then
      n_scan = n_scan + 1
      return get("/" .. rand_chars(B62, 62, 7))
   elseif r < cum[4] then
      n_create = n_create + 1
      created = created + 1
      local body = url_prefix .. created .. '"}'
      return create_head .. #body .. "\r\n\r\n" .. body
   elseif r < cum[5] then
      n_method = n_method + 1
      method_turn = method_turn % 3 + 1
      local target
      if method_turn == 1 then
         target = "/healthz"
      elseif method_turn == 2 then
         target = "/" .. codes[random(ncodes)]
      else
         target = "/api/v1/links"
      end
      return "FOO" .. rand_chars(UP36, 36, 8) .. " " .. target .. host_suffix .. "\r\n"
   else
      n_path = n_path + 1
      return get("/x/" .. rand_chars(B62, 62, 10) .. "/y")
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   local errors = e.connect + e.read + e.write + e.status + e.timeout
   local secs = summary.duration / 1e6
   io.write(string.format(
      "RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d requests=%d " ..
      "duration_s=%.3f err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
      summary.requests / secs,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      errors, summary.requests, secs,
      e.connect, e.read, e.write, e.status, e.timeout))
   local parts = {}
   for _, k in ipairs(KINDS) do
      local n = 0
      for _, t in ipairs(threads) do n = n + (tonumber(t:get("n_" .. k)) or 0) end
      table.insert(parts, k .. "=" .. n)
   end
   io.write("MIX " .. concat(parts, " ") .. "\n")
end
