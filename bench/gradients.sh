#!/usr/bin/env bash
# One log-density + gradient evaluation of every bundled model and hBayesDM port,
# two builds compared: `rlc bench` of each build on each model's bundled data,
# alternating, REPS times, and the minimum of each (the machine's noise only adds).
# A benchmark, not a test: compare the ratio, measured within one run.
#
#   BASE=path/to/old/rlc bench/gradients.sh              # every model
#   BASE=… REPS=5 bench/gradients.sh rl_hier dd_hyperbolic  # the models named
#
# Output: a Markdown table on stdout (model, data, µs before, after, after / before).
set -euo pipefail
cd "$(dirname "$0")/.."
RLC="${RLC:-target/release/rlc}"
BASE="${BASE:?set BASE to the rlc binary to compare with}"
REPS="${REPS:-3}"

# "model file<TAB>data file" for each model with bundled data.
models() {
  for m in models/*.rlm; do
    name=$(basename "$m" .rlm)
    for d in "models/data/$name.csv" "models/data/$name.json"; do
      [ -f "$d" ] && printf '%s\t%s\n' "$m" "$d" && break
    done
  done
  for r in models/hbayesdm/reference/*.json; do
    name=$(basename "$r" .json)
    data=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["data"])' "$r")
    printf '%s\t%s\n' "models/hbayesdm/$name.rlm" "models/hbayesdm/$data"
  done
}

gradient_us() {
  "$1" bench "$2" --data "$3" --json 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["grad_eval_us"])'
}

echo "| model | data | before (µs) | after (µs) | after / before |"
echo "|---|---|---:|---:|---:|"
models | while IFS=$'\t' read -r model data; do
  name=$(basename "$model" .rlm)
  if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
  before=inf
  after=inf
  for _ in $(seq "$REPS"); do
    b=$(gradient_us "$BASE" "$model" "$data") || b=inf
    a=$(gradient_us "$RLC" "$model" "$data") || a=inf
    before=$(python3 -c "print(min(float('$before'), float('$b')))")
    after=$(python3 -c "print(min(float('$after'), float('$a')))")
  done
  python3 -c "
b, a = float('$before'), float('$after')
print(f'| \`$name\` | \`$(basename "$data")\` | {b:.3g} | {a:.3g} | {a / b:.2f} |')"
done
