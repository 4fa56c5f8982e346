-- wrk script: GET the evaluation context of a random lead among BENCH_LEADS (lead_1 …),
-- with the admin token in BENCH_TOKEN.
local leads = tonumber(os.getenv("BENCH_LEADS") or "1000000")
local token = os.getenv("BENCH_TOKEN")
thread_id = 0  -- set per thread by setup(); not local, or it would hide that
local counter = 0

function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(os.time() + thread_id * 7919)
end

function request()
  local path = string.format("/api/admin/leads/lead_%d/evaluation-context", math.random(1, leads))
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
