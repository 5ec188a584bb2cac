#!/usr/bin/env bash
# Creates the virtualenv that tests/sdk/conformance.py needs (default: target/sdk-venv, which
# git ignores) from tests/sdk/requirements.txt, and prints its python.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${1:-$root/target/sdk-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import msgraph_beta, sys; from importlib.metadata import version; sys.exit(version("msgraph-beta-sdk") != "1.66.0")' 2>/dev/null; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/tests/sdk/requirements.txt"
fi
echo "$venv/bin/python"
