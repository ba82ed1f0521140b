#!/usr/bin/env bash
# Restart benchmark of `ward serve`: how long a node takes to be ready (/readyz 200) on a
# store of millions of PDQ hashes when it starts from its index snapshot (the file it wrote
# at its last graceful shutdown, plus the store's feed after it), against reading the whole
# feed and building the index, as every start did before the snapshot.
#
# What it does, on loopback only:
#   import    a release `ward serve` on a fresh SQLite store in a temporary directory, one
#             bank, WARD_BENCH_SIZE PDQ hashes (default 10M) streamed in through POST
#             /v1/banks/{id}/signals (bench/serve_load.py: the clustered distribution of
#             bench/serve-load.sh), then a graceful stop.
#   full      WARD_BENCH_REPEAT (3) starts with --index-snapshot-interval 0 (no snapshot read
#             or written): seconds from start until /readyz answers 200.
#   write     one start that writes its snapshot at its graceful stop: the file's size, the
#             time the write took and how long following the feed waited for it (matching
#             never waits), from the node's log.
#   snapshot  WARD_BENCH_REPEAT starts from that snapshot: seconds until ready, and the node's
#             memory; each run's answers to the planted and random queries are checked
#             against the full load's (serve_load.py check).
# It prints the best of each (the host's other tenants slow these machines from one minute
# to the next) and their ratio, and writes the summary to
# bench/results/serve-restart-<size>-sqlite.txt. The target of issue 24: ready in under 3 s
# at 10M PDQ hashes.
#
# Run from anywhere:   bench/serve-restart.sh
# Quick check:         WARD_BENCH_SIZE=1000000 bench/serve-restart.sh
# Needs cargo, curl, python3 with venv (PyPI once, for numpy), about 4 GB of free disk per
# 10M hashes under ${TMPDIR:-/tmp}. A 10M run takes about 5 minutes after the build.
# Environment: WARD_BENCH_SIZE (10000000), WARD_BENCH_REPEAT (3), WARD_BENCH_VENV
#   (${TMPDIR:-/tmp}/ward-numpy-venv), WARD_BENCH_STORE (a directory: the first run imports
#   there and keeps it; later runs of the same size reuse it and skip the import),
#   WARD_BENCH_KEEP (set: keep the temporary directory and print where).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
size=${WARD_BENCH_SIZE:-10000000}
repeat=${WARD_BENCH_REPEAT:-3}
venv=${WARD_BENCH_VENV:-${TMPDIR:-/tmp}/ward-numpy-venv}

log() { echo "serve-restart: $*" >&2; }
die() { log "$*"; exit 1; }

command -v curl >/dev/null || die "needs curl"
if ! "$venv/bin/python" -c "import numpy, sys; sys.exit(numpy.__version__ != '2.4.6')" 2>/dev/null; then
  log "making the numpy venv in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet numpy==2.4.6
fi
python=$venv/bin/python

store_dir=${WARD_BENCH_STORE:-}
if [ -n "$store_dir" ]; then
  mkdir -p "$store_dir"
  work=$(cd "$store_dir" && pwd)
  if [ -f "$work/prepared" ] && [ "$(cat "$work/prepared")" != "$size" ]; then
    die "$work holds a store of $(cat "$work/prepared") hashes, not $size"
  fi
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/ward-serve-restart.XXXXXX")
fi
mkdir -p "$work/data"
node_pid=

