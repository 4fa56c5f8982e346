-- wrk script for bench/soak: the machine-to-machine load of a working install, by share of
-- requests: 60 % single Segment group events (product org webhook), 10 % /v1/batch bodies of
-- 20 group events, 20 % track signals (signal webhook, linking leads to product orgs), 10 %
-- evaluation-context reads of those leads. (UI pages come at a person's pace from bench/soak.)
-- Product org ids over BENCH_IDS, leads over BENCH_LEADS, distinct messageIds throughout.
-- Keys, token and session cookie come from the environment (bench/soak sets them).
local ids = tonumber(os.getenv("BENCH_IDS") or "50000")
local leads = tonumber(os.getenv("BENCH_LEADS") or "20000")
local po_key = os.getenv("BENCH_PO_KEY")
local signal_key = os.getenv("BENCH_SIGNAL_KEY")
local token = os.getenv("BENCH_TOKEN")
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

local function message_id()
  sent = sent + 1
  return string.format("soak-%d-%d-%d", thread_id, os.time(), sent)
end

local function group()
  return string.format(
    '{"type":"group","groupId":"ws_%d","traits":{"name":"Workspace","plan":"pro","employees":%d,"mrr":49900},"messageId":"%s","timestamp":"2026-01-15T10:30:00.000Z"}',
    math.random(1, ids), math.random(1, 2), message_id())
end

local json = {["Content-Type"] = "application/json"}
-- BENCH_ONLY=group|batch|signal|context sends that kind alone (to find which part of the mix
-- is slow).
local only = ({group = 1, batch = 61, signal = 71, context = 91})[os.getenv("BENCH_ONLY") or ""]

function request()
  local roll = only or math.random(1, 100)
  if roll <= 60 then
    return wrk.format("POST", "/api/product-orgs/webhook/" .. po_key, json, group())
  elseif roll <= 70 then
    local events = {}
    for i = 1, 20 do events[i] = group() end
    local body = '{"batch":[' .. table.concat(events, ",") .. ']}'
    return wrk.format("POST", "/v1/batch",
      {["Content-Type"] = "application/json", ["Authorization"] = "Basic " .. basic}, body)
  elseif roll <= 90 then
    local lead = math.random(1, leads)
    local body = string.format(
      '{"type":"track","event":"Report Created","userId":"lead_%d","context":{"groupId":"ws_%d","traits":{"email":"lead_%d@example.com"}},"properties":{"plan":"pro"},"messageId":"%s","timestamp":"2026-01-15T10:30:00.000Z"}',
      lead, lead % ids + 1, lead, message_id())
    return wrk.format("POST", "/api/signals/webhook/" .. signal_key, json, body)
  else
    local path = string.format("/api/admin/leads/lead_%d/evaluation-context", math.random(1, leads))
    return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
  end
end
