"""Ward for Python: Ward's exact PDQ, vPDQ and hash index, for trust-and-safety teams that
find and remove known child sexual abuse material by its hashes.

- `hash_image` and `hash_images`: PDQ (bit for bit Meta's reference), quality, MD5, SHA-1,
  SHA-256 and the eight dihedral hashes of image files or bytes; a batch runs in parallel
  with the GIL released and yields results in order.
- `hash_video`: vPDQ, the decoder isolated in a worker process.
- `PdqIndex`: an exact index of PDQ hashes (radius or nearest searches, one query or a
  numpy-friendly batch), saved and loaded in Ward's snapshot format; `distance`.
- `read_list`: the hash lists ``ward import`` reads (CSV, HMA, VICS, NCMEC, StopNCII),
  streamed as dicts.
- `ward.compat.pdqhash` and `ward.compat.vpdq`: drop-in replacements for Meta's bindings.

Errors are the classes in `ward.errors`, all `WardError`.
"""

from __future__ import annotations

import os
from typing import Iterable, Iterator, Optional, Union

from . import _ward
from .errors import (
    DecodeError,
    DecoderCrashed,
    InvalidOption,
    InvalidSignal,
    ListError,
    MalformedRecord,
    NoVideoDecoder,
    SnapshotError,
    Timeout,
    TooLarge,
    TooLong,
    UnsupportedFormat,
    WardError,
)
from .video import VideoFrame, hash_video

__version__: str = _ward.__version__

#: The eight dihedral transforms, in Meta's order (the order of `ImageHash.dihedral`).
DIHEDRAL_NAMES: tuple = tuple(_ward.DIHEDRAL_NAMES)

#: Whether this build decodes videos (it was built with FFmpeg's libraries).
DECODES_VIDEO: bool = _ward.DECODES_VIDEO

ImageHash = _ward.ImageHash
PdqIndex = _ward.PdqIndex

PathOrBytes = Union[str, "os.PathLike[str]", bytes, bytearray]


def hash_image(
    path_or_bytes: PathOrBytes,
    *,
    dihedral: bool = False,
    pipeline: str = "full",
    max_pixels: Optional[int] = None,
    exif_orient: bool = False,
) -> ImageHash:
    """Hashes one image, given as a path or as the file's bytes, exactly as ``ward hash``
    does: an `ImageHash` with ``pdq`` (hex), ``quality``, ``md5``, ``sha1``, ``sha256``,
    ``path`` and, with ``dihedral=True``, the eight dihedral hashes in ``dihedral``.

    ``pipeline`` is ``"full"`` (the whole image, as the ``pdqhash`` binding, HMA and
    python-threatexchange hash it: what shared lists hold) or ``"cli512"`` (Meta's C++
    command-line tool, which first shrinks images over 512 pixels to 512x512).
    ``max_pixels`` (200 million by default) refuses larger images from their header;
    ``exif_orient`` applies the EXIF orientation first (the reference does not).

    Raises `DecodeError` (or its `UnsupportedFormat`) for what cannot be decoded,
    `TooLarge` over the pixel limit, ``OSError`` for a file that cannot be read.
    """
    return _ward.hash_image(
        path_or_bytes,
        dihedral=dihedral,
        pipeline=pipeline,
        max_pixels=max_pixels,
        exif_orient=exif_orient,
    )


def hash_images(
    paths: Iterable[PathOrBytes],
    threads: Optional[int] = None,
    *,
    dihedral: bool = False,
    pipeline: str = "full",
    max_pixels: Optional[int] = None,
    exif_orient: bool = False,
    errors: str = "raise",
) -> Iterator[ImageHash]:
    """Hashes many images (paths or bytes) in parallel on ``threads`` threads (default:
    one per core), yielding an `ImageHash` per image in the order given, as soon as it and
    those before it are done. The GIL is released meanwhile.

    An image that cannot be hashed raises its error in its turn (``errors="raise"``; the
    iterator can be resumed with ``next``), or with ``errors="return"`` its exception
    object is yielded in its place. Options as for `hash_image`. Dropping the iterator
    stops the work.
    """
    return _ward.hash_images(
        paths,
        threads,
        dihedral=dihedral,
        pipeline=pipeline,
        max_pixels=max_pixels,
        exif_orient=exif_orient,
        errors=errors,
    )


def distance(a: Union[str, bytes], b: Union[str, bytes]) -> int:
    """The Hamming distance between two PDQ hashes (64 hex digits or 32 bytes each), 0 to
    256. Ward and Meta's tools call distances of 31 or less a match."""
    return _ward.distance(a, b)


def read_list(
    path: Union[str, "os.PathLike[str]"],
    format: str = "csv",
    *,
    malformed: str = "raise",
) -> Iterator[dict]:
    """Reads a hash list in a format ``ward import --format`` reads (``csv``, ``hma``,
    ``vics``, ``ncmec``, ``stopncii``), streaming one dict per record, in file order:

    ``{"record": 1, "line": 2, "id": "4711" or None, "change": "upsert" or "delete",
    "signals": [{"type": "pdq", "value": "f8f8..."}], "label": {"scheme": "industry",
    "profile": None, "label": "A1"} or None, "attributes": {...}}``

    (``signals``, ``label`` and ``attributes`` for upserts only). Signals come out
    canonical: lowercase hex, vPDQ in python-threatexchange's JSON form. A malformed record
    raises `MalformedRecord` (``malformed="raise"``), is skipped (``"skip"``), or comes as
    ``{"record", "line", "error"}`` (``"yield"``); input that cannot be read further raises
    `ListError` after every good record before it.
    """
    return _ward.read_list(path, format, malformed=malformed)


__all__ = [
    "DECODES_VIDEO",
    "DIHEDRAL_NAMES",
    "DecodeError",
    "DecoderCrashed",
    "ImageHash",
    "InvalidOption",
    "InvalidSignal",
    "ListError",
    "MalformedRecord",
    "NoVideoDecoder",
    "PdqIndex",
    "SnapshotError",
    "Timeout",
    "TooLarge",
    "TooLong",
    "UnsupportedFormat",
    "VideoFrame",
    "WardError",
    "distance",
    "hash_image",
    "hash_images",
    "hash_video",
    "read_list",
]
