#!/usr/bin/env bash
# Generates the synthetic test videos in testdata/video/ with Debian's ffmpeg.
#
# Everything is benign: a slow zoom and pan over the ThreatExchange bridge photo
# (testdata/threatexchange/pdq/data/bridge-mods/aaa-orig.jpg), FFmpeg's `testsrc2` test pattern
# and its Game of Life source. The generated files are committed, because other ffmpeg or x264
# builds write other bytes (and so other hashes); run this again only to make new ones, then
# regenerate the vPDQ goldens with testdata/vpdq/regenerate.sh. Made with Debian 12's ffmpeg
# 7:5.1.9-0+deb12u1 (libx264 164).
#
#   gen-original.mp4     15 s, 480x270, 25 fps, H.264: 5 s zoom over the bridge photo, 5 s of
#                        testsrc2, 5 s pan over a close-up of the photo with its hue turning
#   gen-reencoded.mp4    the original re-encoded as MPEG-4 part 2 at 200 kb/s with B-frames
#   gen-resized.mp4      the original at half size (240x136), H.264
#   gen-bars.mp4         the original letterboxed: black bars above and below (480x360)
#   gen-logo.mp4         the original with a small translucent logo (two boxes, 48x28) in its
#                        top right corner
#   gen-clip5s.mp4       5 s from 6 s into the original (original frames 150..274), re-encoded
#   gen-other.mp4        a different video: 12 s of Game of Life (40x30 cells shown at
#                        320x240), 30000/1001 fps,
#                        with an AAC audio track as the file's first stream
#   gen-rotated.mp4      4 s of the original with a 90-degree display rotation in its metadata
#                        (frames stored unrotated: vPDQ hashes them as stored)
#   gen-vfr.mp4          4 s of the original at a variable frame rate (uneven frame durations
#                        and a 1 s gap)
#   gen-bt709.mp4        4 s of the original converted to BT.709 (limited range) and tagged so
#   gen-fullrange.mp4    4 s of the original converted to full-range BT.601 and tagged so
#   gen-clip5s-copy.mp4  the original cut at 6 s without re-encoding: an MP4 edit list skips the
#                        frames before the cut point
#   gen-hevc.mp4         the first 8 s of the original as HEVC (libx265 3.5's defaults)
#   not-a-video.mp4      text, named .mp4
#   truncated.mp4        the first half of the bytes of gen-original.mp4
#
# Run from anywhere: bash testdata/video/generate_videos.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
bridge=../threatexchange/pdq/data/bridge-mods/aaa-orig.jpg

# Quiet, no metadata that changes between runs, and one x264 thread: x264's output depends on
# its thread count.
ff=(ffmpeg -hide_banner -loglevel error -nostdin -y)
out=(-map_metadata -1 -fflags +bitexact -movflags +faststart)
x264=(-c:v libx264 -preset medium -threads 1 -pix_fmt yuv420p)

# The original: three 5-second segments of 125 frames each, joined.
"${ff[@]}" \
  -loop 1 -framerate 25 -t 5 -i "$bridge" \
  -loop 1 -framerate 25 -t 5 -i "$bridge" \
  -f lavfi -i "testsrc2=size=480x270:rate=25:duration=5" \
  -filter_complex "\
[0:v]zoompan=z='1+0.004*on':x='(iw-iw/zoom)*on/125':y='(ih-ih/zoom)/2':d=1:s=480x270:fps=25,setsar=1,format=yuv420p[a];\
[2:v]setsar=1,format=yuv420p[b];\
[1:v]zoompan=z=2.5:x='(iw-iw/zoom)*(1-on/125)':y='(ih-ih/zoom)*0.6':d=1:s=480x270:fps=25,hue=h=t*30,setsar=1,format=yuv420p[c];\
[a][b][c]concat=n=3:v=1:a=0[v]" \
  -map "[v]" "${x264[@]}" -crf 28 "${out[@]}" gen-original.mp4

