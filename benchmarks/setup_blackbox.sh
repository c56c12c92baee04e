#!/usr/bin/env bash
# Complete .venv-bench with what benchmarks/blackbox.py needs: the BBOB suite (ioh), the peers
# (SMAC3, HEBO, Nevergrad; Optuna comes from benchmarks/setup.sh), scikit-learn for the real
# tuning tasks, autorank and matplotlib for the report. Idempotent: a complete venv is left as is.
#
#   bash benchmarks/setup_blackbox.sh            # create or complete .venv-bench
#   FORCE=1 bash benchmarks/setup_blackbox.sh    # reinstall the peers
#
# Order matters (shared/PEERS.md): the CPU torch wheel first, and every later install names
# torch==2.13.0 again so that no resolver can swap it for a CUDA build. HEBO goes in with
# --no-deps because its pins break numpy 2; its real run-time dependencies follow by hand.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-bench"
PIP=("$VENV/bin/python" -m pip install --quiet)
pip_install() {  # pip, minus the noise about local index folders that do not exist
    "${PIP[@]}" "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }
    return "${PIPESTATUS[0]}"
}
TORCH="torch==2.13.0"
PEERS=("ioh" "smac" "nevergrad" "scikit-learn" "autorank" "matplotlib" "optuna==5.0.0" "cmaes")
HEBO_DEPS=("pymoo" "gpytorch" "disjoint-set")

# hyperscout editable + Optuna first (creates the venv when missing)
bash "$ROOT/benchmarks/setup.sh"

ready() {
    "$VENV/bin/python" - <<'EOF' 2>/dev/null
import importlib, sys
import torch
mods = ["ioh", "smac", "nevergrad", "hebo.optimizers.hebo", "sklearn", "autorank",
        "matplotlib", "optuna", "cmaes"]
for m in mods:
    importlib.import_module(m)
sys.exit(0 if "+cpu" in torch.__version__ or not torch.cuda.is_available() else 1)
EOF
}

if [[ -z "${FORCE:-}" ]] && ready; then
    echo ".venv-bench already has the black-box peers"
else
    pip_install "$TORCH"
    pip_install "$TORCH" "${PEERS[@]}"
    pip_install --no-deps hebo
    pip_install "$TORCH" "${HEBO_DEPS[@]}"
    ready || { echo "setup_blackbox.sh: a peer does not import; see above" >&2; exit 1; }
fi

"$VENV/bin/python" - <<'EOF'
import importlib.metadata as md
names = ["hyperscout", "optuna", "cmaes", "smac", "hebo", "nevergrad", "ioh", "scikit-learn",
         "torch", "numpy", "scipy", "autorank", "matplotlib"]
print(" | ".join(f"{n} {md.version(n)}" for n in names))
EOF
