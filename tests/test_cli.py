"""The estimators from the shell on a user's CSV file: ``research estimate ...``.

Each command runs on a file written from simulated data with a known effect, and its
``--json`` output must recover it; a bad file gives a named error with exit code 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from research.cli import app
from research.simulate import simulate_ban_panel


def run_json(*arguments: str) -> list[dict]:
    result = CliRunner().invoke(app, ["estimate", *arguments, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def row(records: list[dict], term: str) -> dict:
    [found] = [r for r in records if r["term"] == term]
    return found


def test_event_study_recovers_the_simulated_effect(tmp_path: Path) -> None:
    path = tmp_path / "panel.csv"
    simulate_ban_panel(seed=1, size=2000, effect=-0.5).to_csv(path, index=False)
    records = run_json("event-study", str(path), "--outcome", "flow", "--unit", "unit",
                       "--time", "period", "--treated", "treated", "--event", "2020-01-01")
    post = row(records, "post_average")  # log points; the simulation's effect is -0.5
    assert post["conf_low"] < -0.5 < post["conf_high"]
    assert post["estimate"] == pytest.approx(-0.5, abs=0.05)


def test_its_recovers_a_step(tmp_path: Path) -> None:
    # log flow = 10 + seasonal swing + AR(1) noise, stepping down by 0.4 log points in
    # 2023-01: the step term (log points) must cover -0.4
    rng = np.random.default_rng(3)
    months = pd.date_range("2017-01-01", "2024-12-01", freq="MS")
    noise = np.zeros(len(months))
    for t in range(1, len(months)):
        noise[t] = 0.5 * noise[t - 1] + rng.normal(0, 0.05)
    season = 0.2 * np.sin(2 * np.pi * months.month / 12)
    log_flow = 10 + season + noise - 0.4 * (months >= "2023-01-01")
    path = tmp_path / "series.csv"
    pd.DataFrame({"month": months.strftime("%Y-%m-%d"), "usd": np.exp(log_flow)}).to_csv(
        path, index=False)
    records = run_json("its", str(path), "--outcome", "usd", "--time", "month",
                       "--intervention", "2023-01-01")
    step = row(records, "step")
    assert step["conf_low"] < -0.4 < step["conf_high"]


def test_synth_recovers_a_drop(tmp_path: Path) -> None:
    # 12 units on two common factors; unit A is an exact mix of B and C before 2020
    # and falls by 40% from 2020 on, so the average post gap is -40%
    rng = np.random.default_rng(5)
    years = np.arange(2005, 2025)
    factors = np.vstack([1 + 0.05 * (years - 2005), 1 + 0.3 * np.sin(years / 2)])
    rows = []
    loads = {f"U{i:02d}": rng.uniform(0.2, 1.0, 2) for i in range(11)}
    loads["A"] = 0.5 * loads["U00"] + 0.5 * loads["U01"]
    for name, load in loads.items():
        values = 100 * load @ factors
        if name == "A":
            values = np.where(years >= 2020, 0.6 * values, values)
        rows += [{"country": name, "year": y, "imports": v} for y, v in
                 zip(years, values, strict=True)]
    path = tmp_path / "panel.parquet"
    pd.DataFrame(rows).to_parquet(path)
    records = run_json("synth", str(path), "--outcome", "imports", "--unit", "country",
                       "--time", "year", "--treated-unit", "A", "--intervention", "2020")
    assert row(records, "average_post_gap_pct")["estimate"] == pytest.approx(-40, abs=1)


def test_bad_dates_name_the_file_column_and_value(tmp_path: Path) -> None:
    path = tmp_path / "series.csv"
    pd.DataFrame({"month": ["2023-01-01", "January"], "usd": [1.0, 2.0]}).to_csv(path,
                                                                                 index=False)
    result = CliRunner().invoke(app, ["estimate", "its", str(path), "--outcome", "usd",
                                      "--time", "month", "--intervention", "2023-01-01"])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert str(path.name) in message and "'month'" in message and "'January'" in message


def test_synth_intervention_must_match_the_time_column(tmp_path: Path) -> None:
    path = tmp_path / "panel.csv"
    pd.DataFrame({"country": ["A", "B"], "year": [2019, 2019], "imports": [1.0, 2.0]}).to_csv(
        path, index=False)
    result = CliRunner().invoke(app, ["estimate", "synth", str(path), "--outcome", "imports",
                                      "--unit", "country", "--time", "year", "--treated-unit",
                                      "A", "--intervention", "2020-01"])
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    assert "--intervention '2020-01'" in message and "'year'" in message
