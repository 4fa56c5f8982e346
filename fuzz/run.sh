#!/usr/bin/env bash
# Runs the fuzz targets with cargo-fuzz and libFuzzer, on the machine's stable toolchain
# (sanitizers need nightly, so none is used; RUSTC_BOOTSTRAP lets cargo-fuzz pass its flags).
# Inputs that crash are kept under fuzz/artifacts/.
set -euo pipefail

all_targets=(path template extract webhook_body webhook_http admin_http)

usage() {
  cat <<'EOF'
Usage:
  fuzz/run.sh [SECONDS] [TARGET...]          short mode: each target for SECONDS (default 60)
  fuzz/run.sh --long [MINUTES] [TARGET...]   long mode: each target for MINUTES (default 10)
  fuzz/run.sh --help

Without TARGETs every target runs.

Both modes start each target from its corpus, fuzz/corpus/TARGET/ (git-ignored: it grows and
is the machine's own), and from the committed seeds in fuzz/seeds/TARGET/ when there are some;
what a run finds is added to the corpus, so the next run goes on from there. libFuzzer's log
of each target is fuzz/target/fuzz-TARGET.log.

The short mode is CI's (.ci/run runs `fuzz/run.sh 10`): it prints libFuzzer's `Done` line and
any error, and stops at the first target that fails.

The long mode runs every target even when one fails, prints a summary line per target (runs,
libFuzzer's last cov: and ft: figures, corpus size, peak RSS) and at the end the same as a
Markdown table for bench/RESULTS.md; it exits 1 if any target failed.
EOF
  echo
  echo "The targets: ${all_targets[*]}."
}

long=false
case "${1:-}" in
  -h | --help)
    usage
    exit 0
    ;;
  --long)
    long=true
    shift
    ;;
  -*)
    usage >&2
    exit 2
    ;;
esac
if $long; then
  minutes=10
  if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
    minutes=$1
    shift
  fi
  seconds=$((minutes * 60))
else
  seconds=60
  if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
  fi
fi
# libFuzzer takes -max_total_time=0 as no limit at all.
if [ "$seconds" -eq 0 ]; then
  echo "a run of 0 would never end; give at least 1" >&2
  exit 2
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
  if [[ ! " ${all_targets[*]} " =~ " $target " ]]; then
    echo "unknown fuzz target $target (the targets: ${all_targets[*]})" >&2
    exit 2
  fi
done

cd "$(dirname "$0")"
mkdir -p target
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked

# The HTTP targets keep a SQLite store per process in here (in memory when /dev/shm exists,
# so a commit costs no disk flush); a long run writes hundreds of MB, so it goes after each
# target rather than piling up.
scratch_parent=/dev/shm
[ -d "$scratch_parent" ] || scratch_parent=${TMPDIR:-/tmp}
scratch=$(mktemp -d "$scratch_parent/trailspark-fuzz-run.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export TRAILSPARK_FUZZ_DIR=$scratch

# One target for $seconds; its exit status is libFuzzer's (non-zero on a crash, a timeout or
# running out of memory).
fuzz() {
  local target=$1 log=$2
  shift 2
  local corpora=("corpus/$target")
  [ -d "seeds/$target" ] && corpora+=("seeds/$target")
  mkdir -p "corpus/$target"
  RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -s none "${corpora[@]}" -- \
    -max_total_time="$seconds" -rss_limit_mb=512 "$@" >"$log" 2>&1
}

# The summary of a finished long run, from libFuzzer's log: `Done N runs in S second(s)`, the
# last status line's `cov:` and `ft:`, and -print_final_stats' peak RSS.
summary() {
  local target=$1 log=$2 status=$3
  local runs cov ft rss files size
  runs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1 runs in \2 s/p' "$log" | tail -1)
  cov=$(grep -oE ' cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 | awk '{print $2, $4}' || true)
  rss=$(sed -nE 's/^stat::peak_rss_mb: *([0-9]+)/\1/p' "$log" | tail -1)
  files=$(find "corpus/$target" -type f | wc -l)
  size=$(find "corpus/$target" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s / 1024 }')
  local outcome=ok
  [ "$status" -eq 0 ] || outcome="FAILED (exit $status)"
  # `|` between the fields: a tab would let `read` merge an empty field with the next.
  printf '%s|%s|%s|%s|%s|%s|%s\n' "$target" "${runs:-no Done line}" \
    "${cov% *}" "${cov#* }" "$files files, ${size} KiB" "${rss:-?} MB" "$outcome"
}

failed=()
rows=()
for target in "${targets[@]}"; do
  log="target/fuzz-$target.log"
  if ! $long; then
    echo "== fuzz $target, ${seconds}s"
    status=0
    fuzz "$target" "$log" || status=$?
    rm -rf "${scratch:?}"/*
    grep -E '^Done|ERROR|panicked|SUMMARY' "$log" || true
    if [ "$status" -ne 0 ]; then
      tail -40 "$log" >&2
      echo "fuzz target $target failed (exit $status); a crashing input is under fuzz/artifacts/$target/" >&2
      exit 1
    fi
    continue
  fi
  echo "== fuzz $target, ${minutes} min (started $(date -u +%H:%M:%S) UTC)"
  status=0
  fuzz "$target" "$log" -print_final_stats=1 || status=$?
  rm -rf "${scratch:?}"/*
  grep -E 'ERROR|panicked|SUMMARY' "$log" || true
  row=$(summary "$target" "$log" "$status")
  rows+=("$row")
  IFS='|' read -r _ runs cov ft corpus rss outcome <<<"$row"
  echo "summary $target: $runs, cov: $cov ft: $ft, corpus: $corpus, peak RSS: $rss, $outcome"
  if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    echo "fuzz target $target failed (exit $status); a crashing input is under fuzz/artifacts/$target/" >&2
    failed+=("$target")
  fi
done

if $long; then
  echo
  echo "| target | runs | cov | ft | corpus | peak RSS | result |"
  echo "|---|---|---|---|---|---|---|"
  for row in "${rows[@]}"; do
    echo "| ${row//|/ | } |"
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "failed: ${failed[*]}" >&2
    exit 1
  fi
fi
