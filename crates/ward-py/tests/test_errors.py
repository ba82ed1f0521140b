"""Bad input raises the right exception, never crashes: each of ward-core's error kinds
has its class, all `ward.WardError`."""

import pytest

import ward
from conftest import TESTDATA

JPEG = TESTDATA / "threatexchange/pdq/data/bridge-mods/aaa-orig.jpg"


def check(expected, kind, call):
    with pytest.raises(expected) as raised:
        call()
    assert isinstance(raised.value, ward.WardError)
    assert raised.value.kind == kind, raised.value
    return raised.value


def test_image_errors():
    data = JPEG.read_bytes()
    check(ward.DecodeError, "empty", lambda: ward.hash_image(b""))
    check(ward.UnsupportedFormat, "unsupported_format", lambda: ward.hash_image(b"hello"))
    check(ward.DecodeError, "truncated", lambda: ward.hash_image(data[: len(data) // 3]))
    error = check(ward.TooLarge, "too_large", lambda: ward.hash_image(data, max_pixels=1000))
    assert "exceeds the limit of 1000 pixels" in str(error)
    video = (TESTDATA / "video/gen-clip5s.mp4").read_bytes()
    error = check(ward.UnsupportedFormat, "unsupported_format", lambda: ward.hash_image(video))
    assert "hash_video" in str(error)


def test_corrupt_images_never_crash():
    data = bytearray(JPEG.read_bytes())
    for start in range(200, len(data), len(data) // 40):
        damaged = bytes(data[:start]) + bytes(len(data) - start)
        try:
            ward.hash_image(damaged)
        except ward.DecodeError:
            pass


def test_option_and_signal_errors():
    check(ward.InvalidOption, "invalid_option", lambda: ward.hash_image(JPEG, pipeline="fast"))
    with pytest.raises(ValueError):
        ward.hash_image(JPEG, pipeline="fast")
    check(ward.InvalidOption, "invalid_option", lambda: ward.hash_images([JPEG], errors="x"))
    check(ward.InvalidSignal, "invalid_signal", lambda: ward.distance("00", "11"))
    check(ward.InvalidSignal, "invalid_signal", lambda: ward.distance(b"\0" * 31, b"\0" * 32))
    with pytest.raises(TypeError):
        ward.hash_image(12)
    with pytest.raises(TypeError):
        ward.distance(1, 2)
    with pytest.raises(FileNotFoundError):
        ward.hash_image(TESTDATA / "no-such-image.jpg")
