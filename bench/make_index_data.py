"""Make one data set for the PDQ index benchmark: stored hashes, queries and the exact answers.

Usage: python make_index_data.py --n N --distribution {random,clustered} OUTPUT_DIR
           [--queries 1000] [--centres 50000] [--seed 3]

Writes to OUTPUT_DIR:

- base.u8      N hashes, 32 bytes each, in PdqHash::to_bytes order (big-endian, the order of
               the hex text). FAISS's binary codes are the same bytes: Hamming distance does not
               depend on how bits are laid out, as long as every side reads the same bytes.
- queries.u8   the queries, 32 bytes each. Even positions are planted (a random stored hash
               with 0..=31 distinct random bits flipped, uniformly), odd positions are uniform
               random, so any prefix of the file is the same half-and-half mix.
- truth.txt    one line per query: every stored hash within distance 31, as `id:distance`
               tokens sorted by id (an empty line when there is none), found by brute force.
- meta.json    the parameters.

With --no-truth, the brute force is skipped and truth.txt is left empty (for benchmarks that
compare two tools' answers with each other).

Distributions: `random` is uniform; `clustered` draws `--centres` uniform centres and makes each
stored hash a centre with d distinct random bits flipped, d uniform in 0..=40, the members
spread evenly over the centres in random order.

Everything comes from one seeded numpy generator, so the same arguments give the same files.
"""

import argparse
import json
import multiprocessing
import os
import pathlib
import sys
import time

import numpy as np

BITS = 256
RADIUS = 31
MAX_MEMBER_DISTANCE = 40
# Rows per block when flipping bits.
FLIP_BLOCK = 1 << 18
# Stored hashes per block in the brute-force truth: the block's uint64 and uint8 distance
# matrices against all queries should stay near the size of the cache.
TRUTH_BLOCK = 512

# The brute force reads these from the parent after fork, without copying.
_base_words = None
_query_words = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--distribution", choices=("random", "clustered"), required=True)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--centres", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--no-truth",
        action="store_true",
        help="skip the brute force (no truth.txt): for benchmarks that compare two tools' answers",
    )
    parser.add_argument("out_dir", type=pathlib.Path)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)

    # One stream per (seed, size, distribution), so data sets differ and each one is repeatable.
    rng = np.random.default_rng([args.seed, args.n, args.distribution == "clustered"])
    started = time.perf_counter()
    if args.distribution == "random":
        base = random_hashes(rng, args.n)
    else:
        base = clustered_hashes(rng, args.n, args.centres)
    queries = make_queries(rng, base, args.queries)
    generated = time.perf_counter()

    base.tofile(args.out_dir / "base.u8")
    queries.tofile(args.out_dir / "queries.u8")
    truth = [] if args.no_truth else brute_force(base, queries, args.workers)
    with open(args.out_dir / "truth.txt", "w") as f:
        for ids, distances in truth:
            f.write(" ".join(f"{i}:{d}" for i, d in zip(ids.tolist(), distances.tolist())))
            f.write("\n")
    finished = time.perf_counter()

    found = [len(ids) for ids, _ in truth]
    meta = {
        "n": args.n,
        "distribution": args.distribution,
        "centres": args.centres if args.distribution == "clustered" else None,
        "queries": args.queries,
        "planted": (args.queries + 1) // 2,
        "radius": RADIUS,
        "seed": args.seed,
        "truth_pairs": None if args.no_truth else sum(found),
        "planted_truth_min": min(found[0::2], default=0),
        "random_queries_with_truth": sum(1 for c in found[1::2] if c),
        "generate_s": round(generated - started, 3),
        "truth_s": round(finished - generated, 3),
    }
    with open(args.out_dir / "meta.json", "w") as f:
        json.dump(meta, f)
        f.write("\n")
    print(json.dumps(meta))
    return 0


def random_hashes(rng: np.random.Generator, count: int) -> np.ndarray:
    return np.frombuffer(rng.bytes(count * 32), dtype=np.uint8).reshape(count, 32).copy()


def clustered_hashes(rng: np.random.Generator, count: int, centres: int) -> np.ndarray:
    centre_hashes = random_hashes(rng, centres)
    # A permutation of 0..count taken modulo the number of centres gives every centre the same
    # number of members (give or take one) and scatters each family over the ids.
    family = rng.permutation(count) % centres
    distances = rng.integers(0, MAX_MEMBER_DISTANCE, size=count, endpoint=True)
    base = centre_hashes[family]
    for start in range(0, count, FLIP_BLOCK):
        stop = min(start + FLIP_BLOCK, count)
        base[start:stop] ^= flip_masks(rng, distances[start:stop])
    return base


