# Shared by bench/ingest, bench/context and bench/compare: wrk, starting and measuring servers.
# Sourced, not run. Expects $connections and $duration; sets $addr and $server_pid.

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk" >&2
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
bin=target/release
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# start NAME COMMAND…: runs a server, waits for its "listening on http://ADDR" line (for
# $start_tries × 50 ms: 10 s unless set).
start() {
  local name=$1; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  server_pid=$!
  for _ in $(seq 1 "${start_tries:-200}"); do
    addr=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$work/$name.out" | head -n 1)
    [ -n "$addr" ] && return 0
    sleep 0.05
  done
  echo "$name did not start:" >&2; cat "$work/$name.err" >&2; exit 1
}

stop() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""; }

# measure NAME URL [SCRIPT]: a 3 s warm-up, then the measured run; prints one result line.
measure() {
  local name=$1 url=$2 script=${3:-bench/segment_group.lua}
  wrk -t2 -c"$connections" -d3s -s "$script" "$url" >/dev/null
  wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$script" "$url" >"$work/$name.wrk"
  local rss
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
  awk -v name="$name" -v rss="$rss" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx/ { non2xx = $NF }
    /Socket errors/ { errors = $0 }
    END {
      printf "%-22s %10.0f req/s   p50 %6.2f ms   p99 %6.2f ms   non-2xx %s   peak RSS %5.1f MiB%s\n",
        name, rps, p50, p99, (non2xx == "" ? 0 : non2xx), rss / 1024, (errors == "" ? "" : "   " errors)
    }' "$work/$name.wrk" | tee -a "$work/results"
}

# build_release: the release binaries bench/ingest and bench/context run.
build_release() {
  cargo build --release -q -p trailspark -p trailspark-bench-baseline -p trailspark-bench-nostore -p trailspark-bench-seed
}

rps_of() { awk -v name="$1" '$1 == name { print $2 }' "$work/results"; }

