#!/usr/bin/env bash
# Simulated stand-ins for the three anchor data sets of ../shared/bench/ANCHORS.md
# whose files are not shared (rl_single_2000, rl_hier_100x200, rl_hier_ragged):
# the same shapes, simulated by `rlc simulate` from the bundled models on designs
# made here (rewards and outcomes drawn once with a fixed awk seed). The posteriors
# are not the anchors', so compare ESS per second with the anchors only roughly.
#
#   bench/anchor_data.sh [DIR]     # writes DIR/rl_single_2000.csv, … (default /tmp/rlc-anchors)
set -euo pipefail
cd "$(dirname "$0")/.."
RLC="${RLC:-target/release/rlc}"
DIR="${1:-/tmp/rlc-anchors}"
mkdir -p "$DIR"

# 2000 trials of a two-armed bandit paying 1 with probability 0.2 / 0.8, swapped every 50.
awk 'BEGIN { srand(1); print "trial,action,reward";
  for (t = 1; t <= 2000; t++) { p = (int((t - 1) / 50) % 2) ? 0.8 : 0.2; print t ",0," (rand() < p ? 1 : 0) } }' \
  >"$DIR/design_single.csv"
"$RLC" simulate models/rl_single.rlm --data "$DIR/design_single.csv" --at 'alpha=0.35,beta=4' \
  --seed 1 --quiet --output "$DIR/rl_single_2000.csv"

# 100 subjects × 200 trials, outcomes ±1; parameters from the priors.
awk 'BEGIN { srand(2); print "subjID,trial,choice,outcome";
  for (s = 1; s <= 100; s++) for (t = 1; t <= 200; t++) print s "," t ",1," (rand() < 0.6 ? 1 : -1) }' \
  >"$DIR/design_hier.csv"
"$RLC" simulate models/rl_hier.rlm --data "$DIR/design_hier.csv" --prior --seed 2 --quiet \
  --output "$DIR/rl_hier_100x200.csv"

# 40 subjects with 60 to 200 trials each and 5% missed responses (empty cells).
awk 'BEGIN { srand(3); print "subjID,trial,choice,outcome";
  for (s = 1; s <= 40; s++) { n = 60 + int(rand() * 141);
    for (t = 1; t <= n; t++) { if (rand() < 0.05) print s "," t ",,"; else print s "," t ",1," (rand() < 0.6 ? 1 : -1) } } }' \
  >"$DIR/design_ragged.csv"
"$RLC" simulate models/rl_hier.rlm --data "$DIR/design_ragged.csv" --prior --seed 3 --quiet \
  --output "$DIR/rl_hier_ragged.csv"
ls -l "$DIR"/rl_*.csv
