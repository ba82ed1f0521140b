#!/usr/bin/env bash
# Fetch throughput and peak memory of `ward exchange fetch` from a fake NCMEC API on
# loopback (bench/fake_ncmec.py), into SQLite, in one bounded run.
#
# What it measures, each on a fresh store in a temporary directory, with a release build:
#   fetch   WARD_BENCH_ENTRIES (1M) entries in pages of WARD_BENCH_PAGE (1,000), each with
#           an MD5 and a PDQ hash, fetched by `ward exchange fetch` into a bank: entries per
#           second and peak resident memory (VmHWM, from GNU time), and the same at a tenth
#           of the size, so that the two show whether memory grows with the feed. Target of
#           issue 19: >= 50,000 entries a second, memory flat in the feed's size.
#   again   the same feed fetched again after its checkpoint is reset (a fetch whose
#           link expired starts its range again): nothing added twice.
#   lookup  `ward serve` on the store, and GET /v1/match for 100 of the fetched PDQ hashes:
#           every one must be found (at distance 0).
# Pages are generated once by python3 (no packages) into the temporary directory, which is
# removed at the end (WARD_BENCH_KEEP=1 keeps it), and served from it, so that the fake is
# not what limits the fetch. Timings are noisy on shared machines: the script prints each
# run, never asserts.
#
# Run from anywhere:  bench/exchange-fetch.sh
# Quick check:        WARD_BENCH_ENTRIES=100000 bench/exchange-fetch.sh
# Needs cargo, python3, curl, GNU time (/usr/bin/time; apt-get install -y time), and about
# 1.5 GB free under ${TMPDIR:-/tmp} for the default size.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
entries=${WARD_BENCH_ENTRIES:-1000000}
page=${WARD_BENCH_PAGE:-1000}

log() { echo "exchange-bench: $*" >&2; }

if [ ! -x /usr/bin/time ]; then
  log "installing GNU time"
  apt-get install -y -q time >/dev/null
fi

log "building ward (release)"
(cd "$root" && cargo build --release -q -p ward)
ward="${CARGO_TARGET_DIR:-$root/target}/release/ward"

work=$(mktemp -d "${TMPDIR:-/tmp}/ward-exchange-bench.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "${WARD_BENCH_KEEP:-}" ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# One fetch of a feed of $1 entries into a fresh store: "seconds peak_kib added".
fetch_run() {
  local n=$1 name=$2 data=$work/data-$1 port
  rm -f "$work/port-$n"
  log "$name: generating and serving $n entries in pages of $page"
  python3 "$here/fake_ncmec.py" --entries "$n" --page-size "$page" --dir "$work/pages-$n" \
    --port-file "$work/port-$n" &
  pids+=($!)
  for _ in $(seq 1 600); do [ -f "$work/port-$n" ] && break; sleep 0.5; done
  port=$(cat "$work/port-$n")
  "$ward" exchange add --data-dir "$data" BENCH --org Bench \
    --config "{\"environment\":\"https://exttest.cybertip.org/hashsharing\",\"base_url\":\"http://127.0.0.1:$port\"}" >/dev/null
  TX_NCMEC_CREDENTIALS=bench:bench-pass "$ward" exchange credentials --data-dir "$data" --org Bench ncmec 2>/dev/null
  log "$name: fetching"
  /usr/bin/time -f '%e %M' -o "$work/time-$n" "$ward" exchange fetch --data-dir "$data" BENCH >"$work/report-$n"
  read -r seconds peak <"$work/time-$n"
  added=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["added"])' <"$work/report-$n")
  echo "$seconds $peak $added"
}

small=$((entries / 10))
read -r s_seconds s_peak s_added < <(fetch_run "$small" small)
read -r seconds peak added < <(fetch_run "$entries" full)
data=$work/data-$entries

log "again: the same range from its start"
# A checkpoint from before the range: what an expired link leads to.
python3 - "$data/ward.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE exchanges SET checkpoint = NULL")
db.commit()
PY
/usr/bin/time -f '%e %M' -o "$work/time-again" "$ward" exchange fetch --data-dir "$data" BENCH >"$work/report-again"
read -r a_seconds a_peak <"$work/time-again"
a_added=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["added"])' <"$work/report-again")

log "lookup: ward serve, 100 fetched hashes"
key=$("$ward" admin --data-dir "$data" key create --org Bench --role platform --label bench)
RUST_LOG=warn "$ward" serve --data-dir "$data" --listen 127.0.0.1:0 --series-interval 0 \
  --exchange-interval 0 --intake-interval 0 2>"$work/serve.log" &
pids+=($!)
base=
for _ in $(seq 1 600); do
  base=$(sed -n 's|^ward: serving on \(http://127\.0\.0\.1:[0-9]*\) .*|\1|p' "$work/serve.log" | head -n 1)
  [ -n "$base" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ] && break
  sleep 0.5
done
found=$(python3 - "$base" "$key" "$entries" <<'PY'
import hashlib, json, sys, urllib.request
base, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
found = 0
for i in range(0, n, max(1, n // 100)):
    pdq = hashlib.sha256(b"pdq-%d" % i).hexdigest()
    request = urllib.request.Request(
        "%s/v1/match?signal_type=pdq&signal=%s" % (base, pdq),
        headers={"Authorization": "Bearer " + key})
    answer = json.load(urllib.request.urlopen(request))
    found += any(m.get("distance") == 0 for m in answer["matches"])
print(found)
PY
)

rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%\047.0f", n / s }'; }
{
  echo
  echo "ward exchange fetch from a fake NCMEC API on loopback (bench/fake_ncmec.py), SQLite, at $(cd "$root" && git rev-parse --short HEAD)$(cd "$root" && git diff --quiet HEAD || echo +changes)"
  echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
  echo
  printf '%-44s %10s %9s %12s %14s\n' run entries seconds entries/s "peak RSS MiB"
  printf '%-44s %10s %9s %12s %14d\n' "fetch, pages of $page" "$s_added" "$s_seconds" "$(rate "$s_added" "$s_seconds")" $((s_peak / 1024))
  printf '%-44s %10s %9s %12s %14d\n' "fetch, pages of $page" "$added" "$seconds" "$(rate "$added" "$seconds")" $((peak / 1024))
  printf '%-44s %10s %9s %12s %14d\n' "again from the range's start (added)" "$a_added" "$a_seconds" "$(rate "$entries" "$a_seconds")" $((a_peak / 1024))
  echo
  echo "lookup: $found of 100 fetched PDQ hashes found through GET /v1/match"
  echo "target (issue 19): >= 50,000 entries a second: $(awk -v n="$added" -v s="$seconds" 'BEGIN { r = n / s / 50000; printf "%.2fx (%s)", r, r >= 1 ? "met" : "NOT met" }'); memory $((s_peak / 1024)) MiB at $small entries, $((peak / 1024)) MiB at $entries"
} | tee "$root/bench/results/exchange-fetch-$entries.txt"
