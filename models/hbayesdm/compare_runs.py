"""rlc and Stan on each hBayesDM model's example data: divergences, initialization
failures, R-hat, ESS and time, written to runs.json and printed as a table.

    python models/hbayesdm/compare_runs.py [MODEL ...] [--rlc PATH] [--extdata DIR]
        [--seed S] [--stan-timeout SECONDS] [--rlc-timeout SECONDS] [--budget-minutes M]
        [--given-order] [--output FILE]
    python models/hbayesdm/compare_runs.py [MODEL ...] --rlc-seeds 1,2   # rlc again, other seeds
    python models/hbayesdm/compare_runs.py [MODEL ...] --stan-seeds 1,2  # Stan again, other seeds
    python models/hbayesdm/compare_runs.py MODEL ... --rlc-again         # rlc again, Stan's run kept
    python models/hbayesdm/compare_runs.py MODEL ... --stan-again        # Stan again, rlc's run kept
    python models/hbayesdm/compare_runs.py MODEL ... --stan-again --chains-apart  # a process per chain
    python models/hbayesdm/compare_runs.py MODEL --stan-join DIR          # its finished chains judged
    python models/hbayesdm/compare_runs.py [MODEL ...] --gradient-probe  # time per gradient, both
    python models/hbayesdm/compare_runs.py --table                        # runs.json's table
    python models/hbayesdm/compare_runs.py --docs docs/models.md          # its section of the docs

For each model of `models/hbayesdm/` (all, or those named; cheapest first by the gradient
time `rlc bench` measures, unless `--given-order`), one after the other:

* rlc: `rlc run` with its defaults (4 chains x (400 fisher warmup + 1000 draws)) and the
  seed; the time is the whole process, compilation and data loading included.
  `--rlc-timeout` stops a long run (SIGTERM, so its files are completed) and judges the
  draws made by then; the record says so.
* Stan: hBayesDM's program (brought to current Stan syntax and fixed as stan_reference.py
  does, PATCHES), sampled by pystan with hBayesDM's numbers of chains and draws, 4 chains x
  (1000 warmup + 1000 draws), at Stan's default target acceptance rate 0.8, as rlc's run
  (hBayesDM's own functions default to 0.95), the same seed, on the Stan data stan_reference.py's TASKS make of the file.
  The time is that of `sample()` alone (the compilation is excluded; whether it came from
  httpstan's cache is recorded). It includes what hBayesDM's programs compute in generated
  quantities every draw (log_lik, y_pred) and pystan's reading of the output. Stan runs in
  a child process that is killed at `--stan-timeout` seconds, and no Stan run starts after
  `--budget-minutes`; such a model is recorded as not run by Stan, with the reason.

Both times are also recorded as CPU time (user + system, every process and thread), which
a loaded machine disturbs less than the wall time.

Per sampler it records divergences (total and per chain), initialization failures and
other errors, the largest R-hat and the smallest bulk ESS (ArviZ's rank-normalized split
R-hat and bulk ESS, computed the same way for both) over the quantities both report, and
for Stan the rejected initial values per chain. runs.json (default: beside this script)
also records the date, the rlc commit, the machine and its load average before and after
each model: the machine may be shared, so compare times within one model's entry only.
A rerun on some models replaces their entries and keeps the others.

`--rlc-again` reruns only rlc, at the entry's seed, on the models named, and replaces the
rlc side of their entries (after a change to rlc; Stan's run and time are kept). Stan's
statistics are not stored, so rlc's R-hat and ESS are then over all of rlc's quantities
(the record's `rlc_stats_over` says so), a superset of those compared before.

`--stan-again` is its mirror: Stan alone at the entry's seed, for a model Stan had not run
(a time limit, a crash); Stan's R-hat and ESS are then over the quantities rlc reports,
read off a short rlc run.

With `--chains-apart`, each of Stan's chains is sampled by its own pystan process (seeds
S..S+3, two at a time, each with a memory limit) and the draws are judged together: for a
program whose 4-chain pystan run is killed out of memory (choiceRT_ddm's Wiener density).

`--gradient-probe` compares the two samplers' time per gradient where Stan's whole run is
out of reach (default: the models Stan did not run): Stan's sampling time per leapfrog step
over a short run (1 chain, PROBE_WARMUP warmup iterations + PROBE_DRAWS draws, whose early
warmup's long trajectories make it nearly all gradients), then rlc's gradient time (`rlc
bench`), one right after the other; recorded in the entry's `gradient_probe`.

`--rlc-seeds` reruns only rlc, at other seeds, on the models named or else on those where
rlc had more divergent draws than Stan, and records each run in the model's
`rlc_other_seeds`: whether the excess is Monte Carlo noise. `--stan-seeds` does the same for
Stan (`stan_other_seeds`), so that rlc's counts are judged against Stan's spread.

The data file of a model is hBayesDM's example file for its task (the MODELS row of
stan_reference.py), read from `--extdata` (default /work/hbdm-src/commons/extdata; in
hBayesDM's repository, `commons/extdata`), except for the models in NOT_AS_IS, which cannot
read it as it is and run on their simulated file in `data/`.

Needs pystan 3, ArviZ and NumPy, hBayesDM's Stan programs (`--stan-dir`, as
stan_reference.py) and an rlc release binary (`cargo build --release`).
"""

import argparse
import datetime
import itertools
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from stan_reference import MODELS, PATCHES, STAN_COMMIT, TASKS, modern  # noqa: E402

SEED = 20261201
CHAINS = 4
STAN_WARMUP = 1000
STAN_DRAWS = 1000
DEFAULT_STAN_DIR = "/work/hbdm-src/commons/stan_files"
DEFAULT_EXTDATA = "/work/hbdm-src/commons/extdata"

# Models whose port cannot read hBayesDM's example file as it is (as in
# crates/driver/tests/hbayesdm_stan.rs): they run on their simulated file.
# None today: wcs_sql, which needed each row's matching decks, has hBayesDM's answer sheet as
# its settings' default (2026-12-06).
NOT_AS_IS = {}


def ported_models():
    """The models with an .rlm file here, in name order."""
    return sorted(f[:-4] for f in os.listdir(HERE) if f.endswith(".rlm"))


def data_file(model, extdata):
    """The file both samplers read, and how to name it in runs.json."""
    _, simulated, example = MODELS[model]
    if model in NOT_AS_IS:
        return os.path.join(HERE, simulated), simulated
    return os.path.join(extdata, example), f"hBayesDM extdata/{example}"


def stan_program(model, stan_dir):
    with open(os.path.join(stan_dir, model + ".stan")) as f:
        code = modern(f.read())
    for old, new, _ in PATCHES.get(model, []):
        if old not in code:
            sys.exit(f"{model}: the patch's text {old!r} is not in the program")
        code = code.replace(old, new)
    return code


