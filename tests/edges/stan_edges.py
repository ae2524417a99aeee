"""Stan's values and gradients of every built-in function and distribution at the edges
of their domains: writes stan_edges.json, read by crates/driver/tests/edges_stan.rs.

    /work/venv-stan/bin/python tests/edges/stan_edges.py [--only SUBSTRING]

Each case is one function or distribution at one point: 0, 1, tiny (1e-300, 5e-324) and
huge (1e16, 1e300) arguments, values that round a probability to exactly 0 or 1, a
certain outcome under p = 0 or 1, and +-inf where the function has a limit there. The
case table (CASES, below) gives each case in both languages: a Stan expression and the
rlc statement that means the same, with rlc's 0-based categories translated. Real
arguments are parameters (so their gradient is recorded) unless infinite, in which case
they are data (neither Stan nor pystan takes an infinite parameter). A continuous outcome
is data, or a parameter under the distribution as its prior (the `prior` cases: Stan's
constraint transform and its log-Jacobian, as rlc's `param y ~ D(...)` has).

All cases run through ONE Stan program (generated from the table; its SHA-256 is in the
JSON), whose data select the case; `log_prob(adjust_transform=True)` and `grad_log_prob`
give the value and gradient. pystan cannot parse a non-finite number in a reply, so the
program first reports the value's class (finite, +inf, -inf, NaN) as its target, and the
value itself only when finite; a gradient that does not parse is recorded as "nonfinite"
(per component, each component found with the other arguments turned into data). Where
Stan throws (an argument outside its domain), the case records "error".

Where Stan is not right and rlc is (Stan's own rounding, e.g. pow's zero gradient at a
zero base), a case carries `math`: the exact value/gradient and why, which the test
uses instead. Where rlc is not right and the fix is not made, a case carries `rlc_known`
with the reason; the test asserts rlc's documented behaviour there.

Needs pystan 3 only to regenerate (never for the tests).
"""

import argparse
import hashlib
from importlib import metadata
import json
import math
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
INF = math.inf

# --- The case table -------------------------------------------------------------------
#
# A case: `stan` is an expression with `{a0}`, `{a1}`, ... for the real arguments, `{vec}`
# for all of them as one vector, `{k0}`, `{k1}` for integer arguments and `{y}` for a
# continuous outcome; `rlm` is the rlc statement with the same placeholders (`{vec}` is an
# array literal there).

CASES = []


def case(label, stan, rlm, args, ints=(), y=None, prior=None, rlm_ints=None, math_=None, rlc_known=None):
    """One case. `prior` = (lower, upper) of the outcome's constraint, each a float or the
    index of the real argument that is the bound, with `y` its unconstrained value."""
    c = {
        "label": label,
        "stan": stan,
        "rlm": rlm,
        "args": list(args),
        "ints": list(ints),
        "rlm_ints": list(rlm_ints if rlm_ints is not None else ints),
    }
    if y is not None:
        c["y"] = y
    if prior is not None:
        c["prior"] = list(prior)
    if math_ is not None:
        c["math"] = math_
    if rlc_known is not None:
        c["rlc_known"] = rlc_known
    CASES.append(c)


def unary(stan_name, rlm_name, points):
    for x in points:
        case(f"{rlm_name}({x!r})", f"{stan_name}({{a0}})", f"target += {rlm_name}({{a0}})", [x])


unary("exp", "exp", [0.0, 1.0, -745.0, -746.0, 709.7, 710.0, 1e-300, -INF, INF])
unary("log", "log", [1.0, 0.0, 5e-324, 1e-300, 1e300, -1.0, INF])
unary("log1p", "log1p", [0.0, 1e-300, 5e-324, -0.5, -1.0, -1.5, 1e16, 1e300, INF])
unary("expm1", "expm1", [0.0, 1e-300, 5e-324, -40.0, 709.0, 710.0, -INF, INF])
unary("sqrt", "sqrt", [1.0, 0.0, 5e-324, 1e-300, 1e300, -1.0, INF])
unary("abs", "abs", [1.0, -1.0, 0.0, -1e300, -INF])
unary("inv_logit", "logistic", [0.0, 1.0, 40.0, -40.0, 745.0, -745.0, 800.0, -800.0, -INF, INF])
unary("logit", "logit", [0.5, 0.0, 1.0, 1e-300, 5e-324, 0.9999999999999999, 1.5])
unary("Phi", "Phi", [0.0, 1.0, -5.0, -20.0, -37.0, -38.0, -40.0, 8.0, 9.0, -INF, INF])
unary("Phi_approx", "Phi_approx", [0.0, 1.0, -5.0, 5.0, -40.0, 40.0, -1e300, 1e300, -INF, INF])
unary("lgamma", "lgamma", [1.0, 2.0, 0.5, 0.0, 1e-300, 5e-324, 1e16, 1e300, -0.5, -1.0, INF])

for x, s in [
    (2.0, 0.5), (0.0, 0.0), (0.0, 2.0), (0.0, 1.0), (0.0, 0.5), (0.0, -1.0), (1.0, 1e300),
    (2.0, -1100.0), (1e300, 2.0), (1e-300, 2.0), (-8.0, 3.0), (-8.0, 1.0 / 3.0), (INF, 2.0),
    (INF, -1.0), (2.0, INF), (0.5, INF),
]:
    case(f"pow({x!r}, {s!r})", "pow({a0}, {a1})", "target += pow({a0}, {a1})", [x, s])

VECTORS = [
    [0.0, 0.0, 0.0],
    [1000.0, 0.0, -1000.0],
    [-1000.0, -1000.0, -1000.0],
    [1e300, 1e300, 0.0],
    [-INF, 0.0, 1.0],
    [-INF, -INF, 2.0],
    [INF, 0.0, 1.0],
]
for v in VECTORS:
    case(f"logsumexp({v!r})", "log_sum_exp({vec})", "target += logsumexp({vec})", v)
    for j in range(3):
        case(
            f"softmax({v!r})[{j}]",
            f"softmax({{vec}})[{j + 1}]",
            f"let s = softmax({{vec}})\ntarget += s[{j}]",
            v,
        )
        case(
            f"log_softmax({v!r})[{j}]",
            f"log_softmax({{vec}})[{j + 1}]",
            f"let s = log_softmax({{vec}})\ntarget += s[{j}]",
            v,
        )
for v in [[1.0, 2.0, 3.0], [0.0, 2.0, 3.0], [1e300, 1e300, -1.0], [-INF, 1.0, 2.0], [1e-300, 1e-300, 1e300]]:
    for stan_name, rlm_name in [("sum", "sum"), ("mean", "mean"), ("prod", "prod"), ("min", "min"), ("max", "max")]:
        case(f"{rlm_name}({v!r})", f"{stan_name}({{vec}})", f"target += {rlm_name}({{vec}})", v)
for v in [[1.0, 2.0, 3.0, 4.0], [0.0, 1e300, 1e300, 0.0], [1e-300, 1e-300, 1e300, 1e300], [INF, 1.0, 0.0, 2.0]]:
    case(
        f"dot({v[:2]!r}, {v[2:]!r})",
        "dot_product({vec}[1:2], {vec}[3:4])",
        "target += dot([{a0}, {a1}], [{a2}, {a3}])",
        v,
    )


def dist(label, stan, rlm, y, args, **kw):
    case(f"{label}(y={y!r} | {', '.join(map(repr, args))})", stan, rlm, args, y=y, **kw)


def prior(label, stan, rlm_prior, u, args, bounds, **kw):
    case(
        f"{label} prior (unconstrained {u!r} | {', '.join(map(repr, args))})",
        stan,
        f"param y ~ {rlm_prior}",
        args,
        y=u,
        prior=bounds,
        **kw,
    )


