#!/usr/bin/env bash
# Ward's PDQ against Meta's reference, both single-threaded on one core, in one run.
#
# What it measures, per image (a benign photo at 0.3, 2 and 12 MP, as JPEG q90 and PNG):
#   reference  Pillow open + convert("RGB") + np.asarray (decode), then pdqhash.compute
#              (hash: the binding's numpy float64 luma plus Meta's C++ core), as HMA and
#              python-threatexchange run it; pinned pdqhash/Pillow/numpy in its own venv.
#   ward       ward_core::decode::decode (decode), then PdqDct::compute(.., Pipeline::Full)
#              and .hash() (hash), through crates/ward-core/examples/pdq_timing.rs.
# Both read the file into memory once and report medians over repetitions after a warm-up.
# The table gives the reference's and Ward's milliseconds and the ratios reference/ward for
# the hash stage alone, for decode + hash (file bytes to PDQ), and for decode + hash + the
# MD5/SHA-1/SHA-256 digests `ward hash` also computes; and the distance between the two PDQ
# hashes (0 = identical). Machines are shared and noisy: read the ratios, not the times.
#
# Run from anywhere:   bench/pdq-vs-reference.sh [SOURCE_IMAGE]
# Needs python3 with venv, PyPI access the first time, cargo, and optionally taskset.
# Environment: WARD_BENCH_VENV (default ${TMPDIR:-/tmp}/ward-bench-venv),
#              WARD_BENCH_REPEAT (default 20), WARD_BENCH_BUDGET_MS (per image and side,
#              default 10000; at least 3 repetitions run regardless).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
source_image=${1:-$root/testdata/threatexchange/pdq/data/bridge-mods/aaa-orig.jpg}
venv=${WARD_BENCH_VENV:-${TMPDIR:-/tmp}/ward-bench-venv}
repeat=${WARD_BENCH_REPEAT:-20}
budget_ms=${WARD_BENCH_BUDGET_MS:-10000}

# The same pins as testdata/pdq/requirements.txt, so the hashes are the goldens' reference.
pins=(pdqhash==0.2.8 pillow==13.0.0 numpy==2.4.6)
if ! "$venv/bin/python" - "${pins[@]}" 2>/dev/null <<'EOF'
import sys
from importlib.metadata import version
sys.exit(any(version(name) != want for name, want in (p.split("==") for p in sys.argv[1:])))
EOF
then
  echo "making the reference venv in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "${pins[@]}"
fi
python=$venv/bin/python

work=$(mktemp -d "${TMPDIR:-/tmp}/ward-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "generating images from $source_image" >&2
mapfile -t images < <("$python" "$here/make_bench_images.py" "$source_image" "$work/images")

echo "building pdq_timing" >&2
(cd "$root" && cargo build --quiet --release -p ward-core --example pdq_timing)
ward=${CARGO_TARGET_DIR:-$root/target}/release/examples/pdq_timing

pin=()
if command -v taskset >/dev/null && taskset -c 0 true 2>/dev/null; then
  pin=(taskset -c 0)
fi

# One image at a time, the reference then Ward, so drift in the machine's load hits both.
for image in "${images[@]}"; do
  echo "timing $(basename "$image")" >&2
  "${pin[@]}" "$python" "$here/pdq_reference.py" --repeat "$repeat" --budget-ms "$budget_ms" "$image" \
    >>"$work/reference.jsonl"
  "${pin[@]}" "$ward" --repeat "$repeat" --budget-ms "$budget_ms" "$image" >>"$work/ward.jsonl"
done

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
"$python" - "$work/reference.jsonl" "$work/ward.jsonl" "${cpu:-unknown cpu}" "${pin[*]:-not pinned}" <<'EOF'
import json, os, sys

def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]

reference, ward, cpu, pin = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3], sys.argv[4]
print(f"PDQ, Ward vs Meta's reference (pdqhash 0.2.8 + Pillow 13.0.0), single-threaded, {pin}")
print(f"cpu: {cpu}; medians in ms; ratios = reference / ward")
print()
header = (f"{'image':<10} {'MP':>5} | {'ref dec':>8} {'hash':>8} {'total':>8} | "
          f"{'ward dec':>8} {'hash':>8} {'total':>8} | {'hash x':>6} {'dec+hash x':>10} "
          f"{'+digests x':>10} | pdq")
print(header)
print("-" * len(header))
headline = {}
for r, w in zip(reference, ward):
    name = os.path.basename(r["path"])
    assert name == os.path.basename(w["path"]), (r["path"], w["path"])
    hash_x = r["hash_ms"] / w["hash_ms"]
    total_x = r["total_ms"] / w["total_ms"]
    digests_x = r["total_with_digests_ms"] / w["total_with_digests_ms"]
    distance = bin(int(r["pdq"], 16) ^ int(w["pdq"], 16)).count("1")
    same = "equal" if distance == 0 and r["quality"] == w["quality"] else f"DIFFER (distance {distance})"
    print(f"{name:<10} {w['megapixels']:>5.1f} | {r['decode_ms']:>8.1f} {r['hash_ms']:>8.1f} "
          f"{r['total_ms']:>8.1f} | {w['decode_ms']:>8.1f} {w['hash_ms']:>8.1f} {w['total_ms']:>8.1f} | "
          f"{hash_x:>6.1f} {total_x:>10.1f} {digests_x:>10.1f} | {same}")
    headline[name] = (hash_x, total_x)
print()
print("targets: hash stage >= 10x the reference; decode+hash >= 3x on the 2 MP JPEG")
if "2mp.jpg" in headline:
    hash_x, total_x = headline["2mp.jpg"]
    verdict = lambda ok: "met" if ok else "NOT met"
    print(f"2 MP JPEG: hash {hash_x:.1f}x ({verdict(hash_x >= 10)}), "
          f"decode+hash {total_x:.1f}x ({verdict(total_x >= 3)})")
hash_ratios = [h for h, _ in headline.values()]
print(f"hash stage over all images: {min(hash_ratios):.1f}x to {max(hash_ratios):.1f}x")
EOF
