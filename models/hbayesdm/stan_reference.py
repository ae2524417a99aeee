"""Stan's log density and gradient for an hBayesDM model: writes reference/MODEL.json.

    python models/hbayesdm/stan_reference.py MODEL [--stan-dir DIR] [--data FILE]
        [--output FILE] [--rlc PATH]

The reference of `models/hbayesdm/MODEL.rlm` is hBayesDM's own Stan program for the model,
evaluated on the same data file: this script turns the data file into the Stan data as
hBayesDM's R preprocessing does (`R/R/preprocess_funcs.R`: subjects in order of first
appearance, trials padded to the longest subject, `Tsubj`, the outcome's sign for the
reversal-learning tasks, ...), compiles the Stan program with pystan, and records Stan's
`log_prob(adjust_transform=True)` and `grad_log_prob` at points of the unconstrained space
drawn with a fixed seed, uniform in (-1.5, 1.5). `crates/driver/tests/hbayesdm_stan.rs`
checks that rlc's log density differs from Stan's by the same constant at every point (Stan
drops normalizing constants) and that the gradients are equal.

Needs pystan 3 (`pip install pystan`; only to regenerate a reference, never for the tests)
and hBayesDM's Stan programs: the directory `commons/stan_files` of hBayesDM's repository
(https://github.com/CCS-Lab/hBayesDM, GPL-3; the references were made at commit 9cbe245f3c8),
given with `--stan-dir` (default /work/hbdm-src/commons/stan_files). Nothing of hBayesDM is
copied into this repository: the reference files hold numbers and the program's SHA-256.

Adding a model is adding a row to MODELS (and, for a new task, a function in TASKS that
turns the task's data file into the Stan data dict). `--data` and `--output` evaluate
another data file (e.g. hBayesDM's example file) without touching the committed
reference; `--rlc` also runs `rlc logp` at each point and prints the differences;
`--rlc PATH --check` does only that, on the committed reference (no pystan needed).

`--regressors MODEL` records hBayesDM's model regressors (REGRESSORS: the per-trial values
its generated quantities compute, returned with `modelRegressor=TRUE`) at the points of the
committed reference/MODEL.json, on its data file: the program's generated quantities
(`write_array`) at each point, each regressor row-major with its shape, Stan's values as
they are (0, or the program's fill, in the cells past a subject's last trial), and the Stan
data's Tsubj (and Bsubj). It writes reference/regressors/MODEL.json, which
`crates/driver/tests/hbayesdm_regressors.rs` compares with the port's outs written in loops.
"""

import argparse
import csv
import hashlib
import itertools
import json
import math
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
STAN_COMMIT = "9cbe245"
SEED = 17
POINTS = 5
HALF_WIDTH = 1.5


# --- Reading a data file as hBayesDM does ---------------------------------------------


def read_rows(path, columns):
    """The rows of a tab-separated file (or CSV), as dicts keyed by the lower-case column
    name without underscores (hBayesDM's matching), keeping only the rows where every
    needed column is present (hBayesDM drops rows with NA in a needed column)."""
    with open(path, newline="") as f:
        text = f.read()
    delimiter = "\t" if "\t" in text.splitlines()[0] else ","
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    header = [h.strip().lower().replace("_", "") for h in next(reader)]
    needed = [c.lower().replace("_", "") for c in columns]
    for c in needed:
        if c not in header:
            sys.exit(f"{path}: no column {c!r} (has {header})")
    rows = []
    for fields in reader:
        if not fields:
            continue
        row = dict(zip(header, (x.strip() for x in fields)))
        if all(row.get(c, "") not in ("", "NA", "NaN") for c in needed):
            rows.append(row)
    return rows


def by_subject(rows, key="subjid"):
    """Subjects in order of first appearance, each with its rows in file order."""
    groups = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return list(groups.values())


def padded(groups, column, pad, convert=float):
    """[N, T] array of a column, each subject's trials padded with `pad` to the longest."""
    t_max = max(len(g) for g in groups)
    return [[convert(r[column]) for r in g] + [pad] * (t_max - len(g)) for g in groups]


def as_int(x):
    return int(float(x))


def sign(x):
    x = float(x)
    return (x > 0) - (x < 0)


def trials(path, columns):
    """The N, T, Tsubj of hBayesDM's one-block tasks and the subjects' rows."""
    groups = by_subject(read_rows(path, columns))
    data = {
        "N": len(groups),
        "T": max(len(g) for g in groups),
        "Tsubj": [len(g) for g in groups],
    }
    return data, groups


# --- One function per task: data file -> Stan data (R/R/preprocess_funcs.R) -------------


def bandit2arm(path):
    data, g = trials(path, ["subjID", "choice", "outcome"])
    data["choice"] = padded(g, "choice", -1, as_int)
    data["outcome"] = padded(g, "outcome", 0.0)
    return data


def bandit4arm(path):
    data, g = trials(path, ["subjID", "gain", "loss", "choice"])
    data["rew"] = padded(g, "gain", 0.0)
    data["los"] = padded(g, "loss", 0.0, lambda x: -abs(float(x)))
    data["choice"] = padded(g, "choice", -1, as_int)
    return data


def bandit4arm2(path):
    data, g = trials(path, ["subjID", "choice", "outcome"])
    data["choice"] = padded(g, "choice", -1, as_int)
    data["outcome"] = padded(g, "outcome", 0.0)
    return data


def prl(path):
    data, g = trials(path, ["subjID", "choice", "outcome"])
    data["choice"] = padded(g, "choice", -1, as_int)
    data["outcome"] = padded(g, "outcome", 0.0, sign)
    return data


def prl_multipleB(path):
    """[N, B, T] arrays: blocks in order of first appearance within each subject."""
    subjects = [by_subject(g, "block") for g in by_subject(read_rows(path, ["subjID", "block", "choice", "outcome"]))]
    b_max = max(len(s) for s in subjects)
    t_max = max(len(b) for s in subjects for b in s)

    def cube(column, pad, convert):
        return [
            [[convert(r[column]) for r in b] + [pad] * (t_max - len(b)) for b in s]
            + [[pad] * t_max] * (b_max - len(s))
            for s in subjects
        ]

    return {
        "N": len(subjects),
        "B": b_max,
        "Bsubj": [len(s) for s in subjects],
        "T": t_max,
        "Tsubj": [[len(b) for b in s] + [0] * (b_max - len(s)) for s in subjects],
        "choice": cube("choice", -1, as_int),
        "outcome": cube("outcome", 0.0, sign),
    }


