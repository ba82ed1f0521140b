"""Generate Ward's vPDQ golden data with Meta's reference.

For every video in testdata/video/ (sorted by name):

1. Hashes it with the PyPI `vpdq` package (Meta's C++ vPDQ, built against this machine's
   FFmpeg) at native size, every frame (seconds_per_hash=0) and a frame a second
   (seconds_per_hash=1), and writes testdata/vpdq/goldens/<stem>.every-frame.txt and
   <stem>.per-second.txt in Meta's text form (`frame_number,quality,pdq_hex,timestamp`, the
   timestamp with 3 decimals, as vpdq's C++ `outputVPDQFeatureToFile` writes them). A video
   that vpdq cannot hash gets no golden files; info.csv says why.
2. Writes goldens/info.csv: what ffprobe says of the first video stream (the one vpdq hashes),
   vpdq's frame counts, and how many frames `ffmpeg -i V -f rawvideo -pix_fmt rgb24 -sws_flags
   area -` writes.
3. Cross-checks the frames: every frame that each ffmpeg command in COMMANDS writes is hashed
   with the PyPI `pdqhash` binding (Meta's full-resolution PDQ core) and compared with vpdq's
   every-frame hashes, frame by frame. `pdqhash` computes luma in float64 and rounds it to
   float32, where vpdq computes it in float32, which can move a bit or two; so the frames of
   the `ward` command are also wrapped unchanged (rawvideo rgb24 in NUT) and hashed by vpdq
   itself, whose RGB24-to-RGB24 conversion is a copy. Writes goldens/ffmpeg-crosscheck.csv.
4. Compares Meta's shipped every-frame hashes (testdata/vpdq/meta-sample-hashes/, made with
   another FFmpeg build) with the goldens: goldens/meta-sample-hashes-vs-vpdq.csv.
5. Matches every pair of videos as python-threatexchange does (quality >= 50, duplicates
   dropped, distance <= 31) and as Meta's C++ brute matcher does (quality >= 50, no
   de-duplication, distance < 31): goldens/matches.csv.

Run from the repository root through testdata/vpdq/regenerate.sh (pinned versions in
requirements.txt). Needs ffmpeg and ffprobe on PATH: the same FFmpeg that vpdq was built
against.
"""

import csv
import json
import pathlib
import subprocess
import tempfile
from fractions import Fraction

import numpy as np
import pdqhash
import vpdq

ROOT = pathlib.Path("testdata")
VIDEOS = ROOT / "video"
OUT = ROOT / "vpdq" / "goldens"
META = ROOT / "vpdq" / "meta-sample-hashes"

# The ffmpeg commands whose frames are compared with vpdq's. `ward` is the one that gives
# vpdq's frames on every video here (see testdata/README.md for why each option is there).
COMMANDS = {
    "pdq-md": ["ffmpeg", "-v", "error", "-nostdin", "-i", "{V}", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-sws_flags", "area", "-"],
    "passthrough": ["ffmpeg", "-v", "error", "-nostdin", "-i", "{V}", "-fps_mode", "passthrough",
                    "-f", "rawvideo", "-pix_fmt", "rgb24", "-sws_flags", "area", "-"],
    "ward": ["ffmpeg", "-v", "error", "-nostdin", "-xerror", "-noautorotate", "-i", "{V}", "-map", "0:v:0",
             "-fps_mode", "passthrough", "-vf", "scale=flags=area:in_color_matrix=bt601",
             "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
}


def bits_to_hex(vector) -> str:
    return "%064x" % int("".join(str(int(b)) for b in vector), 2)


def distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def probe(path: pathlib.Path):
    """ffprobe's view of the file's first video stream (vpdq takes the first), or None."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        return None
    streams = [s for s in json.loads(result.stdout).get("streams", []) if s.get("codec_type") == "video"]
    if not streams:
        return None
    stream = min(streams, key=lambda s: s["index"])
    rotation = 0
    for side in stream.get("side_data_list", []):
        if "rotation" in side:
            rotation = int(side["rotation"])
    stream["rotation"] = rotation
    return stream


def rate(text: str) -> Fraction:
    num, den = text.split("/")
    return Fraction(int(num), int(den)) if int(den) else Fraction(0)


def format_features(features) -> str:
    # C++: frameNumber, quality, pdqHash.format(), std::fixed << setprecision(3) << timeStamp.
    # The timestamp is a float32 (frame_number as float / fps as float) widened to double.
    return "".join(f"{f.frame_number},{f.quality},{f.hex},{f.timestamp:.3f}\n" for f in features)


def read_features(path: pathlib.Path):
    rows = []
    for line in path.read_text().splitlines():
        frame, quality, hex_, timestamp = line.split(",")
        rows.append((int(frame), int(quality), hex_, timestamp))
    return rows


def ffmpeg_frames(command, path: pathlib.Path, stream):
    """Runs an ffmpeg command; returns (exit status, frames as HxWx3 arrays)."""
    args = [str(path) if a == "{V}" else a for a in command]
    result = subprocess.run(args, capture_output=True)
    width, height = stream["width"], stream["height"]
    if "-noautorotate" not in command and stream["rotation"] % 180 != 0:
        width, height = height, width
    size = width * height * 3
    count = len(result.stdout) // size
    frames = np.frombuffer(result.stdout[: count * size], np.uint8).reshape(count, height, width, 3)
    return result.returncode, frames


def vpdq_of_frames(frames):
    """vpdq's every-frame hashes of these RGB frames, wrapped losslessly in a NUT file."""
    count, height, width, _ = frames.shape
    with tempfile.TemporaryDirectory() as tmp:
        wrapped = pathlib.Path(tmp) / "frames.nut"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-nostdin", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
             "-r", "25", "-i", "-", "-c:v", "rawvideo", "-f", "nut", str(wrapped)],
            input=frames.tobytes(),
            check=True,
        )
        return vpdq.computeHash(str(wrapped), seconds_per_hash=0)


