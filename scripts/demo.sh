#!/usr/bin/env bash
# Quick start 1: set everything up, then tune a scikit-learn model on the embedded SQLite default.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" sklearn dataframe
exec .venv/bin/python examples/quickstart.py "$@"
