"""Reference values of Stan's wiener_lpdf(y | alpha, tau, beta, delta) and its partial
derivatives, at 40 significant digits, for crates/random/tests/wiener.rs.

Needs only mpmath (`pip install mpmath`), and only to regenerate wiener_reference.csv;
the tests read the committed CSV. Run from this folder: `python3 wiener_reference.py`.

Independent of the Rust code: the standardized lower-boundary density g(u, w) is summed in
40-digit arithmetic from BOTH series of Navarro & Fuss (2009) with far more terms than
needed (the two must agree to 1e-28, a check of each), and the partial derivatives are
mpmath's numerical derivatives of the log density (mpmath.diff), not the analytic
formulas the Rust code uses. Stan's definition (stan-dev/math, wiener_log.hpp):
    log f = log g((y - tau) / alpha^2, 1 - beta) + delta alpha (1 - beta)
            - delta^2 (y - tau) / 2 - 2 log alpha.
"""
import itertools
import mpmath as mp

mp.mp.dps = 40


def g_small(u, w, K=150):
    s = mp.mpf(0)
    for k in range(-K, K + 1):
        x = w + 2 * k
        s += x * mp.exp(-x * x / (2 * u))
    return s / mp.sqrt(2 * mp.pi * u**3)


def g_large(u, w, K=3000):
    # At small u the terms cancel to many orders of magnitude: 100 digits.
    with mp.workdps(100):
        return +_g_large(mp.mpf(u), mp.mpf(w), K)


def _g_large(u, w, K):
    s = mp.mpf(0)
    for k in range(1, K + 1):
        term = k * mp.exp(-k * k * mp.pi**2 * u / 2) * mp.sin(k * mp.pi * w)
        s += term
        if k > 10 and abs(k * mp.exp(-k * k * mp.pi**2 * u / 2)) < mp.mpf(10) ** -60 * abs(s):
            break
    return mp.pi * s


def g(u, w):
    return g_small(u, w) if u < 1 else g_large(u, w)


def lpdf(y, alpha, tau, beta, delta):
    t = y - tau
    u = t / alpha**2
    w = 1 - beta
    return mp.log(g(u, w)) + delta * alpha * w - delta**2 * t / 2 - 2 * mp.log(alpha)


def main():
    rows = []
    alphas = ["0.6", "1.2", "2.5"]
    taus = ["0.15", "0.4"]
    betas = ["0.08", "0.5", "0.87"]
    deltas = ["-2.5", "0", "1.3"]
    # Decision times from fast to slow: u = t / alpha^2 from 0.004 to 6.
    ts = ["0.01", "0.09", "0.35", "1.1", "3.2"]
    for alpha, tau, beta, delta, t in itertools.product(alphas, taus, betas, deltas, ts):
        a, ta, b, d = mp.mpf(alpha), mp.mpf(tau), mp.mpf(beta), mp.mpf(delta)
        y = ta + mp.mpf(t)
        u, w = mp.mpf(t) / a**2, 1 - b
        if not (mp.mpf("0.003") < u < 7):
            continue
        gs, gl = g_small(u, w), g_large(u, w)
        assert abs(gs - gl) <= mp.mpf(10) ** -28 * abs(gs), (u, w, gs, gl)
        args = [y, a, ta, b, d]
        value = lpdf(*args)
        partials = []
        for i in range(5):
            def f(x, i=i):
                xs = list(args)
                xs[i] = x
                return lpdf(*xs)
            partials.append(mp.diff(f, args[i]))
        rows.append([y, a, ta, b, d, value] + partials)
    # Far tails: a response 25 alpha^2 after tau, and one 0.002 alpha^2 after it.
    for args in [(mp.mpf("25.3"), 1, mp.mpf("0.3"), mp.mpf("0.5"), mp.mpf("0.7")),
                 (mp.mpf("0.302"), 1, mp.mpf("0.3"), mp.mpf("0.5"), mp.mpf("0.7"))]:
        args = [mp.mpf(x) for x in args]
        value = lpdf(*args)
        partials = []
        for i in range(5):
            def f(x, i=i):
                xs = list(args)
                xs[i] = x
                return lpdf(*xs)
            partials.append(mp.diff(f, args[i]))
        rows.append(args + [value] + partials)
    with open("wiener_reference.csv", "w") as out:
        out.write("y,alpha,tau,beta,delta,lpdf,d_y,d_alpha,d_tau,d_beta,d_delta\n")
        for row in rows:
            out.write(",".join(mp.nstr(x, 20, min_fixed=-30, max_fixed=30) for x in row) + "\n")
    print(len(rows), "rows")


if __name__ == "__main__":
    main()
