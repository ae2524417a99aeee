#!/usr/bin/env bash
# CI for the Python package, run from anywhere after the Rust CI (.ci/run):
# build the wheel into a fresh virtual environment exactly as a user's
# `pip install ./python` does, and run pytest. Needs Rust and Python 3.10+.
#
# The build reuses the Rust build cache: CARGO_TARGET_DIR defaults to the
# repository's target/, so a release build of the CLI already there
# (`cargo build --release -p rlc`) leaves only the package's own crates and
# PyO3 to compile. The tests compare the package with that CLI binary.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
python="${PYTHON:-python3}"

start=$(date +%s)
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --manifest-path python/Cargo.toml -- --check
fi
# The CLI the tests compare against: a no-op when .ci/run has run this same
# command (python/Cargo.toml enables the features of this build's graph on
# the shared dependencies, so that the package's build reuses it).
cargo build --release --locked -p rlc
export RLC_BIN="$CARGO_TARGET_DIR/release/rlc"

venv="$(mktemp -d "${TMPDIR:-/tmp}/rlc-ci-venv.XXXXXX")"
trap 'rm -rf "$venv"' EXIT
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "./python[test]"
built=$(date +%s)
echo "python/ci.sh: installed rlc in $((built - start)) s"

# Run from outside the source tree so that the installed package, not
# python/rlc (which lacks the native module), is imported.
cd "$root/python/tests"
MPLBACKEND=Agg "$venv/bin/python" -m pytest -q -p no:cacheprovider .
echo "python/ci.sh: done in $(( $(date +%s) - start )) s"
