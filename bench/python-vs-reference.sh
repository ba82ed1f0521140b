#!/usr/bin/env bash
# Ward for Python (the `ward` wheel, crates/ward-py) against the Python references, in one run:
#
#   images  ward.hash_images on copies of a 2 MP JPEG (made by make_bench_images.py from the
#           bridge photo), on one thread and on all cores, against Pillow open +
#           convert("RGB") + numpy.asarray + pdqhash.compute per file (as HMA and
#           python-threatexchange run it), in one process and in a pool of one process per
#           core. Ward also computes MD5, SHA-1 and SHA-256 of every file; the reference does
#           not. Target (issue 22): >= 4x per file on one thread.
#   index   ward.PdqIndex.search_many(queries, 31, threads=1) against FAISS's
#           IndexBinaryMultiHash(256, 16, 16) with nflip=1 (exact at radius 31; index_faiss.py,
#           one OpenMP thread), at 1M hashes, random and clustered (make_index_data.py: 1000
#           queries, half planted; the exact answers by brute force). Both must reach recall
#           1.0 with nothing extra. Target: >= 30x FAISS MultiHash's queries per second.
#   video   ward.hash_video against vpdq.computeHash (both all cores) on a generated 60 s
#           720p30 video and Meta's SD sample, one hash a second and every frame; the hashes
#           must be identical.
#
# The wheel is built with maturin in release mode (what a published wheel is) and installed in
# the venv with pinned references (pdqhash 0.2.8, Pillow 13.0.0, numpy 2.4.6, faiss-cpu
# 1.15.1, vpdq 0.2.5 built from source against this machine's FFmpeg). Each measurement is
# the best of WARD_BENCH_REPEAT (3) runs; the machines are shared and noisy: read the ratios.
#
# Run from anywhere: bench/python-vs-reference.sh
# Needs python3 with venv, PyPI the first time, cargo, FFmpeg with its development packages
# (libavfilter-dev and libavdevice-dev too, for vpdq) and the ffmpeg program.
# Environment: WARD_PY_BENCH_VENV (default ${TMPDIR:-/tmp}/ward-py-bench-venv),
#              WARD_BENCH_REPEAT (3), WARD_BENCH_COPIES (48 copies of the JPEG),
#              WARD_BENCH_INDEX_SIZE (1000000), WARD_BENCH_PARTS ("images index video").
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
venv=${WARD_PY_BENCH_VENV:-${TMPDIR:-/tmp}/ward-py-bench-venv}
repeat=${WARD_BENCH_REPEAT:-3}
copies=${WARD_BENCH_COPIES:-48}
size=${WARD_BENCH_INDEX_SIZE:-1000000}
read -r -a parts <<<"${WARD_BENCH_PARTS:-images index video}"

pins=(pdqhash==0.2.8 pillow==13.0.0 numpy==2.4.6 faiss-cpu==1.15.1 vpdq==0.2.5)
if ! "$venv/bin/python" - "${pins[@]}" 2>/dev/null <<'PY'
import sys
from importlib.metadata import version
sys.exit(any(version(name) != want for name, want in (p.split("==") for p in sys.argv[1:])))
PY
then
  echo "making the benchmark venv in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "maturin>=1.5,<2" "${pins[@]}" --no-binary vpdq
fi
python=$venv/bin/python

echo "building the ward wheel (release)" >&2
rm -rf "$venv/wheels"
(cd "$root/crates/ward-py" && "$venv/bin/maturin" build --quiet --release --compatibility linux \
  --interpreter "$python" --out "$venv/wheels")
"$venv/bin/pip" install --quiet --force-reinstall --no-deps "$venv"/wheels/ward-*.whl