def cpu_seconds(who):
    """User and system CPU time of this process (RUSAGE_SELF) or of its ended children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


# --- Convergence statistics, the same for both samplers -------------------------------


def column_statistics(columns):
    """{name: (R-hat, bulk ESS)} of each [chain, draw] array that is finite and not
    constant (an initial value or a padded trial has no posterior to judge)."""
    import arviz as az
    import numpy as np

    stats = {}
    for name, per_chain in columns.items():
        if not np.all(np.isfinite(per_chain)) or np.ptp(per_chain) == 0:
            continue
        stats[name] = (float(az.rhat(per_chain)), float(az.ess(per_chain, method="bulk")))
    return stats


def worst(stats, names):
    """The largest R-hat and the smallest bulk ESS over `names`, each with its quantity."""
    if not names:
        return None, None
    rhat = max(names, key=lambda n: stats[n][0])
    ess = min(names, key=lambda n: stats[n][1])
    return [rhat, round(stats[rhat][0], 4)], [ess, round(stats[ess][1], 1)]


# --- Stan, in a child process that can be killed at the time limit --------------------


def stan_worker(model, data_path, seed, stan_dir, result_path, chains=CHAINS):
    """Builds and samples hBayesDM's program (`chains` chains; 0: only builds it); writes
    what run_stan reads to result_path, and with one chain its draws to result_path.npz
    too, for run_stan_chains_apart to join."""
    import aiohttp.client
    import httpstan.cache
    import httpstan.models
    import httpstan.services_stub
    import numpy as np
    import stan

    aiohttp.client.DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30)
    code = stan_program(model, stan_dir)
    data = TASKS[MODELS[model][0]](data_path)
    model_dir = httpstan.cache.model_directory(httpstan.models.calculate_model_name(code))
    build_cached = model_dir.is_dir() and any(p.suffix == ".so" for p in model_dir.iterdir())
    os.chdir(tempfile.mkdtemp(prefix="compare_runs_"))
    result = {"build_cached": build_cached}
    start = time.perf_counter()
    posterior = stan.build(code, data=data, random_seed=seed)
    result["build_seconds"] = round(time.perf_counter() - start, 2)
    if chains == 0:
        write_json(result_path, result)
        return
    # httpstan keeps every seeded fit (one file per chain) in its cache and hands it back
    # to a rerun with the same arguments, instantly: our files are removed afterwards, and
    # a fit that came from the cache (no new file) is flagged, as its time is not a run's.
    fits_dir = model_dir / "fits"

    def cached_fits():
        return set(fits_dir.iterdir()) if fits_dir.is_dir() else set()

    before = cached_fits()
    cpu_before = cpu_seconds(resource.RUSAGE_SELF) + cpu_seconds(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        fit = posterior.sample(num_chains=chains, num_warmup=STAN_WARMUP, num_samples=STAN_DRAWS)
    except Exception as e:  # pystan raises RuntimeError for a failed initialization, others rarely
        result["sample_seconds"] = round(time.perf_counter() - start, 2)
        result["error"] = str(e)[:500]
        result["init_failed"] = "Initialization failed" in str(e)
        write_json(result_path, result)
        return
    result["sample_seconds"] = round(time.perf_counter() - start, 2)
    # The chains run in httpstan's worker processes, whose CPU time is counted once they
    # have ended: the CPU time of sample() is this process's and theirs.
    httpstan.services_stub.executor.shutdown(wait=True)
    cpu = cpu_seconds(resource.RUSAGE_SELF) + cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before
    result["sample_cpu_seconds"] = round(cpu, 2)
    created = cached_fits() - before
    for path in created:
        path.unlink()
    result["fit_from_cache"] = not created
    # Stan's own time per chain (warmup and sampling), without pystan's reading of the
    # output, which the wall time includes.
    # (The message comes in three topics; the first is the logger's.)
    totals = [re.search(rb"([0-9.eE+-]+) seconds \(Total\)", out) for out in fit.stan_outputs]
    result["stan_reported_seconds_per_chain"] = [float(t.group(1)) if t else None for t in totals]
    result["init_failed"] = False
    result["init_rejections_per_chain"] = [out.count(b"Rejecting initial value") for out in fit.stan_outputs]
    # fit._draws is [column, draw, chain]: the sampler's columns, then the parameters,
    # transformed parameters and generated quantities, CmdStan's names (`mu_pr.1`).
    draws = fit._draws
    sampler = list(fit.sample_and_sampler_param_names)
    divergent = draws[sampler.index("divergent__")]
    result["divergences_per_chain"] = [int(x) for x in divergent.sum(axis=0)]
    result["leapfrogs_in_draws"] = int(draws[sampler.index("n_leapfrog__")].sum())
    first = len(sampler)
    columns = {name: np.ascontiguousarray(draws[first + i].T) for i, name in enumerate(fit.constrained_param_names)}
    if chains == 1:
        np.savez(result_path + ".npz", **columns)
    else:
        result["stats"] = column_statistics(columns)
    write_json(result_path, result)


def run_stan(model, data_path, seed, stan_dir, timeout, log_dir):
    """Stan's record for one model: the child's result, or why there is none."""
    result_path = os.path.join(log_dir, "stan.json")
    log_path = os.path.join(log_dir, "stan.log")
    command = [sys.executable, os.path.abspath(__file__), "--stan-worker", model, data_path,
               str(seed), stan_dir, result_path]
    start = time.perf_counter()
    with open(log_path, "w") as log:
        # Its own session, so that the time limit ends the sampling processes too.
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return {"status": "not run", "reason": f"over the time limit of {timeout} s (build and sampling)"}
        except BaseException:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            raise
        finally:
            # The sampling processes httpstan forks may outlive a failed child.
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    elapsed = time.perf_counter() - start
    if not os.path.exists(result_path):
        with open(log_path) as f:
            tail = f.read()[-800:]
        return {"status": "error", "reason": f"exit code {child.returncode} after {elapsed:.0f} s: {tail}"}
    with open(result_path) as f:
        result = json.load(f)
    result["status"] = "error" if "error" in result else "ran"
    return result


CHAIN_MEMORY_GB = 8


def limit_memory():
    """In a chain's process before it starts: its address space (and that of the worker
    processes httpstan forks) is capped, so that a chain whose memory runs away fails
    alone, with an error, instead of the kernel's out-of-memory killer taking the run."""
    limit = CHAIN_MEMORY_GB * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_stan_chains_apart(model, data_path, seed, stan_dir, timeout, log_dir, jobs=2):
    """Stan's record for one model as run_stan's, each chain sampled by its own process
    (pystan, one chain, seed + k - 1 for the k-th; at most `jobs` at once, each with
    CHAIN_MEMORY_GB of address space), the chains' draws then judged together: for a
    program whose 4-chain pystan run is killed out of memory (choiceRT_ddm)."""
    start = time.perf_counter()
    build_path = os.path.join(log_dir, "build.json")
    command = [sys.executable, os.path.abspath(__file__), "--stan-worker", model, data_path, str(seed),
               stan_dir, build_path, "0"]
    with open(os.path.join(log_dir, "build.log"), "w") as log:
        try:
            built = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            # subprocess.run has killed the build by now.
            return {"status": "not run", "reason": f"the build took over the time limit of {timeout} s"}
    if built.returncode != 0:
        return {"status": "error", "reason": f"the build failed (exit {built.returncode}, {log_dir}/build.log)"}
    with open(build_path) as f:
        result = json.load(f)
    waiting = list(range(1, CHAINS + 1))
    running = {}
    ended = {}
    cpu_before = cpu_seconds(resource.RUSAGE_CHILDREN)
    sample_start = time.perf_counter()
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                k = waiting.pop(0)
                path = os.path.join(log_dir, f"chain_{k}.json")
                command = [sys.executable, os.path.abspath(__file__), "--stan-worker", model, data_path,
                           str(seed + k - 1), stan_dir, path, "1"]
                log = open(os.path.join(log_dir, f"chain_{k}.log"), "w")
                running[k] = (subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True, preexec_fn=limit_memory), log, path)
            time.sleep(1)
            for k, (child, log, path) in list(running.items()):
                if child.poll() is None:
                    continue
                log.close()
                del running[k]
                try:
                    os.killpg(child.pid, signal.SIGKILL)  # httpstan's workers
                except ProcessLookupError:
                    pass
                ended[k] = (child.returncode, path)
            if time.perf_counter() - start > timeout:
                return {**result, "status": "not run",
                        "reason": f"over the time limit of {timeout} s (chains sampled apart; {len(ended)} ended)"}
    finally:
        for child, log, _ in running.values():
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            log.close()
    result["sample_seconds"] = round(time.perf_counter() - sample_start, 2)
    result["sample_cpu_seconds"] = round(cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before, 2)
    result["chains_apart"] = (f"each chain its own pystan process (seeds {seed}..{seed + CHAINS - 1}, at most"
                              f" {jobs} at once, {CHAIN_MEMORY_GB} GB of address space each); times are the"
                              " sampling of all chains, builds excluded")
    return join_chains(result, ended, log_dir)


