"""Benchmark: the default report set run serially, in parallel, and regenerated unchanged.

In one process, into temporary report folders:

1. ``run_all(jobs=1)``: every run of ``reports.toml`` one after another (the baseline);
2. ``run_all(jobs=N)`` (``--jobs``, default 2): the same runs on a local process pool;
3. ``regenerate`` of the parallel folder with nothing changed: only the plan (notebook
   hashes, parameters, the sha256 of each data file read), no run executes.

Printed: wall time of each, its ratio to the serial baseline, the number of runs and
failures, and the sum of the runs' own durations (from their manifests). Other
processes on the machine share the CPU, so compare ratios measured together.

Usage::

    .venv/bin/python benchmarks/report_benchmark.py [--jobs 2] [--grid reports.toml]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from research.report.regenerate import regenerate
from research.report.runner import load_grid, run_all


def _timed(label: str, call) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    print(f"  {label}: {seconds:.1f} s", flush=True)
    return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="processes of the parallel run")
    parser.add_argument("--grid", type=Path, default=None, help="report grid (reports.toml)")
    arguments = parser.parse_args()
    specs = load_grid(arguments.grid)
    print(f"{len(specs)} runs; {os.cpu_count()} CPUs; load average before: "
          f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="report-benchmark-") as scratch:
        serial_dir, parallel_dir = Path(scratch) / "serial", Path(scratch) / "parallel"
        seconds, manifests = _timed("serial (jobs=1)",
                                    lambda: run_all(specs, reports_dir=serial_dir, jobs=1))
        rows.append(("serial, jobs=1", seconds, manifests))
        seconds, manifests = _timed(
            f"parallel (jobs={arguments.jobs})",
            lambda: run_all(specs, reports_dir=parallel_dir, jobs=arguments.jobs))
        rows.append((f"parallel, jobs={arguments.jobs}", seconds, manifests))
        seconds, (decisions, manifests) = _timed(
            "regenerate, nothing changed", lambda: regenerate(specs, parallel_dir))
        reruns = [d.name for d in decisions if d.rerun]
        if reruns:
            print(f"  (regenerate reran {reruns}: "
                  f"{[d.reasons for d in decisions if d.rerun]})")
        rows.append(("regenerate, unchanged", seconds, manifests))
    print(f"load average after: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    baseline = rows[0][1]
    print(f"\n{'what':<24}{'wall s':>9}{'ratio':>9}{'runs':>6}{'failed':>8}{'sum of runs s':>15}")
    for label, seconds, manifests in rows:
        failed = sum(m["status"] != "succeeded" for m in manifests)
        own = sum(m.get("duration_seconds") or 0 for m in manifests)
        print(f"{label:<24}{seconds:>9.2f}{seconds / baseline:>9.3f}{len(manifests):>6}"
              f"{failed:>8}{own:>15.1f}")


if __name__ == "__main__":
    main()
