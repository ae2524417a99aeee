"""Simulated data for choiceRT_lba_single's posterior check: writes
data/choiceRT_lba_single_sim.txt and its .truth.json.

    python3 models/hbayesdm/simulate_lba.py

`rlc simulate` cannot draw from the LBA (its likelihood is a `target +=`), so this script
does, with NumPy, as the model describes it (Brown & Heathcote 2008): each of the two
accumulators starts uniformly in (0, A) and rises at a drift drawn from Normal(v[cond,
option], 1); a trial whose drifts are all negative is drawn again (the model's density
is conditioned on some drift being positive); the response is the accumulator that
reaches b = A + d first, at tau plus its finishing time. Two conditions of 200 trials,
each favouring one option: enough trials that the posterior is well identified, so that
the check compares rlc's density and sampler with Stan's rather than two explorations of
a ridge (hBayesDM's 80-trial example posterior has Stan's own chains disagreeing).
"""

import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 17
TRIALS_PER_CONDITION = 200
TRUTH = {"d": 0.6, "A": 0.7, "tau": 0.25, "v": [[2.4, 1.2], [1.3, 2.2]]}


def main():
    rng = np.random.default_rng(SEED)
    d, a, tau = TRUTH["d"], TRUTH["A"], TRUTH["tau"]
    v = np.array(TRUTH["v"])
    rows = []
    n_trials = 2 * TRIALS_PER_CONDITION
    for trial in range(n_trials):
        cond = trial % 2  # conditions alternate, as in a mixed design
        while True:
            drift = rng.normal(v[cond], 1.0)
            if np.any(drift > 0):
                break
        start = rng.uniform(0.0, a, size=2)
        with np.errstate(divide="ignore"):
            finish = np.where(drift > 0, (a + d - start) / drift, np.inf)
        choice = int(np.argmin(finish))
        rows.append((choice + 1, cond + 1, tau + float(finish[choice])))
    data = os.path.join(HERE, "data", "choiceRT_lba_single_sim.txt")
    with open(data, "w") as f:
        f.write("choice\tsubjID\tcondition\tRT\n")
        for choice, cond, rt in rows:
            f.write(f"{choice}\t1\t{cond}\t{rt!r}\n")
    truth = {
        "model": "choiceRT_lba_single.rlm",
        "data": "choiceRT_lba_single_sim.txt",
        "seed": SEED,
        "params": TRUTH,
        "note": "drawn by models/hbayesdm/simulate_lba.py (NumPy), not by rlc simulate, which"
        " cannot run a target += forward",
    }
    with open(data.replace(".txt", ".truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")
    print(f"wrote {data}: {n_trials} trials")


if __name__ == "__main__":
    main()
