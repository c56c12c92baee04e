#!/usr/bin/env bash
# Create the benchmark venv (.venv-bench at the repo root): hyperscout (editable) plus the peers
# the benchmarks compare against. Kept apart from .venv so that peer pins never touch the test
# environment. Idempotent: re-running it only installs what is missing.
#
#   bash benchmarks/setup.sh            # create or complete .venv-bench
#   FORCE=1 bash benchmarks/setup.sh    # reinstall the pinned packages
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-bench"
PY="${PYTHON:-python3}"
# Peers pinned so that numbers in RESULTS.md stay comparable.
PEERS=("optuna==5.0.0" "cmaes")

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "creating $VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi

ready() {
    "$VENV/bin/python" - <<'EOF' 2>/dev/null
import importlib.metadata as md
import sys

import cmaes  # noqa: F401
import hyperscout

# hyperscout must be the editable checkout, not a copy in site-packages
ok = md.version("optuna") == "5.0.0" and "site-packages" not in hyperscout.__file__
sys.exit(0 if ok else 1)
EOF
}

if [[ -z "${FORCE:-}" ]] && ready; then
    echo ".venv-bench is ready (hyperscout editable, optuna 5.0.0, cmaes)"
    exit 0
fi

# Never let a peer pull a CUDA torch: Optuna's Random and TPE samplers need no torch, and we
# install none. If some later peer needs torch, install the CPU wheel first (see
# shared/PEERS.md).
"$VENV/bin/python" -m pip install --quiet -e "$ROOT"
"$VENV/bin/python" -m pip install --quiet "${PEERS[@]}"

if "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    echo "warning: torch is installed in .venv-bench; the overhead benchmark does not need it" >&2
fi
ready || { echo "setup.sh: .venv-bench is not usable after install" >&2; exit 1; }
"$VENV/bin/python" -c "import hyperscout, optuna, numpy; print('hyperscout', hyperscout.__version__, '| optuna', optuna.__version__, '| numpy', numpy.__version__)"
