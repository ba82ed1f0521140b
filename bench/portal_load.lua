-- wrk script for bench/portal-load.sh: the report form POSTed over and over by one client
-- (wrk's connections all come from 127.0.0.1), counting what the node answered: 303 (filed),
-- 429 (the rate limit) or anything else. The body and cookie come from the environment.

wrk.method = "POST"
wrk.body = os.getenv("WARD_LOAD_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("WARD_LOAD_COOKIE")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  accepted = 0
  limited = 0
  other = 0
end

function response(status, headers, body)
  if status == 303 then
    accepted = accepted + 1
  elseif status == 429 then
    limited = limited + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local a, l, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    a = a + thread:get("accepted")
    l = l + thread:get("limited")
    o = o + thread:get("other")
  end
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f accepted=%d limited=%d other=%d socket_errors=%d\n",
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, a, l, o, errors))
end
