"""FAISS's whole `match` run, for bench/match-vs-faiss.sh: read a list of PDQ hashes as hex
text (one a line), index them in IndexBinaryMultiHash(256, 16, 16) with nflip=1 (exact at
radius 31, see index_faiss.py), read the queries (hex, one a line), search each within 31,
and write every match as `query_line,list_line,distance` (0-based lines), as a user's script
over FAISS would. Single-threaded (OpenMP on one thread).

Usage: python match_faiss.py LIST QUERIES OUTPUT

Prints one JSON line: the seconds spent reading and building, searching, and writing, and the
number of matches. The driver times the whole process from outside.
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import faiss  # noqa: E402
import numpy as np  # noqa: E402

RADIUS = 31


def read_hex(path: str) -> np.ndarray:
    """The hashes of a hex list, 32 bytes each (blank lines skipped)."""
    with open(path, "rb") as f:
        lines = [line.strip() for line in f]
    text = b"".join(line for line in lines if line)
    return np.frombuffer(bytes.fromhex(text.decode("ascii")), dtype=np.uint8).reshape(-1, 32)


def main() -> int:
    list_path, queries_path, out_path = sys.argv[1:4]
    faiss.omp_set_num_threads(1)
    started = time.perf_counter()
    base = read_hex(list_path)
    index = faiss.IndexBinaryMultiHash(256, 16, 16)
    index.nflip = 1
    index.add(base)
    queries = np.ascontiguousarray(read_hex(queries_path))
    built = time.perf_counter()
    lims, distances, ids = index.range_search(queries, RADIUS + 1)
    searched = time.perf_counter()
    with open(out_path, "w") as out:
        for q in range(len(queries)):
            for i, d in zip(ids[lims[q] : lims[q + 1]].tolist(), distances[lims[q] : lims[q + 1]].tolist()):
                out.write(f"{q},{i},{d}\n")
    written = time.perf_counter()
    print(
        json.dumps(
            {
                "load_build_s": round(built - started, 3),
                "search_s": round(searched - built, 3),
                "write_s": round(written - searched, 3),
                "matches": int(lims[-1]),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
