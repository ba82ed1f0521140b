"""Times Ward for Python against the references, for bench/python-vs-reference.sh: one JSON
line per measurement.

Usage:
  python python_vs_reference.py images --copies N --repeat R IMAGE
      ward.hash_images (one thread, and all cores) and ward.hash_image one by one, against
      Pillow open + convert("RGB") + numpy.asarray + pdqhash.compute per file (one process,
      and a process pool of one process per core); the same N copies of IMAGE for both.
  python python_vs_reference.py index --repeat R DATA_DIR
      ward.PdqIndex built over base.u8 and search_many(queries, 31, threads=1), with recall
      against truth.txt (a data set from make_index_data.py; FAISS runs in index_faiss.py).
  python python_vs_reference.py video --repeat R --seconds-per-hash S VIDEO
      ward.hash_video against vpdq.computeHash, both on all cores (threads 0).

Every measurement is repeated R times and the best is kept (the machines are shared). The
two sides' results are compared as well as timed: the PDQ hashes must be identical.
"""

import argparse
import concurrent.futures
import json
import os
import pathlib
import sys
import time

import numpy as np

import ward

RADIUS = 31


def best(repeat, run):
    """The fastest of `repeat` runs: (seconds, what the last run returned)."""
    fastest, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest, result


def reference_hash(path):
    """The reference as HMA and python-threatexchange run it: Pillow, then pdqhash."""
    import pdqhash
    from PIL import Image

    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))
    bits, quality = pdqhash.compute(pixels)
    return np.packbits(bits.astype(np.uint8)).tobytes().hex(), quality


def images(args):
    paths = [str(args.image)] * args.copies
    cores = os.cpu_count() or 1
    expected = reference_hash(paths[0])

    def emit(side, threads, seconds, results):
        hashes = {(r.pdq, r.quality) if hasattr(r, "pdq") else r for r in results}
        print(
            json.dumps(
                {
                    "bench": "images",
                    "side": side,
                    "threads": threads,
                    "files": len(paths),
                    "seconds": round(seconds, 4),
                    "ms_per_file": round(1000 * seconds / len(paths), 2),
                    "same_hash": hashes == {expected},
                }
            ),
            flush=True,
        )

    seconds, results = best(args.repeat, lambda: [reference_hash(p) for p in paths])
    emit("reference", 1, seconds, results)
    with concurrent.futures.ProcessPoolExecutor(cores) as pool:
        list(pool.map(reference_hash, paths[:cores]))  # start the workers
        seconds, results = best(args.repeat, lambda: list(pool.map(reference_hash, paths)))
    emit("reference", cores, seconds, results)
    seconds, results = best(args.repeat, lambda: [ward.hash_image(p) for p in paths])
    emit("ward-hash_image", 1, seconds, results)
    seconds, results = best(args.repeat, lambda: list(ward.hash_images(paths, threads=1)))
    emit("ward", 1, seconds, results)
    seconds, results = best(args.repeat, lambda: list(ward.hash_images(paths)))
    emit("ward", cores, seconds, results)


def read_truth(path):
    """Per query, {stored id: distance} for every stored hash within RADIUS."""
    truth = []
    with open(path) as f:
        for line in f:
            truth.append({int(i): int(d) for i, d in (t.split(":") for t in line.split())})
    return truth


def index(args):
    base = np.fromfile(args.data_dir / "base.u8", dtype=np.uint8).reshape(-1, 32)
    queries = np.fromfile(args.data_dir / "queries.u8", dtype=np.uint8).reshape(-1, 32)
    truth = read_truth(args.data_dir / "truth.txt")
    started = time.perf_counter()
    built = ward.PdqIndex(base)
    build_s = time.perf_counter() - started
    built.search_many(queries[:1], RADIUS, threads=1)
    search_s, (positions, ids, distances) = best(
        args.repeat, lambda: built.search_many(queries, RADIUS, threads=1)
    )
    truth_pairs = sum(len(t) for t in truth)
    found = extra = 0
    for q, i, d in zip(positions.tolist(), ids.tolist(), distances.tolist()):
        if truth[q].get(i) == d:
            found += 1
        else:
            extra += 1
    print(
        json.dumps(
            {
                "bench": "index",
                "index": "ward-python",
                "n": len(base),
                "queries": len(queries),
                "build_s": round(build_s, 3),
                "search_s": round(search_s, 5),
                "qps": round(len(queries) / search_s, 2),
                "truth_pairs": truth_pairs,
                "found": found,
                "extra": extra,
                "recall": round(found / truth_pairs, 6) if truth_pairs else 1.0,
                "exact": found == truth_pairs and extra == 0,
            }
        ),
        flush=True,
    )


def video(args):
    import vpdq

    path = str(args.video)
    seconds, reference = best(
        args.repeat,
        lambda: vpdq.computeHash(path, seconds_per_hash=args.seconds_per_hash, thread_count=0),
    )
    ward_seconds, frames = best(
        args.repeat, lambda: ward.hash_video(path, args.seconds_per_hash, threads=0)
    )
    ours = [(f.frame_number, f.quality, f.pdq) for f in frames]
    theirs = [(f.frame_number, f.quality, f.hex) for f in reference]
    print(
        json.dumps(
            {
                "bench": "video",
                "video": os.path.basename(path),
                "seconds_per_hash": args.seconds_per_hash,
                "frames": len(frames),
                "reference_s": round(seconds, 3),
                "ward_s": round(ward_seconds, 3),
                "ratio": round(seconds / ward_seconds, 2),
                "same_hashes": ours == theirs,
                "identical_frames": sum(a == b for a, b in zip(ours, theirs)),
                "reference_frames": len(reference),
            }
        ),
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="bench", required=True)
    p = sub.add_parser("images")
    p.add_argument("--copies", type=int, default=48)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("image", type=pathlib.Path)
    p = sub.add_parser("index")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("data_dir", type=pathlib.Path)
    p = sub.add_parser("video")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seconds-per-hash", type=float, default=1.0)
    p.add_argument("video", type=pathlib.Path)
    args = parser.parse_args()
    {"images": images, "index": index, "video": video}[args.bench](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