def choiceRT(path, rt_bound=0.1):
    """Upper-boundary (choice 2) and lower-boundary (choice 1) response times per subject,
    padded with -1; each subject's fastest response; RTbound 0.1 s (hBayesDM's default)."""
    groups = by_subject(read_rows(path, ["subjID", "choice", "RT"]))
    upper = [[float(r["rt"]) for r in g if as_int(r["choice"]) == 2] for g in groups]
    lower = [[float(r["rt"]) for r in g if as_int(r["choice"]) == 1] for g in groups]
    nu_max, nl_max = max(map(len, upper)), max(map(len, lower))
    return {
        "N": len(groups),
        "Nu_max": nu_max,
        "Nl_max": nl_max,
        "Nu": [len(u) for u in upper],
        "Nl": [len(l) for l in lower],
        "RTu": [u + [-1.0] * (nu_max - len(u)) for u in upper],
        "RTl": [l + [-1.0] * (nl_max - len(l)) for l in lower],
        "minRT": [min(float(r["rt"]) for r in g) for g in groups],
        "RTbound": rt_bound,
    }


def dd(path):
    data, g = trials(path, ["subjID", "delay_later", "amount_later", "delay_sooner", "amount_sooner", "choice"])
    for c in ["delay_later", "amount_later", "delay_sooner", "amount_sooner"]:
        data[c] = padded(g, c.replace("_", ""), 0.0)
    data["choice"] = padded(g, "choice", -1, as_int)
    return data


def igt(path, payscale=100):
    """The payoff gain - |loss| divided by hBayesDM's default payscale, and its sign."""
    data, g = trials(path, ["subjID", "choice", "gain", "loss"])
    data["choice"] = padded(g, "choice", -1, as_int)
    payoff = [[float(r["gain"]) - abs(float(r["loss"])) for r in s] + [0.0] * (data["T"] - len(s)) for s in g]
    data["outcome"] = [[x / payscale for x in row] for row in payoff]
    data["sign_out"] = [[float(sign(x)) for x in row] for row in payoff]
    return data


def gng(path):
    data, g = trials(path, ["subjID", "cue", "keyPressed", "outcome"])
    data["cue"] = padded(g, "cue", 1, as_int)
    data["pressed"] = padded(g, "keypressed", -1, as_int)
    data["outcome"] = padded(g, "outcome", 0.0)
    return data