def join_chains(result, ended, log_dir):
    """`result` with the chains of `ended` ({k: (exit code, chain_k.json path)}, from
    run_stan_chains_apart's `log_dir`) judged together: per-chain counts, and the
    statistics of their draws joined."""
    import numpy as np

    chains = []
    failures = []
    for k in sorted(ended):
        code, path = ended[k]
        if not os.path.exists(path):
            with open(os.path.join(log_dir, f"chain_{k}.log")) as f:
                failures.append(f"chain {k}: exit code {code}: {f.read()[-400:]}")
            continue
        with open(path) as f:
            chain = json.load(f)
        if "error" in chain:
            failures.append(f"chain {k}: {chain['error'][:400]}")
            continue
        chains.append((chain, np.load(path + ".npz")))
    for key in ("stan_reported_seconds_per_chain", "init_rejections_per_chain", "divergences_per_chain"):
        result[key] = [x for chain, _ in chains for x in chain[key]]
    result["leapfrogs_in_draws"] = sum(chain["leapfrogs_in_draws"] for chain, _ in chains)
    result["init_failed"] = any(chain.get("init_failed") for chain, _ in chains)
    result["fit_from_cache"] = any(chain.get("fit_from_cache") for chain, _ in chains)
    if failures:
        result["status"] = "error"
        result["error"] = "; ".join(failures)
        return result
    names = chains[0][1].files
    result["stats"] = column_statistics({name: np.concatenate([draws[name] for _, draws in chains]) for name in names})
    result["status"] = "ran"
    return result


# --- rlc -------------------------------------------------------------------------------


def read_cmdstan_csv(path):
    """(column names, [draw, column] array) of one CmdStan CSV file."""
    import numpy as np

    with open(path) as f:
        lines = [line for line in f if line.strip() and not line.startswith("#")]
    if not lines:
        return [], np.empty((0, 0))
    header = lines[0].strip().split(",")
    rows = [[float(x) for x in line.split(",")] for line in lines[1:]]
    return header, np.array(rows).reshape(len(rows), len(header))


def run_rlc(rlc, model, data_path, seed, out_dir, timeout=None):
    """rlc's record for one model. At the time limit rlc is sent SIGTERM, which stops its
    chains and completes their files: the draws made so far are judged, and the record
    says the run was stopped."""
    import numpy as np

    command = [rlc, "run", os.path.join(HERE, model + ".rlm"), "--data", data_path,
               "--seed", str(seed), "--output-dir", out_dir, "--quiet"]
    cpu_before = cpu_seconds(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stopped = False
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.terminate()
        stdout, stderr = child.communicate()
        stopped = True
    seconds = time.perf_counter() - start
    cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before
    done = subprocess.CompletedProcess(command, child.returncode, stdout, stderr)
    errors = [line[len("error: "):] for line in done.stderr.splitlines() if line.startswith("error: ")]
    init_failures = 0
    for e in errors:
        if "no finite log density or gradient at" in e:
            every = re.match(r"all (\d+) chains:", e)
            init_failures += int(every.group(1)) if every else 1
    result = {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "exit_code": done.returncode,
              "init_failures": init_failures}
    if errors:
        result["errors"] = [e[:300] for e in errors]
    if stopped:
        result["stopped"] = f"at the time limit of {timeout:g} s (SIGTERM): the draws made by then"
    evaluations = re.search(r"\(([0-9]+) gradient evaluations: ([0-9]+) in [0-9]+ warmup iterations", done.stdout + done.stderr)
    if evaluations:
        result["gradient_evaluations"] = int(evaluations.group(1))
    chains = []
    for chain in range(1, CHAINS + 1):
        path = os.path.join(out_dir, f"{model}_{chain}.csv")
        if os.path.exists(path):
            header, values = read_cmdstan_csv(path)
            if len(values):
                chains.append((header, values))
    result["chains_with_draws"] = len(chains)
    if not chains:
        result["stats"] = {}
        return result
    header = chains[0][0]
    length = min(len(v) for _, v in chains)
    stacked = np.stack([v[:length] for _, v in chains])  # [chain, draw, column]
    divergent = stacked[:, :, header.index("divergent__")]
    result["divergences_per_chain"] = [int(x) for x in divergent.sum(axis=1)]
    result["leapfrogs_in_draws"] = int(stacked[:, :, header.index("n_leapfrog__")].sum())
    columns = {name: stacked[:, :, j] for j, name in enumerate(header) if not name.endswith("__")}
    result["stats"] = column_statistics(columns)
    return result


# --- The runs ----------------------------------------------------------------------------


def gradient_microseconds(rlc, model, data_path):
    """One gradient evaluation's median time on the JIT (rlc bench; it also times the
    interpreter, so a few seconds per model): the order of the runs, cheapest first. A
    model that cannot be measured goes last."""
    done = subprocess.run(
        [rlc, "bench", os.path.join(HERE, model + ".rlm"), "--data", data_path, "--json"],
        capture_output=True, text=True,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return math.inf
    return float(report["grad_eval_us"])


def load_average():
    return [round(x, 2) for x in os.getloadavg()]


def rlc_commit():
    def git(*args):
        return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "crates")
    return commit + ("-dirty" if dirty else "")


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), platform.processor())
    except OSError:
        return platform.processor()


def this_machine():
    """The machine a run is made on, as runs.json records it."""
    return {"cpus": os.cpu_count(), "cpu": cpu_name()}


def reduce_statistics(result, stats, names):
    """A run's record from its per-quantity statistics: the total divergences and the
    largest R-hat and smallest bulk ESS over `names`."""
    if "divergences_per_chain" in result:
        result["divergences"] = sum(result["divergences_per_chain"])
    if stats:
        result["max_rhat"], result["min_ess_bulk"] = worst(stats, names)


