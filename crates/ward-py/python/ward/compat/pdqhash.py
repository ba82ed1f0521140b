"""A drop-in for the PyPI ``pdqhash`` binding: ``from ward.compat import pdqhash``.

`compute` and `compute_dihedral` take the same numpy image (height x width x 3, uint8,
RGB, as ``numpy.asarray(pil_image.convert("RGB"))`` gives it; grey and RGBA are taken too)
and return the same types: the hash as a numpy array of 256 bits (int64, bit ``k`` of the
hash at index ``255 - k``, which is the hex's bits from the first digit's high bit on) and
the quality as an int. The hashes are the binding's bit for bit (both run Meta's core on
the whole image with float64 luma).
"""

from __future__ import annotations

from typing import List, Tuple

import numpy as np

from .. import _ward


def _pixels(image: np.ndarray) -> Tuple[bytes, int, int, int]:
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"an image is an array of height x width x 3 (RGB), not of shape {array.shape}"
        )
    if array.dtype != np.uint8:
        array = array.astype(np.uint8)
    height, width, channels = array.shape
    return np.ascontiguousarray(array).tobytes(), width, height, channels


def _bits(hash_bytes: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(hash_bytes, dtype=np.uint8)).astype(np.int64)


def compute(image: np.ndarray) -> Tuple[np.ndarray, int]:
    """PDQ of an RGB image array: (256 bits as an int64 numpy array, quality)."""
    pixels, width, height, channels = _pixels(image)
    hashes, quality = _ward.hash_pixels(pixels, width, height, channels)
    return _bits(hashes[0]), quality


def compute_dihedral(image: np.ndarray) -> Tuple[List[np.ndarray], int]:
    """The eight dihedral PDQ hashes of an RGB image array, in Meta's order (original,
    rotate 90, 180, 270, flip x, flip y, flip +1, flip -1): (a list of eight 256-bit
    arrays, quality)."""
    pixels, width, height, channels = _pixels(image)
    hashes, quality = _ward.hash_pixels(pixels, width, height, channels, dihedral=True)
    return [_bits(h) for h in hashes], quality


__all__ = ["compute", "compute_dihedral"]
