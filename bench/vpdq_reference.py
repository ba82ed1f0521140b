"""Times Meta's reference vPDQ (the PyPI `vpdq` package) on videos, for
bench/vpdq-vs-reference.sh: one JSON line per video, the same shape as Ward's
crates/ward-core/examples/vpdq_timing.rs prints (wall and processor seconds)."""

import json
import sys
import time

import vpdq


def main() -> None:
    options, paths = {}, []
    args = iter(sys.argv[1:])
    for arg in args:
        if arg.startswith("--"):
            options[arg] = next(args)
        else:
            paths.append(arg)
    seconds_per_hash = float(options["--seconds-per-hash"])
    threads = int(options["--threads"])
    for path in paths:
        started, cpu_started = time.perf_counter(), time.process_time()
        features = vpdq.computeHash(
            str(path), seconds_per_hash=seconds_per_hash, downsample_width=0, downsample_height=0, thread_count=threads
        )
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        print(
            json.dumps(
                {
                    "path": path,
                    "seconds": round(seconds, 4),
                    "cpu_seconds": round(cpu_seconds, 4),
                    "frames": len(features),
                    "frames_per_second": round(len(features) / seconds, 1),
                    "hashes": [f"{f.frame_number},{f.quality},{f.hex}" for f in features],
                }
            )
        )


if __name__ == "__main__":
    main()
