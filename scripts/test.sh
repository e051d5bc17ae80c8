#!/usr/bin/env bash
# The whole test suite: installs what it needs (scripts/setup.sh), then runs pytest on both
# cores. Extra arguments go to pytest (e.g. scripts/test.sh -k tamper).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest -n 2 -q "$@"