def make_queries(rng: np.random.Generator, base: np.ndarray, count: int) -> np.ndarray:
    planted = (count + 1) // 2
    queries = np.empty((count, 32), dtype=np.uint8)
    sources = rng.integers(0, len(base), size=planted)
    distances = rng.integers(0, RADIUS, size=planted, endpoint=True)
    queries[0::2] = base[sources] ^ flip_masks(rng, distances)
    queries[1::2] = random_hashes(rng, count - planted)
    return queries


def flip_masks(rng: np.random.Generator, distances: np.ndarray) -> np.ndarray:
    """32-byte masks, row i with exactly distances[i] distinct bits set, uniformly at random.

    Uniform draws of a bit position, a draw that hits a bit already set being drawn again:
    the set bits are then a uniform random subset of the size asked for. Vectorised over
    the rows still short of their count.
    """
    rows = len(distances)
    words = np.zeros((rows, 4), dtype=np.uint64)
    have = np.zeros(rows, dtype=np.int64)
    active = np.flatnonzero(distances > 0)
    while active.size:
        position = rng.integers(0, BITS, size=active.size)
        word = position >> 6
        bit = np.left_shift(np.uint64(1), (position & 63).astype(np.uint64))
        current = words[active, word]
        new = (current & bit) == 0
        grown = active[new]
        words[grown, word[new]] = current[new] | bit[new]
        have[grown] += 1
        active = active[have[active] < distances[active]]
    # Any fixed map from bits to bytes keeps the subset uniform.
    return words.view(np.uint8).reshape(rows, 32)


def brute_force(base: np.ndarray, queries: np.ndarray, workers: int):
    """For each query, the ids and distances of all stored hashes within RADIUS, by id.

    Every pair is compared. Half the bits go first: the distance over words 0 and 1 is a lower
    bound of the whole distance (and fits in a uint8), so only pairs within RADIUS on it get
    their other two words counted.
    """
    global _base_words, _query_words
    _base_words = base.view(np.uint64)
    _query_words = queries.view(np.uint64)
    step = 1 << 18
    blocks = [(s, min(s + step, len(base))) for s in range(0, len(base), step)]
    if workers > 1 and len(blocks) > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_brute_force_range, blocks)
    else:
        parts = [_brute_force_range(b) for b in blocks]
    query_ids = np.concatenate([p[0] for p in parts])
    base_ids = np.concatenate([p[1] for p in parts])
    distances = np.concatenate([p[2] for p in parts])
    order = np.lexsort((base_ids, query_ids))
    query_ids, base_ids, distances = query_ids[order], base_ids[order], distances[order]
    bounds = np.searchsorted(query_ids, np.arange(len(queries) + 1))
    return [
        (base_ids[bounds[q] : bounds[q + 1]], distances[bounds[q] : bounds[q + 1]])
        for q in range(len(queries))
    ]


def _brute_force_range(span):
    start, stop = span
    base, queries = _base_words, _query_words
    q0, q1 = queries[None, :, 0], queries[None, :, 1]
    shape = (TRUTH_BLOCK, len(queries))
    xor, near = np.empty(shape, dtype=np.uint64), np.empty(shape, dtype=np.uint8)
    half, low = np.empty(shape, dtype=np.uint8), np.empty(shape, dtype=bool)
    found_base, found_query = [], []
    for s in range(start, stop, TRUTH_BLOCK):
        e = min(s + TRUTH_BLOCK, stop)
        rows = e - s
        x, c, h, lo = xor[:rows], near[:rows], half[:rows], low[:rows]
        np.bitwise_xor(base[s:e, 0, None], q0, out=x)
        np.bitwise_count(x, out=h)
        np.bitwise_xor(base[s:e, 1, None], q1, out=x)
        np.bitwise_count(x, out=c)
        np.add(h, c, out=h)
        np.less_equal(h, RADIUS, out=lo)
        if lo.any():
            b, q = np.nonzero(lo)
            found_base.append(b + s)
            found_query.append(q)
    if not found_base:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    b, q = np.concatenate(found_base), np.concatenate(found_query)
    full = np.bitwise_count(base[b] ^ queries[q]).sum(axis=1, dtype=np.int64)
    keep = full <= RADIUS
    return q[keep].astype(np.int64), b[keep].astype(np.int64), full[keep]


if __name__ == "__main__":
    sys.exit(main())
