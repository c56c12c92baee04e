#!/usr/bin/env bash
# Quick start 2: set everything up, then run the whole test suite (PostgreSQL must be reachable,
# see README: in CI a missing service fails the run).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" dev
exec .venv/bin/python -m pytest "$@"
