"""A drop-in for the PyPI ``vpdq`` binding: ``from ward.compat import vpdq``.

`computeHash` takes ``vpdq.computeHash``'s arguments and returns the same list of
`VpdqFeature` (``quality``, ``frame_number``, ``hash`` as ``{"w": [16 words]}``, ``hex``,
``timestamp``), computed by Ward in a worker process (see `ward.hash_video`). On the same
FFmpeg the frames and hashes are the reference's exactly, with one difference: when the
video stream is not the file's first, the binding loses the last frames the decoder holds
back (it does not drain it at the end; see testdata/README.md), and Ward hashes them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Optional

from .. import errors
from ..video import hash_video


def str_to_hash(text: str) -> Dict[str, List[int]]:
    """A hash's hex as the binding's ``{"w": [16 words]}``, word 0 first (the hex's last
    four digits)."""
    if len(text) != 64:
        raise errors.InvalidSignal(f"invalid pdq: expected 64 hex digits, got {len(text)}")
    words = [int(text[i : i + 4], 16) for i in range(0, 64, 4)]
    return {"w": words[::-1]}


def hash_to_hex(hash_value: Dict[str, List[int]]) -> str:
    """The hex of a ``{"w": [16 words]}`` hash."""
    return "".join(f"{w:04x}" for w in reversed(hash_value["w"]))


def hamming_distance(a: Dict[str, List[int]], b: Dict[str, List[int]]) -> int:
    """The number of bits in which two ``{"w": [...]}`` hashes differ."""
    return sum(bin(x ^ y).count("1") for x, y in zip(a["w"], b["w"]))


@dataclass
class VpdqFeature:
    """One hashed frame, as the ``vpdq`` binding's ``VpdqFeature``."""

    quality: int
    frame_number: int
    hash: Dict[str, List[int]]
    hex: str
    timestamp: float

    def hamming_distance(self, other: "VpdqFeature") -> int:
        """Bits in which this frame's hash differs from ``other``'s."""
        return hamming_distance(self.hash, other.hash)


def computeHash(  # noqa: N802 (the binding's name)
    input_video_filename: str,
    ffmpeg_path: Optional[str] = None,
    verbose: bool = False,
    seconds_per_hash: float = 1,
    downsample_width: int = 0,
    downsample_height: int = 0,
    thread_count: int = 0,
) -> List[VpdqFeature]:
    """vPDQ of a video, as ``vpdq.computeHash``: one `VpdqFeature` every
    ``seconds_per_hash`` seconds (0: every frame).

    ``ffmpeg_path`` and ``verbose`` are accepted and ignored (the binding ignores the
    first too). Downsampling before hashing is not supported: ``downsample_width`` and
    ``downsample_height`` must be 0 (native size, the binding's default and what lists
    hold). A missing file raises ``ValueError`` as the binding does; other failures raise
    Ward's errors (`ward.DecodeError`...).
    """
    del ffmpeg_path, verbose
    if downsample_width or downsample_height:
        raise errors.InvalidOption(
            "ward.compat.vpdq hashes frames at native size only: "
            "downsample_width and downsample_height must be 0"
        )
    if not os.path.isfile(input_video_filename):
        raise ValueError("Input_video_filename doesn't exist")
    frames = hash_video(input_video_filename, seconds_per_hash, threads=thread_count)
    return [
        VpdqFeature(
            quality=f.quality,
            frame_number=f.frame_number,
            hash=str_to_hash(f.pdq),
            hex=f.pdq,
            timestamp=f.timestamp,
        )
        for f in frames
    ]


__all__ = ["VpdqFeature", "computeHash", "hamming_distance", "hash_to_hex", "str_to_hash"]
