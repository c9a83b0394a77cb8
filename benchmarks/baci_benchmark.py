"""Benchmark: a BACI basket panel via DuckDB + Parquet against plain pandas.

A file in CEPII BACI's CSV layout (``t,i,j,k,v,q``; :func:`research.sources.baci.
write_baci_layout_sample`, default 20 million rows over two years, real country and
HS2022 codes) is written to a temporary folder. The same basket panel (the HS6 lines of
the monthly Comtrade groups: rare earths, magnets, Ga/Ge, graphite, polysilicon; all
exporters and importers; tidy ``trade_flows`` layout) is then built two ways:

- **duckdb**: :func:`~research.sources.baci.convert_to_parquet` (streamed CSV -> Parquet
  partitioned by year; DuckDB memory_limit 1GB, 2 threads) and
  :func:`~research.sources.baci.basket_panel` (DuckDB query of the Parquet). A second
  basket (tungsten and antimony) is then queried from the same Parquet to show the cost
  once the conversion is done;
- **pandas**: ``pandas.read_csv`` of the whole file (dtypes given, ``k`` as text), a
  filter on the basket codes, country codes mapped with ``from_comtrade_code`` and a
  ``groupby`` sum, single-threaded, as one would write it without a database.

Each path runs in its own child process; its peak memory is the child's maximum resident
set size (``ru_maxrss`` from ``os.wait4``), which counts everything the process touched
(Python, pandas, DuckDB's C++ allocations). A third child only imports the modules: its
peak is the baseline subtracted for the "net" figures. Wall times are measured inside the
children; with ``--repeat N`` the paths alternate N times and the fastest round of each is
reported (the machine may be shared). The two panels are compared: same keys in the same
order, and values equal to a relative 1e-12 (both parse decimal text to float; the largest
difference is printed).

Usage::

    nice .venv/bin/python benchmarks/baci_benchmark.py --rows 20000000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASKET = ["280530", "284690", "850511", "282560", "282590", "285000", "285390", "811292",
          "811299", "250410", "380110", "280461"]  # comtrade_groups of hs_baskets
SECOND_BASKET = ["810110", "810194", "810199", "284180", "261710", "811010", "811020"]
YEARS = (2022, 2023)


# --- the two paths (run in child processes) --------------------------------------------
def run_duckdb(csv: Path, work: Path, out: Path) -> dict:
    from research.sources import baci

    start = time.perf_counter()
    folder = baci.convert_to_parquet(csv, work / "parquet", threads=2, memory_limit="1GB")
    converted = time.perf_counter()
    panel = baci.basket_panel(folder, BASKET, threads=2)
    queried = time.perf_counter()
    second = baci.basket_panel(folder, SECOND_BASKET, threads=2)
    again = time.perf_counter()
    panel.to_parquet(out)
    size = sum(p.stat().st_size for p in folder.rglob("*.parquet"))
    return {"convert_s": converted - start, "query_s": queried - converted,
            "total_s": queried - start, "second_query_s": again - queried,
            "second_rows": len(second), "parquet_mb": size / 2**20}


def run_pandas(csv: Path, work: Path, out: Path) -> dict:
    import pandas as pd

    from research.countries import from_comtrade_code
    from research.sources import baci

    start = time.perf_counter()
    raw = pd.read_csv(csv, dtype={"t": "int16", "i": "int32", "j": "int32", "k": "str",
                                  "v": "float64", "q": "float64"},
                      na_values=["NA"], skipinitialspace=True)
    read = time.perf_counter()
    variants = set(BASKET) | {code.lstrip("0") for code in BASKET}  # k may lose its zero
    sub = raw[raw["k"].isin(variants)].copy()
    del raw
    sub["k"] = sub["k"].str.zfill(6)
    sub["q_missing"] = sub["q"].isna()
    grouped = sub.groupby(["i", "j", "k", "t"], sort=False).agg(
        v=("v", "sum"), q=("q", "sum"), q_missing=("q_missing", "any")).reset_index()
    grouped["q"] = grouped["q"].mask(grouped["q_missing"])
    codes = pd.unique(pd.concat([grouped["i"], grouped["j"]]))
    iso3 = {int(code): from_comtrade_code(int(code)) for code in codes}
    # the final shaping (ISO3 per code, tidy columns) is the package's, as in the DuckDB path
    panel = baci._flows_frame(grouped[["i", "j", "k", "t", "v", "q"]], iso3,
                              baci._source_label([csv]), str(csv))
    done = time.perf_counter()
    panel.to_parquet(out)
    return {"read_s": read - start, "filter_group_s": done - read, "total_s": done - start}


def run_generate(csv: Path, work: Path, out: Path) -> dict:
    from research.sources import baci

    rows = int(out.name)
    started = time.perf_counter()

    def progress(done: int) -> None:
        if done % 4_000_000 == 0 or done == rows:
            print(f"  {done:,} rows written ({time.perf_counter() - started:.0f} s)",
                  file=sys.stderr, flush=True)

    baci.write_baci_layout_sample(csv, rows, seed=int(work.name.rsplit("_", 1)[-1]),
                                  years=YEARS, progress=progress)
    return {"seconds": time.perf_counter() - started, "mb": csv.stat().st_size / 2**20}


def run_baseline(csv: Path, work: Path, out: Path) -> dict:
    import duckdb  # noqa: F401
    import pandas  # noqa: F401

    from research.sources import baci  # noqa: F401

    return {}


PATHS = {"duckdb": run_duckdb, "pandas": run_pandas, "baseline": run_baseline,
         "generate": run_generate}


def child(args: argparse.Namespace) -> None:
    result = PATHS[args.child](Path(args.csv), Path(args.work), Path(args.out))
    print(json.dumps(result))


# --- the parent ------------------------------------------------------------------------
def in_child(name: str, csv: Path, work: Path, out: Path) -> tuple[dict, float, float]:
    """Run one path in a child process; (its result, wall seconds, peak RSS in MB)."""
    command = [sys.executable, __file__, "--child", name, "--csv", str(csv), "--work",
               str(work), "--out", str(out)]
    log_out, log_err = work / f"{name}.stdout", work / f"{name}.stderr"
    start = time.perf_counter()
    with open(log_out, "w") as stdout, open(log_err, "w") as stderr:
        process = subprocess.Popen(command, stdout=stdout,
                                   stderr=None if name == "generate" else stderr,
                                   env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
        _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage
        process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"{name} child failed:\n{log_err.read_text()}")
    result = json.loads(log_out.read_text().strip().splitlines()[-1])
    return result, seconds, usage.ru_maxrss / 1024  # ru_maxrss is in kB on Linux


def compare(duck_path: Path, pandas_path: Path) -> str:
    import numpy as np
    import pandas as pd

    duck, plain = pd.read_parquet(duck_path), pd.read_parquet(pandas_path)
    keys = ["reporter_iso3", "partner_iso3", "flow", "product", "period", "freq", "source"]
    if len(duck) != len(plain) or not duck[keys].equals(plain[keys]):
        raise AssertionError("the two panels have different keys or order")
    worst = 0.0
    for column in ("value_usd", "quantity"):
        a, b = duck[column].to_numpy(), plain[column].to_numpy()
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            raise AssertionError(f"{column}: missing values differ")
        ok = ~np.isnan(a)
        relative = np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300)
        worst = max(worst, float(relative.max(initial=0.0)))
        np.testing.assert_allclose(a[ok], b[ok], rtol=1e-12, atol=0)
    return (f"identical keys ({len(duck):,} rows, {duck['quantity'].isna().sum():,} without "
            f"quantity); largest relative value difference {worst:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder for the temporary files (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of both paths, alternating; the fastest is reported")
    parser.add_argument("--child", choices=sorted(PATHS), help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    # The parent imports nothing heavy and does no work itself: a child's ru_maxrss
    # starts from the parent's resident set at fork time, so every step runs in a child.
    base = Path(tempfile.mkdtemp(prefix="baci_benchmark_", dir=args.workdir))
    work = base / f"work_{args.seed}"
    work.mkdir()
    try:
        csv = work / "BACI_HS22_Y2022_V202401.csv"
        print(f"writing {args.rows:,} rows in BACI layout to {csv} (child process)",
              flush=True)
        made, _, gen_mb = in_child("generate", csv, work, work / str(args.rows))
        print(f"sample: {made['mb']:,.0f} MB in {made['seconds']:.0f} s "
              f"(writer peak {gen_mb:.0f} MB)", flush=True)
        results = {}
        for round_ in range(args.repeat):
            for name in ("baseline", "duckdb", "pandas"):
                print(f"running {name} in a child process (round {round_ + 1}) ...",
                      flush=True)
                shutil.rmtree(work / "parquet", ignore_errors=True)
                run = in_child(name, csv, work, work / f"{name}.parquet")
                best = results.get(name)
                if best is None or run[0].get("total_s", 0) < best[0].get("total_s", 0):
                    results[name] = run  # the fastest round (peak memory of that round)
        base_mb = results["baseline"][2]
        duck, duck_wall, duck_mb = results["duckdb"]
        plain, plain_wall, plain_mb = results["pandas"]
        print(f"\nbasket panel of {len(BASKET)} HS6 lines from {args.rows:,} BACI rows "
              f"({len(YEARS)} years); baseline child (interpreter + imports) peak "
              f"{base_mb:.0f} MB")
        print(f"{'path':<8}{'seconds':>9}{'peak MB':>9}{'net MB':>8}  details")
        print(f"{'duckdb':<8}{duck['total_s']:>9.1f}{duck_mb:>9.0f}{duck_mb - base_mb:>8.0f}  "
              f"convert {duck['convert_s']:.1f} s + query {duck['query_s']:.2f} s; "
              f"second basket from the Parquet {duck['second_query_s']:.2f} s; "
              f"Parquet {duck['parquet_mb']:.0f} MB")
        print(f"{'pandas':<8}{plain['total_s']:>9.1f}{plain_mb:>9.0f}"
              f"{plain_mb - base_mb:>8.0f}  read_csv {plain['read_s']:.1f} s + filter/"
              f"groupby {plain['filter_group_s']:.2f} s")
        print(f"ratios duckdb/pandas: time {duck['total_s'] / plain['total_s']:.2f}, "
              f"peak memory {duck_mb / plain_mb:.2f}, net memory "
              f"{(duck_mb - base_mb) / max(plain_mb - base_mb, 1):.2f}; "
              f"a further basket: {duck['second_query_s'] / plain['total_s']:.3f} of the "
              f"pandas time")
        print(f"(child wall times incl. interpreter start: duckdb {duck_wall:.1f} s, "
              f"pandas {plain_wall:.1f} s)")
        print("check: " + compare(work / "duckdb.parquet", work / "pandas.parquet"))
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
