#!/usr/bin/env bash
# Regenerates testdata/pdq/generated/* and testdata/pdq/goldens.csv with the pinned reference.
# Needs python3 and PyPI; makes its own virtual environment outside the tree.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${WARD_REFERENCE_VENV:-${TMPDIR:-/tmp}/ward-pdq-reference-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi
cd "$here/../.."
"$venv/bin/python" "$here/generate_goldens.py"
