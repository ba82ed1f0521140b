"""The video worker: ``python -m ward._video_worker REQUEST`` decodes and hashes one video
in this process and prints the answer as one line of JSON (see `ward.video`).

Run only as a child of `ward.hash_video`: FFmpeg's codecs run here so that a crash on a
hostile file takes down this process, not the caller.
"""

import json
import sys

from ward import _ward


def main() -> int:
    """Reads the request from the command line, hashes, prints the answer."""
    if len(sys.argv) != 2:
        print("usage: python -m ward._video_worker REQUEST_JSON", file=sys.stderr)
        return 2
    request = json.loads(sys.argv[1])
    answer = _ward.hash_video_in_process(
        request["path"],
        request["seconds_per_hash"],
        request["max_duration"],
        request["max_frame_pixels"],
        request["timeout"],
        request["threads"],
    )
    sys.stdout.write(answer + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