def set_time_ratios(entry):
    """rlc's wall and CPU time over Stan's, where both runs finished."""
    rlc_result, stan_result = entry["rlc"], entry["stan"]
    for key in ("time_ratio_rlc_to_stan", "cpu_time_ratio_rlc_to_stan"):
        entry.pop(key, None)
    if stan_result.get("status") == "ran" and rlc_result.get("exit_code") == 0 and "stopped" not in rlc_result:
        entry["time_ratio_rlc_to_stan"] = round(rlc_result["seconds"] / stan_result["sample_seconds"], 4)
        if "sample_cpu_seconds" in stan_result:
            entry["cpu_time_ratio_rlc_to_stan"] = round(rlc_result["cpu_seconds"] / stan_result["sample_cpu_seconds"], 4)


def compare(model, data_name, rlc_result, stan_result):
    """One model's entry: both records with the statistics reduced to the quantities both
    report, and the ratio of the times."""
    entry = {"data": data_name}
    rlc_stats = rlc_result.pop("stats", {})
    stan_stats = stan_result.pop("stats", {})
    common = sorted(set(rlc_stats) & set(stan_stats)) if stan_stats else sorted(rlc_stats)
    entry["quantities_compared"] = len(common) if stan_stats else 0
    for result, stats in ((rlc_result, rlc_stats), (stan_result, stan_stats)):
        reduce_statistics(result, stats, common)
    entry["rlc"] = rlc_result
    entry["stan"] = stan_result
    set_time_ratios(entry)
    return entry


