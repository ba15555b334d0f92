#!/usr/bin/env bash
# Run the whole test suite (unit, integration, node, e2e). Extra arguments go to pytest,
# e.g. `scripts/test.sh -m unit` for the fast subset.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 -m pytest -q -p no:cacheprovider "$@"