# Variants of it, each decoded from gen-original.mp4.
"${ff[@]}" -i gen-original.mp4 -an -c:v mpeg4 -b:v 200k -bf 2 -threads 1 -flags:v +bitexact "${out[@]}" gen-reencoded.mp4
"${ff[@]}" -i gen-original.mp4 -an -vf "scale=240:136:flags=bicubic,setsar=1" "${x264[@]}" -crf 28 "${out[@]}" gen-resized.mp4
"${ff[@]}" -i gen-original.mp4 -an -vf "pad=480:360:0:45:black" "${x264[@]}" -crf 28 "${out[@]}" gen-bars.mp4
"${ff[@]}" -i gen-original.mp4 -an \
  -vf "drawbox=x=420:y=12:w=48:h=28:color=white@0.4:t=fill,drawbox=x=426:y=18:w=36:h=16:color=black@0.4:t=fill" \
  "${x264[@]}" -crf 28 "${out[@]}" gen-logo.mp4
"${ff[@]}" -ss 6 -i gen-original.mp4 -t 5 -an "${x264[@]}" -crf 28 "${out[@]}" gen-clip5s.mp4

# A different video, audio first.
"${ff[@]}" \
  -f lavfi -i "sine=frequency=440:sample_rate=22050:duration=12" \
  -f lavfi -i "life=size=40x30:rate=30000/1001:seed=20261128:ratio=0.3:mold=16:life_color=#40e040:death_color=#a02060:mold_color=#203060" \
  -map 0:a -map 1:v -t 12 -vf "scale=320:240:flags=neighbor" \
  -c:a aac -b:a 24k "${x264[@]}" -crf 32 "${out[@]}" gen-other.mp4

# Edge cases for the decoder, 4 s each. This ffmpeg writes a display rotation only when it
# copies a stream, hence the second step.
tmp=$(mktemp --suffix=.mp4)
trap 'rm -f "$tmp"' EXIT
"${ff[@]}" -i gen-original.mp4 -t 4 -an "${x264[@]}" -crf 28 "${out[@]}" "$tmp"
"${ff[@]}" -i "$tmp" -c copy -metadata:s:v:0 rotate=90 -fflags +bitexact -movflags +faststart gen-rotated.mp4
# Frame n shown at (n + floor(n/3)/2) / 25 s, plus 1 s from frame 50 on: durations of 1, 1 and
# 1.5 frame periods, and a gap. Written with its own timestamps (no frames dropped or added).
"${ff[@]}" -i gen-original.mp4 -t 4 -an \
  -vf "setpts='(N+floor(N/3)/2+if(gte(N,50),25,0))/25/TB'" -fps_mode passthrough \
  "${x264[@]}" -crf 28 -video_track_timescale 50 "${out[@]}" gen-vfr.mp4
"${ff[@]}" -i gen-original.mp4 -t 4 -an -vf "scale=out_color_matrix=bt709:out_range=tv" \
  "${x264[@]}" -crf 28 -colorspace bt709 -color_primaries bt709 -color_trc bt709 -color_range tv \
  "${out[@]}" gen-bt709.mp4
"${ff[@]}" -i gen-original.mp4 -t 4 -an -vf "scale=out_color_matrix=bt601:out_range=pc" \
  "${x264[@]}" -crf 28 -colorspace smpte170m -color_range pc "${out[@]}" gen-fullrange.mp4
"${ff[@]}" -ss 6 -i gen-original.mp4 -t 5 -an -c copy "${out[@]}" gen-clip5s-copy.mp4
# HEVC (x265's defaults: B-frames, one temporal sub-layer), one thread for the same bytes.
"${ff[@]}" -i gen-original.mp4 -t 8 -an -c:v libx265 -preset medium -pix_fmt yuv420p \
  -x265-params pools=1:frame-threads=1:log-level=error -crf 28 -tag:v hvc1 "${out[@]}" gen-hevc.mp4

# Files that are not (whole) videos.
printf 'This is a text file named like a video. It is not an MP4 file.\n%.0s' {1..40} > not-a-video.mp4
size=$(stat -c %s gen-original.mp4)
head -c $((size / 2)) gen-original.mp4 > truncated.mp4

ls -l gen-*.mp4 not-a-video.mp4 truncated.mp4
