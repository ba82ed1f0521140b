"""Time Meta's PDQ reference single-threaded, as HMA and python-threatexchange run it.

Usage: python pdq_reference.py [--repeat N] [--budget-ms MS] IMAGE...

The stages mirror Ward's `pdq_timing` example, one JSON line per image with medians over the
repetitions:

- decode: Pillow `Image.open` on the file's bytes (read into memory once, as Ward's side does
  and as python-threatexchange's `pdq_from_bytes` does), `.convert("RGB")`, `np.asarray`;
- hash: `pdqhash.compute(array)`, which includes the binding's float64 numpy luma step before
  Meta's C++ core: that is part of the reference's hash stage;
- digest: MD5, SHA-1 and SHA-256 of the bytes with hashlib.

`bench/pdq-vs-reference.sh` runs this next to Ward and compares the two.
"""

import os

# Keep numpy (and anything it loads) on one thread before it is imported.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pdqhash  # noqa: E402
from PIL import Image  # noqa: E402

MIN_REPEAT = 3


def bits_to_hex(vector) -> str:
    return "%064x" % int("".join(str(int(b)) for b in vector), 2)


def one_repetition(data: bytes):
    t0 = time.perf_counter()
    array = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    t1 = time.perf_counter()
    vector, quality = pdqhash.compute(array)
    t2 = time.perf_counter()
    for name in ("md5", "sha1", "sha256"):
        hashlib.new(name, data).digest()
    t3 = time.perf_counter()
    # Freeing the pixels is left out of the timings, on both sides of the benchmark.
    del array
    return (t1 - t0, t2 - t1, t3 - t2), vector, quality


def time_file(path: str, repeat: int, budget: float) -> dict:
    with open(path, "rb") as f:
        data = f.read()
    # Warm-up, and the hash to report.
    _, vector, quality = one_repetition(data)
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    samples = []
    started = time.perf_counter()
    while len(samples) < repeat and (len(samples) < MIN_REPEAT or time.perf_counter() - started < budget):
        times, _, _ = one_repetition(data)
        samples.append(times)

    def median(stage) -> float:
        return round(statistics.median(stage(s) for s in samples) * 1e3, 3)

    return {
        "path": path,
        "width": width,
        "height": height,
        "megapixels": round(width * height / 1e6, 3),
        "repeat": len(samples),
        "decode_ms": median(lambda s: s[0]),
        "hash_ms": median(lambda s: s[1]),
        "total_ms": median(lambda s: s[0] + s[1]),
        "digest_ms": median(lambda s: s[2]),
        "total_with_digests_ms": median(lambda s: s[0] + s[1] + s[2]),
        "pdq": bits_to_hex(vector),
        "quality": int(quality),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--budget-ms", type=int, default=10_000)
    parser.add_argument("images", nargs="+")
    args = parser.parse_args()
    for path in args.images:
        print(json.dumps(time_file(path, max(1, args.repeat), args.budget_ms / 1e3)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
