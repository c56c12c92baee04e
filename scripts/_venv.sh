# Sourced by the other scripts: make (or reuse) the project's virtual environment in .venv and
# install hyperscout into it, editable, with the extras given as arguments.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "hyperscout needs Python >= 3.10: set PYTHON=/path/to/python3.x" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv with $("$py" --version)" >&2
  "$py" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 \
    | { grep -v "^WARNING: Location" || true; } >&2
fi
extras="$(IFS=,; echo "$*")"
echo "installing hyperscout[${extras}] into .venv" >&2
set +e
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[${extras}]" 2>&1 \
  | { grep -v "^WARNING: Location" || true; } >&2
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "pip install of hyperscout[${extras}] failed (exit $status)" >&2
  exit "$status"
fi