stop_node() {
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null || true
    # A graceful stop writes the snapshot (seconds at 10M): wait for it.
    for _ in $(seq 1200); do
      kill -0 "$node_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  node_pid=
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_node
  if [ -n "$store_dir" ]; then
    log "the store stays in $work"
  elif [ -n "${WARD_BENCH_KEEP:-}" ]; then
    log "kept $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

log "building ward (release)"
(cd "$root" && cargo build --quiet --release -p ward)
ward=${CARGO_TARGET_DIR:-$root/target}/release/ward
store_args=(--data-dir "$work/data")
snapshot=$work/data/index.snapshot

# Starts the node with extra arguments and waits until /readyz answers 200; sets node_pid,
# base_url and ready_seconds. Its log (the snapshot's lines at info) goes to $work/node.log.
start_node() {
  local log_file=$work/node.log started now
  : >"$log_file"
  started=$(date +%s.%N)
  RUST_LOG=warn,ward::serve=info "$ward" serve --listen 127.0.0.1:0 "${store_args[@]}" "$@" 2>>"$log_file" &
  node_pid=$!
  base_url=
  local deadline=$((SECONDS + 900))
  while [ "$SECONDS" -lt "$deadline" ]; do
    kill -0 "$node_pid" 2>/dev/null || { cat "$log_file" >&2; die "the node exited"; }
    if [ -z "$base_url" ]; then
      base_url=$(sed -n 's|^ward: serving on \(http://127\.0\.0\.1:[0-9]*\) .*|\1|p' "$log_file" | head -n 1)
    fi
    if [ -n "$base_url" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "$base_url/readyz")" = 200 ]; then
      now=$(date +%s.%N)
      ready_seconds=$(awk -v a="$now" -v b="$started" 'BEGIN { printf "%.3f", a - b }')
      return 0
    fi
    sleep 0.02
  done
  die "the node was not ready within 900 s"
}

metric() { curl -sS "$base_url/metrics" | awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }'; }
rss_mib() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$node_pid/status"; }
# A field of the node log's JSON line whose message is $1.
logged() { grep -F "\"message\":\"$1\"" "$work/node.log" | tail -n 1 | "$python" -c "import json,sys; print(json.loads(sys.stdin.read())['fields'].get('$2', ''))"; }

if [ -f "$work/prepared" ]; then
  log "reusing the store in $work"
  # shellcheck disable=SC1091
  . "$work/keys.env"
else
  rm -rf "$work/data"
  mkdir -p "$work/data"
  "$ward" admin "${store_args[@]}" org create "Restart bench" >/dev/null
  curator=$("$ward" admin "${store_args[@]}" key create --org "Restart bench" --role curator --label bench)
  platform=$("$ward" admin "${store_args[@]}" key create --org "Restart bench" --role platform --label bench)
  start_node --index-snapshot-interval 0
  bank=$(curl -sS --fail-with-body -H "Authorization: Bearer $curator" -H 'Content-Type: application/json' \
    -d '{"name":"RESTART_BENCH","distance":31}' "$base_url/v1/banks" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  log "importing $size hashes (clustered) into bank $bank"
  "$python" "$here/serve_load.py" signals --n "$size" --queries 2000 --queries-out "$work/queries.txt" |
    curl -sS --fail-with-body -X POST -T - -H "Authorization: Bearer $curator" \
      -H 'Content-Type: text/csv' --max-time 3600 "$base_url/v1/banks/$bank/signals" >"$work/import.json"
  log "import: $(head -c 300 "$work/import.json")"
  stop_node
  printf 'curator=%s\nplatform=%s\n' "$curator" "$platform" >"$work/keys.env"
  echo "$size" >"$work/prepared"
fi

results=$work/results
rm -rf "$results"
mkdir -p "$results"
full=()
for k in $(seq 1 "$repeat"); do
  start_node --index-snapshot-interval 0
  [ "$(metric ward_index_from_snapshot)" = 0 ] || die "a start without snapshots read one"
  full+=("$ready_seconds")
  log "full load $k of $repeat: ready after ${ready_seconds} s, VmRSS $(rss_mib) MiB"
  if [ "$k" = 1 ]; then
    "$python" "$here/serve_load.py" check --base-url "$base_url" --key "$platform" \
      --queries "$work/queries.txt" >"$results/full.check.json"
    full_rss=$(rss_mib)
  fi
  stop_node
done

log "writing the snapshot: a start with snapshots, stopped gracefully"
rm -f "$snapshot"
start_node
stopped=$(date +%s.%N)
stop_node
stop_seconds=$(awk -v a="$(date +%s.%N)" -v b="$stopped" 'BEGIN { printf "%.3f", a - b }')
[ -f "$snapshot" ] || { cat "$work/node.log" >&2; die "no snapshot was written"; }
snapshot_bytes=$(stat -c %s "$snapshot")
write_seconds=$(printf '%.3f' "$(logged "index snapshot written" seconds)")
held_seconds=$(printf '%.3f' "$(logged "index snapshot written" following_held_seconds)")
log "snapshot: $((snapshot_bytes >> 20)) MiB written in ${write_seconds} s (following waited ${held_seconds} s); the stop took ${stop_seconds} s"

from=()
for k in $(seq 1 "$repeat"); do
  start_node
  [ "$(metric ward_index_from_snapshot)" = 1 ] || { cat "$work/node.log" >&2; die "the start did not use the snapshot"; }
  from+=("$ready_seconds")
  log "from the snapshot $k of $repeat: ready after ${ready_seconds} s, VmRSS $(rss_mib) MiB"
  "$python" "$here/serve_load.py" check --base-url "$base_url" --key "$platform" \
    --queries "$work/queries.txt" >"$results/snapshot.check.json"
  "$python" -c 'import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
a.pop("seconds"); b.pop("seconds")
sys.exit(a != b)' "$results/full.check.json" "$results/snapshot.check.json" ||
    die "answers differ: full $(cat "$results/full.check.json"), snapshot $(cat "$results/snapshot.check.json")"
  snapshot_rss=$(rss_mib)
  stop_node
done

best() { printf '%s\n' "$@" | sort -g | head -n 1; }
best_full=$(best "${full[@]}")
best_from=$(best "${from[@]}")
revision=$(cd "$root" && git rev-parse --short HEAD)$(cd "$root" && git diff --quiet HEAD || echo +changes)
summary_file=$here/results/serve-restart-$size-sqlite.txt
mkdir -p "$here/results"
{
  echo "ward serve, time to ready after a restart, $(echo "$size" | sed -e ':a' -e 's/\B[0-9]\{3\}\>/,&/' -e 'ta') stored PDQ hashes (clustered), SQLite (${TMPDIR:-/tmp}), at $revision"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "full load      ${full[*]} s (the whole feed read and the index built; VmRSS ${full_rss} MiB)"
  echo "snapshot       ${from[*]} s (the snapshot read, then the feed after it; VmRSS ${snapshot_rss} MiB)"
  echo "snapshot file  $((snapshot_bytes >> 20)) MiB, written in ${write_seconds} s at the graceful stop (following the feed waited ${held_seconds} s of it; matching does not wait); the stop took ${stop_seconds} s"
  echo "answers        the same planted and random queries matched after both: $(cat "$results/snapshot.check.json")"
  awk -v f="$best_full" -v s="$best_from" 'BEGIN { printf "best           full load %.3f s, from the snapshot %.3f s: %.1fx faster\n", f, s, f / s }'
  awk -v s="$best_from" 'BEGIN { printf "target (issue 24): ready in < 3 s at 10M PDQ hashes: %.3f s = %.2fx the limit (%s)\n", s, s / 3, (s < 3 ? "met" : "not met") }'
} | tee "$summary_file"
log "summary written to $summary_file"
