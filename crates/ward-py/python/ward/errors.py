"""Ward's exceptions, one class per kind of failure; all are `WardError`.

Every exception raised by the native module carries the kind of ward-core error it came
from in its ``kind`` attribute (``"corrupt"``, ``"truncated"``, ``"too_large"``...), so a
batch job can count failures by kind without parsing messages.
"""


class WardError(Exception):
    """Base class of every error Ward raises (besides ``OSError`` for unreadable files and
    ``TypeError`` for arguments of the wrong type)."""

    kind: str = "other"


class DecodeError(WardError):
    """The bytes could not be decoded: empty, truncated, corrupt, a feature Ward does not
    decode, or a failing video decoder."""


class UnsupportedFormat(DecodeError):
    """The bytes are not an image (or, for `ward.hash_video`, a video) format Ward decodes."""


class DecoderCrashed(DecodeError):
    """The video decoder's worker process died (a crashing codec) or answered nonsense."""


class TooLarge(WardError):
    """The image (or video frame) has more pixels than the limit allows: a decompression
    bomb, or a picture too large to hash safely."""


class TooLong(WardError):
    """The video runs longer than the limit allows."""


class Timeout(WardError, TimeoutError):
    """Decoding a video took longer than its time limit; the worker was stopped."""


class NoVideoDecoder(WardError):
    """This build of Ward was made without FFmpeg's libraries and decodes no video."""


class InvalidSignal(WardError, ValueError):
    """A hash is malformed (not 64 hex digits or 32 bytes for PDQ)."""


class InvalidOption(WardError, ValueError):
    """An option has a value Ward does not know (a pipeline, a format, a distance)."""


class SnapshotError(WardError):
    """An index snapshot cannot be read back: damaged, truncated or another version."""


class ListError(WardError):
    """A hash list cannot be read any further (broken XML or JSON, an I/O error). The
    ``record`` and ``line`` attributes say where."""


class MalformedRecord(ListError, ValueError):
    """One record of a hash list is malformed; with ``malformed="skip"`` or ``"yield"``
    reading goes on instead. The ``record`` and ``line`` attributes say where."""


__all__ = [
    "WardError",
    "DecodeError",
    "UnsupportedFormat",
    "DecoderCrashed",
    "TooLarge",
    "TooLong",
    "Timeout",
    "NoVideoDecoder",
    "InvalidSignal",
    "InvalidOption",
    "SnapshotError",
    "ListError",
    "MalformedRecord",
]
