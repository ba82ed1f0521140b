"""vPDQ for Python: `hash_video` decodes a video in a worker process and returns its
frame hashes as Meta's vPDQ numbers and stamps them.

FFmpeg's codecs run in a child process (``python -m ward._video_worker``), never in the
caller's, as the ``ward`` command line runs them in ``ward video-worker``: a codec that
crashes on a hostile file kills only the child, and the caller gets a
`ward.DecoderCrashed`; one that runs past the time limit is killed and the caller gets a
`ward.Timeout`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import List, Union

from . import errors

#: The environment variable naming another worker program, run with the same arguments
#: (tests use it to stand in a worker that crashes or hangs).
WORKER_ENV = "WARD_PY_VIDEO_WORKER"

#: Seconds past the decoder's own time limit the worker is given before it is killed.
GRACE = 5.0


@dataclass(frozen=True)
class VideoFrame:
    """One hashed frame of a video, as Meta's vPDQ gives it."""

    #: The frame's number, from 0, in decoding output order.
    frame_number: int
    #: Seconds from the start: ``frame_number / average_fps``, in float32 as vPDQ has it.
    timestamp: float
    #: PDQ quality, 0 to 100.
    quality: int
    #: The frame's PDQ hash, 64 lowercase hex digits.
    pdq: str


def hash_video(
    path: Union[str, "os.PathLike[str]"],
    seconds_per_hash: float = 1.0,
    *,
    max_duration: int = 4 * 3600,
    max_frame_pixels: int = 8192 * 4320,
    timeout: int = 30 * 60,
    threads: int = 0,
) -> List[VideoFrame]:
    """Hashes the video at ``path`` with vPDQ: one frame every ``seconds_per_hash``
    seconds (0: every frame), numbered and stamped as Meta's vPDQ does.

    Limits: ``max_duration`` seconds of video, ``max_frame_pixels`` pixels a frame,
    ``timeout`` seconds of decoding; ``threads`` hashing threads (0: one per core).

    Raises ``FileNotFoundError`` (or another ``OSError``) for a path that cannot be read,
    `ward.DecodeError` for a damaged file or one that is not a video,
    `ward.DecoderCrashed` when the decoder's process dies, `ward.TooLarge`,
    `ward.TooLong` or `ward.Timeout` past the limits, `ward.NoVideoDecoder` when this
    build has no FFmpeg.
    """
    path = os.fspath(path)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    # An unreadable path is the caller's OSError, as open() gives it.
    with open(path, "rb"):
        pass
    if not (seconds_per_hash >= 0 and seconds_per_hash != float("inf")):
        raise errors.InvalidOption(f"seconds per hash must be 0 or more, not {seconds_per_hash}")
    request = {
        "path": path,
        "seconds_per_hash": float(seconds_per_hash),
        "max_duration": int(max_duration),
        "max_frame_pixels": int(max_frame_pixels),
        "timeout": max(1, int(timeout)),
        "threads": int(threads),
    }
    answer = _run_worker(request, timeout + GRACE)
    if "error" in answer:
        error = answer["error"]
        cls = getattr(errors, str(error.get("class")), errors.WardError)
        if not (isinstance(cls, type) and issubclass(cls, errors.WardError)):
            cls = errors.WardError
        exc = cls(str(error.get("message", "")))
        exc.kind = str(error.get("kind", "other"))
        raise exc
    try:
        return [
            VideoFrame(frame_number=int(n), timestamp=float(t), quality=int(q), pdq=str(h))
            for n, q, h, t in answer["frames"]
        ]
    except (KeyError, TypeError, ValueError):
        raise _crashed("the video decoder's answer is malformed") from None


def _worker_command(request: dict) -> List[str]:
    program = os.environ.get(WORKER_ENV)
    argument = json.dumps(request)
    if program:
        return [program, argument]
    return [sys.executable, "-m", "ward._video_worker", argument]


def _run_worker(request: dict, limit: float) -> dict:
    env = dict(os.environ)
    # The child imports this same `ward`, wherever it was imported from.
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    try:
        done = subprocess.run(
            _worker_command(request),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=limit,
            env=env,
        )
    except subprocess.TimeoutExpired:
        exc = errors.Timeout(
            f"video decoding took longer than {request['timeout']} s and was stopped"
        )
        exc.kind = "timeout"
        raise exc from None
    except OSError as e:
        raise _crashed(f"cannot run the video decoder: {e}") from None
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    answer = None
    if lines:
        try:
            answer = json.loads(lines[-1])
        except ValueError:
            answer = None
    if isinstance(answer, dict) and (done.returncode == 0 or "error" in answer):
        return answer
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = str(-done.returncode)
        raise _crashed(f"the video decoder crashed ({name})")
    said = done.stderr.decode("utf-8", "replace").strip().splitlines()
    detail = f": {said[-1]}" if said else ""
    raise _crashed(f"the video decoder failed (exit status {done.returncode}){detail}")


def _crashed(message: str) -> errors.DecoderCrashed:
    exc = errors.DecoderCrashed(message)
    exc.kind = "decoder"
    return exc