def continuous(label, stan, rlm, data_points, prior_points, bounds):
    """`stan`/`rlm`: the distribution with the outcome {y}; rlm is the right side of `~`."""
    for y, args in data_points:
        dist(label, stan, f"y ~ {rlm}", y, args)
    for u, args in prior_points:
        prior(label, stan, rlm, u, args, bounds)


REAL = (-INF, INF)
POSITIVE = (0.0, INF)
UNIT = (0.0, 1.0)

continuous(
    "Normal", "normal_lpdf({y} | {a0}, {a1})", "Normal({a0}, {a1})",
    [(0.0, [0.0, 1.0]), (1.0, [1.0, 1e-300]), (1.0, [0.0, 1e-300]), (0.0, [0.0, 1e300]),
     (1e300, [0.0, 1.0]), (1e150, [0.0, 1.0]), (0.0, [1e300, 1e300]), (0.0, [0.0, 0.0]),
     (0.0, [0.0, -1.0]), (INF, [0.0, 1.0]), (0.0, [INF, 1.0])],
    [(0.0, [0.0, 1.0]), (1e300, [0.0, 1e300]), (-1e16, [1e16, 1.0])],
    REAL,
)
HALF = "({y} < 0 ? negative_infinity() : {d}_lpdf({y} | 0, {a0}) + log2())"
continuous(
    "HalfNormal", HALF.format(y="{y}", d="normal", a0="{a0}"), "HalfNormal({a0})",
    [(1.0, [1.0]), (0.0, [1.0]), (5e-324, [1.0]), (1e300, [1.0]), (1e-300, [1e-300]),
     (1.0, [1e300]), (-1.0, [1.0]), (1.0, [0.0]), (INF, [1.0])],
    [(0.0, [1.0]), (-745.0, [1.0]), (700.0, [1e300]), (-700.0, [1e-300])],
    POSITIVE,
)
continuous(
    "StudentT", "student_t_lpdf({y} | {a0}, {a1}, {a2})", "StudentT({a0}, {a1}, {a2})",
    [(0.5, [3.0, 0.0, 1.0]), (0.5, [1e300, 0.0, 1.0]), (0.5, [1e16, 0.0, 1.0]), (0.5, [1e-300, 0.0, 1.0]),
     (1e300, [1.0, 0.0, 1.0]), (1e200, [3.0, 0.0, 1.0]), (0.0, [3.0, 0.0, 1e-300]),
     (0.0, [3.0, 0.0, 1e300]), (0.0, [0.0, 0.0, 1.0]), (0.0, [INF, 0.0, 1.0]), (INF, [3.0, 0.0, 1.0])],
    [(0.0, [3.0, 0.0, 1.0]), (1e300, [1.0, 0.0, 1.0])],
    REAL,
)
continuous(
    "Cauchy", "cauchy_lpdf({y} | {a0}, {a1})", "Cauchy({a0}, {a1})",
    [(0.0, [0.0, 1.0]), (1e300, [0.0, 1.0]), (1e200, [0.0, 1.0]), (1.0, [1.0, 1e-300]),
     (0.0, [0.0, 1e300]), (0.0, [0.0, 0.0]), (INF, [0.0, 1.0])],
    [(0.0, [0.0, 1.0]), (1e300, [0.0, 1.0])],
    REAL,
)
continuous(
    "HalfCauchy", HALF.format(y="{y}", d="cauchy", a0="{a0}"), "HalfCauchy({a0})",
    [(1.0, [1.0]), (0.0, [1.0]), (5e-324, [1.0]), (1e300, [1.0]), (1e-300, [1e-300]), (-1.0, [1.0])],
    [(0.0, [1.0]), (-745.0, [1.0]), (700.0, [1.0])],
    POSITIVE,
)
continuous(
    "LogNormal", "lognormal_lpdf({y} | {a0}, {a1})", "LogNormal({a0}, {a1})",
    [(1.0, [0.0, 1.0]), (0.0, [0.0, 1.0]), (5e-324, [0.0, 1.0]), (1e300, [0.0, 1.0]),
     (1.0, [0.0, 1e-300]), (2.0, [0.0, 1e300]), (-1.0, [0.0, 1.0]), (INF, [0.0, 1.0])],
    [(0.0, [0.0, 1.0]), (-745.0, [0.0, 1.0]), (700.0, [0.0, 1.0])],
    POSITIVE,
)
continuous(
    "Exponential", "exponential_lpdf({y} | {a0})", "Exponential({a0})",
    [(1.0, [1.0]), (0.0, [1.0]), (0.0, [1e300]), (1e-300, [1e300]), (1e300, [1e-300]),
     (1e300, [1.0]), (-1.0, [1.0]), (1.0, [0.0]), (INF, [1.0])],
    [(0.0, [1.0]), (-745.0, [1.0]), (690.0, [1e-300])],
    POSITIVE,
)
continuous(
    "Gamma", "gamma_lpdf({y} | {a0}, {a1})", "Gamma({a0}, {a1})",
    [(1.0, [2.0, 1.0]), (0.0, [1.0, 2.0]), (0.0, [2.0, 1.0]), (0.0, [0.5, 1.0]),
     (1e-300, [0.5, 1.0]), (1e300, [2.0, 1e-300]), (1.0, [1e-300, 1.0]), (1.0, [1e300, 1e300]),
     (1.0, [1e16, 1e16]), (-1.0, [2.0, 1.0]), (INF, [2.0, 1.0])],
    [(0.0, [2.0, 1.0]), (-745.0, [1.0, 1.0]), (-700.0, [0.5, 1.0])],
    POSITIVE,
)
continuous(
    "InverseGamma", "inv_gamma_lpdf({y} | {a0}, {a1})", "InverseGamma({a0}, {a1})",
    [(1.0, [2.0, 1.0]), (0.0, [2.0, 1.0]), (1e-300, [2.0, 1.0]), (5e-324, [2.0, 1.0]),
     (1e300, [2.0, 1.0]), (1.0, [1e-300, 1e-300]), (-1.0, [2.0, 1.0]), (INF, [2.0, 1.0])],
    [(0.0, [2.0, 1.0]), (-690.0, [2.0, 1e-300]), (700.0, [1.0, 1.0])],
    POSITIVE,
)
continuous(
    "Beta", "beta_lpdf({y} | {a0}, {a1})", "Beta({a0}, {a1})",
    [(0.5, [2.0, 2.0]), (0.0, [1.0, 2.0]), (1.0, [2.0, 1.0]), (0.0, [2.0, 2.0]), (1.0, [2.0, 2.0]),
     (0.0, [0.5, 0.5]), (5e-324, [1.0, 1.0]), (1e-300, [0.5, 2.0]), (0.9999999999999999, [2.0, 0.5]),
     (0.5, [1e-300, 1e-300]), (0.5, [1e16, 1e16]), (0.5, [1e300, 1e300]), (0.3, [1e16, 1.0]),
     (-0.5, [2.0, 2.0]), (1.5, [2.0, 2.0])],
    [(0.0, [2.0, 2.0]), (40.0, [2.0, 2.0]), (-40.0, [2.0, 2.0]), (40.0, [2.0, 1.0]), (-800.0, [1.0, 1.0]),
     (-740.0, [0.5, 1.0])],
    UNIT,
)
continuous(
    "Uniform", "uniform_lpdf({y} | {a0}, {a1})", "Uniform({a0}, {a1})",
    [(0.5, [0.0, 1.0]), (0.0, [0.0, 1.0]), (1.0, [0.0, 1.0]), (-1.0, [0.0, 1.0]), (2.0, [0.0, 1.0]),
     (0.5, [0.0, 1e300]), (0.0, [-1e300, 1e300]), (1e-300, [0.0, 2e-300]), (0.5, [1.0, 0.0])],
    [],
    UNIT,
)
for u, args in [(0.0, [0.0, 1.0]), (40.0, [0.0, 1.0]), (-800.0, [0.0, 1.0]), (0.0, [-1e300, 1e300]), (0.0, [1.0, 1.0 + 2**-52])]:
    prior("Uniform", "uniform_lpdf({y} | {a0}, {a1})", "Uniform({a0}, {a1})", u, args, (0, 1))

