-- wrk script: POST /api/v1/links with a JSON body {"url": "..."}.
--
-- Every request gets a distinct URL: run nonce + thread id + per-thread
-- counter, so a server that deduplicates identical URLs still has to create a
-- new link each time. 201 Created is 2xx, so anything else is counted by wrk
-- in summary.errors.status.
--
-- done() prints the same RESULT line as redirect.lua.

local next_id = 0

function setup(thread)
   next_id = next_id + 1
   thread:set("id", next_id)
end

local counter = 0
local tid = 1
local nonce = 0
local head, url_prefix

function init(args)
   tid = tonumber(id) or 1
   nonce = os.time()
   local host = wrk.headers["Host"] or (wrk.host .. ":" .. tostring(wrk.port))
   head = "POST /api/v1/links HTTP/1.1\r\nHost: " .. host ..
          "\r\nContent-Type: application/json\r\nContent-Length: "
   url_prefix = string.format('{"url":"https://example.com/bench/%d/t%d/', nonce, tid)
end

function request()
   counter = counter + 1
   local body = url_prefix .. counter .. '"}'
   return head .. #body .. "\r\n\r\n" .. body
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
