"""vPDQ: every test video hashes to the goldens that Meta's vPDQ gave on this FFmpeg
(the goldens `ward hash` is tested against), every frame and one a second; the compat
helper equals the `vpdq` binding; a crashing or hanging decoder raises, Python lives on."""

import os
import stat
import sys

import pytest

import ward
from conftest import TESTDATA

GOLDENS = TESTDATA / "vpdq" / "goldens"

pytestmark = pytest.mark.skipif(not ward.DECODES_VIDEO, reason="built without FFmpeg")


def golden_videos():
    return sorted(p.name.split(".")[0] for p in GOLDENS.glob("*.every-frame.txt"))


def read_golden(name, kind):
    lines = (GOLDENS / f"{name}.{kind}.txt").read_text().split()
    return [tuple(line.split(",")) for line in lines]


def as_text(frames):
    return [(str(f.frame_number), str(f.quality), f.pdq, f"{f.timestamp:.3f}") for f in frames]


#: Goldens where the reference misses the last frames: when the video stream is not the
#: file's first, Meta's vpdq does not drain the decoder at the end (testdata/README.md);
#: Ward hashes those frames too, as `ward hash` does (ward-core's video tests).
REFERENCE_LOSES_LAST_FRAMES = {"gen-other": 2}


@pytest.mark.parametrize("name", golden_videos())
def test_every_test_video_equals_the_goldens(name):
    video = TESTDATA / "video" / f"{name}.mp4"
    every = as_text(ward.hash_video(video, 0))
    lost = REFERENCE_LOSES_LAST_FRAMES.get(name, 0)
    if lost:
        assert [int(f[0]) for f in every[-lost:]] == list(range(len(every) - lost, len(every)))
        every = every[:-lost]
    assert every == read_golden(name, "every-frame")
    assert as_text(ward.hash_video(str(video), 1.0)) == read_golden(name, "per-second")


def test_every_decodable_test_video_has_goldens():
    videos = {p.stem for p in (TESTDATA / "video").glob("*.mp4")}
    assert videos - set(golden_videos()) == {"not-a-video", "truncated"}


@pytest.mark.parametrize("name", ["gen-clip5s", "gen-vfr", "chair-20-sd-bar"])
def test_compat_vpdq_equals_the_binding(name):
    vpdq = pytest.importorskip("vpdq")
    from ward.compat import vpdq as compat

    path = str(TESTDATA / "video" / f"{name}.mp4")
    for seconds_per_hash in (0, 1):
        expected = vpdq.computeHash(path, seconds_per_hash=seconds_per_hash)
        got = compat.computeHash(path, seconds_per_hash=seconds_per_hash)
        assert got == [
            compat.VpdqFeature(f.quality, f.frame_number, f.hash, f.hex, f.timestamp)
            for f in expected
        ]
        assert got[0].hamming_distance(got[-1]) == expected[0].hamming_distance(expected[-1])


def test_compat_vpdq_equals_the_goldens_without_the_binding():
    """What CI proves even where `vpdq` could not be built."""
    from ward.compat import vpdq as compat

    features = compat.computeHash(str(TESTDATA / "video/gen-clip5s.mp4"), seconds_per_hash=1)
    golden = read_golden("gen-clip5s", "per-second")
    assert [(str(f.frame_number), str(f.quality), f.hex) for f in features] == [
        g[:3] for g in golden
    ]
    assert compat.hash_to_hex(features[0].hash) == features[0].hex
    assert compat.str_to_hash(features[0].hex) == features[0].hash
    with pytest.raises(ValueError):
        compat.computeHash(str(TESTDATA / "video/no-such.mp4"))
    with pytest.raises(ward.InvalidOption):
        compat.computeHash(str(TESTDATA / "video/gen-clip5s.mp4"), downsample_width=64)


def test_bad_videos_raise():
    with pytest.raises(ward.DecodeError):
        ward.hash_video(TESTDATA / "video/not-a-video.mp4")
    with pytest.raises(ward.DecodeError):
        ward.hash_video(TESTDATA / "video/truncated.mp4")
    with pytest.raises(FileNotFoundError):
        ward.hash_video(TESTDATA / "video/no-such.mp4")
    with pytest.raises(ward.TooLarge) as raised:
        ward.hash_video(TESTDATA / "video/gen-clip5s.mp4", max_frame_pixels=100)
    assert raised.value.kind == "too_large"
    with pytest.raises(ward.TooLong):
        ward.hash_video(TESTDATA / "video/gen-clip5s.mp4", max_duration=1)
    with pytest.raises(ward.InvalidOption):
        ward.hash_video(TESTDATA / "video/gen-clip5s.mp4", -1)


def stand_in_worker(tmp_path, monkeypatch, body):
    """Makes the video worker a script doing `body`."""
    script = tmp_path / "worker.py"
    script.write_text(f"#!{sys.executable}\nimport os, signal, sys, time\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("WARD_PY_VIDEO_WORKER", str(script))


def test_a_crashing_decoder_raises_and_python_lives_on(tmp_path, monkeypatch):
    stand_in_worker(tmp_path, monkeypatch, "os.kill(os.getpid(), signal.SIGSEGV)")
    with pytest.raises(ward.DecoderCrashed, match="crashed \\(SIGSEGV\\)"):
        ward.hash_video(TESTDATA / "video/gen-clip5s.mp4")
    stand_in_worker(tmp_path, monkeypatch, "print('garbage'); sys.exit(1)")
    with pytest.raises(ward.DecoderCrashed, match="exit status 1"):
        ward.hash_video(TESTDATA / "video/gen-clip5s.mp4")
    stand_in_worker(tmp_path, monkeypatch, "print('{\"frames\": [[1]]}')")
    with pytest.raises(ward.DecoderCrashed, match="malformed"):
        ward.hash_video(TESTDATA / "video/gen-clip5s.mp4")


def test_a_hanging_decoder_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(ward.video, "GRACE", 0.5)
    stand_in_worker(tmp_path, monkeypatch, "time.sleep(60)")
    with pytest.raises(ward.Timeout) as raised:
        ward.hash_video(TESTDATA / "video/gen-clip5s.mp4", timeout=1)
    assert isinstance(raised.value, TimeoutError)


def test_the_worker_is_the_installed_package():
    assert os.environ.get("WARD_PY_VIDEO_WORKER") is None
    frames = ward.hash_video(TESTDATA / "video/gen-clip5s.mp4", threads=1)
    assert frames[0].frame_number == 0 and frames[1].timestamp == 1.0