# Discrete outcomes: `{k0}` is the outcome, `{k1}` Binomial's n.
for k, p in [(1, 0.3), (0, 0.0), (1, 1.0), (1, 0.0), (0, 1.0), (1, 1e-300), (0, 0.9999999999999999),
             (1, 5e-324), (0, -0.5), (1, 1.5)]:
    case(f"Bernoulli(k={k} | p={p!r})", "bernoulli_lpmf({k0} | {a0})", "k0 ~ Bernoulli(p = {a0})", [p], ints=[k])
for k, l in [(1, 0.0), (1, 40.0), (0, 40.0), (1, -40.0), (0, -40.0), (1, 800.0), (0, 800.0), (1, -800.0),
             (0, -800.0), (1, 1e300), (0, 1e300), (1, -1e300), (1, INF), (0, INF), (1, -INF)]:
    case(f"Bernoulli(k={k} | logits={l!r})", "bernoulli_logit_lpmf({k0} | {a0})", "k0 ~ Bernoulli(logits = {a0})", [l], ints=[k])
for k, n, p in [(3, 10, 0.3), (0, 10, 0.0), (10, 10, 1.0), (0, 10, 1.0), (3, 10, 0.0), (0, 0, 0.5), (0, 0, 0.0),
                (1, 10, 1e-300), (0, 1000000000, 1e-300), (500000000, 1000000000, 0.5), (11, 10, 0.5),
                (-1, 10, 0.5), (3, 10, 1.5)]:
    case(f"Binomial(k={k} | n={n}, p={p!r})", "binomial_lpmf({k0} | {k1}, {a0})", "k0 ~ Binomial(k1, p = {a0})", [p], ints=[k, n])
for k, n, l in [(3, 10, 0.0), (0, 10, -40.0), (10, 10, 40.0), (0, 10, 800.0), (10, 10, -800.0), (0, 0, 3.0),
                (5, 10, 1e300), (10, 10, 1e300), (0, 10, -1e300), (0, 10, -INF), (10, 10, INF)]:
    case(f"Binomial(k={k} | n={n}, logits={l!r})", "binomial_logit_lpmf({k0} | {k1}, {a0})",
         "k0 ~ Binomial(k1, logits = {a0})", [l], ints=[k, n])
for k, rate in [(3, 2.0), (0, 0.0), (1, 0.0), (0, 1e-300), (3, 1e-300), (0, 1e300), (1000000000, 1e9),
                (2, -1.0), (0, INF)]:
    case(f"Poisson(k={k} | rate={rate!r})", "poisson_lpmf({k0} | {a0})", "k0 ~ Poisson(rate = {a0})", [rate], ints=[k])
for k, a in [(3, 0.0), (0, -1000.0), (1, -1000.0), (0, 700.0), (0, 710.0), (1000000000, 20.7232658369464),
             (0, -INF), (1, -INF), (0, 1e300)]:
    case(f"Poisson(k={k} | log_rate={a!r})", "poisson_log_lpmf({k0} | {a0})", "k0 ~ Poisson(log_rate = {a0})", [a], ints=[k])
for k, p in [(1, [0.2, 0.3, 0.5]), (3, [0.0, 0.0, 1.0]), (1, [0.0, 0.0, 1.0]), (1, [1e-300, 0.5, 0.5]),
             (2, [1.0, 0.0, 0.0]), (1, [0.5, 0.6, 0.5]), (1, [-0.5, 1.0, 0.5]), (4, [0.2, 0.3, 0.5])]:
    case(f"Categorical(k={k - 1} | p={p!r})", "categorical_lpmf({k0} | {vec})", "k0 ~ Categorical(p = {vec})",
         p, ints=[k], rlm_ints=[k - 1])
for k, l in [(1, [0.0, 0.0, 0.0]), (1, [1000.0, 0.0, -1000.0]), (3, [1000.0, 0.0, -1000.0]),
             (2, [1e300, 1e300, 0.0]), (3, [1e300, 1e300, 0.0]), (2, [-INF, 0.0, 1.0]), (1, [-INF, 0.0, 1.0])]:
    case(f"Categorical(k={k - 1} | logits={l!r})", "categorical_logit_lpmf({k0} | {vec})",
         "k0 ~ Categorical(logits = {vec})", l, ints=[k], rlm_ints=[k - 1])

WIENER = "wiener_lpdf({y} | {a0}, {a1}, {a2}, {a3})"
continuous(
    "Wiener", WIENER, "Wiener({a0}, {a1}, {a2}, {a3})",
    [(0.6, [1.5, 0.2, 0.5, 0.5]), (0.2, [1.5, 0.2, 0.5, 0.5]), (0.1, [1.5, 0.2, 0.5, 0.5]),
     (0.2000001, [1.5, 0.2, 0.5, 0.5]), (0.21, [1.5, 0.2, 0.5, 0.5]), (30.0, [1.5, 0.2, 0.5, 0.5]),
     (0.6, [1.5, 0.2, 1e-10, 0.5]), (0.6, [1.5, 0.2, 0.9999999999, 0.5]), (0.6, [1.5, 0.2, 0.5, 20.0]),
     (0.6, [1.5, 0.2, 0.5, -20.0]), (0.6, [0.01, 0.2, 0.5, 0.5]), (5.0, [10.0, 0.2, 0.5, 0.0]),
     (0.6, [1.5, 0.0, 0.5, 0.5]), (0.6, [1.5, 0.2, 0.0, 0.5]), (0.6, [1.5, 0.2, 1.0, 0.5]),
     (0.6, [0.0, 0.2, 0.5, 0.5]), (0.6, [1.5, -0.1, 0.5, 0.5])],
    [(0.0, [1.5, 0.2, 0.5, 0.5]), (-10.0, [1.5, 0.2, 0.5, 0.5]), (3.0, [1.5, 0.2, 0.5, 0.5])],
    (1, INF),
)


# The functions and distributions added since the table's first run (2026-12-05).
PI = math.pi
unary("std_normal_lcdf", "log_Phi", [0.0, 1.0, -5.0, -20.0, -37.0, -38.0, -40.0, -1000.0, -1e10, 8.0, 9.0, 40.0,
                                     1e300, -INF, INF])
unary("inv_Phi", "inv_Phi", [0.5, 0.975, 0.0, 1.0, 1e-10, 1e-300, 5e-324, 0.9999999999999999, 1.0 - 1e-10, -0.5, 1.5])
unary("sin", "sin", [0.0, 1.0, PI, -PI / 2, 1e16, 1e300, INF])
unary("cos", "cos", [0.0, 1.0, PI, PI / 2, 1e16, 1e300, -INF])
unary("tanh", "tanh", [0.0, 1.0, -1.0, 20.0, -20.0, 40.0, 710.0, -1e300, INF, -INF])
for y, x in [(0.0, 1.0), (1.0, 0.0), (0.0, -1.0), (1.0, -1.0), (-1.0, -1.0), (1e300, 1e300), (1e-300, 1e-300),
             (1.0, 1e300), (1e300, 1.0), (INF, 1.0), (1.0, INF), (1.0, -INF)]:
    case(f"atan2({y!r}, {x!r})", "atan2({a0}, {a1})", "target += atan2({a0}, {a1})", [y, x])

