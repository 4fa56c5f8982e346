-- wrk script: Segment group events over 50,000 product org ids, each with a distinct
-- messageId; an update changes a value about half of the time (employees is 1 or 2).
local counter = 0
thread_id = 0  -- set per thread by setup(); not local, or it would hide that
local ids = tonumber(os.getenv("BENCH_IDS") or "50000")

function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(os.time() + thread_id * 7919)
  sent = 0
end

function request()
  sent = sent + 1
  local body = string.format(
    '{"type":"group","groupId":"ws_%d","traits":{"name":"Workspace","plan":"pro","employees":%d,"mrr":49900},"messageId":"bench-%d-%d-%d","timestamp":"2026-01-15T10:30:00.000Z"}',
    math.random(1, ids), math.random(1, 2), thread_id, sent, os.time())
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
