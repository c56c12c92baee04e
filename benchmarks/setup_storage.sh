#!/usr/bin/env bash
# Create or complete .venv-storage: what the storage benchmark (benchmarks/storage.py) needs.
# hyperscout (editable) with its `postgres` extra (psycopg 3), Optuna 5.0 for its RDBStorage and
# JournalStorage, and `redis` for Optuna's JournalRedisBackend. Both libraries reach PostgreSQL
# through the same driver, psycopg 3 (`postgresql+psycopg://`): hyperscout knows no other, and
# SQLAlchemy gives Optuna's RDBStorage the same dialect. Idempotent: a complete venv is left as is.
#
#   bash benchmarks/setup_storage.sh            # create or complete .venv-storage
#   FORCE=1 bash benchmarks/setup_storage.sh    # reinstall
#
# Nothing here needs torch and none is installed. Every install runs under a constraints file
# pinning torch==2.13.0 (the CPU wheel on disk, shared/PEERS.md), so that if a resolver ever pulls
# torch in, it gets that build and never a CUDA one.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-storage"
PY="${PYTHON:-python3}"
CONSTRAINTS="$(mktemp)"
trap 'rm -f "$CONSTRAINTS"' EXIT
echo "torch==2.13.0" >"$CONSTRAINTS"
PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -c "$CONSTRAINTS")
pip_install() {  # pip, minus the noise about local index folders that do not exist
    "${PIP[@]}" "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }
    return "${PIPESTATUS[0]}"
}
# ray[tune] for benchmarks/ray_executor.py: hyperscout's Ray executor vs Ray Tune's Tuner.
PEERS=("optuna==5.0.0" "psycopg[binary]>=3.1" "redis" "pytest" "ray[tune]==2.60.0")

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "creating $VENV"
    "$PY" -m venv "$VENV"
    pip_install --upgrade pip
fi

ready() {
    "$VENV/bin/python" - <<'EOF' 2>/dev/null
import importlib, importlib.metadata as md, sys
import hyperscout
for m in ["optuna", "optuna.storages.journal", "sqlalchemy", "psycopg", "redis", "pytest",
          "ray.tune"]:
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
    echo ".venv-storage already has hyperscout[postgres], optuna, psycopg, redis and ray[tune]"
else
    pip_install -e "$ROOT[postgres]"
    pip_install "${PEERS[@]}"
    ready || { echo "setup_storage.sh: a package does not import; see above" >&2; exit 1; }
fi

"$VENV/bin/python" - <<'EOF'
import importlib.metadata as md
names = ["hyperscout", "optuna", "sqlalchemy", "psycopg", "psycopg-binary", "redis", "ray"]
def version(name):
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return "missing"
print(" | ".join(f"{n} {version(n)}" for n in names))
EOF
