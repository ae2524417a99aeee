"""The LBA's log density and gradient at ordinary and extreme points, computed with
60-digit arithmetic (mpmath), where the textbook formulas keep their digits: writes
lba_reference.json, read by crates/driver/tests/lba.rs.

    python3 tests/lba/lba_reference.py

The density is hBayesDM's `lba_lpdf` without its floor (Brown & Heathcote 2008): for a
response `k` at time `rt`, with `t = rt - tau` and `b = A + d`, accumulator k's
finishing-time density times every other accumulator's survivor, over the probability
that some drift is positive, `1 - prod_j Phi(-v_j / s)`; 0 (log -inf) where `t <= 0`.
The gradient is in (d, A, v_1, ..., v_K, s, tau), by mpmath's differentiation at 60
digits. Each case says what it probes.
"""

import json
import os

from mpmath import mp, mpf, ncdf, npdf, log, diff

mp.dps = 60


def lba_lpdf(rt, d, A, v, s, tau, k):
    t = rt - tau
    if t <= 0:
        return None
    b = A + d
    sigma = t * s

    def z(vj):
        return (b - A - t * vj) / sigma, (b - t * vj) / sigma

    # Differences of Phi and of Psi(x) = x Phi(x) + phi(x) from the tails beyond each
    # end (which mpmath computes to 60 significant digits however small), not from
    # values near 1, whose difference 60 digits cannot hold once z passes about 16.
    def phi_difference(lo, hi):
        if lo > 0:
            return ncdf(-lo) - ncdf(-hi)
        return ncdf(hi) - ncdf(lo)

    def psi_difference(lo, hi):
        if lo > 0:
            # Psi(x) = x - x Phi(-x) + phi(x)
            return (hi - lo) - hi * ncdf(-hi) + npdf(hi) + lo * ncdf(-lo) - npdf(lo)
        return hi * ncdf(hi) + npdf(hi) - lo * ncdf(lo) - npdf(lo)

    def pdf(vj):
        lo, hi = z(vj)
        return (vj * phi_difference(lo, hi) + s * (npdf(lo) - npdf(hi))) / A

    def survivor(vj):
        lo, hi = z(vj)
        return sigma / A * psi_difference(lo, hi)

    lp = log(pdf(v[k]))
    for j, vj in enumerate(v):
        if j != k:
            lp += log(survivor(vj))
    negative = mpf(1)
    for vj in v:
        negative *= ncdf(-vj / s)
    return lp - log(1 - negative)


CASES = [
    # label, rt, d, A, v, s, tau, response
    ("typical, first option", 0.8, 0.6, 0.5, [2.5, 1.0], 1.0, 0.15, 0),
    ("typical, second option", 0.8, 0.6, 0.5, [2.5, 1.0], 1.0, 0.15, 1),
    ("three options, s = 0.5", 0.45, 1.2, 0.8, [3.0, 2.2, 0.5], 0.5, 0.2, 2),
    ("just after tau: the density's far tail (z near 60)", 0.31, 0.6, 0.5, [2.5, 1.0], 1.0, 0.3, 0),
    ("very just after tau (z near 300)", 0.302, 0.6, 0.5, [2.5, 1.0], 1.0, 0.3, 1),
    ("late: drifts of 40 sds, survivors far below 1e-300", 1.2, 0.5, 0.5, [40.0, 39.0], 1.0, 0.2, 0),
    ("late and slow", 30.0, 1.0, 0.5, [3.0, 2.0], 1.0, 0.2, 1),
    ("long after: z near -27, a narrow start range", 100.0, 0.6, 0.5, [8.0, 7.5], 0.3, 0.2, 0),
    ("a negative drift chosen", 1.5, 0.6, 0.5, [-1.0, 0.5], 1.0, 0.2, 0),
    ("all drifts negative", 2.0, 0.4, 0.6, [-5.0, -6.0], 1.0, 0.1, 1),
    ("a tiny start range A = 1e-6", 0.7, 0.8, 1e-6, [2.0, 1.5], 1.0, 0.2, 0),
    ("a wide start range, d tiny", 0.5, 1e-4, 3.0, [4.0, 2.0], 1.0, 0.1, 1),
    ("large s", 0.9, 0.6, 0.5, [2.0, 1.0], 50.0, 0.15, 0),
    ("small s", 0.9, 0.6, 0.5, [2.0, 1.9], 0.05, 0.15, 1),
    ("four options", 0.6, 0.5, 0.4, [2.0, 1.0, 3.0, 0.2], 1.0, 0.2, 3),
    ("at tau: density 0", 0.3, 0.6, 0.5, [2.5, 1.0], 1.0, 0.3, 0),
    ("below tau: density 0", 0.25, 0.6, 0.5, [2.5, 1.0], 1.0, 0.3, 0),
]


# Cases where rlc keeps fewer digits than TOLERANCE in crates/driver/tests/lba.rs, and why.
LOOSER = {
    "a tiny start range A = 1e-6": (
        1e-5,
        "over a start range of width w = A / (t s) = 2e-6, the density is a difference of"
        " two tails 2e-6 apart, kept to about 1e-10 relative; its slope in A is then the"
        " sum of two terms of size 1/A that cancel to about 1, which keeps 5 digits",
    ),
}


def main():
    cases = []
    for label, rt, d, A, v, s, tau, k in CASES:
        theta = [d, A, *v, s, tau]
        K = len(v)

        def f(*x):
            return lba_lpdf(mpf(rt), x[0], x[1], list(x[2:2 + K]), x[2 + K], x[3 + K], k)

        value = f(*[mpf(x) for x in theta])
        case = {"label": label, "rt": rt, "response": k, "accumulators": K, "theta": theta}
        if label in LOOSER:
            case["tolerance"], case["why_looser"] = LOOSER[label]
        if value is None:
            case["value"] = "-inf"
        else:
            case["value"] = float(value)
            gradient = []
            for i in range(len(theta)):
                def g(x, i=i):
                    point = [mpf(y) for y in theta]
                    point[i] = x
                    return f(*point)
                gradient.append(float(diff(g, mpf(theta[i]))))
            case["gradient"] = gradient
        cases.append(case)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lba_reference.json")
    with open(out, "w") as fh:
        json.dump({"generator": "tests/lba/lba_reference.py", "mpmath_digits": mp.dps,
                   "gradient_in": "d, A, v..., s, tau", "cases": cases}, fh, indent=1)
        fh.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
