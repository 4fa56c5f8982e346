#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60): cargo-fuzz with libFuzzer, on the
# machine's stable toolchain (sanitizers need nightly, so none is used; RUSTC_BOOTSTRAP lets
# cargo-fuzz pass its flags). Inputs that crash are kept under fuzz/artifacts/.
#
#   fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
mkdir -p target
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
for target in path template extract webhook_body webhook_http; do
  echo "== fuzz $target, ${seconds}s"
  status=0
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -s none -- -max_total_time="$seconds" -rss_limit_mb=512 \
    >"target/fuzz-$target.log" 2>&1 || status=$?
  grep -E '^Done|ERROR|panicked|SUMMARY' "target/fuzz-$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "target/fuzz-$target.log" >&2
    echo "fuzz target $target failed (exit $status); a crashing input is under fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