continuous(
    "Weibull", "weibull_lpdf({y} | {a0}, {a1})", "Weibull({a0}, {a1})",
    [(1.0, [2.0, 1.0]), (0.0, [1.0, 1.0]), (0.0, [2.0, 1.0]), (0.0, [0.5, 1.0]), (1e-300, [0.5, 1.0]),
     (1e300, [2.0, 1.0]), (1e300, [0.5, 1.0]), (1.0, [1e-300, 1.0]), (1.0, [1e300, 1.0]), (2.0, [1e300, 1.0]),
     (1.0, [2.0, 1e-300]), (1.0, [2.0, 1e300]), (-1.0, [2.0, 1.0]), (1.0, [0.0, 1.0]), (INF, [2.0, 1.0])],
    [(0.0, [2.0, 1.0]), (-745.0, [1.0, 1.0]), (700.0, [0.5, 1.0])],
    POSITIVE,
)
continuous(
    "VonMises", "von_mises_lpdf({y} | {a0}, {a1})", "VonMises({a0}, {a1})",
    [(0.0, [0.0, 1.0]), (PI, [0.0, 1.0]), (1.0, [0.0, 1e-300]), (1.0, [0.0, 1e-10]), (0.5, [0.0, 30.0]),
     (0.5, [0.0, 700.0]), (0.5, [0.0, 710.0]), (0.0, [0.0, 1e300]), (0.001, [0.0, 1e10]), (7.0, [0.0, 2.0]),
     (-7.0, [1.0, 2.0]), (1e16, [0.0, 1.0]), (0.0, [0.0, 0.0]), (0.0, [0.0, -1.0]), (INF, [0.0, 1.0])],
    [(0.0, [0.0, 1.0]), (40.0, [0.0, 1.0]), (-40.0, [1.0, 5.0])],
    (-PI, PI),
)
continuous(
    "ExGaussian", "exp_mod_normal_lpdf({y} | {a0}, {a1}, {a2})", "ExGaussian({a0}, {a1}, {a2})",
    [(0.0, [0.0, 1.0, 1.0]), (5.0, [0.0, 1.0, 1.0]), (-5.0, [0.0, 1.0, 1.0]), (-40.0, [0.0, 1.0, 1.0]),
     (1e300, [0.0, 1.0, 1.0]), (0.5, [0.0, 1e-300, 1.0]), (0.0, [0.0, 1.0, 1e-300]), (0.0, [0.0, 1.0, 1e300]),
     (1.0, [0.0, 1e-3, 1000.0]), (0.5, [0.0, 0.1, 20.0]), (0.0, [0.0, 100.0, 100.0]), (0.0, [0.0, 0.0, 1.0]),
     (0.0, [0.0, 1.0, 0.0]), (INF, [0.0, 1.0, 1.0]), (-INF, [0.0, 1.0, 1.0])],
    [(0.0, [0.0, 1.0, 1.0]), (1e16, [0.0, 1.0, 1.0])],
    REAL,
)
continuous(
    "SkewNormal", "skew_normal_lpdf({y} | {a0}, {a1}, {a2})", "SkewNormal({a0}, {a1}, {a2})",
    [(0.0, [0.0, 1.0, 0.0]), (1.0, [0.0, 1.0, 3.0]), (-1.0, [0.0, 1.0, 3.0]), (-10.0, [0.0, 1.0, 5.0]),
     (-40.0, [0.0, 1.0, 1.0]), (0.0, [0.0, 1e-300, 1.0]), (1e-300, [0.0, 1e-300, 1.0]), (0.0, [0.0, 1e300, 1.0]),
     (1.0, [0.0, 1.0, 1e300]), (-1.0, [0.0, 1.0, 1e16]), (1e300, [0.0, 1.0, 1.0]), (0.0, [0.0, 0.0, 1.0]),
     (INF, [0.0, 1.0, 1.0])],
    [(0.0, [0.0, 1.0, 2.0]), (-1e16, [0.0, 1.0, -2.0])],
    REAL,
)
continuous(
    "Logistic", "logistic_lpdf({y} | {a0}, {a1})", "Logistic({a0}, {a1})",
    [(0.0, [0.0, 1.0]), (40.0, [0.0, 1.0]), (-40.0, [0.0, 1.0]), (800.0, [0.0, 1.0]), (-800.0, [0.0, 1.0]),
     (1e300, [0.0, 1.0]), (0.0, [0.0, 1e-300]), (1.0, [0.0, 1e-300]), (0.0, [0.0, 1e300]), (0.0, [0.0, 0.0]),
     (INF, [0.0, 1.0])],
    [(0.0, [0.0, 1.0]), (1e300, [0.0, 1.0])],
    REAL,
)
continuous(
    "Laplace", "double_exponential_lpdf({y} | {a0}, {a1})", "Laplace({a0}, {a1})",
    [(0.0, [0.0, 1.0]), (1.0, [0.0, 1.0]), (-1.0, [0.0, 1.0]), (1e300, [0.0, 1.0]), (0.0, [0.0, 1e-300]),
     (1.0, [0.0, 1e-300]), (0.0, [0.0, 1e300]), (0.0, [0.0, 0.0]), (INF, [0.0, 1.0])],
    [(0.5, [0.0, 1.0]), (1e300, [0.0, 1.0])],
    REAL,
)
continuous(
    "Gumbel", "gumbel_lpdf({y} | {a0}, {a1})", "Gumbel({a0}, {a1})",
    [(0.0, [0.0, 1.0]), (-40.0, [0.0, 1.0]), (-800.0, [0.0, 1.0]), (800.0, [0.0, 1.0]), (1e300, [0.0, 1.0]),
     (0.0, [0.0, 1e-300]), (1.0, [0.0, 1e-300]), (0.0, [0.0, 1e300]), (0.0, [0.0, 0.0]), (INF, [0.0, 1.0])],
    [(0.0, [0.0, 1.0]), (-1e16, [0.0, 1.0])],
    REAL,
)
for k, n, a, b in [(3, 10, 2.0, 3.0), (0, 10, 1e-300, 1.0), (10, 10, 1.0, 1e-300), (0, 0, 2.0, 3.0),
                   (5, 10, 1e16, 1e16), (5, 10, 1e300, 1e300), (0, 10, 1.0, 1e300), (3, 1000000000, 2.0, 3.0),
                   (11, 10, 2.0, 3.0), (-1, 10, 2.0, 3.0), (3, 10, 0.0, 3.0), (3, 10, 2.0, -1.0)]:
    case(f"BetaBinomial(k={k} | n={n}, {a!r}, {b!r})", "beta_binomial_lpmf({k0} | {k1}, {a0}, {a1})",
         "k0 ~ BetaBinomial(k1, {a0}, {a1})", [a, b], ints=[k, n])
for k, mu, phi in [(3, 2.0, 1.0), (0, 1e-300, 1.0), (0, 2.0, 1e-300), (3, 2.0, 1e-300), (0, 2.0, 1e300),
                   (3, 2.0, 1e300), (3, 2.0, 1e16), (0, 1e300, 1.0), (1000000000, 1e9, 1.0), (3, 1e-300, 1e300),
                   (-1, 2.0, 1.0), (3, 0.0, 1.0), (3, 2.0, 0.0), (3, INF, 1.0)]:
    case(f"NegativeBinomial(k={k} | {mu!r}, {phi!r})", "neg_binomial_2_lpmf({k0} | {a0}, {a1})",
         "k0 ~ NegativeBinomial({a0}, {a1})", [mu, phi], ints=[k])
