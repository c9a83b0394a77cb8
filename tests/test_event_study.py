"""Event study: recovery of a known effect from simulated panels, and input checks."""

import warnings

import numpy as np
import pandas as pd
import pytest

from research.errors import EstimationError, FewClustersWarning, ParameterError
from research.estimate.event_study import event_periods, event_study
from research.simulate import simulate_ban_panel


def _fit(panel, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        return event_study(panel, outcome="flow", unit="unit", time="period",
                           treated="treated", event=panel.attrs["event"], **kwargs)


def test_event_periods_counts_whole_months_and_years():
    periods = pd.Series(pd.to_datetime(["2023-11-01", "2023-12-01", "2024-02-01"]))
    # December 2023 is month 0; November is -1; February 2024 is +2.
    assert event_periods(periods, pd.Timestamp("2023-12-01"), "M").tolist() == [-1, 0, 2]
    assert event_periods(periods, pd.Timestamp("2023-01-01"), "A").tolist() == [0, 0, 1]


@pytest.mark.parametrize("method", ["ppml", "ols_log"])
def test_recovers_known_effect(method):
    # DGP: log E[y] shifts by -0.5 for treated units from the event on (research.simulate).
    panel = simulate_ban_panel(n_units=40, n_treated=10, effect=-0.5, size=500, seed=3)
    result = _fit(panel, window=(-12, 12), method=method)
    post = result.post_effect
    assert abs(post["estimate"] - (-0.5)) < 4 * post["std_error"] + 0.02
    # percent change is 100 * (exp(b) - 1): exp(-0.5) - 1 = -39.3 %
    assert result.headline["estimate"] == pytest.approx(100 * np.expm1(post["estimate"]))
    assert post["conf_low"] < post["estimate"] < post["conf_high"]


def test_no_effect_gives_flat_pre_trends_and_zero_effect():
    panel = simulate_ban_panel(n_units=40, n_treated=10, effect=0.0, size=500, seed=11)
    result = _fit(panel, window=(-12, 12))
    post = result.post_effect
    assert post["conf_low"] < 0 < post["conf_high"] or abs(post["estimate"]) < 0.05
    assert result.pretrend["df"] == 11  # months -12..-2 (reference -1 excluded)
    assert 0 <= result.pretrend["p_value"] <= 1


def test_anticipation_window_is_estimated_separately():
    # Front-loading: +0.4 log points in the 2 months before the event, -0.5 after.
    panel = simulate_ban_panel(n_units=40, n_treated=10, effect=-0.5, size=500,
                               anticipation=2, anticipation_effect=0.4, seed=5)
    result = _fit(panel, window=(-12, 12), anticipation=2)
    assert result.reference == -3
    antic = result.anticipation_effect
    assert abs(antic["estimate"] - 0.4) < 4 * antic["std_error"] + 0.02
    # Without the anticipation window the front-loading contaminates the reference month
    # only if the reference is inside it; here the estimate must stay near -0.5.
    assert abs(result.post_effect["estimate"] + 0.5) < 4 * result.post_effect["std_error"] + 0.02


def test_tidy_table_has_the_standard_columns():
    panel = simulate_ban_panel(seed=1)
    tidy = _fit(panel, window=(-6, 6)).tidy()
    assert list(tidy.columns) == ["term", "estimate", "std_error", "conf_low", "conf_high",
                                  "p_value", "n_obs", "method"]
    assert tidy.loc[0, "term"] == "post_average"


def test_few_clusters_warns():
    panel = simulate_ban_panel(n_units=8, n_treated=2, seed=2)
    with pytest.warns(FewClustersWarning, match="8 clusters"):
        event_study(panel, outcome="flow", unit="unit", time="period", treated="treated",
                    event=panel.attrs["event"], window=(-6, 6))


def test_bad_inputs_are_named():
    panel = simulate_ban_panel(seed=1)
    with pytest.raises(ParameterError, match="method='ols'"):
        event_study(panel, outcome="flow", unit="unit", time="period", treated="treated",
                    event=panel.attrs["event"], method="ols")
    with pytest.raises(ParameterError, match="'volume'"):
        event_study(panel, outcome="volume", unit="unit", time="period", treated="treated",
                    event=panel.attrs["event"])
    with pytest.raises(EstimationError, match="both treated and control"):
        event_study(panel.assign(treated=True), outcome="flow", unit="unit", time="period",
                    treated="treated", event=panel.attrs["event"])


@pytest.mark.slow
@pytest.mark.parametrize("method, size", [("ppml", 50.0), ("ols_log", 2000.0)])
def test_post_effect_intervals_cover_about_95_percent(method, size):
    # 100 simulated panels (40 destinations, 20 treated, 8 months, gamma noise with
    # variance 0.3 on top of Poisson). The true post effect on log E[y] is -0.5; with
    # size 2000 the Poisson noise is negligible, so -0.5 is also the log-linear estimand
    # (the gamma noise has the same distribution everywhere). Coverage of a correct 95 %
    # interval over 100 draws has binomial SD sqrt(0.95 * 0.05 / 100) = 0.022: it lies
    # above 0.885 (3 SD) with probability > 0.99.
    covered, estimates = [], []
    for seed in range(100):
        panel = simulate_ban_panel(n_units=40, n_treated=20, n_periods=8, event_index=4,
                                   effect=-0.5, size=size, dispersion=0.3, seed=7000 + seed)
        post = _fit(panel, window=(-4, 3), method=method).post_effect
        covered.append(post["conf_low"] <= -0.5 <= post["conf_high"])
        estimates.append(post["estimate"])
    assert np.mean(covered) >= 0.885
    # and no bias: the mean of 100 estimates is within 3 standard errors of -0.5
    assert abs(np.mean(estimates) + 0.5) < 3 * np.std(estimates) / np.sqrt(100)


def test_event_study_matrix_matches_the_fitted_design():
    from research.estimate.event_study import event_study_matrix

    panel = simulate_ban_panel(n_units=10, n_treated=3, n_periods=12, event_index=6, seed=9)
    matrix = event_study_matrix(panel, outcome="flow", unit="unit", time="period",
                                treated="treated", event=panel.attrs["event"],
                                window=(-6, 5), method="ols_log")
    # event times -6..5 without the reference -1: 11 dummies, then 9 unit and 11 month
    # dummies (first level dropped) and the constant
    assert matrix.terms == [-6, -5, -4, -3, -2, 0, 1, 2, 3, 4, 5]
    assert matrix.design.shape[1] == 1 + 11 + 9 + 11
    assert matrix.n_clusters == 10 and matrix.n_treated_clusters == 3
    # each event-time dummy is one for the 3 treated units in that month
    assert (matrix.design[matrix.names].sum() == 3).all()
