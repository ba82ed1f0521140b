"""Time one FAISS binary index on a data set from make_index_data.py, single-threaded.

Usage: python index_faiss.py --index {flat,multihash} [--queries N] DATA_DIR

- flat:       IndexBinaryFlat(256), brute force over the codes.
- multihash:  IndexBinaryMultiHash(256, 16, 16) with nflip=1: 16 hash tables on 16-bit
              substrings, each probed at the query's substring and its 16 one-bit neighbours.
              A pair within distance 31 differs in at most 1 bit on at least one of the 16
              substrings (16 x 2 = 32 > 31), so this is exact at radius 31.

It loads base.u8, the first N queries of queries.u8 (planted and random alternate, so any
prefix is the same mix) and truth.txt, then measures:

- build_s: `index.add(base)`;
- rss_bytes_per_hash: the process's resident memory (VmRSS) after the build minus before it,
  over the number of hashes; codes_bytes_per_hash is the 32 bytes of the codes alone;
- qps: one `range_search` call over the queries after a one-query warm-up, with FAISS on one
  OpenMP thread. FAISS's binary range_search returns distances strictly below the radius it
  is given, so radius 31 (at most 31) is asked for as 32;
- recall: stored hashes within 31 that came back with the right distance, over all of them;
  extra: results that are not within 31 (or came back with a wrong distance).

Prints one JSON line.
"""

import os

# One thread before numpy and FAISS load their OpenMP and BLAS runtimes.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import faiss  # noqa: E402
import numpy as np  # noqa: E402

RADIUS = 31


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", choices=("flat", "multihash"), required=True)
    parser.add_argument("--queries", type=int, default=None, help="the first N queries (all)")
    parser.add_argument("data_dir", type=pathlib.Path)
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)

    base = np.fromfile(args.data_dir / "base.u8", dtype=np.uint8).reshape(-1, 32)
    queries = np.fromfile(args.data_dir / "queries.u8", dtype=np.uint8).reshape(-1, 32)
    if args.queries is not None:
        queries = queries[: args.queries]
    queries = np.ascontiguousarray(queries)
    truth = read_truth(args.data_dir / "truth.txt")[: len(queries)]

    gc.collect()
    rss_before = rss_bytes()
    started = time.perf_counter()
    if args.index == "flat":
        index = faiss.IndexBinaryFlat(256)
    else:
        index = faiss.IndexBinaryMultiHash(256, 16, 16)
        index.nflip = 1
    index.add(base)
    build_s = time.perf_counter() - started
    gc.collect()
    rss_after = rss_bytes()

    index.range_search(queries[:1], RADIUS + 1)
    started = time.perf_counter()
    lims, distances, ids = index.range_search(queries, RADIUS + 1)
    search_s = time.perf_counter() - started

    truth_pairs = sum(len(t) for t in truth)
    found = extra = 0
    for q, expected in enumerate(truth):
        got = zip(ids[lims[q] : lims[q + 1]].tolist(), distances[lims[q] : lims[q + 1]].tolist())
        for i, d in got:
            if expected.get(i) == int(d):
                found += 1
            else:
                extra += 1
    n = len(base)
    print(
        json.dumps(
            {
                "index": f"faiss-{args.index}",
                "faiss": faiss.__version__,
                "n": n,
                "queries": len(queries),
                "build_s": round(build_s, 3),
                "rss_bytes_per_hash": round((rss_after - rss_before) / n, 2),
                "codes_bytes_per_hash": index.code_size,
                "search_s": round(search_s, 4),
                "qps": round(len(queries) / search_s, 2),
                "truth_pairs": truth_pairs,
                "found": found,
                "missed": truth_pairs - found,
                "extra": extra,
                "recall": round(found / truth_pairs, 6) if truth_pairs else 1.0,
                "exact": found == truth_pairs and extra == 0,
            }
        )
    )
    return 0


def read_truth(path: pathlib.Path) -> list:
    """Per query, {stored id: distance} for every stored hash within RADIUS."""
    truth = []
    with open(path) as f:
        for line in f:
            pairs = (token.split(":") for token in line.split())
            truth.append({int(i): int(d) for i, d in pairs})
    return truth


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


if __name__ == "__main__":
    sys.exit(main())
