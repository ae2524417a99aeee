#!/usr/bin/env bash
# Warmup adaptations compared on the reference data sets and the bundled models:
# for each data set, `rlc run` (4 chains × (warmup + 1000 draws)) with each
# configuration and seed, and one table row per run: gradient evaluations in
# warmup and in the draws (deterministic for a seed), min bulk and tail ESS and
# max R-hat over every parameter and `out` value (lp__ excluded), divergences,
# gradient evaluations per effective draw (all of them / min bulk ESS), and the
# wall time and CPU time (user + system) of the whole process, compile included.
# Wall time is noisy on a shared machine: compare it only within one run of this
# script; CPU time depends little on the load (4 chains on 2 idle cores take about
# half of it as wall time).
#
#   bench/adaptation.sh                        # every data set, the default configurations
#   CONFIGS="stan:1000 fisher:400 fisher:300" SEEDS="1 2 3" bench/adaptation.sh rl_hier_20x100
#   RLC=path/to/rlc bench/adaptation.sh        # another build
#
# Output: a Markdown table on stdout, and per-run logs in $OUT (default
# /tmp/rlc-adaptation). Data sets that need ../shared, or the simulated anchors
# of bench/anchor_data.sh (in $ANCHORS), are skipped without them.
set -euo pipefail
cd "$(dirname "$0")/.."
RLC="${RLC:-target/release/rlc}"
CONFIGS="${CONFIGS:-stan:1000 fisher:400 fisher-lowrank:400}"
SEEDS="${SEEDS:-1}"
OUT="${OUT:-/tmp/rlc-adaptation}"
SHARED="${SHARED:-../shared}"
# Simulated stand-ins for the anchors whose data is not shared: bench/anchor_data.sh.
ANCHORS="${ANCHORS:-/tmp/rlc-anchors}"
[ -x "$RLC" ] || cargo build --release -p rlc
mkdir -p "$OUT"

# name model data
DATASETS="
rl_single_150 models/rl_single.rlm models/data/rl_single.csv
rl_single_2000_sim models/rl_single.rlm $ANCHORS/rl_single_2000.csv
rl_hier_100x200_sim models/rl_hier.rlm $ANCHORS/rl_hier_100x200.csv
rl_hier_ragged_sim models/rl_hier.rlm $ANCHORS/rl_hier_ragged.csv
rl_hier_20x100 models/rl_hier.rlm models/data/rl_hier.csv
bandit2arm_real models/rl_hier.rlm $SHARED/data/hbayesdm/bandit2arm_exampleData.txt
eight_schools_noncentered models/eight_schools.rlm models/data/eight_schools.json
rl_pos_neg models/rl_pos_neg.rlm models/data/rl_pos_neg.csv
bandit4arm models/bandit4arm.rlm models/data/bandit4arm.csv
prl_fictitious models/prl_fictitious.rlm models/data/prl_fictitious.csv
choice_kernel models/choice_kernel.rlm models/data/choice_kernel.csv
logistic_regression models/logistic_regression.rlm models/data/logistic_regression.json
rl_single_pytensor models/rl_single_pytensor.rlm models/data/rl_single_pytensor.csv
rl_hier_sim models/rl_hier.rlm models/data/rl_hier_sim.csv
"
wanted=" $* "

echo "| data set | adaptation | warmup | seed | grad evals warmup | grad evals draws | min bulk ESS | min tail ESS | divergences | max R-hat | grad evals / bulk ESS | wall s | CPU s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
while read -r name model data; do
  [ -n "$name" ] || continue
  if [ $# -gt 0 ] && [[ "$wanted" != *" $name "* ]]; then continue; fi
  [ -f "$data" ] || { echo "skipping $name: $data not found" >&2; continue; }
  for config in $CONFIGS; do
    adaptation="${config%%:*}"
    warmup="${config##*:}"
    for seed in $SEEDS; do
      log="$OUT/$name-$adaptation-$warmup-$seed.txt"
      /usr/bin/time -o "$log.time" -f "%e %U %S" \
        "$RLC" run "$model" --data "$data" --adaptation "$adaptation" --warmup "$warmup" \
        --seed "$seed" --quiet --output-dir "$OUT/draws" >"$log" 2>/dev/null
      read -r wall user sys <"$log.time"
      awk -v name="$name" -v adaptation="$adaptation" -v warmup="$warmup" -v seed="$seed" \
        -v wall="$wall" -v cpu="$(echo "$user + $sys" | bc)" '
        NF == 12 && $1 != "lp__" && $1 != "Mean" {
          if (bulk == "" || $9 + 0 < bulk) bulk = $9 + 0
          if (tail == "" || $10 + 0 < tail) tail = $10 + 0
          if (rhat == "" || $12 + 0 > rhat) rhat = $12 + 0
        }
        /ended with a divergence/ { sub(/^warning: /, ""); div = $1 }
        /gradient evaluations: / {
          for (i = 1; i <= NF; i++) {
            if ($i == "evaluations:") { total = $(i - 2); sub(/^\(/, "", total); warm = $(i + 1) }
            if ($i == "draws;") { draws = $(i - 3) }
          }
        }
        END {
          if (div == "") div = 0
          printf "| %s | %s | %d | %s | %d | %d | %d | %d | %d | %.3f | %.1f | %.2f | %.2f |\n",
            name, adaptation, warmup, seed, warm, draws, bulk, tail, div, rhat,
            (bulk > 0 ? total / bulk : 0), wall, cpu
        }' "$log"
    done
  done
done <<<"$DATASETS"