def finite_or_none(value):
    """`value` with every NaN or infinity replaced by None (JSON has neither): R-hat of a
    run where one chain made draws is NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


def write_json(path, value):
    """Writes the whole file or nothing: the record holds hours of runs."""
    text = json.dumps(finite_or_none(value), indent=1, allow_nan=False) + "\n"
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


# --- The table ---------------------------------------------------------------------------


def seconds_text(s):
    return f"{s:.1f}" if s < 100 else f"{s:.0f}"


def table(record):
    """The markdown table of runs.json's models, in the order they were run."""
    lines = [
        "| model | data | divergences rlc / Stan | init failures rlc / Stan | wall time rlc / Stan (s) | ratio | CPU time rlc / Stan (s) | ratio | max R-hat rlc / Stan | min bulk ESS rlc / Stan |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model, e in record["models"].items():
        r, s = e["rlc"], e["stan"]
        ran = s.get("status") == "ran"
        data = e["data"].replace("hBayesDM extdata/", "")
        div = f"{r.get('divergences', '–')} / {s['divergences'] if ran else '–'}"
        stan_init = "–" if s.get("status") == "not run" else (CHAINS if s.get("init_failed") else 0)
        init = f"{r['init_failures']} / {stan_init}"
        stan_time = seconds_text(s["sample_seconds"]) if ran else f"not run ({s.get('reason', s.get('error', ''))[:40]})"
        ratio = f"{e['time_ratio_rlc_to_stan']:.3f}" if "time_ratio_rlc_to_stan" in e else "–"
        cpu = f"{seconds_text(r['cpu_seconds'])} / {seconds_text(s['sample_cpu_seconds'])}" if "cpu_time_ratio_rlc_to_stan" in e else "–"
        cpu_ratio = f"{e['cpu_time_ratio_rlc_to_stan']:.3f}" if "cpu_time_ratio_rlc_to_stan" in e else "–"
        # R-hat is undefined (None) when one chain made draws.
        rhat = " / ".join(str(x["max_rhat"][1]) if x.get("max_rhat") and x["max_rhat"][1] is not None else "–"
                          for x in (r, s))
        ess = f"{r['min_ess_bulk'][1]:.0f}" if r.get("min_ess_bulk") else "–"
        ess += f" / {s['min_ess_bulk'][1]:.0f}" if s.get("min_ess_bulk") else " / –"
        lines.append(f"| `{model}` | `{data}` | {div} | {init} | {seconds_text(r['seconds'])}{' (stopped)' if r.get('stopped') else ''} / {stan_time} | {ratio} | {cpu} | {cpu_ratio} | {rhat} | {ess} |")
    return "\n".join(lines)


DOCS_START = "<!-- runs: made from models/hbayesdm/runs.json -->"
DOCS_END = "<!-- /runs -->"


def docs_section(record):
    """The Markdown of docs/models.md's section on these runs: what the table shows, then the
    table. Every number in it comes from the record."""
    models = record["models"]
    both = {m: e for m, e in models.items()
            if e["stan"].get("status") == "ran" and e["rlc"].get("exit_code") == 0 and not e["rlc"].get("stopped")}
    init_failed = [m for m, e in models.items() if e["rlc"].get("init_failures", 0) > 0]
    more = [m for m in both if more_divergences_than_stan(both[m])]
    cpu = [e["cpu_time_ratio_rlc_to_stan"] for e in both.values() if "cpu_time_ratio_rlc_to_stan" in e]
    wall = [e["time_ratio_rlc_to_stan"] for e in both.values() if "time_ratio_rlc_to_stan" in e]
    stopped = [m for m, e in models.items() if e["rlc"].get("stopped")]

    def all_seeds(m):
        return [models[m]["rlc"].get("divergences", 0)] + [r.get("divergences", 0) for r in models[m].get("rlc_other_seeds", [])]

    def stan_seeds(m):
        return [models[m]["stan"]["divergences"]] + [
            r["divergences"] for r in models[m].get("stan_other_seeds", []) if r.get("status") == "ran"]

    def excess(m):
        e = both[m]
        text = f"`{m}` {e['rlc']['divergences']} against {e['stan']['divergences']}"
        others = e.get("rlc_other_seeds", [])
        stan_others = stan_seeds(m)[1:]
        if others or stan_others:
            text += " (other seeds: " + ", ".join(f"{r.get('divergences')}" for r in others)
            if stan_others:
                text += "; Stan " + ", ".join(str(d) for d in stan_others)
                text += (f"; medians over all seeds: rlc {statistics.median(all_seeds(m)):g},"
                         f" Stan {statistics.median(stan_seeds(m)):g}")
            text += ")"
        return text

    reseeded = [m for m in more if models[m].get("rlc_other_seeds")]
    above_at_median = [m for m in reseeded if statistics.median(all_seeds(m)) > both[m]["stan"]["divergences"]]
    stan_reseeded = [m for m in reseeded if len(stan_seeds(m)) > 1]
    above_stan_median = [m for m in stan_reseeded
                         if statistics.median(all_seeds(m)) > statistics.median(stan_seeds(m))]
    within_stan_range = [m for m in stan_reseeded
                         if statistics.median(all_seeds(m)) <= max(stan_seeds(m))]
    lines = [
        DOCS_START,
        f"Every port was run by rlc with its defaults (4 chains × (400 warmup + 1000 draws)) on hBayesDM's"
        f" example file for its task, and {len(both)} of the {len(models)} were also run by hBayesDM's Stan"
        " program (pystan, 4 × (1000 + 1000), the same seed) on the same data, both at Stan's default"
        " target acceptance rate 0.8 (hBayesDM's functions default to 0.95), by"
        " `models/hbayesdm/compare_runs.py` (needs pystan and hBayesDM's Stan programs; `--table` prints the"
        " table below from `runs.json`, `--docs docs/models.md` writes this section). Stan was not run on"
        " the others within the sessions' time (the table says why).",
        "",
        f"* **Initialization failures**: rlc {len(init_failed)} of {len(models)} models"
        + (f" ({', '.join(init_failed)})" if init_failed else "") + ".",
        f"* **Divergences**: rlc had no more divergent draws than Stan on {len(both) - len(more)} of the"
        f" {len(both)} models both ran; more on {len(more)}: " + "; ".join(excess(m) for m in more) + "."
        + (f" rlc was rerun at more seeds (`--rlc-seeds`) on {len(reseeded)} of them: the median of its"
           f" counts over all its seeds is still above Stan's count at the table's seed on {len(above_at_median)}"
           + (f" ({', '.join('`' + m + '`' for m in above_at_median)})" if above_at_median else "")
           + "." if reseeded else "")
        + (f" Stan was rerun at more seeds too (`--stan-seeds`) on {len(stan_reseeded)} of them: rlc's median"
           f" count is above Stan's median on {len(above_stan_median)}"
           + (f" ({', '.join('`' + m + '`' for m in above_stan_median)})" if above_stan_median else "")
           + f", and within the range of Stan's counts on {len(within_stan_range)}."
           if stan_reseeded else "")
        + (" Counts on these funnel-shaped hierarchies vary several-fold from seed to seed in both samplers"
           " (and from chain to chain: Stan's four chains of `hgf_ibrb_single` had 148 to 276 each)."
           if reseeded else "")
        + (" A one-sided rank test of rlc's counts over all its seeds against Stan's over all its (exact"
           " permutation test of Mann-Whitney's rank sum, ties at mid-ranks) gives "
           + ", ".join(f"`{m}` p = {rank_test_greater(all_seeds(m), stan_seeds(m)):.2f}" for m in stan_reseeded)
           + ": " + (f"rlc's counts are larger than Stan's at the 5% level on {', '.join(significant)}."
                     if (significant := ['`' + m + '`' for m in stan_reseeded
                                         if rank_test_greater(all_seeds(m), stan_seeds(m)) < 0.05])
                     else "on none of them are rlc's counts larger than Stan's at the 5% level.")
           if stan_reseeded else ""),
    ]
    if cpu:
        lines.append(
            "* **Time**: rlc's whole process (compilation, data loading and 4 chains) against Stan's sampling"
            " alone (its 30 s compilation excluded): CPU time (user + system, all threads) ratio median"
            f" {statistics.median(cpu):.2f} (range {min(cpu):.2f}–{max(cpu):.2f}, {len(cpu)} models); wall-time"
            f" ratio median {statistics.median(wall):.2f} ({len(wall)} models). The machine (2 cores) was shared"
            " with other jobs during these runs, so the wall times are disturbed, unequally for the two"
            " samplers; the CPU times much less.")
    probed = {m: e["gradient_probe"] for m, e in models.items()
              if e.get("gradient_probe") and e["stan"].get("status") != "ran"}
    if probed:
        lines.append(
            "* **Time per gradient where Stan did not run**: Stan's sampling time per leapfrog step over a"
            f" short run (1 chain, {PROBE_WARMUP} warmup + {PROBE_DRAWS} draws, nearly all of it gradients),"
            " then rlc's gradient (`rlc bench`), one right after the other (`--gradient-probe`): "
            + "; ".join(f"`{m}` rlc {p['rlc_gradient_us'] / 1000:.2f} ms, Stan {p['stan_us_per_leapfrog'] / 1000:.2f}"
                        f" ms (ratio {p['ratio_rlc_to_stan']:.3f})" for m, p in probed.items())
            + ".")
    apart = [m for m, e in models.items() if e["stan"].get("chains_apart")]
    if apart:
        lines.append(
            "* Stan's chains sampled apart (`--stan-again --chains-apart`: each chain its own pystan process,"
            " seeds S..S+3, with a memory limit, where pystan's 4-chain run was killed out of memory): "
            + ", ".join(f"`{m}`" for m in apart) + ".")
    partial = {m: e["stan_partial"] for m, e in models.items() if e.get("stan_partial")}
    if partial:
        lines.append(
            f"* **Stan's runs stopped before all {CHAINS} chains ended** (`--stan-join`: the chains that"
            " finished, each its own process, judged together; not in the comparisons above): "
            + "; ".join(
                f"`{m}` {len(p['chains'])} chains (seeds {', '.join(map(str, p['chain_seeds']))}):"
                f" {', '.join(map(str, p['divergences_per_chain']))} divergent draws of {STAN_DRAWS}"
                f" (rlc's {CHAINS} chains: {', '.join(map(str, models[m]['rlc'].get('divergences_per_chain', [])))}),"
                f" max R-hat {p['max_rhat'][1] if p.get('max_rhat') else '–'},"
                f" {', '.join(seconds_text(x) for x in p['sample_cpu_seconds_per_chain'])} s of CPU time per chain"
                f" (rlc's whole run: {seconds_text(models[m]['rlc']['cpu_seconds'])} s)"
                + "".join(f"; chain {u['chain']} (seed {u['seed']}) stopped after {u['iterations']} iterations"
                          for u in p.get("unfinished_chains", []))
                + (f"; {p['other_chains']}" if p.get("other_chains") else "")
                for m, p in partial.items())
            + ".")
    again = [m for m, e in models.items() if e["rlc"].get("rlc_stats_over")]
    if again:
        commits = sorted({models[m]["rlc_commit"] for m in again})
        lines.append(
            f"* rlc was rerun alone (`--rlc-again`, Stan's run kept) on {len(again)} models after"
            f" a change to rlc (commit {', '.join(commits)}):"
            f" {', '.join('`' + m + '`' for m in again)}. Their rlc R-hat and ESS are over all of rlc's"
            " quantities (Stan's statistics are not stored) and their two times were measured on different"
            " days: compare the time ratios as such."
            + idle_text(record, again)
            + machines_text(record, again))
    if stopped:
        none = [m for m in stopped if not models[m]["rlc"].get("chains_with_draws")]
        lines.append(
            "* rlc runs stopped at a time limit (the draws made by then are judged): "
            + ", ".join(f"`{m}` at {models[m]['rlc']['seconds']:.0f} s" for m in stopped)
            + (f"; {' and '.join(f'`{m}`' for m in none)} had made no draws by then (still in warmup)."
               if none else "."))
    lines += ["", table(record), DOCS_END]
    return "\n".join(lines)


def idle_text(record, again):
    """The load the reruns started at (one-minute load average), when it is known for all."""
    loads = [record["models"][m].get("rlc_load_average", {}).get("before") for m in again]
    if not loads or any(not load for load in loads):
        return ""
    return (f" Each rerun started with a one-minute load average of {min(l[0] for l in loads):.2f} to"
            f" {max(l[0] for l in loads):.2f} on the 2 cores (rlc's own previous run included).")


def machines_text(record, again):
    """Where a rerun's machine differs from that of the entry's Stan run, says so."""
    def cpu(machine):
        return (machine or {}).get("cpu")

    pairs = sorted({(cpu(e.get("rlc_machine")), cpu(e.get("machine") or record.get("machine")))
                    for e in (record["models"][m] for m in again)})
    other = [(r, s) for r, s in pairs if r and s and r != s]
    if not other:
        return ""
    return " Some reruns ran on another machine than the entry's Stan run: " + "; ".join(
        f"rlc on {r}, Stan on {s}" for r, s in other) + " (each with 2 cores)."


def write_docs(record, path):
    """Replaces the text between the markers in `path` by docs_section(record)."""
    with open(path) as f:
        doc = f.read()
    if DOCS_START not in doc or DOCS_END not in doc:
        sys.exit(f"{path}: no {DOCS_START} ... {DOCS_END} markers")
    start, end = doc.index(DOCS_START), doc.index(DOCS_END) + len(DOCS_END)
    with open(path, "w") as f:
        f.write(doc[:start] + docs_section(record) + doc[end:])


def rank_test_greater(first, second):
    """The one-sided p-value of an exact permutation test that the counts `first` tend to be
    larger than `second` (Mann-Whitney's rank sum, ties at their mid-ranks): the share of all
    the ways to split the pooled counts into groups of these sizes whose first group's rank
    sum is at least the observed one. Small groups only (every split is enumerated)."""
    pooled = list(first) + list(second)
    order = sorted(range(len(pooled)), key=lambda i: pooled[i])
    ranks = [0.0] * len(pooled)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and pooled[order[j + 1]] == pooled[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    observed = sum(ranks[:len(first)])
    at_least = total = 0
    for group in itertools.combinations(range(len(pooled)), len(first)):
        total += 1
        at_least += sum(ranks[k] for k in group) >= observed - 1e-9
    return at_least / total


def more_divergences_than_stan(entry):
    """rlc has more divergent draws than Stan (the issue's criterion), Stan having run."""
    return entry["stan"].get("status") == "ran" and entry["rlc"].get("divergences", 0) > entry["stan"]["divergences"]


def rerun(args, record, seeds, sampler):
    """One sampler ("rlc" or "stan") alone at other seeds, each run recorded in the model's
    `rlc_other_seeds` or `stan_other_seeds` (a rerun at a seed replaces the earlier record of
    that seed): whether an excess of divergent draws is Monte Carlo noise, judged against
    each sampler's spread. Without the other sampler's run at hand, R-hat and ESS are over
    all of the run's quantities."""
    models = args.models or [m for m, e in record["models"].items() if more_divergences_than_stan(e)]
    extra = {"rlc_commit": rlc_commit()} if sampler == "rlc" else {}
    for model in models:
        if model not in record["models"]:
            sys.exit(f"{model}: no entry in {args.output}; run it first")
        entry = record["models"][model]
        path, _ = data_file(model, args.extdata)
        key = f"{sampler}_other_seeds"
        others = {r["seed"]: r for r in entry.get(key, [])}
        for seed in seeds:
            with tempfile.TemporaryDirectory(prefix=f"compare_runs_{model}_") as work:
                load_before = load_average()
                if sampler == "rlc":
                    result = run_rlc(args.rlc, model, path, seed, work, args.rlc_timeout)
                else:
                    result = run_stan(model, path, seed, args.stan_dir, args.stan_timeout, work)
            stats = result.pop("stats", {})
            reduce_statistics(result, stats, sorted(stats))
            result.update({"seed": seed, **extra, "load_average_before": load_before})
            others[seed] = result
            print(f"{model} {sampler} seed {seed}: {result.get('status', '')} {result.get('divergences')} divergences"
                  f" {result.get('divergences_per_chain')}, {result.get('seconds', result.get('sample_seconds'))} s",
                  flush=True)
            entry[key] = [others[s] for s in sorted(others)]
            write_json(args.output, record)


def entry_to_rerun(args, record, model):
    """A model's entry, its data file and the time now, for rerunning one sampler."""
    if model not in record["models"]:
        sys.exit(f"{model}: no entry in {args.output}; run it first")
    path, _ = data_file(model, args.extdata)
    when = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return record["models"][model], path, when


def rlc_again(args, record):
    """rlc alone at each named model's seed, replacing the rlc side of its entry (Stan's
    run kept): the record after a change to rlc, without Stan's hours again."""
    commit = rlc_commit()
    for model in args.models:
        entry, path, when = entry_to_rerun(args, record, model)
        seed = entry["rlc"].get("seed", args.seed)
        with tempfile.TemporaryDirectory(prefix=f"compare_runs_{model}_") as work:
            load_before = load_average()
            result = run_rlc(args.rlc, model, path, seed, work, args.rlc_timeout)
            load_after = load_average()
        stats = result.pop("stats", {})
        reduce_statistics(result, stats, sorted(stats))
        if stats:
            result["rlc_stats_over"] = f"all {len(stats)} of rlc's quantities (rerun alone, Stan's run kept)"
        result["seed"] = seed
        entry["rlc"] = result
        set_time_ratios(entry)
        entry.update({
            "rlc_date": when,
            "rlc_commit": commit,
            "rlc_gradient_us": gradient_microseconds(args.rlc, model, path),
            "rlc_load_average": {"before": load_before, "after": load_after},
            # Sessions may run on different machines: the rerun's, beside the record's.
            "rlc_machine": this_machine(),
        })
        write_json(args.output, record)
        print(f"{model}: rlc {result['seconds']} s, {result.get('divergences')} divergences,"
              f" exit {result['exit_code']}; Stan's run of {entry.get('date', '?')} kept", flush=True)


def rlc_quantity_names(rlc, model, data_path):
    """The quantities rlc reports for a model, read off a one-chain run of a few draws: what
    Stan's statistics are reduced to when Stan runs alone."""
    with tempfile.TemporaryDirectory(prefix=f"compare_runs_{model}_names_") as work:
        subprocess.run([rlc, "run", os.path.join(HERE, model + ".rlm"), "--data", data_path,
                        "--chains", "1", "--warmup", "5", "--draws", "2", "--output-dir", work, "--quiet"],
                       capture_output=True, check=True)
        header, _ = read_cmdstan_csv(os.path.join(work, f"{model}_1.csv"))
    return [name for name in header if not name.endswith("__")]


PROBE_WARMUP = 20
PROBE_DRAWS = 10


def stan_probe_worker(model, data_path, seed, stan_dir, result_path):
    """A short Stan run of one chain: its sampling time per leapfrog step."""
    import numpy as np
    import stan

    code = stan_program(model, stan_dir)
    data = TASKS[MODELS[model][0]](data_path)
    posterior = stan.build(code, data=data, random_seed=seed)
    start = time.perf_counter()
    fit = posterior.sample(num_chains=1, num_warmup=PROBE_WARMUP, num_samples=PROBE_DRAWS, save_warmup=True)
    seconds = time.perf_counter() - start
    leapfrogs = int(np.sum(fit["n_leapfrog__"]))
    write_json(result_path, {"seconds": round(seconds, 2), "leapfrogs": leapfrogs})


def gradient_probe(args, record, models):
    """Stan's sampling time per leapfrog step in a short run, then rlc's gradient time,
    for each model: the entry's `gradient_probe`."""
    for model in models:
        entry, path, when = entry_to_rerun(args, record, model)
        with tempfile.TemporaryDirectory(prefix=f"compare_runs_{model}_") as work:
            result_path = os.path.join(work, "probe.json")
            load_before = load_average()
            command = [sys.executable, os.path.abspath(__file__), "--stan-probe-worker", model, path,
                       str(entry["stan"].get("seed", args.seed)), args.stan_dir, result_path]
            done = subprocess.run(command, capture_output=True, text=True, timeout=args.stan_timeout)
            if not os.path.exists(result_path):
                sys.exit(f"{model}: Stan's probe failed (exit {done.returncode}): {done.stderr[-800:]}")
            with open(result_path) as f:
                stan = json.load(f)
        rlc_us = gradient_microseconds(args.rlc, model, path)
        stan_us = stan["seconds"] / stan["leapfrogs"] * 1e6
        entry["gradient_probe"] = {
            "stan_us_per_leapfrog": round(stan_us, 1),
            "stan_run": f"1 chain, {PROBE_WARMUP} warmup + {PROBE_DRAWS} draws: {stan['leapfrogs']} leapfrog"
                        f" steps in {stan['seconds']} s (pystan's sample(), build excluded)",
            "rlc_gradient_us": round(rlc_us, 1),
            "ratio_rlc_to_stan": round(rlc_us / stan_us, 4),
            "date": when,
            "rlc_commit": rlc_commit(),
            "load_average": {"before": load_before, "after": load_average()},
            "machine": this_machine(),
        }
        write_json(args.output, record)
        print(f"{model}: Stan {stan_us / 1000:.2f} ms per leapfrog, rlc {rlc_us / 1000:.2f} ms per gradient"
              f" ({rlc_us / stan_us:.3f})", flush=True)


def stan_join(args, record, directory):
    """Judges the chains that finished in `directory`, the work directory of a
    `--stan-again --chains-apart` run stopped before its last chain ended (a session's
    time): chain_k.json and its draws for each finished chain k, seed S + k - 1. All of
    hBayesDM's chains: the entry's Stan run; fewer: its `stan_partial`, beside a Stan run
    recorded as not run (the table compares whole runs only)."""
    if len(args.models) != 1:
        sys.exit("--stan-join: name the one model whose chains are in DIR")
    model = args.models[0]
    entry, _, _ = entry_to_rerun(args, record, model)
    seed = entry["stan"].get("seed", args.seed)
    found = sorted(int(m.group(1)) for name in os.listdir(directory)
                   if (m := re.fullmatch(r"chain_(\d+)\.json", name)))
    if not found:
        sys.exit(f"{directory}: no finished chain (chain_K.json)")
    ended = {k: (0, os.path.join(directory, f"chain_{k}.json")) for k in found}
    # A chain that had started but not finished: how far its log says it got.
    unfinished = []
    for name in sorted(os.listdir(directory)):
        m = re.fullmatch(r"chain_(\d+)\.log", name)
        if not m or int(m.group(1)) in found:
            continue
        with open(os.path.join(directory, name), errors="replace") as f:
            progress = re.findall(r"\((\d+)/(\d+)\)", f.read())
        k = int(m.group(1))
        unfinished.append({"chain": k, "seed": seed + k - 1,
                           "iterations": f"{progress[-1][0]} of {progress[-1][1]}" if progress else "none"})
    per_chain = {}
    for k, (_, path) in ended.items():
        with open(path) as f:
            per_chain[k] = json.load(f)
    result = join_chains({}, ended, directory)
    stats = result.pop("stats", {})
    names = rlc_quantity_names(args.rlc, model, data_file(model, args.extdata)[0])
    common = sorted(set(stats) & set(names))
    reduce_statistics(result, stats, common)
    modified = max(os.path.getmtime(path) for _, path in ended.values())
    result.update({
        "seed": seed,
        "chains": found,
        "chain_seeds": [seed + k - 1 for k in found],
        "sample_seconds_per_chain": [per_chain[k].get("sample_seconds") for k in found],
        "sample_cpu_seconds_per_chain": [per_chain[k].get("sample_cpu_seconds") for k in found],
        "unfinished_chains": unfinished,
        "stan_stats_over": f"the {len(common)} quantities rlc reports, over the {len(found)} chains joined",
        "date": datetime.datetime.fromtimestamp(modified, datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": this_machine(),
    })
    if len(found) == CHAINS and result.get("status") == "ran":
        # Whole. The chains' wall times overlapped (two at a time) by an amount not
        # recorded, so their sum, the CPU time's match, stands for both times.
        result["sample_seconds"] = round(sum(result["sample_seconds_per_chain"]), 2)
        result["sample_cpu_seconds"] = round(sum(result["sample_cpu_seconds_per_chain"]), 2)
        result["chains_apart"] = (f"each chain its own pystan process, joined by --stan-join from {directory};"
                                  " times are the sums of the chains' own")
        entry["stan"] = result
        entry.pop("stan_partial", None)
        set_time_ratios(entry)
    else:
        entry["stan_partial"] = result
        if entry["stan"].get("status") != "ran":
            entry["stan"] = {"status": "not run", "seed": seed,
                             "reason": f"{len(found)} of {CHAINS} chains finished (stan_partial)"}
    write_json(args.output, record)
    print(f"{model}: Stan's chains {found} joined: {result.get('divergences_per_chain')} divergent draws,"
          f" max R-hat {result.get('max_rhat')}", flush=True)


def stan_again(args, record):
    """Stan alone at each named model's seed, replacing the Stan side of its entry (rlc's
    run kept): Stan's run of a model it had not run (a time limit, a crash), without
    running rlc again. Stan's R-hat and ESS are over the quantities rlc reports."""
    for model in args.models:
        entry, path, when = entry_to_rerun(args, record, model)
        seed = entry["stan"].get("seed", args.seed)
        names = rlc_quantity_names(args.rlc, model, path)
        # Kept unless the run succeeded: the chains that finished in a run with a failed
        # or stopped chain can still be judged together (`--stan-join DIR`).
        work = tempfile.mkdtemp(prefix=f"compare_runs_{model}_")
        load_before = load_average()
        run = run_stan_chains_apart if args.chains_apart else run_stan
        result = run(model, path, seed, args.stan_dir, args.stan_timeout, work)
        load_after = load_average()
        if result.get("status") == "ran":
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"{model}: Stan's work directory kept for --stan-join: {work}", flush=True)
        stats = result.pop("stats", {})
        common = sorted(set(stats) & set(names))
        reduce_statistics(result, stats, common)
        if stats:
            result["stan_stats_over"] = f"the {len(common)} quantities rlc reports (Stan rerun alone, rlc's run kept)"
        result.update({"seed": seed, "date": when, "load_average": {"before": load_before, "after": load_after},
                       "machine": this_machine()})
        entry["stan"] = result
        set_time_ratios(entry)
        write_json(args.output, record)
        print(f"{model}: Stan {result.get('status')} {result.get('sample_seconds', '')} s,"
              f" {result.get('divergences', '')} divergences {result.get('reason', result.get('error', ''))[:200]};"
              f" rlc's run of {entry.get('rlc_date', entry.get('date', '?'))} kept", flush=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--stan-worker":
        model, data_path, seed, stan_dir, result_path = sys.argv[2:7]
        chains = int(sys.argv[7]) if len(sys.argv) > 7 else CHAINS
        stan_worker(model, data_path, int(seed), stan_dir, result_path, chains)
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--stan-probe-worker":
        model, data_path, seed, stan_dir, result_path = sys.argv[2:7]
        stan_probe_worker(model, data_path, int(seed), stan_dir, result_path)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", help="default: every .rlm in models/hbayesdm")
    parser.add_argument("--rlc", default=os.path.join(ROOT, "target", "release", "rlc"),
                        help="the rlc binary (default: target/release/rlc, or $CARGO_TARGET_DIR/release/rlc)")
    parser.add_argument("--extdata", default=DEFAULT_EXTDATA, help="hBayesDM's example data folder")
    parser.add_argument("--stan-dir", default=DEFAULT_STAN_DIR)
    parser.add_argument("--seed", type=int, default=SEED, help=f"both samplers' seed (default {SEED})")
    parser.add_argument("--stan-timeout", type=float, default=900, help="seconds per model for Stan (build and sampling)")
    parser.add_argument("--rlc-timeout", type=float, help="seconds per rlc run; then rlc is stopped (SIGTERM)"
                        " and the draws made so far are judged (default: none)")
    parser.add_argument("--budget-minutes", type=float, default=math.inf,
                        help="start no Stan run after this many minutes (rlc still runs every model;"
                        " Stan's runs left are recorded as not run)")
    parser.add_argument("--given-order", action="store_true",
                        help="run the models named in the order given (no rlc bench to order them)")
    parser.add_argument("--output", default=os.path.join(HERE, "runs.json"))
    parser.add_argument("--table", action="store_true", help="print the table of --output and stop")
    parser.add_argument("--docs", metavar="FILE",
                        help="write the section of FILE (docs/models.md) between its runs markers from --output, and stop")
    parser.add_argument("--rlc-seeds", help="S1,S2,...: only rerun rlc with these seeds, on the models named"
                        " (default: those of --output where rlc had more divergences than Stan), and record"
                        " the runs in their entries' `rlc_other_seeds` (is the excess Monte Carlo noise?)")
    parser.add_argument("--stan-seeds", help="S1,S2,...: only rerun Stan with these seeds, on the models named"
                        " (default: those of --output where rlc had more divergences than Stan), and record"
                        " the runs in their entries' `stan_other_seeds`")
    parser.add_argument("--rlc-again", action="store_true",
                        help="only rerun rlc, at each entry's seed, on the models named, replacing the rlc side"
                        " of their entries (Stan's run kept)")
    parser.add_argument("--stan-again", action="store_true",
                        help="only rerun Stan, at each entry's seed, on the models named, replacing the Stan side"
                        " of their entries (rlc's run kept)")
    parser.add_argument("--chains-apart", action="store_true",
                        help="with --stan-again: each of Stan's chains its own process, with a memory limit"
                        " (run_stan_chains_apart), where pystan's 4-chain run is killed out of memory")
    parser.add_argument("--stan-join", metavar="DIR",
                        help="only judge the finished chains in DIR, the work directory of a --stan-again"
                        " --chains-apart run stopped before all its chains ended, into the entry of the one"
                        " model named (its `stan_partial` when fewer than all chains finished)")
    parser.add_argument("--gradient-probe", action="store_true",
                        help="only time one gradient of each sampler (Stan's per leapfrog step over a short"
                        " run, rlc bench's), on the models named (default: those Stan did not run), into"
                        " their entries' `gradient_probe`")
    args = parser.parse_args()

    if args.table:
        with open(args.output) as f:
            print(table(json.load(f)))
        return
    if args.docs:
        with open(args.output) as f:
            write_docs(json.load(f), args.docs)
        return
    if "CARGO_TARGET_DIR" in os.environ and args.rlc == parser.get_default("rlc"):
        args.rlc = os.path.join(os.environ["CARGO_TARGET_DIR"], "release", "rlc")
    if not os.access(args.rlc, os.X_OK):
        sys.exit(f"{args.rlc}: no rlc binary (cargo build --release, or --rlc PATH)")
    ported = ported_models()
    chosen = args.models or ported
    for model in chosen:
        if model not in ported:
            sys.exit(f"{model}: no {model}.rlm in {HERE}")
        if model not in MODELS:
            sys.exit(f"{model}: not in stan_reference.py's MODELS (add a row)")

    record = {"models": {}}
    if os.path.exists(args.output):
        with open(args.output) as f:
            record = json.load(f)
    if args.rlc_again:
        if not args.models:
            sys.exit("--rlc-again: name the models to rerun")
        rlc_again(args, record)
        return
    if args.stan_join:
        stan_join(args, record, args.stan_join)
        return
    if args.stan_again:
        if not args.models:
            sys.exit("--stan-again: name the models to rerun")
        stan_again(args, record)
        return
    if args.gradient_probe:
        gradient_probe(args, record, args.models or [
            m for m, e in record["models"].items() if e["stan"].get("status") != "ran"])
        return
    if args.rlc_seeds:
        rerun(args, record, [int(x) for x in args.rlc_seeds.split(",")], "rlc")
        return
    if args.stan_seeds:
        rerun(args, record, [int(x) for x in args.stan_seeds.split(",")], "stan")
        return
    record.update({
        "about": "rlc run (defaults) and hBayesDM's Stan program (pystan, hBayesDM's chains and draws, adapt_delta 0.8) on each"
        " model's example data, made by compare_runs.py; times on a shared machine, see load_average",
        "stan_program": f"hBayesDM {STAN_COMMIT} commons/stan_files/MODEL.stan (stan_reference.py's PATCHES applied)",
        "stan_settings": {"chains": CHAINS, "warmup": STAN_WARMUP, "draws": STAN_DRAWS, "interface": "pystan"},
        "rlc_settings": "rlc run defaults: 4 chains, 400 warmup iterations (fisher adaptation), 1000 draws",
    })
    # The machine of the entries that do not name their own (those made before entries did).
    record.setdefault("machine", this_machine())

    # The gradient time of an earlier run's entry is reused: measuring it takes 5-50 s.
    gradient_us = {
        m: record["models"].get(m, {}).get("rlc_gradient_us")
        or (math.inf if args.given_order else gradient_microseconds(args.rlc, m, data_file(m, args.extdata)[0]))
        for m in chosen
    }
    order = chosen if args.given_order else sorted(chosen, key=lambda m: gradient_us[m])
    print("order:", " ".join(order), flush=True)
    start = time.monotonic()
    commit = rlc_commit()
    for model in order:
        path, name = data_file(model, args.extdata)
        when = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        with tempfile.TemporaryDirectory(prefix=f"compare_runs_{model}_") as work:
            load_before = load_average()
            rlc_result = run_rlc(args.rlc, model, path, args.seed, os.path.join(work, "rlc"), args.rlc_timeout)
            rlc_result["seed"] = args.seed
            load_between = load_average()
            if (time.monotonic() - start) / 60 > args.budget_minutes:
                stan_result = {"status": "not run", "reason": f"over the run's time budget of {args.budget_minutes:g} minutes"}
            else:
                stan_result = run_stan(model, path, args.seed, args.stan_dir, args.stan_timeout, work)
            stan_result["seed"] = args.seed
            entry = compare(model, name, rlc_result, stan_result)
        entry.update({
            "date": when,
            "rlc_commit": commit,
            "rlc_gradient_us": gradient_us[model] if math.isfinite(gradient_us[model]) else None,
            "load_average": {"before_rlc": load_before, "before_stan": load_between, "after": load_average()},
            "machine": this_machine(),
        })
        if model in NOT_AS_IS:
            entry["why_not_example_data"] = NOT_AS_IS[model]
        record["models"][model] = entry
        record["date"] = when
        write_json(args.output, record)
        r, s = entry["rlc"], entry["stan"]
        print(f"{model}: rlc {r['seconds']} s, {r.get('divergences')} divergences, exit {r['exit_code']};"
              f" Stan {s.get('status')} {s.get('sample_seconds', '')} s, {s.get('divergences', '')} divergences"
              f" {s.get('reason', s.get('error', ''))[:200]}", flush=True)
    print(table(record))


if __name__ == "__main__":
    main()