for k, eta, c in [(1, 0.0, [-1.0, 1.0]), (2, 0.0, [-1.0, 1.0]), (3, 0.0, [-1.0, 1.0]), (1, 40.0, [-1.0, 1.0]),
                  (3, -40.0, [-1.0, 1.0]), (1, 800.0, [-1.0, 1.0]), (3, -800.0, [-1.0, 1.0]),
                  (2, 800.0, [-1.0, 1.0]), (2, 0.0, [-1e-10, 1e-10]), (2, 0.0, [-1e300, 1e300]),
                  (2, 1e300, [-1.0, 1.0]), (1, 0.0, [1.0, -1.0]), (4, 0.0, [-1.0, 1.0]), (0, 0.0, [-1.0, 1.0]),
                  (3, INF, [-1.0, 1.0])]:
    case(f"OrderedLogistic(k={k - 1} | {eta!r}, {c!r})", "ordered_logistic_lpmf({k0} | {a0}, {vec}[2:3])",
         "k0 ~ OrderedLogistic({a0}, [{a1}, {a2}])", [eta] + c, ints=[k], rlm_ints=[k - 1])


# --- Where Stan is not the reference ---------------------------------------------------
#
# `math`: Stan's value or gradient is off and rlc's is right (checked by hand from the
# formula given in `why`); the test compares rlc with these. `rlc_known`: rlc is off (or
# differs by design) and the fix is not made; the test asserts rlc's value so that a change
# is seen. "nonfinite" is a gradient element that overflows (or is infinite).

