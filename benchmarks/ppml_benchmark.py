"""Benchmark: ``research.estimate.gravity.ppml`` against pyfixest ``fepois`` and statsmodels.

A synthetic gravity panel (exporter, importer, year; regressors ``log_tariff`` and
``rta``) with three fixed-effect sets ``exporter^year + importer^year + pair`` is fitted
by our ``ppml`` and by pyfixest's ``fepois`` (the named baseline), in one process. A random
subsample (``--sm-rows``, default 100,000) is also fitted with fixed effects
``exporter + importer + year`` by statsmodels GLM Poisson with dummy variables, by ours
and by pyfixest, to compare all three where dummies fit in memory.

Printed per run: wall time, peak memory (increase of the process's resident set over the
call, sampled every 5 ms from ``/proc/self/statm``, so numba and polars allocations count
too), the ratios of both to pyfixest, and the largest absolute coefficient difference.
The resident set only grows when freed memory cannot be reused, so after the large run the
small-subsample peaks read near zero ("n/a" ratios): compare memory on the large run.

Benchmark-only dependency: ``pyfixest`` (``pip install pyfixest``); it is skipped with a
message when not importable. It is not a runtime dependency of the package.

Usage::

    .venv/bin/python benchmarks/ppml_benchmark.py --rows 2000000
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from research.estimate.gravity import ppml

TRUE_COEF = {"log_tariff": -0.8, "rta": 0.4}


def synthetic_gravity(rows: int, years: int = 20, seed: int = 0) -> pd.DataFrame:
    """A gravity panel of about ``rows`` rows: ``C * (C - 1) * years`` with C countries.

    ``trade ~ Poisson(exp(-0.8 log_tariff + 0.4 rta + a_exporter,year + b_importer,year
    + c_pair) * gamma noise)``, so zeros (and some all-zero pairs) occur.
    """
    rng = np.random.default_rng(seed)
    countries = int(np.ceil((1 + np.sqrt(1 + 4 * rows / years)) / 2))
    exporter, importer = np.nonzero(~np.eye(countries, dtype=bool))
    pair = np.arange(len(exporter))
    n_pairs = len(pair)
    year = np.repeat(np.arange(years), n_pairs)
    exporter, importer, pair = (np.tile(a, years) for a in (exporter, importer, pair))
    if len(pair) > rows:  # trim to exactly ``rows`` (leaves an unbalanced panel)
        chosen = np.sort(rng.choice(len(pair), size=rows, replace=False))
        exporter, importer, pair, year = (a[chosen] for a in (exporter, importer, pair, year))
    n = len(pair)
    pair_effect = rng.normal(-1.0, 1.0, size=n_pairs)
    exp_year = rng.normal(0, 0.5, size=countries * years)
    imp_year = rng.normal(0, 0.5, size=countries * years)
    log_tariff = np.log1p(rng.gamma(2.0, 0.05, size=n))
    rta_start = rng.integers(0, 3 * years, size=n_pairs)  # two thirds of pairs never sign
    rta = (year >= rta_start[pair]).astype(np.int8)
    eta = (TRUE_COEF["log_tariff"] * log_tariff + TRUE_COEF["rta"] * rta
           + exp_year[exporter * years + year] + imp_year[importer * years + year]
           + pair_effect[pair] + 1.0)
    trade = rng.poisson(np.exp(eta) * rng.gamma(2.0, 0.5, size=n)).astype(float)
    return pd.DataFrame({"exporter": exporter.astype(np.int32), "importer": importer.astype(np.int32),
                         "pair": pair.astype(np.int32), "year": year.astype(np.int16),
                         "log_tariff": log_tariff, "rta": rta, "trade": trade})


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(fn: Callable[[], pd.Series]) -> tuple[pd.Series, float, float]:
    """Run ``fn``; return its coefficients, wall seconds and peak RSS increase in MB."""
    baseline = _rss_bytes()
    peak = [baseline]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        coef = fn()
    finally:
        seconds = time.perf_counter() - start
        stop.set()
        sampler.join()
    peak[0] = max(peak[0], _rss_bytes())
    return coef, seconds, (peak[0] - baseline) / 2**20


def run_ours(data: pd.DataFrame, formula: str, cluster: str) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ppml(data, formula, cluster=cluster).coef


def run_pyfixest(data: pd.DataFrame, formula: str, cluster: str) -> pd.Series:
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.fepois(formula, data=data, vcov={"CRV1": cluster})
    return fit.coef()


def run_statsmodels(data: pd.DataFrame, regressors: list[str], fixed: list[str],
                    cluster: str) -> pd.Series:
    import statsmodels.api as sm

    dummies = [pd.get_dummies(data[f], prefix=f, drop_first=i > 0, dtype=float)
               for i, f in enumerate(fixed)]
    design = pd.concat([data[regressors].astype(float), *dummies], axis=1)
    groups = pd.factorize(data[cluster])[0]
    fit = sm.GLM(data["trade"].to_numpy(), design, family=sm.families.Poisson()).fit(
        tol=1e-10, cov_type="cluster", cov_kwds={"groups": groups})
    return fit.params[regressors]


def _have_pyfixest() -> bool:
    try:
        import pyfixest  # noqa: F401
    except ImportError as error:
        print(f"pyfixest not importable ({error}); skipping it (pip install pyfixest)")
        return False
    return True


def _report(title: str, results: dict[str, tuple[pd.Series, float, float]]) -> None:
    print(f"\n{title}")
    base = results.get("pyfixest")
    header = f"{'tool':<12}{'seconds':>10}{'peak MB':>10}{'time/pyfixest':>15}" \
             f"{'mem/pyfixest':>14}{'max|coef - pyfixest|':>22}"
    print(header)
    for tool, (coef, seconds, mb) in results.items():
        if base is not None:
            diff = float(np.max(np.abs(coef.to_numpy() - base[0][coef.index].to_numpy())))
            mem_ratio = f"{mb / base[2]:>14.2f}" if base[2] >= 1 else f"{'n/a':>14}"
            ratios = f"{seconds / base[1]:>15.2f}{mem_ratio}{diff:>22.2e}"
        else:
            ratios = f"{'':>15}{'':>14}{'':>22}"
        print(f"{tool:<12}{seconds:>10.2f}{mb:>10.0f}{ratios}")
    for tool, (coef, _, _) in results.items():
        print(f"  {tool}: " + ", ".join(f"{k}={v:.6f}" for k, v in coef.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--sm-rows", type=int, default=100_000,
                        help="subsample for the statsmodels-with-dummies comparison (0: skip)")
    args = parser.parse_args()

    have_pyfixest = _have_pyfixest()
    regressors = ["log_tariff", "rta"]
    formula = "trade ~ log_tariff + rta | exporter^year + importer^year + pair"

    # warm-up (numba compilation in pyfixest, imports in both) on a tiny panel
    tiny = synthetic_gravity(5_000, years=5, seed=1)
    run_ours(tiny, formula, "pair")
    if have_pyfixest:
        run_pyfixest(tiny, formula, "pair")

    data = synthetic_gravity(args.rows, years=args.years)
    print(f"synthetic panel: {len(data):,} rows, {data['exporter'].nunique()} countries, "
          f"{data['year'].nunique()} years, {data['pair'].nunique():,} pairs, "
          f"{(data['trade'] == 0).mean():.1%} zeros; true coefficients {TRUE_COEF}")
    results = {}
    if have_pyfixest:
        results["pyfixest"] = measure(lambda: run_pyfixest(data, formula, "pair"))
    results["ours"] = measure(lambda: run_ours(data, formula, "pair"))
    _report(f"{formula}  (cluster: pair), {len(data):,} rows", results)

    if args.sm_rows:
        sub = data.sample(n=min(args.sm_rows, len(data)), random_state=0)
        fixed = ["exporter", "importer", "year"]
        sub_formula = "trade ~ log_tariff + rta | exporter + importer + year"
        sub_results = {}
        if have_pyfixest:
            sub_results["pyfixest"] = measure(lambda: run_pyfixest(sub, sub_formula, "pair"))
        sub_results["ours"] = measure(lambda: run_ours(sub, sub_formula, "pair"))
        sub_results["statsmodels"] = measure(
            lambda: run_statsmodels(sub, regressors, fixed, "pair"))
        _report(f"{sub_formula}  (cluster: pair), {len(sub):,}-row subsample; statsmodels "
                "with dummy variables", sub_results)
        ours, sm_coef = sub_results["ours"][0], sub_results["statsmodels"][0]
        print(f"  max|ours - statsmodels| = {np.max(np.abs(ours - sm_coef[ours.index])):.2e}")


if __name__ == "__main__":
    main()
