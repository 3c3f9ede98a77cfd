-- wrk script: GET /<code> with a code picked from $CODES_FILE.
--
-- Environment:
--   CODES_FILE  path of a file with one short code per line (required)
--   WRK_MODE    "random" (default): each request picks a uniformly random code
--               "seq": each thread walks its own slice of the file once
--               (thread i of n takes lines i, i+n, i+2n, ...), prints
--               "WARMUP_THREAD_DONE <id> <count>" when its slice is exhausted
--               and stops. Used by run.sh to warm shorty's cache; run.sh then
--               sends SIGINT to wrk once every thread has reported.
--   WRK_BROWSER "1": every request carries a desktop Chrome User-Agent and a
--               Referer, as browsers send them, so shorty's analytics see
--               what real traffic brings (nginx ignores both).
--
-- done() prints one machine-readable line:
--   RESULT rps=.. p50_ms=.. p99_ms=.. errors=.. requests=.. (+ breakdown)
-- Every wrk thread has its own Lua state: setup() runs in the main state and
-- hands each thread an id; init() runs in the thread's state.

local next_id = 0

function setup(thread)
   next_id = next_id + 1
   thread:set("id", next_id)
end

local codes = {}
local ncodes = 0
local mode = "random"
local idx, step = 1, 1
local sent = 0
local finished = false
local req_prefix, req_suffix

function init(args)
   local path = os.getenv("CODES_FILE")
   if not path or path == "" then
      error("CODES_FILE environment variable is not set")
   end
   local f = assert(io.open(path, "r"))
   for line in f:lines() do
      if line ~= "" then
         ncodes = ncodes + 1
         codes[ncodes] = line
      end
   end
   f:close()
   if ncodes == 0 then error("no codes in " .. path) end

   mode = os.getenv("WRK_MODE") or "random"
   -- `id` is the global that setup() put into this thread's state via
   -- thread:set(); the total thread count comes from run.sh (WRK_THREADS)
   -- because setup() for later threads has not run yet at this point.
   local tid = tonumber(id) or 1
   local nthreads = tonumber(os.getenv("WRK_THREADS") or "1") or 1
   idx, step = tid, nthreads
   -- Different seed for every thread (and every run).
   math.randomseed((os.time() * 1000 + tid * 7919 + math.floor(os.clock() * 1e6)) % 2147483647)
   for _ = 1, 10 do math.random() end

   -- Build the raw request by concatenation: much cheaper than wrk.format()
   -- per request, and identical bytes for nginx and shorty.
   local host = wrk.headers["Host"] or (wrk.host .. ":" .. tostring(wrk.port))
   req_prefix = "GET /"
   local extra = ""
   if os.getenv("WRK_BROWSER") == "1" then
      extra = "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
         .. "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n"
         .. "Referer: https://news.example.com/story?id=42\r\n"
   end
   req_suffix = " HTTP/1.1\r\nHost: " .. host .. "\r\n" .. extra .. "\r\n"
end

function request()
   local code
   if mode == "seq" then
      if idx > ncodes then
         if not finished then
            finished = true
            io.write(string.format("WARMUP_THREAD_DONE %d %d\n", tonumber(id) or 0, sent))
            io.stdout:flush()
            wrk.thread:stop()
         end
         idx = ((idx - 1) % ncodes) + 1 -- keep sending valid requests until stopped
      end
      -- (wrk calls request() once on thread 1 to validate the script and
      -- never sends that request, so code #1 is skipped by the pass; run.sh's
      -- sanity GET of the first code puts it in the cache anyway.)
      code = codes[idx]
      idx = idx + step
      sent = sent + 1
   else
      code = codes[math.random(ncodes)]
   end
   return req_prefix .. code .. req_suffix
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
end
