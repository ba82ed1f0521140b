-- wrk script of bench/serve-load.sh: GET /v1/match for each query hash of a file in turn,
-- with the bearer key, and one JSON line of results (WARD_WRK {...}) when wrk is done.
--
-- Run by serve-load.sh as:
--   WARD_BENCH_QUERIES_FILE=queries.txt WARD_BENCH_KEY=<platform key> WARD_BENCH_THREADS=2 \
--     wrk -t2 -c64 -d30s -s bench/serve_load.lua http://127.0.0.1:PORT
-- The file holds one 64-digit hex PDQ hash a line. Every request is formatted once, when
-- the thread starts, so the per-request Lua work is a table lookup; each thread starts at
-- its own place in the list and cycles through all of it.
--
-- With WARD_BENCH_FRESH_FILE (another such file), every other request is instead the next
-- hash of that file, each asked once: first-time lookups. The threads share the file out
-- line by line (thread t takes lines t, t + threads, ...), read as they go; when a thread
-- reaches the end it starts again (then they are no longer first-time: the summary counts
-- how often that happened).

local queries_file = os.getenv("WARD_BENCH_QUERIES_FILE")
local fresh_file = os.getenv("WARD_BENCH_FRESH_FILE")
if fresh_file == "" then
  fresh_file = nil
end
local key = os.getenv("WARD_BENCH_KEY")
local thread_count = tonumber(os.getenv("WARD_BENCH_THREADS") or "1")
local created = 0
local threads = {}

function setup(thread)
  thread:set("thread_number", created)
  created = created + 1
  threads[#threads + 1] = thread
end

local requests = {}
local position = 0
local fresh_lines = nil
local fresh_line = 0
local fresh_turn = false
fresh_sent = 0
fresh_wrapped = 0

function init(args)
  if not queries_file or not key then
    error("set WARD_BENCH_QUERIES_FILE and WARD_BENCH_KEY")
  end
  wrk.headers["Authorization"] = "Bearer " .. key
  for line in io.lines(queries_file) do
    if #line == 64 then
      requests[#requests + 1] = wrk.format("GET", "/v1/match?signal_type=pdq&signal=" .. line)
    end
  end
  if #requests == 0 then
    error("no queries in " .. queries_file)
  end
  position = math.floor((thread_number or 0) * #requests / thread_count)
  if fresh_file then
    fresh_lines = io.lines(fresh_file)
  end
end

-- The next line of the fresh file that is this thread's.
local function next_fresh()
  while true do
    local line = fresh_lines()
    if line == nil then
      fresh_wrapped = fresh_wrapped + 1
      fresh_lines = io.lines(fresh_file)
      fresh_line = 0
      line = fresh_lines()
    end
    fresh_line = fresh_line + 1
    if (fresh_line - 1) % thread_count == (thread_number or 0) and #line == 64 then
      return line
    end
  end
end

function request()
  if fresh_lines then
    fresh_turn = not fresh_turn
    if fresh_turn then
      fresh_sent = fresh_sent + 1
      return wrk.format("GET", "/v1/match?signal_type=pdq&signal=" .. next_fresh())
    end
  end
  position = position % #requests + 1
  return requests[position]
end

function done(summary, latency, requests)
  local e = summary.errors
  local sent, wrapped = 0, 0
  for _, thread in ipairs(threads) do
    sent = sent + (thread:get("fresh_sent") or 0)
    wrapped = wrapped + (thread:get("fresh_wrapped") or 0)
  end
  io.write(string.format(
    'WARD_WRK {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"mean_us":%.1f,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"p999_us":%d,"max_us":%d,"fresh":%d,"fresh_wrapped":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max, sent, wrapped))
end