def pst(path):
    """The pair shown, `type`, is two digits: option 1 the tens, option 2 the units."""
    data, g = trials(path, ["subjID", "type", "choice", "reward"])
    data["option1"] = padded(g, "type", -1, lambda x: as_int(x) // 10)
    data["option2"] = padded(g, "type", -1, lambda x: as_int(x) % 10)
    data["choice"] = padded(g, "choice", -1, as_int)
    data["reward"] = padded(g, "reward", -1.0)
    return data


def ts(path, trans_prob=0.7):
    data, g = trials(path, ["subjID", "level1_choice", "level2_choice", "reward"])
    data["level1_choice"] = padded(g, "level1choice", 1, as_int)
    data["level2_choice"] = padded(g, "level2choice", 1, as_int)
    data["reward"] = padded(g, "reward", 0, as_int)
    data["trans_prob"] = trans_prob
    return data


def alt(path):
    """Choices are padded with 1, not hBayesDM's -1: alt_gamma's program declares
    `choice` `<lower=1>`, so hBayesDM's padding fails it on subjects of unequal length (the
    padding is never read)."""
    data, g = trials(path, ["subjID", "choice", "outcome", "bluePunish", "orangePunish"])
    data["choice"] = padded(g, "choice", 1, as_int)
    data["outcome"] = padded(g, "outcome", 0.0)
    data["bluePunish"] = padded(g, "bluepunish", 0.0)
    data["orangePunish"] = padded(g, "orangepunish", 0.0)
    return data


def ug(path):
    data, g = trials(path, ["subjID", "offer", "accept"])
    data["offer"] = padded(g, "offer", 0.0)
    data["accept"] = padded(g, "accept", -1, as_int)
    return data


def peer(path):
    columns = ["condition", "p_gamble", "safe_Hpayoff", "safe_Lpayoff", "risky_Hpayoff", "risky_Lpayoff"]
    data, g = trials(path, ["subjID", "choice"] + columns)
    data["condition"] = padded(g, "condition", 0, as_int)
    for c in columns[1:]:
        data[c] = padded(g, c.lower().replace("_", ""), 0.0)
    data["choice"] = padded(g, "choice", -1, as_int)
    return data


def dd_single(path):
    rows = read_rows(path, ["delay_later", "amount_later", "delay_sooner", "amount_sooner", "choice"])
    data = {"Tsubj": len(rows)}
    for c in ["delay_later", "amount_later", "delay_sooner", "amount_sooner"]:
        data[c] = [float(r[c.replace("_", "")]) for r in rows]
    data["choice"] = [as_int(r["choice"]) for r in rows]
    return data


def ra(path):
    data, g = trials(path, ["subjID", "gain", "loss", "cert", "gamble"])
    data["gain"] = padded(g, "gain", 0.0)
    data["loss"] = padded(g, "loss", 0.0, lambda x: abs(float(x)))
    data["cert"] = padded(g, "cert", 0.0)
    data["gamble"] = padded(g, "gamble", -1, as_int)
    return data


def cra(path):
    data, g = trials(path, ["subjID", "prob", "ambig", "reward_var", "reward_fix", "choice"])
    data["choice"] = padded(g, "choice", 0, as_int)
    data["prob"] = padded(g, "prob", 0.0)
    data["ambig"] = padded(g, "ambig", 0.0)
    data["reward_var"] = padded(g, "rewardvar", 0.0)
    data["reward_fix"] = padded(g, "rewardfix", 0.0)
    return data


def dbdm(path):
    columns = ["opt1hprob", "opt2hprob", "opt1hval", "opt1lval", "opt2hval", "opt2lval"]
    data, g = trials(path, ["subjID"] + columns + ["choice"])
    for c in columns:
        data[c] = padded(g, c, 0.0)
    data["choice"] = padded(g, "choice", -1, as_int)
    return data


def task2AFC(path):
    """Each subject's numbers of signal and noise trials, hits and false alarms."""
    groups = by_subject(read_rows(path, ["subjID", "stimulus", "response"]))

    def count(g, stimulus, response=None):
        return sum(
            1 for r in g
            if as_int(r["stimulus"]) == stimulus and (response is None or as_int(r["response"]) == response)
        )

    return {
        "N": len(groups),
        "signal": [count(g, 1) for g in groups],
        "noise": [count(g, 0) for g in groups],
        "h": [count(g, 1, 1) for g in groups],
        "f": [count(g, 0, 1) for g in groups],
    }


def banditNarm(path):
    """Narm is the number of distinct choices in the file (hBayesDM's default)."""
    data, g = trials(path, ["subjID", "gain", "loss", "choice"])
    data["rew"] = padded(g, "gain", 0.0)
    data["los"] = padded(g, "loss", 0.0, lambda x: -abs(float(x)))
    data["choice"] = padded(g, "choice", -1, as_int)
    data["Narm"] = len({as_int(r["choice"]) for s in g for r in s})
    return data


def choiceRT_single(path, rt_bound=0.1):
    rows = read_rows(path, ["choice", "RT"])
    upper = [float(r["rt"]) for r in rows if as_int(r["choice"]) == 2]
    lower = [float(r["rt"]) for r in rows if as_int(r["choice"]) == 1]
    return {
        "Nu": len(upper),
        "Nl": len(lower),
        "RTu": upper,
        "RTl": lower,
        "minRT": min(float(r["rt"]) for r in rows),
        "RTbound": rt_bound,
    }



def _lba_blocks(rows):
    """Per condition (1, 2, ...), the trials' [RT, choice] in file order: the layout the
    Stan program describes (hBayesDM's R code fills these blocks incorrectly)."""
    n_cond = len({as_int(r["condition"]) for r in rows})
    blocks = [[r for r in rows if as_int(r["condition"]) == j] for j in range(1, n_cond + 1)]
    return blocks


def choiceRT_lba(path):
    groups = by_subject(read_rows(path, ["subjID", "choice", "RT", "condition"]))
    all_rows = [r for g in groups for r in g]
    n_choices = len({as_int(r["choice"]) for r in all_rows})
    per_subject = [_lba_blocks(g) for g in groups]
    n_cond = max(len(b) for b in per_subject)
    max_tr = max(len(block) for b in per_subject for block in b)

    def matrix(block):
        pad = [-1.0] * (max_tr - len(block))
        return [[float(r["rt"]) for r in block] + pad, [float(as_int(r["choice"])) for r in block] + pad]

    return {
        "N": len(groups),
        "Max_tr": max_tr,
        "N_choices": n_choices,
        "N_cond": n_cond,
        "N_tr_cond": [[len(block) for block in b] for b in per_subject],
        "RT": [[matrix(block) for block in b] for b in per_subject],
    }


def choiceRT_lba_single(path):
    rows = read_rows(path, ["choice", "RT", "condition"])
    blocks = _lba_blocks(rows)
    max_tr = max(len(b) for b in blocks)

    def matrix(block):
        pad = [-1.0] * (max_tr - len(block))
        return [[float(r["rt"]) for r in block] + pad, [float(as_int(r["choice"])) for r in block] + pad]

    return {
        "N_choice": len({as_int(r["choice"]) for r in rows}),
        "N_cond": len(blocks),
        "tr_cond": [len(b) for b in blocks],
        "max_tr": max_tr,
        "RT": [matrix(b) for b in blocks],
    }


def pstRT(path, rt_bound=0.1, init_q=0.5):
    data, g = trials(path, ["subjID", "iter", "cond", "prob", "choice", "RT", "feedback"])
    data["Isubj"] = padded(g, "iter", -1, as_int)
    data["cond"] = padded(g, "cond", -1, as_int)
    data["choice"] = padded(g, "choice", -1, as_int)
    data["RT"] = padded(g, "rt", -1.0)
    data["fd"] = padded(g, "feedback", -1.0)
    probs = sorted({(as_int(r["cond"]), float(r["prob"])) for s in g for r in s})
    data["n_cond"] = len(probs)
    data["prob"] = [p for _, p in probs]
    data["initQ"] = init_q
    data["minRT"] = [min(float(r["rt"]) for r in s) for s in g]
    data["RTbound"] = rt_bound
    return data


def bart(path):
    """P is the most pumps in the file plus 1."""
    data, g = trials(path, ["subjID", "pumps", "explosion"])
    data["pumps"] = padded(g, "pumps", 0, as_int)
    data["explosion"] = padded(g, "explosion", 0, as_int)
    data["P"] = max(max(row) for row in data["pumps"]) + 1
    return data


def rdt(path):
    """The loss as its absolute value."""
    columns = ["gain", "loss", "cert", "type", "gamble", "outcome", "happy", "RT_happy"]
    data, g = trials(path, ["subjID"] + columns)
    data["gain"] = padded(g, "gain", 0.0)
    data["loss"] = padded(g, "loss", 0.0, lambda x: abs(float(x)))
    data["cert"] = padded(g, "cert", 0.0)
    data["type"] = padded(g, "type", -1, as_int)
    data["gamble"] = padded(g, "gamble", -1, as_int)
    data["outcome"] = padded(g, "outcome", 0.0)
    data["happy"] = padded(g, "happy", 0.0)
    data["RT_happy"] = padded(g, "rthappy", 0.0)
    return data


def cgt(path):
    """The bets are the distinct values of percentage_staked (in %), ascending; a trial's
    bet is numbered in the order offered (ascending if gamble_type is 1, else descending),
    and so are its gains and losses (the trial's points / 100 times 1 plus or minus the
    bet); the delays are 0, 1/4, ...; colour 1 is red."""
    data, g = trials(path, ["subjID", "gamble_type", "percentage_staked", "trial_initial_points", "red_chosen", "n_red_boxes"])
    rows = [r for s in g for r in s]
    asc = sorted({float(r["percentagestaked"]) / 100 for r in rows})
    b_n = len(asc)
    t_max = data["T"]

    def pad(values, fill):
        return values + [fill] * (t_max - len(values))

    def offered(r):
        return asc if as_int(r["gambletype"]) == 1 else asc[::-1]

    def bet(r):
        rank = asc.index(float(r["percentagestaked"]) / 100) + 1
        return rank if as_int(r["gambletype"]) == 1 else b_n + 1 - rank

    data["B"] = b_n
    data["bet_delay"] = [b / 4 for b in range(b_n)]
    data["col_chosen"] = [pad([1 if as_int(r["redchosen"]) == 1 else 2 for r in s], 0) for s in g]
    data["bet_chosen"] = [pad([bet(r) for r in s], 0) for s in g]
    data["prop_red"] = [pad([float(r["nredboxes"]) / 10 for r in s], 0.0) for s in g]
    data["prop_chosen"] = [
        pad([float(r["nredboxes"]) / 10 if as_int(r["redchosen"]) == 1 else 1 - float(r["nredboxes"]) / 10 for r in s], 0.0)
        for s in g
    ]
    points = lambda r: float(r["trialinitialpoints"]) / 100
    data["gain"] = [pad([[points(r) * (1 + b) for b in offered(r)] for r in s], [0.0] * b_n) for s in g]
    data["loss"] = [pad([[points(r) * (1 - b) for b in offered(r)] for r in s], [0.0] * b_n) for s in g]
    return data


WCS_ANSWER_SHEET = "/work/hbdm-src/commons/extdata/wcs_answersheet.txt"


def wcs_answer_sheet(path, rows, t_max):
    """Which deck (1-4) matches the card in colour, form and number on trial t: the file's
    columns answer_color.1 … answer_number.128 where it has them (the rlc port's settings),
    else hBayesDM's answer sheet, as hBayesDM reads it."""
    names = ["answercolor", "answerform", "answernumber"]
    if rows and all(f"{n}.{t + 1}" in rows[0] for n in names for t in range(t_max)):
        return [[as_int(rows[0][f"{n}.{t + 1}"]) for n in names] for t in range(t_max)]
    with open(WCS_ANSWER_SHEET) as f:
        sheet = {line.split("\t")[0]: line.split("\t")[1:] for line in f.read().splitlines()[1:]}
    return [[int(sheet[d][t]) for d in ("Color", "Form", "Number")] for t in range(t_max)]


def wcs(path, t_max=128):
    """hBayesDM pads every subject to the task's 128 trials and reads which deck matches
    each dimension (colour, form, number) on a subject's t-th trial from its answer sheet
    (`wcs_answer_sheet`). choice is one-hot, [N, 4, T]."""
    data, g = trials(path, ["subjID", "choice", "outcome"])
    answer = wcs_answer_sheet(path, [r for s in g for r in s], t_max)
    data["T"] = t_max
    data["choice"] = [
        [[1 if t < len(s) and as_int(s[t]["choice"]) == deck else 0 for t in range(t_max)] for deck in range(1, 5)]
        for s in g
    ]
    data["outcome"] = [[as_int(s[t]["outcome"]) if t < len(s) else -1 for t in range(t_max)] for s in g]
    data["choice_match_att"] = [
        [[[1 if t < len(s) and a == as_int(s[t]["choice"]) else 0 for a in answer[t]]] for t in range(t_max)]
        for s in g
    ]
    data["deck_match_rule"] = [[[1 if deck == a else 0 for deck in range(1, 5)] for a in answer[t]] for t in range(t_max)]
    return data


# hBayesDM's default configuration of the hierarchical Gaussian filter (R/R/hgf_ibrb.R):
# 3 levels, every parameter free within these bounds, the response scored after the input.
HGF_DEFAULTS = {
    "L": 3,
    "input_first": 0,
    "mu0": [0.5, 1.0],
    "sigma0": [0.1, 1.0],
    "kappa_lower": [0.0],
    "kappa_upper": [2.0],
    "omega_lower": [-10.0, -15.0],
    "omega_upper": [0.0, 0.0],
    "zeta_lower": 0.0,
    "zeta_upper": 2.0,
}


def _hgf_trials(rows, t_max):
    """u and y of one subject at their trialNum, -1 where a trial has no valid value (0/1)."""
    u, y = [-1] * t_max, [-1] * t_max
    for r in rows:
        t = as_int(r["trialnum"]) - 1
        if r["u"] in ("0", "1"):
            u[t] = int(r["u"])
        if r["y"] in ("0", "1"):
            y[t] = int(r["y"])
    return u, y


def _hgf_settings(rows):
    """hBayesDM's arguments of the HGF: HGF_DEFAULTS, with those the file gives as columns
    as the rlc ports read them (one value on every row: `L`, `input_first`, `zeta_upper`;
    an array's elements `mu0.1`, `mu0.2`, ..., as many as the file has columns, all of them
    or none), as if passed to hBayesDM's function. An array left at its default needs
    L = 3 (its default's length); one given by columns has L - 1 elements (mu0, sigma0, the
    omega bounds) or L - 2 (the kappa bounds), which is checked here."""
    settings = dict(HGF_DEFAULTS)
    first = rows[0]

    def value(column):
        values = {r[column] for r in rows}
        if len(values) > 1:
            sys.exit(f"column {column!r}: a setting has one value on every row, not {sorted(values)}")
        return first[column]

    given = set()
    for name, default in HGF_DEFAULTS.items():
        key = name.lower().replace("_", "")
        if isinstance(default, list):
            # `mu0.1`, `mu0.2`, ...: the largest index is the length; every element or none.
            indices = {int(m.group(1)) for c in first if (m := re.fullmatch(re.escape(key) + r"\.(\d+)", c))}
            if indices:
                if indices != set(range(1, max(indices) + 1)):
                    found = ", ".join(f"{key}.{i}" for i in sorted(indices))
                    sys.exit(f"{name}: the file's columns {found} are not all of {key}.1 to {key}.{max(indices)}")
                settings[name] = [float(value(f"{key}.{i}")) for i in range(1, max(indices) + 1)]
                given.add(name)
        elif key in first and name == "input_first":
            settings[name] = int(value(key).lower() in ("true", "1"))
        elif key in first:
            settings[name] = type(default)(float(value(key)))
    # Each array's length in hBayesDM's program: L - 1, or L - 2 for kappa's bounds (the
    # defaults' lengths at L = 3).
    for name, default in HGF_DEFAULTS.items():
        if isinstance(default, list):
            length = len(default) + settings["L"] - 3
            if len(settings[name]) != length:
                how = "columns give" if name in given else "default has"
                sys.exit(f"{name}: L = {settings['L']} needs {length} elements; its {how}"
                         f" {len(settings[name])}")
    return settings


def hgf(path):
    """Each trial at its trialNum (T is the largest; hBayesDM's R code takes the most rows
    of a subject, the same unless a row was dropped for a missing value)."""
    groups = by_subject(read_rows(path, ["subjID", "trialNum", "u", "y"]))
    t_max = max(as_int(r["trialnum"]) for g in groups for r in g)
    trials = [_hgf_trials(g, t_max) for g in groups]
    return {
        "N": len(groups),
        "T": t_max,
        "u": [u for u, _ in trials],
        "y": [y for _, y in trials],
        **_hgf_settings([r for g in groups for r in g]),
    }


def hgf_single(path):
    rows = read_rows(path, ["trialNum", "u", "y"])
    t_max = max(as_int(r["trialnum"]) for r in rows)
    u, y = _hgf_trials(rows, t_max)
    return {"T": t_max, "u": u, "y": y, **_hgf_settings(rows)}


TASKS = {
    "bandit2arm": bandit2arm,
    "bandit4arm": bandit4arm,
    "bandit4arm2": bandit4arm2,
    "prl": prl,
    "prl_multipleB": prl_multipleB,
    "choiceRT": choiceRT,
    "dd": dd,
    "dd_single": dd_single,
    "ra": ra,
    "cra": cra,
    "dbdm": dbdm,
    "task2AFC": task2AFC,
    "banditNarm": banditNarm,
    "choiceRT_single": choiceRT_single,
    "choiceRT_lba": choiceRT_lba,
    "choiceRT_lba_single": choiceRT_lba_single,
    "pstRT": pstRT,
    "igt": igt,
    "gng": gng,
    "pst": pst,
    "ts": ts,
    "alt": alt,
    "ug": ug,
    "peer": peer,
    "bart": bart,
    "rdt": rdt,
    "cgt": cgt,
    "wcs": wcs,
    "hgf": hgf,
    "hgf_single": hgf_single,
}

# model -> (task, data file relative to models/hbayesdm, hBayesDM's example file for the task)
MODELS = {
    "bandit2arm_delta": ("bandit2arm", "data/bandit2arm_sim.txt", "bandit2arm_exampleData.txt"),
    "bandit4arm_4par": ("bandit4arm", "data/bandit4arm_sim.txt", "bandit4arm_exampleData.txt"),
    "bandit4arm_lapse": ("bandit4arm", "data/bandit4arm_sim.txt", "bandit4arm_exampleData.txt"),
    "bandit4arm_2par_lapse": ("bandit4arm", "data/bandit4arm_sim.txt", "bandit4arm_exampleData.txt"),
    "bandit4arm_singleA_lapse": ("bandit4arm", "data/bandit4arm_sim.txt", "bandit4arm_exampleData.txt"),
    "bandit4arm_lapse_decay": ("bandit4arm", "data/bandit4arm_sim.txt", "bandit4arm_exampleData.txt"),
    "bandit4arm2_kalman_filter": ("bandit4arm2", "data/bandit4arm2_sim.txt", "bandit4arm2_exampleData.txt"),
    "prl_ewa": ("prl", "data/prl_sim.txt", "prl_exampleData.txt"),
    "prl_fictitious": ("prl", "data/prl_sim.txt", "prl_exampleData.txt"),
    "prl_fictitious_rp": ("prl", "data/prl_sim.txt", "prl_exampleData.txt"),
    "prl_fictitious_rp_woa": ("prl", "data/prl_sim.txt", "prl_exampleData.txt"),
    "prl_fictitious_woa": ("prl", "data/prl_sim.txt", "prl_exampleData.txt"),
    "prl_rp": ("prl", "data/prl_sim.txt", "prl_exampleData.txt"),
    "prl_fictitious_multipleB": ("prl_multipleB", "data/prl_multipleB_sim.txt", "prl_multipleB_exampleData.txt"),
    "prl_rp_multipleB": ("prl_multipleB", "data/prl_multipleB_sim.txt", "prl_multipleB_exampleData.txt"),
    "choiceRT_ddm": ("choiceRT", "data/choiceRT_sim.txt", "choiceRT_exampleData.txt"),
    "dd_hyperbolic": ("dd", "data/dd_sim.txt", "dd_exampleData.txt"),
    "dd_exp": ("dd", "data/dd_sim.txt", "dd_exampleData.txt"),
    "dd_cs": ("dd", "data/dd_sim.txt", "dd_exampleData.txt"),
    "dd_hyperbolic_single": ("dd_single", "data/dd_single_sim.txt", "dd_single_exampleData.txt"),
    "dd_cs_single": ("dd_single", "data/dd_single_sim.txt", "dd_single_exampleData.txt"),
    "ra_prospect": ("ra", "data/ra_sim.txt", "ra_exampleData.txt"),
    "ra_noLA": ("ra", "data/ra_sim.txt", "ra_exampleData.txt"),
    "ra_noRA": ("ra", "data/ra_sim.txt", "ra_exampleData.txt"),
    "cra_exp": ("cra", "data/cra_sim.txt", "cra_exampleData.txt"),
    "cra_linear": ("cra", "data/cra_sim.txt", "cra_exampleData.txt"),
    "dbdm_prob_weight": ("dbdm", "data/dbdm_sim.txt", "dbdm_exampleData.txt"),
    "task2AFC_sdt": ("task2AFC", "data/task2AFC_sim.txt", "task2AFC_exampleData.txt"),
    "banditNarm_2par_lapse": ("banditNarm", "data/banditNarm_sim.txt", "banditNarm_exampleData.txt"),
    "banditNarm_4par": ("banditNarm", "data/banditNarm_sim.txt", "banditNarm_exampleData.txt"),
    "banditNarm_delta": ("banditNarm", "data/banditNarm_sim.txt", "banditNarm_exampleData.txt"),
    "banditNarm_kalman_filter": ("banditNarm", "data/banditNarm_sim.txt", "banditNarm_exampleData.txt"),
    "banditNarm_lapse": ("banditNarm", "data/banditNarm_sim.txt", "banditNarm_exampleData.txt"),
    "banditNarm_lapse_decay": ("banditNarm", "data/banditNarm_sim.txt", "banditNarm_exampleData.txt"),
    "banditNarm_singleA_lapse": ("banditNarm", "data/banditNarm_sim.txt", "banditNarm_exampleData.txt"),
    "choiceRT_lba": ("choiceRT_lba", "data/choiceRT_lba_sim.txt", "choiceRT_exampleData.txt"),
    "choiceRT_lba_single": ("choiceRT_lba_single", "data/choiceRT_single_sim.txt", "choiceRT_single_exampleData.txt"),
    "pstRT_ddm": ("pstRT", "data/pstRT_sim.txt", "pstRT_exampleData.txt"),
    "pstRT_rlddm1": ("pstRT", "data/pstRT_sim.txt", "pstRT_exampleData.txt"),
    "pstRT_rlddm6": ("pstRT", "data/pstRT_sim.txt", "pstRT_exampleData.txt"),
    "choiceRT_ddm_single": ("choiceRT_single", "data/choiceRT_single_sim.txt", "choiceRT_single_exampleData.txt"),
    "igt_orl": ("igt", "data/igt_sim.txt", "igt_exampleData.txt"),
    "igt_pvl_decay": ("igt", "data/igt_sim.txt", "igt_exampleData.txt"),
    "igt_pvl_delta": ("igt", "data/igt_sim.txt", "igt_exampleData.txt"),
    "igt_vpp": ("igt", "data/igt_sim.txt", "igt_exampleData.txt"),
    "gng_m1": ("gng", "data/gng_sim.txt", "gng_exampleData.txt"),
    "gng_m2": ("gng", "data/gng_sim.txt", "gng_exampleData.txt"),
    "gng_m3": ("gng", "data/gng_sim.txt", "gng_exampleData.txt"),
    "gng_m4": ("gng", "data/gng_sim.txt", "gng_exampleData.txt"),
    "pst_Q": ("pst", "data/pst_sim.txt", "pst_exampleData.txt"),
    "pst_gainloss_Q": ("pst", "data/pst_sim.txt", "pst_exampleData.txt"),
    "ts_par4": ("ts", "data/ts_sim.txt", "ts_exampleData.txt"),
    "ts_par6": ("ts", "data/ts_sim.txt", "ts_exampleData.txt"),
    "ts_par7": ("ts", "data/ts_sim.txt", "ts_exampleData.txt"),
    "alt_delta": ("alt", "data/alt_sim.txt", "alt_exampleData.txt"),
    "alt_gamma": ("alt", "data/alt_sim.txt", "alt_exampleData.txt"),
    "ug_delta": ("ug", "data/ug_sim.txt", "ug_exampleData.txt"),
    "ug_bayes": ("ug", "data/ug_sim.txt", "ug_exampleData.txt"),
    "peer_ocu": ("peer", "data/peer_sim.txt", "peer_exampleData.txt"),
    "bart_par4": ("bart", "data/bart_sim.txt", "bart_exampleData.txt"),
    "bart_ewmv": ("bart", "data/bart_sim.txt", "bart_exampleData.txt"),
    "rdt_happiness": ("rdt", "data/rdt_sim.txt", "rdt_exampleData.txt"),
    "cgt_cm": ("cgt", "data/cgt_sim.txt", "cgt_exampleData.txt"),
    "wcs_sql": ("wcs", "data/wcs_sim.txt", "wcs_exampleData.txt"),
    "hgf_ibrb": ("hgf", "data/hgf_sim.txt", "hgf_ibrb_exampleData.txt"),
    "hgf_ibrb_single": ("hgf_single", "data/hgf_single_sim.txt", "hgf_ibrb_single_exampleData.txt"),
}


# Fixes to hBayesDM's programs where the program does not compute the model it describes,
# applied after `modern` and recorded in the reference file (`stan_patch`). Each is
# (old text, new text, why); the old text must occur in the program.
PATCHES = {
    "choiceRT_lba_single": [
        (
            "vector[rows(RT)] prob;",
            "vector[cols(RT)] prob;",
            "the likelihood loops over rows(RT) (2: the RT and choice rows) instead of the trials,"
            " cols(RT), so it scores only the first two trials of each condition",
        ),
        ("for (i in 1:rows(RT)) {", "for (i in 1:cols(RT)) {", "the same loop"),
    ],
}
# The same likelihood in a numerically exact form: `bernoulli(inv_logit(x))` loses the
# value of log(1 - p) once p rounds near 1 (|x| past ~30), which moves Stan's log density
# by up to 0.2 at some reference points while its gradient stays exact.
BERNOULLI_LOGIT = (
    "gamble[i, t] ~ bernoulli(pGamble);",
    "gamble[i, t] ~ bernoulli_logit(tau[i] * (evGamble - evSafe));",
    "bernoulli(inv_logit(x)) written bernoulli_logit(x): the same likelihood without the"
    " rounding of the probability, as the rlc port scores it",
)
PATCHES["ra_noLA"] = [BERNOULLI_LOGIT]
PATCHES["ra_noRA"] = [BERNOULLI_LOGIT]
# The same for the two-option softmax 1 / (1 + exp(x)) and 1 - it: where the first rounds
# near 1, the second keeps few digits, which moves Stan's log density by 1e-6 and its
# gradient by up to 6% at some reference points.
TWO_OPTION_LOGIT = (
    "prob[2] = 1 - prob_1_;",
    "prob[2] = inv_logit(beta[i] * (alpha[i] - (ev[1] - ev[2])));",
    "1 - 1 / (1 + exp(x)) written inv_logit(x): the same probability without the rounding"
    " of the difference, as the rlc port scores it (from the logit)",
)
for _model in ("prl_fictitious", "prl_fictitious_rp", "prl_fictitious_multipleB"):
    PATCHES[_model] = [TWO_OPTION_LOGIT]


# --- Stan ----------------------------------------------------------------------------


TYPES = (
    r"(?:int|real|vector|row_vector|matrix|simplex|ordered|positive_ordered|unit_vector"
    r"|cholesky_factor_corr|cholesky_factor_cov|corr_matrix|cov_matrix)"
)
OLD_ARRAY = re.compile(
    r"^(\s*)(" + TYPES + r"\b\s*(?:<(?:[^<>;]|<[^<>;]*>)*>)?\s*(?:\[[^\]]*\])?)"
    r"\s*([A-Za-z_]\w*)\s*\[((?:[^\[\];]|\[[^\]]*\])+)\]\s*((?:=[^;]*)?);",
    re.M,
)


def modern(code):
    """hBayesDM's programs in the syntax of current Stan (pystan 3.10 has Stan 2.35, which
    no longer parses the old forms): `real x[N, T];` becomes `array[N, T] real x;`,
    `fabs` becomes `abs`, a user-defined `_cdf` is called with `|`, and the include of the
    license comment is dropped. Nothing else changes; all 66 programs pass stanc after it."""
    code = re.sub(r"#include\s+/pre/license\.stan", "", code)
    code = re.sub(r"\bfabs\(", "abs(", code)
    code = re.sub(r"(?<!real )\b(\w+_cdf)\(([^,()|]+),", r"\1(\2 |", code)
    return OLD_ARRAY.sub(
        lambda m: f"{m[1]}array[{m[4]}] {m[2].rstrip()} {m[3]}{(' ' + m[5]) if m[5] else ''};",
        code,
    )


def parameter_names(code):
    """The names declared in the program's `parameters` block, in order."""
    match = next(
        (m for m in re.finditer(r"\bparameters\s*\{", code) if not re.search(r"transformed\s*$", code[: m.start()])),
        None,
    )
    if not match:
        sys.exit("no parameters block")
    depth, i = 1, match.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(code[i], 0)
        i += 1
    block = re.sub(r"//[^\n]*|/\*.*?\*/", "", code[match.end(): i - 1], flags=re.S)
    names = []
    for statement in block.split(";"):
        statement = statement.strip()
        if statement:
            # `vector<lower=0>[4] sigma`, `real x[N]`, `array[N] real x`: the name is the
            # last identifier before any trailing dimensions.
            statement = re.sub(r"\[[^\[\]]*\]\s*$", "", statement).strip()
            names.append(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", statement)[-1])
    return names


def compare_with_rlc(rlc, model, data_file, points, rlc_only=()):
    """Prints rlc's log density minus Stan's at each point and the gradient elements that
    differ (what the test checks, with the CLI: the quickest way to debug a port).
    `rlc_only`: rlc's coordinates that Stan's program lacks (a parameter the settings fix),
    set to 0, where rlc's slope must be 0."""
    rlm = os.path.join(HERE, model + ".rlm")

    def rlc_logp(x):
        out = subprocess.run(
            [rlc, "logp", "--json", "--unconstrained", ",".join(repr(v) for v in x), "--data", data_file, rlm],
            capture_output=True, text=True,
        )
        if out.returncode != 0:
            sys.exit(out.stderr)
        return json.loads(out.stdout)

    dim = len(points[0]["unconstrained"]) + len(rlc_only)
    names = rlc_logp([0.0] * dim)["coordinates"]
    stans = [i for i, name in enumerate(names) if name not in rlc_only]
    if len(stans) != len(points[0]["unconstrained"]):
        sys.exit(f"rlc's coordinates {names} do not include all of {list(rlc_only)}")
    offsets = []
    for p in points:
        x, expected = [0.0] * dim, [0.0] * dim
        for j, i in enumerate(stans):
            x[i], expected[i] = p["unconstrained"][j], p["gradient"][j]
        r = rlc_logp(x)
        offsets.append(r["logp"] - p["logp"])
        scale = max([1.0] + [abs(b) for b in p["gradient"]])
        worst = max(abs(a - b) / scale for a, b in zip(r["gradient"], expected))
        print(f"logp rlc - Stan = {offsets[-1]:.12g}; gradient: worst difference / largest element {worst:.3g}")
        if worst > 1e-7:
            for i, (a, b) in enumerate(zip(r["gradient"], expected)):
                if abs(a - b) > 1e-7 * scale:
                    print(f"  {r['coordinates'][i]}: rlc {a!r} Stan {b!r}")
    print(f"spread of the offsets: {max(offsets) - min(offsets):.3g}")


# hBayesDM's model regressors (the `regressors:` key of commons/models/MODEL.yml): the
# per-trial quantities its generated quantities compute, which the rlc ports write as outs
# in loops (`rlc run --loop-outs`).
REGRESSORS = {
    # Its y_hat_col and y_hat_bet are draws (categorical_rng) of the predicted colour and
    # bet, not functions of the parameters: rlc's `--predict` draws them; no reference.
    "cgt_cm": ["bet_utils"],
    "cra_exp": ["sv", "sv_fix", "sv_var", "p_var"],
    "cra_linear": ["sv", "sv_fix", "sv_var", "p_var"],
    "gng_m1": ["Qgo", "Qnogo", "Wgo", "Wnogo"],
    "gng_m2": ["Qgo", "Qnogo", "Wgo", "Wnogo"],
    "gng_m3": ["Qgo", "Qnogo", "Wgo", "Wnogo", "SV"],
    "gng_m4": ["Qgo", "Qnogo", "Wgo", "Wnogo", "SV"],
    "prl_ewa": ["ev_c", "ev_nc", "ew_c", "ew_nc"],
    "prl_fictitious": ["ev_c", "ev_nc", "pe_c", "pe_nc", "dv"],
    "prl_fictitious_rp": ["ev_c", "ev_nc", "pe_c", "pe_nc", "dv"],
    "prl_fictitious_rp_woa": ["ev_c", "ev_nc", "pe_c", "pe_nc", "dv"],
    "prl_fictitious_woa": ["ev_c", "ev_nc", "pe_c", "pe_nc", "dv"],
    "prl_fictitious_multipleB": ["ev_c", "ev_nc", "pe_c", "pe_nc", "dv"],
    "prl_rp": ["ev_c", "ev_nc", "pe"],
    "prl_rp_multipleB": ["ev_c", "ev_nc", "pe"],
    "pstRT_rlddm1": ["Q1", "Q2"],
    "pstRT_rlddm6": ["Q1", "Q2"],
}


# Fixes to a program's generated quantities that the regressors need (never its
# likelihood), applied by --regressors after PATCHES and recorded in the regressor file.
REGRESSOR_PATCHES = {
    "cra_linear": [
        (
            "y_pred[i, t] = -1;",
            "y_pred[i, t] = -1;\n      sv[i, t] = 0;\n      sv_fix[i, t] = 0;\n      sv_var[i, t] = 0;"
            "\n      p_var[i, t] = 0;",
            "the regressors are left unset (NaN) past a subject's last trial, where p_var's"
            " declared bounds <lower=0, upper=1> then fail: Stan's generated quantities fail on"
            " any data with subjects of unequal length. Set to 0 there, as cra_exp does",
        )
    ],
}


def write_array(stan, model, unconstrained):
    """`model.constrain_pars(unconstrained, include_tparams=True, include_gqs=True)`, read
    with Python's JSON parser: pystan's rejects the NaN of a generated quantity the program
    leaves unset (gng's regressors past a subject's last trial)."""
    import asyncio

    payload = {
        "data": model.data,
        "unconstrained_parameters": list(unconstrained),
        "include_tparams": True,
        "include_gqs": True,
    }

    async def go():
        async with stan.common.HttpstanClient() as client:
            resp = await client.post(f"/{model.model_name}/write_array", json=payload)
            if resp.status != 200:
                raise RuntimeError(resp.content.decode())
            return json.loads(resp.content)["params_r_constrained"]

    return asyncio.run(go())


def write_regressors(args, stan, output):
    """Stan's regressors at the points of the committed reference (reference/MODEL.json,
    on its data file): `write_array` with the generated quantities
    (`constrain_pars(include_gqs=True)`) at each point's unconstrained coordinates, each
    regressor stored row-major with its shape. Stan's value is stored as it is: 0 in the
    cells its program never writes (a trial past the subject's last; null where the program
    leaves them NaN), with the Stan data's Tsubj (and Bsubj), which say which cells the
    program writes. Also checks that
    Stan's log density at each point is still the reference's (same program and data)."""
    if args.model not in REGRESSORS:
        sys.exit(f"{args.model}: no regressors (add a row to REGRESSORS)")
    reference_path = os.path.join(HERE, "reference", os.path.basename(output))
    with open(reference_path) as f:
        reference = json.load(f)
    stan_path = os.path.join(args.stan_dir, args.model + ".stan")
    with open(stan_path, "rb") as f:
        raw = f.read()
    if hashlib.sha256(raw).hexdigest() != reference["stan_sha256"]:
        sys.exit(f"{stan_path}: not the program of {reference_path}")
    code = modern(raw.decode())
    for old, new, _ in PATCHES.get(args.model, []):
        code = code.replace(old, new)
    for old, new, _ in REGRESSOR_PATCHES.get(args.model, []):
        if code.count(old) != 1:
            sys.exit(f"{args.model}: the patch's text {old!r} is not in the program once")
        code = code.replace(old, new)
    data = TASKS[MODELS[args.model][0]](os.path.join(HERE, reference["data"]))
    os.chdir(tempfile.mkdtemp(prefix="stan_reference_"))
    model = stan.build(code, data=data, random_seed=1)
    names = REGRESSORS[args.model]
    dims = dict(zip(model.param_names, model.dims))
    position = {name: i for i, name in enumerate(model.constrained_param_names)}
    points = []
    for k, p in enumerate(reference["points"]):
        logp = model.log_prob(p["unconstrained"], adjust_transform=True)
        if abs(logp - p["logp"]) > 1e-8 * max(1.0, abs(logp)):
            sys.exit(f"point {k}: Stan's log density {logp}, the reference's {p['logp']}")
        values = write_array(stan, model, p["unconstrained"])
        point = {}
        for name in names:
            # Stan names an element `name.i.j` (1-based); store row-major.
            cells = itertools.product(*(range(1, d + 1) for d in dims[name]))
            # A cell the program never sets is NaN in Stan (cra_linear's padding): null.
            point[name] = [
                v if math.isfinite(v) else None
                for v in (values[position[".".join([name, *map(str, c)])]] for c in cells)
            ]
        points.append(point)

    # The value of the cells the program never writes (its fill: 0, -1 for pstRT's Q1/Q2,
    # NaN where it sets none), one for every regressor.
    def written(cell):
        if "Bsubj" in data:
            return cell[1] < data["Bsubj"][cell[0]] and cell[2] < data["Tsubj"][cell[0]][cell[1]]
        return cell[1] < data["Tsubj"][cell[0]]

    fills = {
        v
        for point in points
        for name in names
        for cell, v in zip(itertools.product(*(range(d) for d in dims[name])), point[name])
        if not written(cell)
    }
    if len(fills) > 1:
        sys.exit(f"the cells the program does not write hold several values: {fills}")
    result = {
        "model": args.model,
        "reference": os.path.relpath(reference_path, os.path.dirname(output)),
        "stan_program": reference["stan_program"],
        "stan_sha256": reference["stan_sha256"],
        **(
            {"stan_patch": [{"old": o, "new": n, "why": w} for o, n, w in REGRESSOR_PATCHES[args.model]]}
            if args.model in REGRESSOR_PATCHES
            else {}
        ),
        "shapes": {name: dims[name] for name in names},
        # The trials the program visits, 1..Tsubj (of the blocks 1..Bsubj): the cells it writes.
        "Tsubj": data["Tsubj"],
        **({"Bsubj": data["Bsubj"]} if "Bsubj" in data else {}),
        "unwritten": next(iter(fills), None),
        "points": points,
    }
    os.makedirs(os.path.dirname(output), exist_ok=True)
    with open(output, "w") as f:
        json.dump(result, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {output}: {', '.join(f'{n}{dims[n]}' for n in names)} at {len(points)} points")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--stan-dir", default="/work/hbdm-src/commons/stan_files")
    parser.add_argument("--data", help="another data file (default: the model's row of MODELS)")
    parser.add_argument("--output", help="default: reference/MODEL.json (MODEL.VARIANT.json with --variant)")
    parser.add_argument(
        "--variant",
        help="a further reference of the model, on a --data file that sets the model's settings"
        " (hBayesDM's arguments) to other values than the defaults",
    )
    parser.add_argument(
        "--rlc-only", default="",
        help="with --variant: rlc's coordinates that Stan's program lacks (N1,N2,...: the raw"
        " parameters of a parameter the settings fix, which hBayesDM's program drops)",
    )
    parser.add_argument("--rlc", help="an rlc binary: also print rlc's logp and gradient differences")
    parser.add_argument(
        "--check", action="store_true",
        help="with --rlc: compare rlc with the existing reference file only (no pystan needed)",
    )
    parser.add_argument(
        "--regressors", action="store_true",
        help="Stan's model regressors (REGRESSORS) at the points of the committed reference:"
        " writes reference/regressors/MODEL.json",
    )
    args = parser.parse_args()
    if args.model not in MODELS:
        sys.exit(f"{args.model}: not in MODELS (add a row)")
    task, data_path, example = MODELS[args.model]
    data_file = os.path.abspath(args.data or os.path.join(HERE, data_path))
    if args.variant and not args.data and not args.check:
        sys.exit("--variant needs --data, the file that sets the settings")
    stem = f"{args.model}.{args.variant}" if args.variant else args.model
    default = os.path.join(HERE, "reference", *(["regressors"] if args.regressors else []), stem + ".json")
    output = os.path.abspath(args.output or default)
    rlc_only = [name for name in args.rlc_only.split(",") if name]
    if args.check:
        if not args.rlc:
            sys.exit("--check needs --rlc")
        with open(output) as f:
            reference = json.load(f)
        compare_with_rlc(args.rlc, args.model, os.path.join(HERE, reference["data"]), reference["points"],
                         reference.get("rlc_only", []))
        return

    import aiohttp.client
    import numpy as np
    import stan

    # pystan talks to its compiler through aiohttp, whose default 5-minute timeout is
    # shorter than a compilation on a busy machine.
    aiohttp.client.DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30)

    if args.regressors:
        return write_regressors(args, stan, output)

    stan_path = os.path.join(args.stan_dir, args.model + ".stan")
    with open(stan_path, "rb") as f:
        raw = f.read()
    code = modern(raw.decode())
    for old, new, _ in PATCHES.get(args.model, []):
        if old not in code:
            sys.exit(f"{args.model}: the patch's text {old!r} is not in the program")
        code = code.replace(old, new)
    data = TASKS[task](data_file)
    # httpstan leaves a build/ directory in the working directory.
    os.chdir(tempfile.mkdtemp(prefix="stan_reference_"))
    model = stan.build(code, data=data, random_seed=1)
    params = parameter_names(code)
    sizes = dict(zip(model.param_names, model.dims))
    dim = sum(math.prod(sizes[p]) for p in params)
    rng = np.random.default_rng(SEED)
    points, rejected = [], 0
    while len(points) < POINTS:
        x = rng.uniform(-HALF_WIDTH, HALF_WIDTH, dim).tolist()
        try:
            # Stan reports a density of 0 as an error (or as -inf, which pystan cannot
            # parse): such a point is drawn again, as Stan's initialization does.
            logp = model.log_prob(x, adjust_transform=True)
            gradient = list(model.grad_log_prob(x))
        except (RuntimeError, ValueError) as e:
            rejected += 1
            print(f"point rejected by Stan ({str(e)[:80]}); drawing another")
            if rejected > 100:
                sys.exit("Stan rejects nearly every point")
            continue
        if math.isfinite(logp) and all(map(math.isfinite, gradient)):
            points.append({"unconstrained": x, "logp": logp, "gradient": gradient})
        else:
            rejected += 1
    reference = {
        "model": args.model,
        **({"variant": args.variant} if args.variant else {}),
        **({"rlc_only": rlc_only} if rlc_only else {}),
        "data": os.path.relpath(data_file, HERE),
        "example_data": example,
        "stan_program": f"hBayesDM {STAN_COMMIT} commons/stan_files/{args.model}.stan",
        "stan_sha256": hashlib.sha256(raw).hexdigest(),
        **(
            {"stan_patch": [{"old": old, "new": new, "why": why} for old, new, why in PATCHES[args.model]]}
            if args.model in PATCHES
            else {}
        ),
        "points": points,
    }
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    print(f"wrote {output}: {len(points)} points, {dim} coordinates ({', '.join(params)})")

    if args.rlc:
        compare_with_rlc(args.rlc, args.model, data_file, points, rlc_only)

if __name__ == "__main__":
    main()
