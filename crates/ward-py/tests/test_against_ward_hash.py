"""The package against the `ward` command itself: every test image and video hashes to
exactly what `ward hash` prints for it (PDQ, quality, digests; a video's frames), and a
file `ward hash` refuses raises. The binary is the one `cargo test` built, named by
WARD_BIN (test.sh sets it, building it first when needed)."""

import json
import os
import subprocess

import pytest

import ward
from conftest import TESTDATA

PICTURES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}


def ward_hash(paths):
    """What `ward hash` prints for `paths`, by path."""
    binary = os.environ.get("WARD_BIN")
    assert binary and os.access(binary, os.X_OK), "WARD_BIN names the ward binary (test.sh sets it)"
    run = subprocess.run(
        [binary, "hash", *map(str, paths)], capture_output=True, text=True, timeout=900
    )
    records = {}
    for line in run.stdout.splitlines():
        record = json.loads(line)
        records[record["path"]] = record
    assert set(records) == set(map(str, paths)), run.stderr
    return records


def test_every_test_image_equals_ward_hash():
    images = sorted(p for p in TESTDATA.rglob("*") if p.suffix.lower() in PICTURES)
    assert len(images) >= 80
    printed = ward_hash(images)
    compared = 0
    for path in images:
        record = printed[str(path)]
        if "error" in record:
            with pytest.raises((ward.WardError, OSError)):
                ward.hash_image(path)
            continue
        hashed = ward.hash_image(path)
        theirs = (record["pdq"], record["quality"], record["md5"], record["sha1"], record["sha256"])
        ours = (hashed.pdq, hashed.quality, hashed.md5, hashed.sha1, hashed.sha256)
        assert ours == theirs, path
        compared += 1
    assert compared >= 80


@pytest.mark.skipif(not ward.DECODES_VIDEO, reason="built without FFmpeg")
def test_every_test_video_equals_ward_hash():
    videos = sorted((TESTDATA / "video").glob("*.mp4"))
    assert len(videos) >= 15
    printed = ward_hash(videos)
    compared = 0
    for path in videos:
        record = printed[str(path)]
        if "error" in record:
            with pytest.raises(ward.WardError):
                ward.hash_video(path)
            continue
        frames = ward.hash_video(path, seconds_per_hash=record["seconds_per_hash"])
        ours = [(f.frame_number, f.quality, f.pdq, round(f.timestamp, 3)) for f in frames]
        theirs = [(f["frame"], f["quality"], f["pdq"], round(f["timestamp"], 3)) for f in record["vpdq"]]
        assert ours == theirs, path
        compared += 1
    assert compared >= 15
