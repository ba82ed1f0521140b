"""Type stubs for the `ward` package (Ward's exact PDQ, vPDQ and hash index)."""

import os
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from .errors import (
    DecodeError as DecodeError,
    DecoderCrashed as DecoderCrashed,
    InvalidOption as InvalidOption,
    InvalidSignal as InvalidSignal,
    ListError as ListError,
    MalformedRecord as MalformedRecord,
    NoVideoDecoder as NoVideoDecoder,
    SnapshotError as SnapshotError,
    Timeout as Timeout,
    TooLarge as TooLarge,
    TooLong as TooLong,
    UnsupportedFormat as UnsupportedFormat,
    WardError as WardError,
)
from .video import VideoFrame as VideoFrame, hash_video as hash_video

__version__: str
DIHEDRAL_NAMES: Tuple[str, ...]
DECODES_VIDEO: bool

PathOrBytes = Union[str, os.PathLike[str], bytes, bytearray]
Pdq = Union[str, bytes, bytearray]
PdqMany = Union[Iterable[Pdq], bytes, npt.NDArray[np.uint8]]

class ImageHash:
    """The signals of one image."""

    @property
    def pdq(self) -> str: ...
    @property
    def quality(self) -> int: ...
    @property
    def md5(self) -> str: ...
    @property
    def sha1(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def dihedral(self) -> Optional[List[str]]: ...
    @property
    def path(self) -> Optional[str]: ...
    def to_dict(self) -> dict: ...

class PdqIndex:
    """An exact index of PDQ hashes with integer ids."""

    def __init__(
        self,
        hashes: Optional[PdqMany] = None,
        ids: Optional[Union[Sequence[int], npt.NDArray[np.integer]]] = None,
    ) -> None: ...
    def search(self, query: Pdq, distance: int = 31) -> List[Tuple[int, int]]: ...
    def nearest(self, query: Pdq, k: int) -> List[Tuple[int, int]]: ...
    def search_many(
        self, queries: PdqMany, distance: int = 31, threads: Optional[int] = None
    ) -> Tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.uint32]]: ...
    def add(self, hash: Pdq, id: int) -> None: ...
    def remove(self, hash: Pdq, id: int) -> bool: ...
    def rebuild(self) -> None: ...
    def save(self, path: Union[str, os.PathLike[str]]) -> None: ...
    @staticmethod
    def load(path: Union[str, os.PathLike[str]]) -> "PdqIndex": ...
    def __len__(self) -> int: ...

def hash_image(
    path_or_bytes: PathOrBytes,
    *,
    dihedral: bool = False,
    pipeline: str = "full",
    max_pixels: Optional[int] = None,
    exif_orient: bool = False,
) -> ImageHash: ...
def hash_images(
    paths: Iterable[PathOrBytes],
    threads: Optional[int] = None,
    *,
    dihedral: bool = False,
    pipeline: str = "full",
    max_pixels: Optional[int] = None,
    exif_orient: bool = False,
    errors: str = "raise",
) -> Iterator[Union[ImageHash, WardError, OSError]]: ...
def distance(a: Pdq, b: Pdq) -> int: ...
def read_list(
    path: Union[str, os.PathLike[str]], format: str = "csv", *, malformed: str = "raise"
) -> Iterator[dict]: ...
