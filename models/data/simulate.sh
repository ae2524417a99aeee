#!/bin/sh
# Regenerates the simulated data sets of models/data with `rlc simulate`, from
# the bundled models at fixed parameter values and seeds (see README.md).
# Run it from the repository root:
#
#     sh models/data/simulate.sh
#
# Each data set is simulated on its own file as the design: the columns the
# model observes with `~` (the choices) are drawn again, the others (rewards,
# outcomes, covariates, the trial structure and which responses were missed)
# are kept, so running the script twice gives the same files.
set -eu
rlc=${RLC:-target/release/rlc}
if [ ! -x "$rlc" ]; then
    cargo build --release -p rlc
fi

# rlc never writes over its input, so the design is read from a copy.
design=$(mktemp)
trap 'rm -f "$design"' EXIT
simulate() {
    model=$1 data=$2 seed=$3 at=$4
    cp "models/data/$data" "$design"
    "$rlc" simulate "models/$model.rlm" --data "$design" \
        --at "$at" --seed "$seed" --output "models/data/$data"
}

simulate rl_pos_neg rl_pos_neg.csv 1 'alpha_pos=0.4,alpha_neg=0.15,beta=5'
simulate bandit4arm bandit4arm.csv 2 'Arew=0.3,Apun=0.2,R=5,P=3'
simulate prl_fictitious prl_fictitious.csv 3 'eta=0.35,beta=3'
simulate choice_kernel choice_kernel.csv 4 'alpha=0.3,beta=3,alpha_c=0.25,beta_c=1.5'
simulate logistic_regression logistic_regression.json 5 'alpha=-0.5,w=[1,-0.7,0.3]'
simulate rl_single tutorial.csv 6 'alpha=0.5,beta=5'
simulate rl_single rl_single_sim.csv 7 'alpha=0.35,beta=4'
simulate rl_hier rl_hier_sim.csv 8 'mu_pr=[-0.3,-0.5],sigma=[0.2,0.2],A_pr=[-1.2,0.9,-0.4,1.5,0.2,-0.7,0.6,-1.6],tau_pr=[0.8,-1.1,1.3,-0.2,-1.7,0.4,1.0,-0.5]'
# Two learners written from their papers by a new user (2026-12-03): Pearce-Hall's
# associability (the rewards are drawn in the model from the schedule p1) and a Kalman
# filter on a restless four-armed bandit (the arms' drifting means m0..m3 are the design).
simulate pearce_hall pearce_hall.csv 2 'kappa=0.6,eta=0.3,beta=6'
simulate kalman_bandit kalman_bandit.csv 5 'beta=0.2,phi=1,sd_d=2.8'
# rl_blocks draws its rewards too (the task is in the model): the design is the trial
# structure only, four subjects with two or three blocks (this script's input is the
# simulated file itself, whose choice and reward columns are drawn again).
cp models/data/rl_blocks.csv "$design"
"$rlc" simulate models/rl_blocks.rlm --data "$design" --prior --seed 7 \
    --output models/data/rl_blocks.csv
# Models of other data than choices: a continuous-report task's response errors
# (VonMises, set sizes 1, 2, 4 and 6 shuffled) and response times in two conditions
# (ExGaussian).
simulate continuous_report continuous_report.csv 11 'kappa1=12,power=1.1'
simulate exgauss_rt exgauss_rt.csv 12 'mu=[0.45,0.52],sigma=0.05,tau=[0.15,0.25]'
# A reinforcement-learning drift-diffusion model: each choice and its response time are
# drawn together (`Wiener`'s `upper`), then the reward of the chosen arm from the schedule
# p_good (arm 1 pays with 0.8, then 0.2 after trial 150).
simulate rlddm rlddm.csv 13 'alpha=0.3,v=4,a=1.5,tau=0.25'
# The linear ballistic accumulator: each choice drawn with its response time (the first
# of two accumulators to reach the threshold) in two conditions, easy and hard.
simulate lba lba.csv 14 'd=0.6,A=0.5,v=[[2.6,1.2],[2.0,1.6]],tau=0.2'
