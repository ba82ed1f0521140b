#!/usr/bin/env bash
# The Python package's tests: builds the `ward` wheel with maturin, installs it in a fresh
# virtual environment with the references it is compared with (pdqhash, vpdq built against
# this machine's FFmpeg, Pillow, numpy, pytest: tests/requirements.txt), and runs the pytest
# suite in tests/ against the installed wheel (not the source tree).
#
# Run from anywhere: crates/ward-py/test.sh [PYTEST ARGS...]. `cargo xtask test` runs it
# after the Rust tests. Needs python3 with venv, PyPI, and what vpdq's build needs (a C++
# compiler, pkg-config and FFmpeg's development packages, libavfilter-dev and
# libavdevice-dev included: `cargo xtask setup` installs them).
#
# The wheel links this machine's FFmpeg, so it is tagged plain `linux` (no manylinux repair,
# which would need patchelf and bundle FFmpeg): a wheel for this machine, for its tests.
# The wheel is built with Cargo's dev profile (ward-core is optimised even there, see the
# workspace's Cargo.toml), reusing what `cargo test` compiled; WARD_PY_PROFILE=release builds
# the published kind. Environment: CARGO_TARGET_DIR (as Cargo), WARD_PY_VENV (default
# $CARGO_TARGET_DIR/ward-py-venv, or target/ward-py-venv), made afresh on every run;
# WARD_BIN is set to the workspace's debug `ward`, which the tests compare with.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
venv=${WARD_PY_VENV:-$target/ward-py-venv}
profile=${WARD_PY_PROFILE:-dev}
started=$(date +%s)

echo "ward-py: a fresh venv in $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.5,<2"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/tests/requirements.txt"
venv_done=$(date +%s)

echo "ward-py: maturin build --profile $profile" >&2
wheels="$venv/wheels"
(cd "$here" && "$venv/bin/maturin" build --quiet --profile "$profile" --compatibility linux --interpreter "$venv/bin/python" --out "$wheels")
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "$wheels"/ward-*.whl
built=$(date +%s)

# The `ward` binary the tests compare with (`cargo test` built it; built here when not).
export WARD_BIN="$target/debug/ward"
if [ ! -x "$WARD_BIN" ]; then
    echo "ward-py: cargo build --bin ward (the tests compare with ward hash)" >&2
    (cd "$root" && cargo build --quiet --bin ward)
fi

echo "ward-py: pytest" >&2
# From outside the source tree, so that `import ward` is the installed wheel.
cd "$venv"
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$here/tests" "$@"
finished=$(date +%s)
echo "ward-py: venv $((venv_done - started)) s, wheel $((built - venv_done)) s, pytest $((finished - built)) s" >&2