work=$(mktemp -d "${TMPDIR:-/tmp}/ward-py-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
results=$work/results.jsonl
cd "$work"

for part in "${parts[@]}"; do
  case "$part" in
    images)
      echo "images: $copies copies of a 2 MP JPEG" >&2
      "$python" "$here/make_bench_images.py" "$root/testdata/threatexchange/pdq/data/bridge-mods/aaa-orig.jpg" \
        "$work/images" >/dev/null
      "$python" "$here/python_vs_reference.py" images --copies "$copies" --repeat "$repeat" \
        "$work/images/2mp.jpg" >>"$results"
      ;;
    index)
      for distribution in random clustered; do
        echo "index: $size hashes, $distribution (data set and brute-force answers first)" >&2
        data=$work/index-$distribution
        "$python" "$here/make_index_data.py" --n "$size" --distribution "$distribution" "$data" >/dev/null
        "$python" "$here/index_faiss.py" --index multihash "$data" |
          "$python" -c "import json,sys; r=json.loads(sys.stdin.read()); r.update(bench='index', distribution='$distribution'); print(json.dumps(r))" >>"$results"
        "$python" "$here/python_vs_reference.py" index --repeat "$repeat" "$data" |
          "$python" -c "import json,sys; r=json.loads(sys.stdin.read()); r.update(distribution='$distribution'); print(json.dumps(r))" >>"$results"
        rm -rf "$data"
      done
      ;;
    video)
      echo "video: generating a 60 s 720p30 video" >&2
      ffmpeg -nostdin -v error -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=60" \
        -f lavfi -i "mandelbrot=size=1280x720:rate=30" -t 60 \
        -filter_complex "[0:v][1:v]blend=all_mode=average" -c:v libx264 -preset veryfast -crf 23 \
        -pix_fmt yuv420p "$work/generated-720p30-60s.mp4"
      for video in "$work/generated-720p30-60s.mp4" "$root/testdata/video/chair-20-sd-bar.mp4"; do
        for seconds in 1 0; do
          echo "video: $(basename "$video"), seconds per hash $seconds" >&2
          "$python" "$here/python_vs_reference.py" video --repeat "$repeat" --seconds-per-hash "$seconds" \
            "$video" >>"$results"
        done
      done
      ;;
    *) echo "unknown part $part" >&2; exit 2 ;;
  esac
done

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
"$python" - "$results" "${cpu:-unknown cpu}" "$(nproc)" <<'PY'
import json, sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print(f"Ward for Python vs the Python references; cpu: {sys.argv[2]}, {sys.argv[3]} cores")
images = [r for r in rows if r["bench"] == "images"]
if images:
    def ms(side, one):
        hits = [r for r in images if r["side"] == side and (r["threads"] == 1) == one]
        return hits[0]["ms_per_file"] if hits else float("nan")
    print()
    print(f"images ({images[0]['files']} x 2 MP JPEG), ms per file, reference = Pillow + pdqhash")
    for r in images:
        print(f"  {r['side']:<16} threads={r['threads']:<3} {r['ms_per_file']:>8.2f} ms  same hash: {r['same_hash']}")
    print(f"  ratio one thread (reference / ward.hash_images): {ms('reference', True) / ms('ward', True):.2f}x")
    print(f"  ratio one thread (reference / ward.hash_image):  {ms('reference', True) / ms('ward-hash_image', True):.2f}x")
    print(f"  ratio all cores  (reference pool / ward.hash_images): {ms('reference', False) / ms('ward', False):.2f}x")
index = [r for r in rows if r["bench"] == "index"]
if index:
    print()
    print("index, radius 31, one thread, queries per second (recall; exact = nothing missed or extra)")
    for distribution in ("random", "clustered"):
        here = {r["index"]: r for r in index if r.get("distribution") == distribution}
        for name, r in here.items():
            print(f"  {distribution:<9} {name:<16} n={r['n']} qps={r['qps']:>12.1f} recall={r['recall']} exact={r['exact']} build={r['build_s']} s")
        if "ward-python" in here and "faiss-multihash" in here:
            print(f"  {distribution:<9} ratio ward / FAISS MultiHash: {here['ward-python']['qps'] / here['faiss-multihash']['qps']:.1f}x")
video = [r for r in rows if r["bench"] == "video"]
if video:
    print()
    print("video, all cores, seconds (ratio = vpdq / ward.hash_video)")
    for r in video:
        print(f"  {r['video']:<28} every {r['seconds_per_hash']:g} s  frames={r['frames']:<5} vpdq={r['reference_s']:>7.3f} ward={r['ward_s']:>7.3f} ratio={r['ratio']:.2f}x  identical={r['identical_frames']}/{r['reference_frames']}")
PY
