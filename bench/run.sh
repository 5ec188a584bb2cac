#!/usr/bin/env bash
# One command for every benchmark: builds in release, sets up DuckDB (PyPI, in a venv under
# target/), runs all four workloads and rewrites docs/BENCHMARKS.md.
#   bench/run.sh                        # everything; the 100M-event query store takes a while the first time
#   bench/run.sh --max-events 10000000  # quick: query stores of 1M and 10M only
# Extra arguments go to `mfalens-bench all` (see `mfalens-bench --help`).
# PostgreSQL ingest is measured when MFALENS_BENCH_POSTGRES_URL names a database it may empty.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p mfalens -p mfalens-bench

venv=target/bench-venv
if ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb
fi

echo "load before: $(uptime)"
target/release/mfalens-bench all "$@"
echo "load after: $(uptime)"