# Not here: sqrt(0.0) and pow(0.0, 0.5), whose slope in x is +inf at 0. rlc takes it as 0,
# as Stan does: a base that is 0 is mostly a product with a datum of 0 (`pow(r * delay, s)`
# at a delay of 0), which does not depend on r, and inf * 0 would make r's gradient NaN.
MATH = {
    "pow(0.0, 0.0)": ([1.0, [0.0, "nonfinite"]], "x^0 = 1 has no slope in x; in y, 0^y drops from 1 to 0: -inf from the right (Stan skips the gradient at a zero base)"),
    "abs(0.0)": ([0.0, [1.0]], "by design: any value in [-1, 1] is a subgradient of |x| at 0; rlc takes the right derivative (Stan 0)"),
    "pow(0.0, 1.0)": ([0.0, [1.0, 0.0]], "d x^1/dx = 1 (Stan skips the gradient at a zero base)"),
    "pow(1e-300, 2.0)": ([0.0, [2e-300, 0.0]], "d x^2/dx = 2x = 2e-300 (Stan's pow(x, y) y / x is 0 once x^2 underflows)"),
    "pow(inf, -1.0)": ([0.0, [0.0]], "d x^y/dy = x^y log x, whose limit at x = inf, y = -1 is 0 (Stan: NaN)"),
    "logsumexp([1e+300, 1e+300, 0.0])": ([1e300, [0.5, 0.5, 0.0]], "the gradient is the softmax, [1/2, 1/2, 0]; Stan's [1, 1, 0] sums to 2"),
    "max([1e+300, 1e+300, -1.0])": ([1e300, [0.5, 0.5, 0.0]], "by design: at a tie rlc splits the adjoint among the maxima (crates/driver/tests/edges.rs); Stan gives it to the first"),
    "min([1e-300, 1e-300, 1e+300])": ([1e-300, [0.5, 0.5, 0.0]], "by design: at a tie rlc splits the adjoint among the minima; Stan gives it to the first"),
    "HalfNormal(y=1e-300 | 1e-300)": ([690.0497365455689, [0.0]], "d/dsigma = -1/sigma + y^2/sigma^3 = 0 at y = sigma (Stan: -1.5e284)"),
    "StudentT(y=0.5 | 1e+16, 0.0, 1.0)": ([-1.0439385332046727, [0.0, 0.5, -0.75]], "nu past 1e15: lgamma((nu+1)/2) - lgamma(nu/2) - log(nu)/2 cancels (Stan's value is off by 18.1); the density is the normal limit, -log(2 pi)/2 - z^2/2 = -1.0439385332046727, with slopes 0 in nu, z/sigma = 0.5 in mu and (z^2 - 1)/sigma = -0.75 in sigma"),
    "StudentT(y=0.5 | 1e+300, 0.0, 1.0)": ([-1.0439385332046727, [0.0, 0.5, -0.75]], "nu past 1e15: lgamma((nu+1)/2) - lgamma(nu/2) - log(nu)/2 cancels (Stan's value is off by 345.0); the density is the normal limit, -log(2 pi)/2 - z^2/2 = -1.0439385332046727, with slopes 0 in nu, z/sigma = 0.5 in mu and (z^2 - 1)/sigma = -0.75 in sigma"),
    "StudentT(y=0.0 | 3.0, 0.0, 1e-300)": ([689.7746390485902, [0.026480513893278657, 0.0, -1e300]], "z = 0: d/dmu = (nu+1) z / (sigma (nu + z^2)) = 0 (Stan overflows)"),
    "Cauchy(y=1.0 | 1.0, 1e-300)": ([689.6307980123643, [0.0, -1e300]], "z = 0: d/dmu = 0, d/dsigma = -1/sigma (Stan overflows)"),
    "Cauchy(y=0.0 | 0.0, 1e+300)": ([-691.9202577840631, [0.0, -1e-300]], "z = 0: d/dsigma = -1/sigma = -1e-300 (Stan overflows)"),
    "HalfCauchy(y=1e-300 | 1e-300)": ([689.6307980123643, [0.0]], "z = 1: d/dsigma = -1/sigma + 2 z^2 / (sigma (1 + z^2)) = 0 (Stan overflows)"),
    "LogNormal(y=1.0 | 0.0, 1e-300)": ([-math.log(1e-300) - 0.5 * math.log(2 * math.pi), [0.0, -1e300]], "log y = mu: the density is 1 / (sigma sqrt(2 pi)); d/dmu = 0, d/dsigma = -1/sigma (Stan: 0 / 0)"),
    "Bernoulli(k=1 | logits=40.0)": ([-4.248354255291589e-18, [4.248354255291589e-18]], "d log logistic(l)/dl = logistic(-l) > 0 (Stan's sign is wrong at this size)"),
    "Binomial(k=10 | n=10, logits=40.0)": ([-4.248354255291589e-17, [4.248354255291589e-17]], "d/dl = k - n logistic(l) = n logistic(-l) (Stan: 0)"),
    "Binomial(k=0 | n=10, logits=-inf)": ([0.0, []], "the limit, a certain outcome, as Bernoulli(logits = -inf) gives (Stan requires finite logits here but not in bernoulli_logit)"),
    "Binomial(k=10 | n=10, logits=inf)": ([0.0, []], "the limit, a certain outcome, as Bernoulli(logits = inf) gives"),
    "Poisson(k=0 | rate=0.0)": ([0.0, [-1.0]], "0 log(rate) - rate has the slope -1 (0 log 0 = 0 for every rate; Stan: inf)"),
    "Categorical(k=1 | logits=[-inf, 0.0, 1.0])": ([-1.3132616875182228, [0.7310585786300049, -0.7310585786300049]], "a logit of -inf is a category of probability 0 (a masked option); rlc takes it, Stan requires finite logits"),
    "Wiener(y=0.2000001 | 1.5, 0.2, 0.5, 0.5)": ([-2812476.6551768915, [-3749999.084266334, -28124985013994.875, 11249997.252799, 0.74999995]], "40-digit series (crates/random/tests/data/wiener_reference.py, derivatives by mpmath.diff): tiny but not 0 (Stan underflows to -inf)"),
    "Wiener(y=0.6 | 0.01, 0.2, 0.5, 0.5)": ([-19728.90123192089, [3947642.010435743, 49348.14700544679, -0.005, -0.19499999999999998]], "40-digit series, as above (Stan: -inf)"),
    "Wiener(y=0.6 | 1.5, 0.0, 0.5, 0.5)": ([-0.682227949347155, [0.6701348871914613, 2.3168352756559933, -0.5074961524476058, 0.45]], "tau = 0 is allowed (no non-decision time; rlc's range for tau is >= 0, Stan's > 0); 40-digit series"),
    "Wiener(y=0.6 | 1.5, 0.2, 0.0, 0.5)": (["-inf", None], "beta = 0 starts the process on the lower boundary: it never reaches the upper one (Stan returns a finite number)"),
    "Wiener prior (unconstrained -10.0 | 1.5, 0.2, 0.5, 0.5)": ([-6190.775131069233, [-8259.00800638478, 0.0, 24777.02401915434, 0.7499773000351188, 6194.44349911279]], "y = tau + e^-10: 40-digit series plus the log-Jacobian (Stan: -inf)"),
    # The cases added on 2026-12-05 (values by mpmath at 60 digits, 1000 where psi(1e-300) enters).
    **{
        f"log_Phi({x!r})": (
            [v, [g]],
            "d log Phi(x)/dx = phi(x) / Phi(x) (mpmath); Stan's std_normal_lcdf gradient is off by up to 1e-5 relative, by 46% at x = -1000",
        )
        for x, v, g in [
            (1.0, -0.17275377902344988, 0.2875999709391784),
            (-5.0, -15.064998393988725, 5.186503967125842),
            (-20.0, -203.91715537109727, 20.04975306852785),
            (-37.0, -689.0305855768906, 37.02698768612699),
            (-38.0, -726.5572160188201, 38.02627946657587),
            (-40.0, -804.6084420137538, 40.02496884720726),
            (-1000.0, -500007.82669481216, 1000.000999998),
            (-1e10, -5e19, 1e10),
        ]
    },
    "inv_Phi(5e-324)": ([-38.467405617144344, ["nonfinite"]], "Phi(-38.4674...) is 5e-324, the smallest double (mpmath; Stan: -inf); the slope 1/phi(x) overflows"),
    "inv_Phi(0.9999999999999999)": ([8.209536151601387, [1081559575103678.6]], "1 - p = 2^-53 exactly: mpmath's quantile (Stan's 8.2010 loses the tail's digits)"),
    "inv_Phi(0.9999999999)": ([6.361340889697422, [1535723574.0619514]], "mpmath's quantile of the double nearest 0.9999999999, and its slope 1/phi(x)"),
    "VonMises(y=0.0 | 0.0, 1e+300)": ([344.4688254159022, [0.0, 5e-301]], "log I0(k) = k - log(2 pi k)/2 + O(1/k): the value is log(k / (2 pi))/2, and d/dk = 1 - I1(k)/I0(k) = 1/(2k) (Stan: 0)"),
    "ExGaussian(y=-40.0 | 0.0, 1.0, 1.0)": ([-804.6331046017746, [-40.02436131110692, 1600.9500911331697, 0.9756386888930811]], "mpmath (Stan's exp_mod_normal underflows to -inf)"),
    "ExGaussian(y=0.0 | 0.0, 100.0, 100.0)": ([-5.524108729192764, [-9.99999980000001e-07, -0.00999999980000001, 1.9999999000000074e-10]], "mpmath: lambda * sigma = 1e4, nearly the normal (Stan: -inf)"),
    "SkewNormal(y=-10.0 | 0.0, 1.0, 5.0)": ([-1305.0571524920647, [-260.0999201595282, 2599.999201595282, -500.1998403190564]], "log Phi(-50) is finite (mpmath; Stan's log(erfc) underflows to -inf)"),
    "SkewNormal(y=-40.0 | 0.0, 1.0, 1.0)": ([-1604.8342333663986, [-80.02496884720726, 3199.9987538882906, -1600.9987538882906]], "as SkewNormal(y=-10 | 0, 1, 5)"),
    "SkewNormal(y=-1.0 | 0.0, 1.0, 1e+16)": ([-5e31, [-1e32, 1e32, -1e16]], "log Phi(-1e16) = -5e31 (mpmath; Stan: -inf)"),
    "BetaBinomial(k=5 | n=10, 1e+16, 1e+16)": ([-1.4020427180880297, [0.0, 0.0]], "as the shapes grow the beta-binomial is the binomial(10, 1/2): log(252 / 1024) (mpmath; Stan's lbeta difference loses it)"),
    "BetaBinomial(k=5 | n=10, 1e+300, 1e+300)": ([-1.4020427180880297, [0.0, 0.0]], "as BetaBinomial(k=5 | n=10, 1e16, 1e16)"),
    "BetaBinomial(k=0 | n=10, 1e-300, 1.0)": ([0.0, [-2.9289682539682538, 1.5497677311665407e-300]], "d/dalpha = psi(1 + alpha) - psi(11 + alpha) = -2.93 (mpmath at 1000 digits; the value, -2.9e-300, is below what lgamma(11) - lgamma(11 + alpha) can carry, and is taken as 0); Stan's 0 is psi(alpha) = -1e300 entering twice and absorbing the rest (rlc's was too, until lgamma(y + x) - lgamma(x) became 0 at y = 0 with no slope)"),
    "BetaBinomial(k=10 | n=10, 1.0, 1e-300)": ([0.0, [1.5497677311665407e-300, -2.9289682539682538]], "as BetaBinomial(k=0 | n=10, 1e-300, 1), mirrored"),
    "NegativeBinomial(k=0 | 2.0, 1e-300)": ([-6.914686750787737e-298, [-5e-301, -690.4686750787737]], "d/dphi = log(phi / (mu + phi)) + 1 - phi / (mu + phi) = -690.47 (mpmath); Stan's 0 is psi(phi) - psi(phi) absorbing the rest, as in BetaBinomial(k=0 | n=10, 1e-300, 1)"),
    "NegativeBinomial(k=3 | 2.0, 1e-300)": ([-691.8741401868818, [0.0, 1e300]], "lgamma(3 + phi) - lgamma(phi) is finite (mpmath; Stan: -inf); d/dphi = psi(3 + phi) - psi(phi) + ... = 1e300"),
    "NegativeBinomial(k=1000000000 | 1000000000.0, 1.0)": ([-21.723265837446412, [0.0, 0.5772156644015328]], "mpmath (Stan's value has 8 digits)"),
    "OrderedLogistic(k=1 | 0.0, [-1e-10, 1e-10])": ([-23.7189981105004, [0.0, -5e9, 5e9]], "P = sigma(1e-10) - sigma(-1e-10) = 5e-11 to 21 digits: d/dc = -+0.25 / P = -+5e9 (Stan subtracts the two sigmas, keeping 7 digits)"),
    "OrderedLogistic(k=1 | 1e+300, [-1.0, 1.0])": ([-1e300, [-1.0, -0.15651764274966565, 1.1565176427496657]], "log(sigma(eta + 1) - sigma(eta - 1)) = -eta + log(e - 1/e) + O(e^-eta) (Stan: -inf)"),
    "OrderedLogistic(k=2 | inf, [-1.0, 1.0])": ([0.0, [0.0, 0.0]], "an eta of +inf puts all the mass on the top category: the limit, a certain outcome, as Bernoulli(logits = inf) gives (Stan requires a finite eta)"),
}

