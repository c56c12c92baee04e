#!/usr/bin/env bash
# Create or complete .venv-mf: what the multi-fidelity benchmark needs. hyperscout (editable),
# onnxruntime for the LCBench surrogate (hyperscout.bench.lcbench reads YAHPO Gym's model.onnx
# itself; yahpo-gym's pins clash with numpy 2 and are not installed), and the peers driven on the
# same simulator (hyperscout.bench.mf_agents): Syne Tune, DEHB, Optuna. Idempotent: a complete
# venv is left as is.
#
#   bash benchmarks/setup_multifidelity.sh            # create or complete .venv-mf
#   FORCE=1 bash benchmarks/setup_multifidelity.sh    # reinstall the peers
#
# No peer below needs torch for what we drive, and none is installed. Every install runs under a
# constraints file pinning torch==2.13.0 (the CPU wheel on disk, shared/PEERS.md), so that if a
# resolver ever pulls torch in, it gets that build and never a CUDA one. DEHB goes in with
# --no-deps (its pins are old); its real run-time dependencies follow by hand.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-mf"
PY="${PYTHON:-python3}"
CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
echo "torch==2.13.0" >"$CONSTRAINTS"
PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c "$CONSTRAINTS")
pip_install() {  # pip, minus the noise about local index folders that do not exist
    "${PIP[@]}" "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }
    return "${PIPESTATUS[0]}"
}
PEERS=("onnxruntime" "numpy" "syne-tune==0.16.*" "optuna==5.0.0" "matplotlib" "pytest")
# dehb 0.1.2 imports `distributed` at the top of dehb/optimizers/*.py even without Dask mode.
# pip then warns that dehb asks for numpy<2 and pyarrow: its ask/tell path runs without them.
DEHB_DEPS=("ConfigSpace" "loguru" "distributed" "pandas")

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "creating $VENV"
    "$PY" -m venv "$VENV"
    pip_install --upgrade pip
fi

ready() {
    "$VENV/bin/python" - <<'EOF' 2>/dev/null
import importlib, importlib.metadata as md, sys
import hyperscout
mods = ["onnxruntime", "numpy", "syne_tune.optimizer.baselines", "dehb", "ConfigSpace",
        "optuna", "matplotlib", "pytest"]
for m in mods:
    importlib.import_module(m)
ok = md.version("optuna") == "5.0.0" and "site-packages" not in hyperscout.__file__
try:  # torch is not needed; if something pulled it, it must be the CPU build
    import torch
    ok = ok and ("+cpu" in torch.__version__ or not torch.cuda.is_available())
except ImportError:
    pass
sys.exit(0 if ok else 1)
EOF
}

if [[ -z "${FORCE:-}" ]] && ready; then
    echo ".venv-mf already has the multi-fidelity peers"
else
    pip_install -e "$ROOT"
    pip_install "${PEERS[@]}"
    pip_install --no-deps dehb
    pip_install "${DEHB_DEPS[@]}"
    ready || { echo "setup_multifidelity.sh: a peer does not import; see above" >&2; exit 1; }
fi

"$VENV/bin/python" - <<'EOF'
import importlib.metadata as md
names = ["hyperscout", "onnxruntime", "numpy", "syne-tune", "dehb", "ConfigSpace", "optuna",
         "matplotlib"]
def version(name):
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return "missing"
print(" | ".join(f"{n} {version(n)}" for n in names))
EOF
