"""Fits per minute of a recovery study, serial and on Dask (a benchmark, not a test).

    python python/bench/batch_bench.py [--fits 100] [--chains 2] [--warmup 500] [--draws 500]

runs the same study (`rlc.recover`'s jobs: simulate data set k from the priors,
fit it, write its folder) in five ways and prints fits per minute for each:

* `loop`: one after another in this process, without Dask (the worker's own
  function called in a loop: the cost of a fit and of writing its folder);
* `dask-1`, `dask-2`: `rlc.recover` on a LocalCluster of 1 and 2
  single-threaded worker processes (cluster start-up not counted; the
  clusters are started before the clock);
* `cli-1`, `cli-2`: `rlc recover --jobs 1` and `--jobs 2` for comparison (threads
  in one process, nothing written but the CSV), when the binary is found
  (RLC_BIN, else target/release/rlc).

Every way gives the same rows (the script checks it). Run from the
repository's root after `pip install "./python[batch]"`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import rlc
from rlc import batch

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "rl_single.rlm"))
    parser.add_argument("--design", default=str(ROOT / "models" / "data" / "tutorial.csv"))
    parser.add_argument("--fits", type=int, default=100)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ways", default="loop,dask-1,dask-2,cli-1,cli-2")
    parser.add_argument("--save", default="zarr", help='"zarr", "netcdf" or "none": how each fit\'s draws are written')
    args = parser.parse_args()
    settings = dict(chains=args.chains, warmup=args.warmup, draws=args.draws)
    save = None if args.save == "none" else args.save
    ways = args.ways.split(",")
    work = Path(tempfile.mkdtemp(prefix="rlc-batch-bench-"))
    print(
        f"{args.fits} fits of {Path(args.model).name} on {Path(args.design).name}, "
        f"{args.chains} chains × ({args.warmup} warmup + {args.draws} draws) each, draws saved as {args.save}; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    reference = None
    results = []
    try:
        for way in ways:
            out = work / way
            rows = None
            if way == "loop":
                model = rlc.Model.from_file(args.model)
                out.mkdir()
                start = time.perf_counter()
                jobs = batch._recover_jobs(model, args.design, args.fits, out, args.seed, 0, save, False, 1, settings)
                done = [batch._run_job(job) for job in jobs]
                seconds = time.perf_counter() - start
                rows = pd.DataFrame([r for d in done for r in d["rows"]])
            elif way.startswith("dask-"):
                from dask.distributed import Client, LocalCluster

                workers = int(way.split("-")[1])
                with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
                    start = time.perf_counter()
                    study = rlc.recover(args.model, args.design, fits=args.fits, client=client, out=out, seed=args.seed, progress=False, save=save, **settings)
                    seconds = time.perf_counter() - start
                rows = study.fits
            elif way.startswith("cli-"):
                binary = Path(os.environ.get("RLC_BIN", ROOT / "target" / "release" / "rlc"))
                if not binary.exists():
                    print(f"{way}: skipped ({binary} not found)")
                    continue
                jobs = way.split("-")[1]
                start = time.perf_counter()
                subprocess.run(
                    [str(binary), "recover", args.model, "--data", args.design, "--fits", str(args.fits), "--seed", str(args.seed),
                     "--chains", str(args.chains), "--warmup", str(args.warmup), "--draws", str(args.draws), "--jobs", jobs,
                     "--quiet", "--output", str(work / f"{way}.csv")],
                    check=True, capture_output=True,
                )
                seconds = time.perf_counter() - start
                frame = pd.read_csv(work / f"{way}.csv", dtype=str)
                rows = frame.assign(**{c: frame[c].map(float) for c in frame.columns if c not in ("name", "variable", "kind")})
            else:
                sys.exit(f"unknown way {way!r}")
            results.append((way, seconds))
            print(f"{way:>7}: {seconds:6.1f} s, {60 * args.fits / seconds:6.1f} fits per minute", flush=True)
            key = rows[["fit", "name", "mean", "sd", "rank"]].astype({"fit": int, "rank": int}).reset_index(drop=True)
            if reference is None:
                reference = key
            elif not key.equals(reference):
                sys.exit(f"{way} gave other rows than {results[0][0]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("every way gave the same rows")


if __name__ == "__main__":
    main()