RLC_KNOWN = {
    "log1p(-1.5)": (["nan", None], "outside the domain a function is NaN, as log(-1) and sqrt(-1) are in Stan (Stan's log1p throws); in a distribution's formula the NaN becomes -inf"),
    "softmax([1e+300, 1e+300, 0.0])[0]": (["interp", 1.0, "jit", 0.5], "logits past 2^53: logsumexp rounds to the maximum, so the interpreter's exp(x - logsumexp) is 1; the JIT's softmax divides its terms by their sum (0.5, right). The backends differ here"),
    "softmax([1e+300, 1e+300, 0.0])[1]": (["interp", 1.0, "jit", 0.5], "as softmax(...)[0]"),
    "log_softmax([1e+300, 1e+300, 0.0])[0]": ([0.0, [0.5, -0.5, 0.0]], "logits past 2^53: x - logsumexp(x) loses the -log 2 of the tie (Stan computes x - max - log(sum))"),
    "log_softmax([1e+300, 1e+300, 0.0])[1]": ([0.0, [-0.5, 0.5, 0.0]], "as log_softmax(...)[0]"),
    "Categorical(k=1 | logits=[1e+300, 1e+300, 0.0])": ([0.0, [-0.5, 0.5, 0.0]], "as log_softmax: the value loses -log 2 (the gradient is right; Stan's value is also 0)"),
    "Categorical(k=2 | logits=[1e+300, 1e+300, 0.0])": ([-1e300, [-0.5, -0.5, 1.0]], "the gradient is right (Stan's [-1, -1, 1] is not)"),
    "softmax([inf, 0.0, 1.0])[1]": ([0.0, ["nonfinite", "nonfinite"]], "a +inf logit: the value is the limit (it takes all the mass; Stan: NaN), the gradient NaN (inf - inf in the adjoint)"),
    "softmax([inf, 0.0, 1.0])[2]": ([0.0, ["nonfinite", "nonfinite"]], "as softmax([inf, 0, 1])[1]"),
    "prod([1e-300, 1e-300, 1e+300])": ([0.0, [0.0, 0.0, 0.0]], "the product underflows to 0 and the adjoint prod / x_i is 0; the products of the other factors (1, 1, 0) are not formed (Stan does)"),
    "StudentT(y=0.5 | 1e-300, 0.0, 1.0)": ([-690.7755278982138, ["nonfinite", 2.0, 0.0]], "nu = 1e-300: the chain rule through log1p(z^2 / nu) forms z^2 / nu^2, which overflows (the slope is 1/nu = 1e300)"),
    "LogNormal prior (unconstrained -745.0 | 0.0, 1.0)": ([-277096.9892077675, [-744.4400719213812, 554190.0206823113, "nonfinite"]], "y = exp(-745) is subnormal: the chain rule's (d lpdf/dy) · y forms 743 / 5e-324, which overflows (the slope in u is -log y = 744.4); Stan overflows too"),
    "Beta(y=0.0 | 1.0, 2.0)": ([math.log(2.0), [1.4999999999999998, 0.49999999999999994]], "the value (log 2; Stan: NaN) is right; the slope in alpha of (alpha - 1) log y at alpha = 1, y = 0 is -inf, and rlc takes 0 for it (the term is 0 there)"),
    "Beta(y=1.0 | 2.0, 1.0)": ([math.log(2.0), [0.49999999999999994, 1.4999999999999998]], "as Beta(y=0 | 1, 2), mirrored"),
    "Beta(y=0.5 | 1e+16, 1e+16)": ([-186.0, [-7.105427357601002e-15, -7.105427357601002e-15]], "shapes past 1e15: lgamma(a + b) - lgamma(a) - lgamma(b) cancels ~4e17 to an error of ~100 (the true value is about 18.5; Stan's -256 is off too). A fix is an lbeta with Stirling differences"),
    "Beta(y=0.5 | 1e+300, 1e+300)": ([-6.394172706454467e286, [1.1368683772161603e-13, 1.1368683772161603e-13]], "as Beta(y=0.5 | 1e16, 1e16)"),
    "Beta prior (unconstrained 40.0 | 2.0, 1.0)": ([-39.30685281944005, [0.49999999999999994, 1.4999999999999998, -1.0]], "the value is right (Beta(2, 1) has density 2y, finite at y = logistic(40); Stan: NaN), but y rounds to 1: the slope in beta of (beta - 1) log(1 - y) at beta = 1 is log(1 - y) = -40 (true: -38.5), rlc takes 0 for it (1.5)"),
    "Beta prior (unconstrained -800.0 | 1.0, 1.0)": ([-800.0, [0.9999999999999998, 0.9999999999999998, 1.0]], "the value is right (Stan: NaN); y rounds to 0, so the slope in alpha (1 + log y = -799) is taken as 1"),
    "Beta prior (unconstrained -740.0 | 0.5, 1.0)": ([-370.6944368481145, [-737.9974206648909, 0.6137056388801087, "nonfinite"]], "y = logistic(-740) is subnormal: log y carries 3 digits (-739.997 for -740), and the chain rule through y overflows in u (Stan's gradient is not finite either)"),
    "inv_Phi(-0.5)": (["nan", None], "outside [0, 1] inv_Phi is NaN (documented), as log(-1) is; in a distribution's formula the NaN becomes -inf (Stan throws)"),
    "inv_Phi(1.5)": (["nan", None], "as inv_Phi(-0.5)"),
    "Weibull(y=0.0 | 0.5, 1.0)": (["-inf", None], "by design: rlc's Weibull puts no mass at y = 0 (its support is y > 0, as Gamma's here and in Stan, and a parameter under it is in (0, inf)); Stan's weibull_lpdf takes y = 0: +inf for alpha < 1, NaN at alpha = 1"),
    "BetaBinomial(k=3 | n=1000000000, 2.0, 3.0)": ([-37.57532501220703, [-18.133814839681275, 0.5833333283333353]], "n = 1e9: log C(n, k) as lgamma differences cancels 2e10 to an error of 6e-6 (relative 1.5e-7), as Binomial's below; Stan's value is right"),
    "BetaBinomial(k=0 | n=10, 1.0, 1e+300)": ([0.0, [-2e-299, 0.0]], "the slope in alpha is -(psi(11 + 1e300) - psi(1 + 1e300)) = -1e-299: the Stirling series of lgamma(y + x) - lgamma(x) at x = 1e300 loses the -y/x^2 = -1e-599 of its log1p term to underflow, doubling it (Stan: 0)"),
    "Binomial(k=500000000 | n=1000000000, p=0.5)": ([-10.587422609329224, [0.0]], "n = 1e9: log C(n, k) as lgamma(n+1) - lgamma(k+1) - lgamma(n-k+1) cancels 2e10 to 2e-6 (relative 2e-7; Stan uses a careful lbeta)"),
}


def annotate():
    labels = {c["label"]: c for c in CASES}
    for table, key in ((MATH, "math"), (RLC_KNOWN, "rlc_known")):
        for label, (expected, why) in table.items():
            if label not in labels:
                sys.exit(f"{key}: no case {label!r}")
            c = labels[label]
            if expected[0] == "interp":
                c[key] = {"per_backend": {"Interp": expected[1], "Jit": expected[3]}, "why": why}
                continue
            value, gradient = expected
            c[key] = {"value": value, "why": why}
            if gradient is not None:
                c[key]["gradient"] = gradient