def match_share(query, compared, dedupe: bool, within) -> float:
    def prepare(features):
        kept, seen = [], set()
        for hex_, quality in features:
            if dedupe and hex_ in seen:
                continue
            seen.add(hex_)
            kept.append((hex_, quality))
        # python-threatexchange drops duplicates first, then low quality; same result here.
        return [int(h, 16) for h, q in kept if q >= 50]

    q, c = prepare(query), prepare(compared)
    if not q:
        return float("nan")
    matched = sum(1 for a in q if any(within(bin(a ^ b).count("1")) for b in c))
    return matched * 100 / len(q)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.txt"):
        old.unlink()
    videos = sorted(VIDEOS.glob("*.mp4"))
    info_rows, cross_rows, hashed = [], [], {}
    for path in videos:
        stem = path.stem
        stream = probe(path)
        row = {"video": path.name}
        try:
            every = vpdq.computeHash(str(path), seconds_per_hash=0, downsample_width=0, downsample_height=0)
            per_second = vpdq.computeHash(str(path), seconds_per_hash=1, downsample_width=0, downsample_height=0)
            row["vpdq"] = "ok"
        except Exception as error:  # vpdq raises a bare Exception("Fail to create VPDQ hash")
            every = per_second = None
            row["vpdq"] = f"error: {error}"
        if every is not None:
            (OUT / f"{stem}.every-frame.txt").write_text(format_features(every))
            (OUT / f"{stem}.per-second.txt").write_text(format_features(per_second))
            hashed[stem] = {
                "every-frame": [(f.hex, f.quality) for f in every],
                "per-second": [(f.hex, f.quality) for f in per_second],
            }
        row["vpdq_every_frame"] = len(every) if every is not None else ""
        row["vpdq_per_second"] = len(per_second) if per_second is not None else ""
        if stream is not None:
            avg, r = rate(stream["avg_frame_rate"]), rate(stream["r_frame_rate"])
            fps = float(avg) if avg else float(r)
            row.update(
                stream_index=stream["index"],
                codec=stream["codec_name"],
                pix_fmt=stream.get("pix_fmt", ""),
                width=stream["width"],
                height=stream["height"],
                rotation=stream["rotation"],
                color_space=stream.get("color_space", ""),
                color_range=stream.get("color_range", ""),
                has_b_frames=stream.get("has_b_frames", ""),
                avg_frame_rate=stream["avg_frame_rate"],
                avg_fps=f"{float(avg):.6f}",
                r_frame_rate=stream["r_frame_rate"],
                nb_frames=stream.get("nb_frames", ""),
                duration=stream.get("duration", ""),
                frame_mod_per_second=max(1, int(1 * fps)),
            )
        for name, command in COMMANDS.items():
            if stream is None:
                cross_rows.append({"video": path.name, "command": name, "ffmpeg_exit": "no video stream"})
                continue
            status, frames = ffmpeg_frames(command, path, stream)
            if name == "pdq-md":
                row["ffmpeg_frames"] = len(frames)
                row["ffmpeg_frames_equal_vpdq"] = every is not None and len(frames) == len(every)
            if name == "ward":
                row["ward_frames"] = len(frames)
                row["ward_exit"] = status
            cross = {"video": path.name, "command": name, "ffmpeg_exit": status, "ffmpeg_frames": len(frames)}
            if every is not None:
                common = min(len(frames), len(every))
                exact, worst = 0, 0
                for frame, feature in zip(frames[:common], every[:common]):
                    vector, quality = pdqhash.compute(frame)
                    d = distance(bits_to_hex(vector), feature.hex)
                    worst = max(worst, d)
                    exact += d == 0 and quality == feature.quality
                cross.update(
                    vpdq_frames=len(every),
                    compared=common,
                    exact=exact,
                    max_distance=worst if common else "",
                    identical=len(frames) == len(every) and exact == len(every),
                )
                if name == "ward" and common:
                    rehashed = vpdq_of_frames(frames[:common])
                    same = sum(
                        (r.hex, r.quality) == (f.hex, f.quality) for r, f in zip(rehashed, every[:common])
                    )
                    cross["exact_float32_luma"] = same
                    cross["identical_float32_luma"] = len(frames) == len(every) and same == len(every)
            cross_rows.append(cross)
        info_rows.append(row)
        print(f"{path.name}: {row['vpdq']}, {row['vpdq_every_frame']} frames")

    info_fields = [
        "video", "vpdq", "vpdq_every_frame", "vpdq_per_second", "stream_index", "codec", "pix_fmt",
        "width", "height", "rotation", "color_space", "color_range", "has_b_frames",
        "avg_frame_rate", "avg_fps", "r_frame_rate", "nb_frames", "duration",
        "frame_mod_per_second", "ffmpeg_frames", "ffmpeg_frames_equal_vpdq", "ward_frames", "ward_exit",
    ]
    write_csv(OUT / "info.csv", info_fields, info_rows)
    cross_fields = [
        "video", "command", "ffmpeg_exit", "ffmpeg_frames", "vpdq_frames", "compared", "exact",
        "max_distance", "identical", "exact_float32_luma", "identical_float32_luma",
    ]
    write_csv(OUT / "ffmpeg-crosscheck.csv", cross_fields, cross_rows)

    # Meta's shipped hashes against the goldens, frame by frame.
    meta_rows = []
    for meta_path in sorted(META.glob("*.txt")):
        stem = meta_path.stem
        ours_path = OUT / f"{stem}.every-frame.txt"
        if not ours_path.exists():
            continue
        meta, ours = read_features(meta_path), read_features(ours_path)
        both = [(m, o) for m, o in zip(meta, ours) if m[1] >= 50 and o[1] >= 50]
        distances = [distance(m[2], o[2]) for m, o in both]
        meta_rows.append({
            "video": stem + ".mp4",
            "meta_frames": len(meta),
            "vpdq_frames": len(ours),
            "same_frame_numbers": [m[0] for m in meta] == [o[0] for o in ours],
            "same_timestamps": [m[3] for m in meta] == [o[3] for o in ours],
            "same_quality": sum(m[1] == o[1] for m, o in zip(meta, ours)),
            "both_quality_50": len(both),
            "exact": sum(d == 0 for d in distances),
            "within_2": sum(d <= 2 for d in distances),
            "below_31": sum(d < 31 for d in distances),
            "from_31": sum(d >= 31 for d in distances),
            "max_distance": max(distances, default=""),
            "mean_distance": f"{np.mean(distances):.2f}" if distances else "",
        })
    write_csv(OUT / "meta-sample-hashes-vs-vpdq.csv", list(meta_rows[0].keys()), meta_rows)

    # Every pair of videos, both ways.
    match_rows = []
    stems = sorted(hashed)
    for i, a in enumerate(stems):
        for b in stems[i + 1:]:
            for sampling in ["per-second", "every-frame"]:
                qa, qb = hashed[a][sampling], hashed[b][sampling]
                match_rows.append({
                    "query": a + ".mp4",
                    "compared": b + ".mp4",
                    "sampling": sampling,
                    "pytx_query_share": f"{match_share(qa, qb, True, lambda d: d <= 31):.2f}",
                    "pytx_compared_share": f"{match_share(qb, qa, True, lambda d: d <= 31):.2f}",
                    "cpp_query_share": f"{match_share(qa, qb, False, lambda d: d < 31):.2f}",
                    "cpp_compared_share": f"{match_share(qb, qa, False, lambda d: d < 31):.2f}",
                })
    write_csv(OUT / "matches.csv", list(match_rows[0].keys()), match_rows)
    print(f"wrote goldens for {len(hashed)} of {len(videos)} videos")


def write_csv(path: pathlib.Path, fields, rows) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
