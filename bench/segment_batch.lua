-- wrk script for bench/ingest --batch N: /v1/batch bodies of BENCH_BATCH Segment group events
-- over BENCH_IDS product org ids (distinct messageIds, about half changing a value), the key
-- as HTTP basic (BENCH_BASIC, base64 of "key:").
local ids = tonumber(os.getenv("BENCH_IDS") or "200000")
local size = tonumber(os.getenv("BENCH_BATCH") or "100")
local basic = os.getenv("BENCH_BASIC")
thread_id = 0  -- set per thread by setup(); not local, or it would hide that
local counter = 0

function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(os.time() + thread_id * 7919)
  sent = 0
end

local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Basic " .. basic}

function request()
  local events = {}
  local now = os.time()
  for i = 1, size do
    sent = sent + 1
    events[i] = string.format(
      '{"type":"group","groupId":"ws_%d","traits":{"name":"Workspace","plan":"pro","employees":%d,"mrr":49900},"messageId":"bench-%d-%d-%d","timestamp":"2026-01-15T10:30:00.000Z"}',
      math.random(1, ids), math.random(1, 2), thread_id, sent, now)
  end
  return wrk.format("POST", "/v1/batch", headers, '{"batch":[' .. table.concat(events, ",") .. ']}')
end
