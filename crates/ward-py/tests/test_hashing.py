"""Image hashing: every test image hashes to the reference's PDQ, quality and dihedral
hashes (the goldens `ward hash` is tested against), digests equal hashlib's, a batch gives
the same results in order, and the compat helper equals the `pdqhash` binding."""

import hashlib
import os

import numpy as np
import pytest

import ward
from conftest import ROOT, TESTDATA


def test_every_test_image_equals_the_goldens(pdq_goldens):
    for row in pdq_goldens:
        path = ROOT / row["path"]
        hashed = ward.hash_image(str(path), dihedral=True)
        assert hashed.pdq == row["pdq"], row["path"]
        assert hashed.quality == int(row["quality"]), row["path"]
        assert hashed.dihedral == row["dihedral"].split(), row["path"]
        if row["oriented_pdq"]:
            oriented = ward.hash_image(path, exif_orient=True)
            assert oriented.pdq == row["oriented_pdq"], row["path"]


def test_digests_are_those_of_the_bytes(pdq_goldens):
    for row in pdq_goldens[:10]:
        data = (ROOT / row["path"]).read_bytes()
        hashed = ward.hash_image(data)
        assert hashed.md5 == hashlib.md5(data).hexdigest()
        assert hashed.sha1 == hashlib.sha1(data).hexdigest()
        assert hashed.sha256 == hashlib.sha256(data).hexdigest()
        assert hashed.path is None
        assert hashed.dihedral is None


def test_a_path_and_its_bytes_hash_alike():
    path = TESTDATA / "threatexchange/pdq/data/bridge-mods/aaa-orig.jpg"
    by_path = ward.hash_image(path)
    by_bytes = ward.hash_image(bytearray(path.read_bytes()))
    assert by_path.path == str(path)
    assert (by_path.pdq, by_path.quality, by_path.sha256) == (
        by_bytes.pdq,
        by_bytes.quality,
        by_bytes.sha256,
    )
    assert by_path.to_dict()["pdq"] == by_path.pdq
    assert "ImageHash(pdq=" in repr(by_path)


def test_the_cli512_pipeline_agrees_on_small_images():
    small = TESTDATA / "threatexchange/pdq/data/bridge-mods/square-256x256.jpg"
    assert ward.hash_image(small, pipeline="cli512").pdq == ward.hash_image(small).pdq
    large = TESTDATA / "threatexchange/pdq/data/bridge-mods/aaa-orig.jpg"
    assert ward.distance(
        ward.hash_image(large, pipeline="cli512").pdq, ward.hash_image(large).pdq
    ) <= 16


@pytest.mark.parametrize("threads", [None, 1, 2, 5])
def test_a_batch_yields_in_order_what_one_by_one_gives(pdq_goldens, threads):
    paths = [str(ROOT / row["path"]) for row in pdq_goldens]
    batch = list(ward.hash_images(paths, threads=threads, dihedral=True))
    assert [h.path for h in batch] == paths
    assert [h.pdq for h in batch] == [row["pdq"] for row in pdq_goldens]
    assert [h.dihedral for h in batch] == [row["dihedral"].split() for row in pdq_goldens]


def test_a_batch_raises_or_returns_each_error_in_its_turn(tmp_path):
    good = str(TESTDATA / "threatexchange/pdq/data/bridge-mods/square-128x128.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really")
    inputs = [good, str(bad), good, str(tmp_path / "missing.jpg"), b"", good]
    results = list(ward.hash_images(inputs, errors="return"))
    assert isinstance(results[0], ward.ImageHash)
    assert isinstance(results[1], ward.DecodeError)
    assert isinstance(results[3], FileNotFoundError)
    assert results[3].filename.endswith("missing.jpg")
    assert isinstance(results[4], ward.DecodeError) and results[4].kind == "empty"
    assert results[5].pdq == results[0].pdq

    batch = ward.hash_images(inputs)
    assert next(batch).pdq == results[0].pdq
    with pytest.raises(ward.DecodeError):
        next(batch)
    # The iterator goes on after an error.
    assert next(batch).pdq == results[0].pdq
    assert len(ward.hash_images([])) == 0 and list(ward.hash_images([])) == []


def test_a_dropped_batch_stops():
    paths = [str(TESTDATA / "threatexchange/pdq/data/bridge-mods/aaa-orig.jpg")] * 200
    batch = ward.hash_images(paths, threads=2)
    next(batch)
    del batch


def compat_images(pdq_goldens):
    """The golden images as the pdqhash binding is given them: Pillow's RGB pixels."""
    from PIL import Image

    for row in pdq_goldens:
        with Image.open(ROOT / row["path"]) as image:
            yield row, np.asarray(image.convert("RGB"))


def test_compat_pdqhash_equals_the_binding(pdq_goldens):
    pdqhash = pytest.importorskip("pdqhash")
    from ward.compat import pdqhash as compat

    checked = 0
    for row, pixels in compat_images(pdq_goldens):
        expected, expected_quality = pdqhash.compute(pixels)
        got, quality = compat.compute(pixels)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert (got == expected).all(), row["path"]
        assert quality == expected_quality and type(quality) is type(expected_quality)
        expected8, _ = pdqhash.compute_dihedral(pixels)
        got8, _ = compat.compute_dihedral(pixels)
        assert len(got8) == 8
        assert all((a == b).all() for a, b in zip(got8, expected8)), row["path"]
        checked += 1
    assert checked == len(pdq_goldens)


def test_compat_pdqhash_equals_the_goldens_without_the_binding(pdq_goldens):
    """What CI proves even where `pdqhash` could not be installed."""
    from ward.compat import pdqhash as compat

    for row, pixels in compat_images(pdq_goldens):
        bits, quality = compat.compute(pixels)
        expected = np.unpackbits(np.frombuffer(bytes.fromhex(row["pdq"]), dtype=np.uint8))
        assert (bits == expected).all(), row["path"]
        assert quality == int(row["quality"])


def test_compat_pdqhash_takes_grey_and_rgba():
    from ward.compat import pdqhash as compat

    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    rgba = np.concatenate([rgb, np.full((40, 60, 1), 9, dtype=np.uint8)], axis=2)
    assert (compat.compute(rgba)[0] == compat.compute(rgb)[0]).all()
    grey = rng.integers(0, 256, (40, 60), dtype=np.uint8)
    assert compat.compute(grey)[0].shape == (256,)
    with pytest.raises(ValueError):
        compat.compute(np.zeros((4, 4, 2), dtype=np.uint8))
    # Too small to hash: all zero, quality 0, as the reference.
    bits, quality = compat.compute(np.zeros((4, 4, 3), dtype=np.uint8))
    assert quality == 0 and not bits.any()


def test_the_module_says_what_it_is():
    assert ward.DIHEDRAL_NAMES[0] == "original" and len(ward.DIHEDRAL_NAMES) == 8
    assert isinstance(ward.__version__, str)
    assert ward.hash_image.__doc__ and ward.PdqIndex.__doc__ and ward.read_list.__doc__
    assert os.path.exists(os.path.join(os.path.dirname(ward.__file__), "py.typed"))
    assert os.path.exists(os.path.join(os.path.dirname(ward.__file__), "__init__.pyi"))
