"""Synthetic control: recovery of known weights and effect, placebo p-value, real data."""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from research import datasets
from research.errors import EstimationError, ParameterError
from research.estimate.synth import donor_weights, synthetic_control

TRUE_WEIGHTS = {"D0": 0.6, "D1": 0.4}


def simulate_synth_panel(effect_pct: float = -30.0, n_donors: int = 8, n_periods: int = 60,
                         intervention_index: int = 48, seed: int = 0) -> pd.DataFrame:
    """Donors follow two common factors plus a fixed unit-specific path; the treated unit
    is exactly 0.6 * D0 + 0.4 * D1 before the intervention and that combination times
    (1 + effect_pct / 100) after it, so the true average post gap is effect_pct % of
    the synthetic (= the 0.6/0.4 combination)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_periods)
    factors = np.vstack([1 + 0.01 * t, np.sin(2 * np.pi * t / 12)])
    loadings = rng.uniform(0.5, 1.5, size=(n_donors, 2))
    # the unit-specific part makes the donor paths linearly independent, so the
    # convex combination that reproduces the treated unit is unique
    donors = 100 * (loadings @ factors + rng.normal(0, 0.05, size=(n_donors, n_periods)))
    combination = TRUE_WEIGHTS["D0"] * donors[0] + TRUE_WEIGHTS["D1"] * donors[1]
    post = t >= intervention_index
    treated = combination * np.where(post, 1 + effect_pct / 100, 1.0)
    periods = pd.date_range("2019-01-01", periods=n_periods, freq="MS")
    frames = [pd.DataFrame({"unit": f"D{j}", "period": periods, "y": donors[j]})
              for j in range(n_donors)]
    frames.append(pd.DataFrame({"unit": "TREATED", "period": periods, "y": treated}))
    panel = pd.concat(frames, ignore_index=True)
    panel.attrs["intervention"] = periods[intervention_index]
    return panel


def _fit(panel, **kwargs):
    return synthetic_control(panel, unit="unit", time="period", outcome="y",
                             treated_unit="TREATED",
                             intervention=panel.attrs["intervention"], **kwargs)


def test_donor_weights_by_hand():
    # y = 0.25 * a + 0.75 * b exactly; the constrained least squares solution is exact
    a, b, c = np.array([1.0, 2, 3, 4]), np.array([2.0, 1, 0, 1]), np.array([5.0, 5, 5, 4])
    y = 0.25 * a + 0.75 * b
    weights = donor_weights(y, np.column_stack([a, b, c]))
    assert weights == pytest.approx([0.25, 0.75, 0.0], abs=1e-6)


def test_recovers_weights_and_effect_in_levels():
    panel = simulate_synth_panel(effect_pct=-30.0)
    result = _fit(panel, normalize="none")
    weights = result.weights
    assert weights.sum() == pytest.approx(1.0)
    assert (weights >= 0).all()
    for donor, weight in TRUE_WEIGHTS.items():
        assert weights[donor] == pytest.approx(weight, abs=0.05)
    assert weights.drop(list(TRUE_WEIGHTS)).sum() < 0.05
    assert result.pre_rmspe < 1e-3 * panel["y"].abs().mean()
    # treated = synthetic * 0.7 after the intervention: the gap is -30 % of the synthetic
    assert result.average_post_gap_pct == pytest.approx(-30.0, abs=0.5)
    table = result.tidy()
    assert table["term"].tolist() == ["average_post_gap_pct"]
    assert np.isnan(table.loc[0, "std_error"]) and np.isnan(table.loc[0, "conf_low"])


def test_large_effect_gets_smallest_permutation_p_value():
    panel = simulate_synth_panel(effect_pct=-50.0, n_donors=8)
    result = _fit(panel)
    # 8 donors + the treated unit: the smallest attainable p-value is 1 / 9
    assert result.p_value <= 1 / 9 + 1e-9
    assert result.tidy().loc[0, "p_value"] == result.p_value
    assert len(result.placebos) == 9
    assert result.placebos["treated"].sum() == 1
    assert set(result.gaps.columns) == {"TREATED", *[f"D{j}" for j in range(8)]}


def test_pre_mean_normalisation_rescales_level_weights():
    # Indexed to pre-means, treated/m1 = sum_j (a_j m_j / m1) * D_j/m_j: the weights become
    # a_j * m_j / m1 with m1 = sum_j a_j m_j (still non-negative and summing to one).
    panel = simulate_synth_panel(effect_pct=-30.0)
    pre = panel[panel["period"] < panel.attrs["intervention"]]
    means = pre.groupby("unit")["y"].mean()
    expected = {d: w * means[d] / means["TREATED"] for d, w in TRUE_WEIGHTS.items()}
    result = _fit(panel, normalize="pre_mean")
    for donor, weight in expected.items():
        assert result.weights[donor] == pytest.approx(weight, abs=0.05)
    assert result.average_post_gap_pct == pytest.approx(-30.0, abs=0.5)


def test_input_checks():
    panel = simulate_synth_panel()
    with pytest.raises(ParameterError):
        _fit(panel, normalize="zscore")
    with pytest.raises(ParameterError):
        _fit(panel, donors=["D0", "XX"])
    with pytest.raises(EstimationError):
        _fit(panel, donors=["D0"])
    with pytest.raises(EstimationError):
        synthetic_control(panel, unit="unit", time="period", outcome="y",
                          treated_unit="TREATED", intervention="2010-01-01")


def test_japan_rare_earths_placebo_style_run():
    flows = datasets.load("china_exports_monthly")
    panel = flows[(flows["product"] == "rare_earths") & (flows["partner_iso3"] != "WLD")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = synthetic_control(panel, unit="partner_iso3", time="period",
                                   outcome="value_usd", treated_unit="JPN",
                                   intervention="2023-12-01")
    donors = sorted(set(panel["partner_iso3"]) - {"JPN"})
    assert sorted(result.weights.index) == donors
    assert result.weights.sum() == pytest.approx(1.0)
    assert (result.weights >= -1e-12).all()
    assert np.isfinite(result.average_post_gap_pct)
    assert np.isfinite(result.pre_rmspe) and result.pre_rmspe > 0
    # the p-value is a rank among len(donors) + 1 ratios
    n = len(donors) + 1
    assert result.p_value * n == pytest.approx(round(result.p_value * n))
    assert 1 / n <= result.p_value <= 1
    # the synthetic path is the weighted sum of indexed donor paths
    assert result.paths["gap"].to_numpy() == pytest.approx(
        (result.paths["treated"] - result.paths["synthetic"]).to_numpy())
    for fig in (result.plot(), result.plot_paths()):
        assert fig.axes[0].get_ylabel()
        plt.close(fig)
    assert "synthetic control" in result.summary()


def _exchangeable_panel(seed: int, n_units: int = 9, n_periods: int = 40,
                        intervention_index: int = 30) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Units drawn independently from one two-factor model, no effect anywhere."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_periods)
    factors = np.vstack([1 + 0.01 * t, np.sin(2 * np.pi * t / 12)])
    y = 100 * (rng.uniform(0.5, 1.5, size=(n_units, 2)) @ factors) \
        + rng.normal(0, 3, size=(n_units, n_periods))
    periods = pd.date_range("2019-01-01", periods=n_periods, freq="MS")
    panel = pd.DataFrame({"unit": np.repeat([f"U{j}" for j in range(n_units)], n_periods),
                          "period": np.tile(periods, n_units), "y": y.ravel()})
    return panel, periods[intervention_index]


@pytest.mark.slow
def test_permutation_p_value_is_uniform_without_an_effect():
    # Nine exchangeable units and no effect. With placebo_pool="all" every unit's synthetic
    # is built from all the others, so the nine RMSPE ratios are exchangeable and the
    # treated unit's p-value is uniform on {1/9, ..., 9/9}: P(p <= 2/9) = 2/9 = 0.222.
    # Over 200 draws the rejection share has binomial SD sqrt(0.222 * 0.778 / 200) = 0.029;
    # 3 SD gives [0.134, 0.310].
    p_values = []
    for seed in range(200):
        panel, intervention = _exchangeable_panel(seed=5000 + seed)
        result = synthetic_control(panel, unit="unit", time="period", outcome="y",
                                   treated_unit="U0", intervention=intervention,
                                   placebo_pool="all")
        p_values.append(result.p_value)
    p_values = np.array(p_values)
    assert 0.134 <= np.mean(p_values <= 2 / 9 + 1e-9) <= 0.310
    # the mean of a uniform on {1/9, ..., 9/9} is 5/9, variance (81 - 1) / 12 / 81
    assert abs(np.mean(p_values) - 5 / 9) < 3 * np.sqrt((80 / 81) / 12 / 200) + 0.02


def test_placebo_pool_choices():
    panel = simulate_synth_panel(effect_pct=-50.0, n_donors=8)
    everyone = _fit(panel, placebo_pool="all")
    assert everyone.p_value <= 1 / 9 + 1e-9  # a -50 % gap still ranks first
    with pytest.raises(ParameterError, match="placebo_pool='treated'"):
        _fit(panel, placebo_pool="treated")
