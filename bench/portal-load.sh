#!/usr/bin/env bash
# Load run of the reporting portal's form submission (POST /report) against a release
# `ward serve` on a temporary SQLite store, on loopback (127.0.0.0/8) only, bounded in time
# and count. It prints; it never asserts.
#
# What it measures, with the node's per-client limit (a burst, then so many a minute; read
# from the node's log line at start):
#   steady  one client (127.0.0.2) sends its burst, then one report each time its bucket
#           refills, for WARD_BENCH_STEADY_SECONDS (30): at the limit's rate nothing should
#           be refused.
#   edge    WARD_BENCH_CLIENTS (200) clients, each on its own source address (127.0.1.x),
#           WARD_BENCH_THREADS (8) at a time, each sending exactly its burst of real reports
#           and then one more (bench/portal_load.py): requests per second and p50/p99 of
#           filings at the limit's edge; every burst report should be filed (303), every
#           one more refused (429).
#   flood   one client (127.0.0.1) past the limit: wrk with WARD_BENCH_CONNECTIONS (16)
#           connections on 2 threads for WARD_BENCH_SECONDS (20) (bench/portal_load.lua):
#           requests per second and p99 of the node's answers, and how many were filed;
#           the limit holds when no more were filed than the burst and the refill allow.
# wrk and the Python clients share the machine's 2 cores with the node: figures are noisy.
#
# Run from anywhere:   bench/portal-load.sh
# Needs cargo, curl, python3, wrk (apt-get install -y wrk; installed if missing). About a
# minute and a half. Environment: WARD_BENCH_CLIENTS, WARD_BENCH_THREADS,
# WARD_BENCH_STEADY_SECONDS, WARD_BENCH_SECONDS, WARD_BENCH_CONNECTIONS, WARD_BENCH_KEEP
# (set: keep the temporary directory and print where).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
clients=${WARD_BENCH_CLIENTS:-200}
threads=${WARD_BENCH_THREADS:-8}
steady_seconds=${WARD_BENCH_STEADY_SECONDS:-30}
seconds=${WARD_BENCH_SECONDS:-20}
connections=${WARD_BENCH_CONNECTIONS:-16}

log() { echo "portal-load: $*" >&2; }
die() { log "$*"; exit 1; }

# Bounds: this is a load run on one's own machine, not a stress test of anything else.
[ "$clients" -ge 1 ] && [ "$clients" -le 5000 ] || die "WARD_BENCH_CLIENTS: 1 to 5000"
[ "$seconds" -ge 1 ] && [ "$seconds" -le 120 ] || die "WARD_BENCH_SECONDS: 1 to 120"
[ "$steady_seconds" -ge 0 ] && [ "$steady_seconds" -le 300 ] || die "WARD_BENCH_STEADY_SECONDS: 0 to 300"
[ "$connections" -ge 1 ] && [ "$connections" -le 256 ] || die "WARD_BENCH_CONNECTIONS: 1 to 256"

command -v curl >/dev/null || die "needs curl"
command -v python3 >/dev/null || die "needs python3"
if ! command -v wrk >/dev/null; then
  log "wrk is missing: apt-get install -y wrk"
  apt-get install -y wrk >/dev/null 2>&1 || die "could not install wrk; install it and rerun"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ward-portal-load.XXXXXX")
mkdir -p "$work/data"
node_pid=

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$node_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  if [ -n "${WARD_BENCH_KEEP:-}" ]; then
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

# The node's log at `info` says the portal's limit; the portal logs no client address.
RUST_LOG=info "$ward" serve --listen 127.0.0.1:0 --data-dir "$work/data" 2>"$work/node.log" &
node_pid=$!
base_url=
for _ in $(seq 600); do
  kill -0 "$node_pid" 2>/dev/null || { cat "$work/node.log" >&2; die "the node exited"; }
  base_url=$(sed -n 's|^ward: serving on \(http://127\.0\.0\.1:[0-9]*\) .*|\1|p' "$work/node.log" | head -n 1)
  [ -n "$base_url" ] && break
  sleep 0.1
done
[ -n "$base_url" ] || die "the node did not start within 60 s"
read -r burst per_minute < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    if line.startswith("{"):
        fields = json.loads(line).get("fields", {})
        if "burst" in fields:
            print(fields["burst"], fields["per_minute"])
            break
' "$work/node.log")
[ -n "${burst:-}" ] || die "the node did not log its portal limit"
log "node at $base_url; limit per client: burst $burst, $per_minute a minute"

# A CSRF token: the form's hidden field, also set as the cookie. Tokens are not tied to a
# client, so every client below sends this one.
token=$(curl -sS --fail "$base_url/report" | sed -n 's|.*name="csrf" value="\([^"]*\)".*|\1|p' | head -n 1)
[ -n "$token" ] || die "no CSRF token in the form"
form=$base_url/report

steady=$(python3 "$here/portal_load.py" steady --url "$form" --token "$token" \
  --burst "$burst" --per-minute "$per_minute" --seconds "$steady_seconds")
edge=$(python3 "$here/portal_load.py" edge --url "$form" --token "$token" \
  --burst "$burst" --clients "$clients" --threads "$threads")
body=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlencode({"urls": "https://example.com/load-test/flood", "kind": "unsure", "description": "", "email": "", "csrf": sys.argv[1]}))' "$token")
flood=$(WARD_LOAD_BODY=$body WARD_LOAD_COOKIE="ward_csrf=$token" \
  wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$here/portal_load.lua" "$form" | sed -n 's/^RESULT //p')
[ -n "$flood" ] || die "wrk printed no result"

python3 - "$burst" "$per_minute" "$seconds" "$connections" "$steady" "$edge" "$flood" <<'PY'
import json, math, sys

burst, per_minute, seconds, connections = (int(v) for v in sys.argv[1:5])
steady, edge = json.loads(sys.argv[5]), json.loads(sys.argv[6])
flood = dict(item.split("=") for item in sys.argv[7].split())
f = {k: float(v) for k, v in flood.items()}
allowed = burst + math.floor(f["seconds"] * per_minute / 60) + 1
print(f"limit per client (per node): burst {burst}, then {per_minute} a minute")
print(f"steady, one client at the limit's rate: {steady['requests']} reports over {steady['seconds']:.0f} s: "
      f"{steady['accepted']} filed, {steady['refused']} refused (429), {steady['other']} other")
print(f"edge, {edge['clients']} clients each sending its burst ({edge['threads']} at a time): "
      f"{edge['burst_accepted']} of {edge['burst_requests']} filed, {edge['burst_refused']} refused; "
      f"{edge['requests_per_second']:.0f} requests/s, p50 {edge['p50_ms']:.1f} ms, p99 {edge['p99_ms']:.1f} ms, "
      f"max {edge['max_ms']:.1f} ms; one more each: {edge['extra_refused']} refused (429), {edge['extra_accepted']} filed, "
      f"{edge['other']} other")
print(f"flood, one client past the limit (wrk, {connections} connections, {f['seconds']:.0f} s): "
      f"{f['requests']:.0f} requests, {f['rps']:.0f} requests/s, p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms, "
      f"max {f['max_ms']:.1f} ms; filed {f['accepted']:.0f} (the limit allows at most {allowed}), "
      f"refused (429) {f['limited']:.0f}, other {f['other']:.0f}, socket errors {f['socket_errors']:.0f}")
holds = (f["accepted"] <= allowed and edge["extra_accepted"] == 0 and steady["refused"] == 0
         and edge["burst_refused"] == 0)
print(f"the limit holds: {'yes' if holds else 'NO'}")
PY