annotate()


# --- Running Stan ---------------------------------------------------------------------


def stan_program():
    """The Stan program of every case: one branch per distinct expression."""
    expressions = sorted({c["stan"] for c in CASES})
    codes = {e: i + 1 for i, e in enumerate(expressions)}
    branches = []
    for e in expressions:
        body = e.format(**{f"a{i}": f"a[{i + 1}]" for i in range(8)}, **{f"k{i}": f"k[{i + 1}]" for i in range(2)}, vec="a", y="y")
        branches.append(f"  {'if' if not branches else 'else if'} (code == {codes[e]}) v = {body};")
    program = f"""// Generated by tests/edges/stan_edges.py: one branch per expression of the edge table.
data {{
  int code;          // which expression
  int mode;          // 0: its value as the target; 1: its class (0 finite, 1 +inf, -1 -inf, 2 NaN)
  int R;             // real arguments
  array[R] int is_param;
  vector[R] a_data;  // the arguments that are data (infinite ones)
  array[2] int k;    // integer arguments
  int M;             // 1: the outcome is a parameter; 0: it is y_data
  real y_data;
  int ylo_arg;       // the outcome's bounds: a parameter (its index among the parameters) or a value
  real ylo;
  int yhi_arg;
  real yhi;
}}
transformed data {{
  int N = sum(is_param);
}}
parameters {{
  vector[N] x;
  vector<lower=(ylo_arg > 0 ? x[ylo_arg] : ylo), upper=(yhi_arg > 0 ? x[yhi_arg] : yhi)>[M] yp;
}}
model {{
  vector[R] a;
  real y = M == 1 ? yp[1] : y_data;
  real v = 0;
  {{
    int p = 1;
    for (i in 1:R) {{
      if (is_param[i] == 1) {{
        a[i] = x[p];
        p += 1;
      }} else {{
        a[i] = a_data[i];
      }}
    }}
  }}
{chr(10).join(branches)}
  if (mode == 0) {{
    target += v;
  }} else {{
    target += is_nan(v) ? 2 : (is_inf(v) ? (v > 0 ? 1 : -1) : 0);
  }}
}}
"""
    return program, codes


def stan_data(c, codes, mode, param_mask=None):
    args = c["args"]
    is_param = param_mask if param_mask is not None else [1 if math.isfinite(a) else 0 for a in args]
    positions = {}
    for i, p in enumerate(is_param):
        if p:
            positions[i] = len(positions) + 1
    data = {
        "code": codes[c["stan"]],
        "mode": mode,
        "R": len(args),
        "is_param": is_param,
        "a_data": [a if not p else 0.0 for a, p in zip(args, is_param)],
        "k": (c["ints"] + [0, 0])[:2],
        "M": 0,
        "y_data": 0.0,
        "ylo_arg": 0,
        "ylo": -INF,
        "yhi_arg": 0,
        "yhi": INF,
    }
    if "prior" in c:
        data["M"] = 1
        lo, hi = c["prior"]
        for name, bound in (("lo", lo), ("hi", hi)):
            if isinstance(bound, int):
                data[f"y{name}_arg"] = positions[bound]
            else:
                data[f"y{name}"] = bound
    elif "y" in c:
        data["y_data"] = c["y"]
    theta = [a for a, p in zip(args, is_param) if p]
    if "prior" in c:
        theta.append(c["y"])
    return data, theta


CLASSES = {0: "finite", 1: "inf", -1: "-inf", 2: "nan"}


def evaluate(stan, program, codes, c):
    """Stan's value and gradient for case `c`: a dict for the JSON."""

    def build(data):
        return stan.build(program, data=data, random_seed=1)

    data, theta = stan_data(c, codes, mode=1)
    try:
        klass = build(data).log_prob(theta, adjust_transform=False)
    except RuntimeError as e:
        message = str(e).split("Exception: ")[-1].split(" (in '")[0]
        return {"value": "error", "stan_error": message}
    klass = CLASSES[int(round(klass))]
    if klass != "finite":
        return {"value": klass}
    data, theta = stan_data(c, codes, mode=0)
    model = build(data)
    value = model.log_prob(theta, adjust_transform=True)
    try:
        gradient = list(model.grad_log_prob(theta))
    except ValueError:
        # A non-finite component: find which, each with the others as data.
        gradient = []
        finite_args = [i for i, a in enumerate(c["args"]) if math.isfinite(a)]
        for i in finite_args:
            mask = [1 if j == i else 0 for j in range(len(c["args"]))]
            if "prior" in c:
                gradient.append("nonfinite")  # the outcome's bounds may use every argument
                continue
            d, t = stan_data(c, codes, 0, mask)
            try:
                gradient.append(build(d).grad_log_prob(t)[0])
            except ValueError:
                gradient.append("nonfinite")
        if "prior" in c:
            gradient.append("nonfinite")
    return {"value": value, "gradient": gradient}


# --- The rlc side of each case --------------------------------------------------------


def rlm_model(c):
    """The rlc model of case `c`, its data (Stan-format JSON) and its unconstrained point."""
    args = c["args"]
    is_param = [math.isfinite(a) for a in args]
    names = {f"a{i}": (f"x{i}" if p else f"d{i}") for i, p in enumerate(is_param)}
    names["vec"] = "[" + ", ".join(names[f"a{i}"] for i in range(len(args))) + "]"
    names["y"] = "y"
    names.update({f"k{i}": f"k{i}" for i in range(2)})
    lines, data = [], {}
    for i, (a, p) in enumerate(zip(args, is_param)):
        if not p:
            lines.append(f"data d{i}: real")
            data[f"d{i}"] = "Inf" if a > 0 else "-Inf"
    for i, k in enumerate(c["rlm_ints"]):
        lines.append(f"data k{i}: int")
        data[f"k{i}"] = k
    if "y" in c and "prior" not in c:
        lines.append("data y: real")
        data["y"] = c["y"] if math.isfinite(c["y"]) else ("Inf" if c["y"] > 0 else "-Inf")
    theta = []
    for i, (a, p) in enumerate(zip(args, is_param)):
        if p:
            lines.append(f"param x{i}")
            theta.append(a)
    if "prior" in c:
        theta.append(c["y"])
    lines.append(c["rlm"].format(**names))
    return "\n".join(lines) + "\n", data, theta


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="run only the cases whose label contains this")
    parser.add_argument("--output", default=os.path.join(HERE, "stan_edges.json"))
    args = parser.parse_args()

    import aiohttp.client
    import stan

    aiohttp.client.DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30)
    program, codes = stan_program()
    os.chdir(tempfile.mkdtemp(prefix="stan_edges_"))
    out = []
    for c in CASES:
        if args.only and args.only not in c["label"]:
            continue
        source, data, theta = rlm_model(c)
        result = evaluate(stan, program, codes, c)
        entry = {"label": c["label"], "source": source, "data": data, "theta": theta, "stan": result}
        for key in ("math", "rlc_known"):
            if key in c:
                entry[key] = c[key]
        out.append(entry)
        print(f"{c['label']}: {result}", flush=True)
    reference = {
        "generator": "tests/edges/stan_edges.py",
        "stan": f"pystan {metadata.version('pystan')}, httpstan {metadata.version('httpstan')}",
        "stan_program_sha256": hashlib.sha256(program.encode()).hexdigest(),
        "cases": out,
    }
    with open(args.output, "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    print(f"wrote {args.output}: {len(out)} cases")


if __name__ == "__main__":
    main()
