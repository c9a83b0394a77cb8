"""PPML with absorbed fixed effects: replication, statsmodels cross-check, separation, CLI."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from typer.testing import CliRunner

from research import datasets
from research.cli import app
from research.errors import (
    DataNotFoundError,
    FewClustersWarning,
    ParameterError,
    SeparationWarning,
)
from research.estimate.gravity import PPMLResult, parse_formula, ppml


@pytest.fixture(scope="module")
def agtpa() -> pd.DataFrame:
    try:
        panel = datasets.load("gravity_agtpa")
    except DataNotFoundError as error:
        pytest.skip(f"gravity_agtpa not available: {error}")
    return panel[panel["year"].isin([1986, 1990, 1994, 1998, 2002, 2006])]


def test_replicates_yotov_et_al_2016_rta(agtpa: pd.DataFrame) -> None:
    # Yotov, Piermartini, Monteiro and Larch (2016), An Advanced Guide to Trade Policy
    # Analysis, Chapter 2 Application 2 (also ../shared/data/README.md): PPML with
    # exporter-year, importer-year and pair fixed effects, 4-year intervals, clustered by
    # pair: RTA 0.557 (0.102), N = 28,482 after ppmlhdfe drops separated observations.
    with pytest.warns(SeparationWarning):
        result = ppml(agtpa, "trade ~ RTA | exporter^year + importer^year + pair_id",
                      cluster="pair_id")
    row = result.tidy().set_index("term").loc["RTA"]
    assert round(row["estimate"], 3) == 0.557
    assert row["std_error"] == pytest.approx(0.102, abs=0.003)
    assert row["n_obs"] == 28482 and result.n_obs == 28482
    assert result.converged


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    """A small trade panel: 8 exporters x 8 importers x 4 years, overdispersed counts."""
    rng = np.random.default_rng(20240611)
    grid = pd.MultiIndex.from_product([range(8), range(8), range(4)],
                                      names=["exporter", "importer", "year"]).to_frame(index=False)
    grid["x1"] = rng.normal(size=len(grid))
    grid["x2"] = rng.binomial(1, 0.3, size=len(grid))
    grid["pair"] = grid["exporter"] * 10 + grid["importer"]
    eta = (0.5 * grid["x1"] - 0.3 * grid["x2"] + rng.normal(size=8)[grid["exporter"]]
           + rng.normal(size=8)[grid["importer"]] + 0.1 * grid["year"])
    grid["y"] = rng.poisson(np.exp(eta) * rng.gamma(2.0, 0.5, size=len(grid))).astype(float)
    return grid


def _statsmodels_dummies(data: pd.DataFrame, **fit_kwargs):
    design = pd.concat([
        data[["x1", "x2"]].astype(float),
        pd.get_dummies(data["exporter"], prefix="e", dtype=float),
        pd.get_dummies(data["importer"], prefix="i", drop_first=True, dtype=float),
        pd.get_dummies(data["year"], prefix="t", drop_first=True, dtype=float),
    ], axis=1)
    return sm.GLM(data["y"].to_numpy(), design, family=sm.families.Poisson()).fit(
        tol=1e-12, **fit_kwargs)


def test_matches_statsmodels_glm_with_dummies(simulated: pd.DataFrame) -> None:
    assert (simulated.groupby("exporter")["y"].sum() > 0).all()  # no separation here
    result = ppml(simulated, "y ~ x1 + x2 | exporter + importer + year", cluster="pair")
    groups = pd.factorize(simulated["pair"])[0]
    reference = _statsmodels_dummies(simulated, cov_type="cluster",
                                     cov_kwds={"groups": groups, "use_correction": False})
    np.testing.assert_allclose(result.coef[["x1", "x2"]], reference.params[["x1", "x2"]],
                               rtol=0, atol=1e-6)
    # ppmlhdfe's clustered VCE is the uncorrected sandwich times G / (G - 1) (no N-K term)
    n_clusters = simulated["pair"].nunique()
    expected = reference.bse[["x1", "x2"]] * np.sqrt(n_clusters / (n_clusters - 1))
    np.testing.assert_allclose(result.tidy()["std_error"], expected, rtol=1e-6)
    assert result.n_clusters == 64 and result.n_obs == len(simulated)


def test_robust_se_matches_statsmodels_hc0(simulated: pd.DataFrame) -> None:
    # without a cluster: HC0 sandwich times N / (N - 1), as ppmlhdfe's vce(robust)
    result = ppml(simulated, "y ~ x1 + x2 | exporter + importer + year")
    reference = _statsmodels_dummies(simulated, cov_type="HC0")
    n = len(simulated)
    np.testing.assert_allclose(result.tidy()["std_error"],
                               reference.bse[["x1", "x2"]] * np.sqrt(n / (n - 1)), rtol=1e-6)


def test_no_fixed_effects_matches_statsmodels(simulated: pd.DataFrame) -> None:
    result = ppml(simulated, "y ~ x1 + x2")
    reference = sm.GLM(simulated["y"], sm.add_constant(simulated[["x1", "x2"]].astype(float)),
                       family=sm.families.Poisson()).fit(tol=1e-12)
    np.testing.assert_allclose(result.coef[["Intercept", "x1", "x2"]],
                               reference.params[["const", "x1", "x2"]], atol=1e-6)


def test_separated_pair_is_dropped(simulated: pd.DataFrame) -> None:
    data = simulated.assign(y=simulated["y"] + 1)  # every flow positive ...
    for fe in (["pair"], ["exporter", "year"], ["importer", "year"]):
        assert (data.groupby(fe)["y"].sum() > 0).all()  # no separation before the change
    zero_pair = data["pair"].eq(23)  # ... but exporter 2 -> importer 3 never trades: 4 rows
    data.loc[zero_pair, "y"] = 0.0
    with pytest.warns(SeparationWarning, match="4 separated"):
        result = ppml(data, "y ~ x1 + x2 | exporter^year + importer^year + pair",
                      cluster="pair")
    assert result.n_obs == len(data) - 4 and result.n_separated == 4
    # same estimate as fitting without those rows (their pair effect is -infinity)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing left to separate
        without = ppml(data[~zero_pair], "y ~ x1 + x2 | exporter^year + importer^year + pair",
                       cluster="pair")
    np.testing.assert_allclose(result.coef, without.coef, atol=1e-9)


def test_few_clusters_warns(simulated: pd.DataFrame) -> None:
    with pytest.warns(FewClustersWarning, match="8 clusters"):
        ppml(simulated, "y ~ x1 + x2 | exporter + importer", cluster="exporter")


def test_result_interface(simulated: pd.DataFrame) -> None:
    result = ppml(simulated, "y ~ x1 + x2 | exporter + importer + year", cluster="pair")
    assert isinstance(result, PPMLResult)
    assert list(result.tidy().columns) == ["term", "estimate", "std_error", "conf_low",
                                           "conf_high", "p_value", "n_obs", "method"]
    assert "x1" in result.summary()
    assert result.headline["term"] == "x1"


def test_parse_formula_interactions() -> None:
    parsed = parse_formula("trade ~ RTA + DIST | exporter^year + importer^year + pair_id")
    assert parsed.outcome == "trade" and parsed.regressors == ("RTA", "DIST")
    assert parsed.fixed_effects == (("exporter", "year"), ("importer", "year"), ("pair_id",))


@pytest.mark.parametrize("formula, message", [
    ("y ~ x1 + nope | exporter", "nope"),
    ("y ~ x1 | exporter + missing_fe", "missing_fe"),
    ("y x1", "must look like"),
    ("y ~ | exporter", "no regressor"),
    ("y ~ x1^x2 | exporter", "only allowed after"),
])
def test_bad_formula_raises(simulated: pd.DataFrame, formula: str, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        ppml(simulated, formula)


def test_negative_outcome_and_unknown_cluster_raise(simulated: pd.DataFrame) -> None:
    data = simulated.assign(y=simulated["y"] - 1000)
    with pytest.raises(ParameterError, match="negative"):
        ppml(data, "y ~ x1 | exporter")
    with pytest.raises(ParameterError, match="nowhere"):
        ppml(simulated, "y ~ x1 | exporter", cluster="nowhere")


def test_cli_ppml_json_and_summary(simulated: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    simulated.to_csv(path, index=False)
    runner = CliRunner()
    out = runner.invoke(app, ["estimate", "ppml", str(path), "--formula",
                              "y ~ x1 + x2 | exporter + importer + year", "--cluster", "pair",
                              "--json"])
    assert out.exit_code == 0, out.output
    records = json.loads(out.stdout)
    expected = ppml(simulated, "y ~ x1 + x2 | exporter + importer + year", cluster="pair")
    assert [r["term"] for r in records] == ["x1", "x2"]
    assert records[0]["estimate"] == pytest.approx(expected.coef["x1"], abs=1e-9)
    out = runner.invoke(app, ["estimate", "ppml", str(path), "--formula",
                              "y ~ x1 + x2 | exporter + importer + year"])
    assert out.exit_code == 0 and "Method: PPML" in out.stdout


def test_cli_ppml_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.parquet"
    out = CliRunner().invoke(app, ["estimate", "ppml", str(missing), "--formula", "y ~ x | a"])
    assert out.exit_code == 1
    assert "nothing.parquet" in out.output and "not found" in out.output
