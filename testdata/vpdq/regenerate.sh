#!/usr/bin/env bash
# Regenerates testdata/vpdq/goldens/ with the pinned reference from the videos in
# testdata/video/ (which testdata/video/generate_videos.sh made; they are not regenerated here).
# Needs python3, PyPI, and Debian's ffmpeg, pkg-config and FFmpeg development packages: vpdq is
# built from source against the system FFmpeg, so the goldens are that FFmpeg's (Debian 12:
# 5.1). Makes its own virtual environment outside the tree.
#   apt-get install ffmpeg pkg-config libavcodec-dev libavformat-dev libavutil-dev \
#     libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for tool in ffmpeg ffprobe pkg-config; do
  command -v "$tool" >/dev/null || { echo "regenerate: $tool is required" >&2; exit 1; }
done
venv=${WARD_VPDQ_REFERENCE_VENV:-${TMPDIR:-/tmp}/ward-vpdq-reference-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi
cd "$here/../.."
echo "ffmpeg: $(ffmpeg -version | head -n 1)"
"$venv/bin/python" "$here/generate_goldens.py"
