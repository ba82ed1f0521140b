#!/usr/bin/env bash
# The whole `ward match` run against FAISS's, as users meet them: read a list of PDQ hashes
# (hex text), index it, match a file of queries within distance 31, write the matches; one
# process each, pinned to one core, timed from outside (wall clock), in one run.
#
# Data (bench/make_index_data.py): N stored hashes (default 1M) clustered in near-duplicate
# families (50k centres, each member 0..=40 bits from its centre) and Q queries (default 10k,
# half planted near a stored hash, half random), written as hex lists.
#   ward   `ward match --list LIST --queries QUERIES --format csv` (release build): it reads
#          the queries first, indexes them, and matches each list entry as it is read
#          (no index of the list is built);
#   faiss  bench/match_faiss.py: read the hex, IndexBinaryMultiHash(256, 16, 16) nflip=1
#          (exact at 31), range_search, write `query,entry,distance` lines.
# Each runs three times in a row, and its fastest run counts. Both answers are compared
# (the same (query, stored hash, distance) pairs, each as often, or the run fails), and the
# ratio of FAISS's whole time to Ward's is printed, with each side's own split (Ward's from
# `WARD_MATCH_TIMING=1`: lists read and matched, then the answers printed). Target (issue
# 24): Ward at least 25x FAISS at 1M clustered with 10k queries, and 1M read and indexed in
# under 0.4 s.
# Machines are shared and noisy: read the ratio, and run it twice.
#
# Run from anywhere:   bench/match-vs-faiss.sh
# Environment: WARD_FAISS_VENV (default ${TMPDIR:-/tmp}/ward-faiss-venv, shared with
#              index-vs-faiss.sh), WARD_MATCH_N (1000000), WARD_MATCH_QUERIES (10000),
#              WARD_MATCH_DISTRIBUTION (clustered), WARD_BENCH_KEEP (keep the files).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
venv=${WARD_FAISS_VENV:-${TMPDIR:-/tmp}/ward-faiss-venv}
n=${WARD_MATCH_N:-1000000}
q=${WARD_MATCH_QUERIES:-10000}
distribution=${WARD_MATCH_DISTRIBUTION:-clustered}

pins=(faiss-cpu==1.15.1 numpy==2.4.6)
if ! "$venv/bin/python" - "${pins[@]}" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
sys.exit(any(version(name) != want for name, want in (p.split("==") for p in sys.argv[1:])))
PY
then
  echo "making the FAISS venv in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "${pins[@]}"
fi
python=$venv/bin/python

work=$(mktemp -d "${TMPDIR:-/tmp}/ward-match-bench.XXXXXX")
if [ -n "${WARD_BENCH_KEEP:-}" ]; then
  trap 'echo "kept the files in $work" >&2' EXIT
else
  trap 'rm -rf "$work"' EXIT
fi

echo "building ward (release)" >&2
(cd "$root" && cargo build --quiet --release --bin ward)
ward=${CARGO_TARGET_DIR:-$root/target}/release/ward

echo "making $n $distribution hashes and $q queries" >&2
"$python" "$here/make_index_data.py" --n "$n" --distribution "$distribution" --queries "$q" \
  --no-truth "$work/data" >/dev/null
"$python" - "$work/data" "$work" <<'PY'
import pathlib, sys
import numpy as np
data, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for name, target in (("base.u8", "list.txt"), ("queries.u8", "queries.txt")):
    rows = np.fromfile(data / name, dtype=np.uint8).reshape(-1, 32)
    with open(out / target, "w") as f:
        f.write("\n".join(row.tobytes().hex() for row in rows) + "\n")
PY
rm -rf "$work/data"

pin=()
if command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null; then
  pin=(taskset -c 0)
fi

# Wall-clock seconds of `COMMAND...` with its output to OUT and its errors to ERR, from
# outside (`ward match` exits 3 when something matched, which is not a failure).
timed() {
  local out=$1 err=$2 started ended status=0
  shift 2
  started=$(date +%s.%N)
  "$@" >"$out" 2>"$err" || status=$?
  ended=$(date +%s.%N)
  if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then
    echo "$* failed ($status): $(tail -n 3 "$err")" >&2
    return 1
  fi
  python3 -c "print(f'{$ended - $started:.3f}')"
}

# Each tool runs three times in a row and its fastest run counts. On these virtual machines
# memory another process has just freed goes back to the host, and the next process to
# take it waits for every page to come back (a run right after FAISS's spends a third of
# its time zeroing pages in the kernel); runs in a row reuse it, for either tool.
ward_s=
faiss_s=
ward_all=
faiss_all=
faster() { python3 -c "import sys; print(min(x for x in sys.argv[1:] if x))" "$@"; }
for round in 1 2 3; do
  echo "ward match ($round)" >&2
  s=$(timed "$work/ward.csv" "$work/ward.err" env WARD_MATCH_TIMING=1 "${pin[@]}" "$ward" \
    match --list "$work/list.txt" --queries "$work/queries.txt" --format csv)
  [ "$ward_s" = "$(faster "$ward_s" "$s")" ] || cp "$work/ward.err" "$work/ward.best"
  ward_s=$(faster "$ward_s" "$s")
  ward_all="$ward_all $s"
done
for round in 1 2 3; do
  echo "faiss ($round)" >&2
  s=$(timed "$work/faiss.out" "$work/faiss.err" "${pin[@]}" "$python" "$here/match_faiss.py" \
    "$work/list.txt" "$work/queries.txt" "$work/faiss.csv")
  [ "$faiss_s" = "$(faster "$faiss_s" "$s")" ] || cp "$work/faiss.out" "$work/faiss.json"
  faiss_s=$(faster "$faiss_s" "$s")
  faiss_all="$faiss_all $s"
done

ward_matches=$(($(wc -l <"$work/ward.csv") - 1))
faiss_matches=$(wc -l <"$work/faiss.csv")
ward_split=$(grep -o 'ward match timing:.*' "$work/ward.best" || true)
echo "n=$n queries=$q distribution=$distribution"
echo "ward:  ${ward_s} s whole run (runs:$ward_all), $ward_matches matches; $ward_split"
echo "faiss: ${faiss_s} s whole run (runs:$faiss_all), $faiss_matches matches; $(cat "$work/faiss.json")"
# The same pairs, not only as many: (query, stored hash, distance), each as often.
"$python" - "$work/ward.csv" "$work/faiss.csv" "$work/list.txt" "$work/queries.txt" <<'PY'
import collections, csv, sys
ward_csv, faiss_csv, list_txt, queries_txt = sys.argv[1:]
with open(list_txt) as f:
    entries = f.read().split()
with open(queries_txt) as f:
    queries = f.read().split()
with open(ward_csv, newline="") as f:
    ward = collections.Counter(
        (row["query"], row["signal"], int(row["distance"])) for row in csv.DictReader(f)
    )
faiss = collections.Counter()
with open(faiss_csv) as f:
    for line in f:
        q, i, d = line.split(",")
        faiss[(queries[int(q)], entries[int(i)], int(float(d)))] += 1
if ward != faiss:
    only_ward, only_faiss = sum((ward - faiss).values()), sum((faiss - ward).values())
    sys.exit(f"the answers differ: {only_ward} pairs only ward's, {only_faiss} only faiss's")
PY
echo "ratio (faiss / ward, whole run): $(python3 -c "print(f'{$faiss_s / $ward_s:.1f}')")x"
