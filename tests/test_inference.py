"""Few-treated-unit inference: permutation p-values, placebos in space, wild cluster bootstrap."""

from __future__ import annotations

import itertools
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from research.errors import (
    EstimationError,
    FewClustersWarning,
    IdentificationWarning,
    ParameterError,
)
from research.estimate.ban_impact import ban_design
from research.estimate.event_study import event_study
from research.estimate.inference import (
    permutation_p_value,
    placebo_in_space,
    placebo_in_space_panel,
    wild_bootstrap_event_study,
    wild_cluster_bootstrap,
)
from research.simulate import simulate_ban_panel


def test_permutation_p_value_by_hand():
    placebos = [-0.3, -0.1, 0.05, 0.2, 0.5]
    # two-sided: |placebo| >= 0.25 for -0.3 and 0.5 -> (1 + 2) / (1 + 5) = 0.5
    assert permutation_p_value(-0.25, placebos) == pytest.approx(3 / 6)
    # less: placebos <= -0.25: only -0.3 -> (1 + 1) / 6
    assert permutation_p_value(-0.25, placebos, "less") == pytest.approx(2 / 6)
    # greater: placebos >= -0.25: four of them -> 5 / 6
    assert permutation_p_value(-0.25, placebos, "greater") == pytest.approx(5 / 6)
    # the most extreme effect gets the smallest attainable p = 1 / (1 + J)
    assert permutation_p_value(-2.0, placebos) == pytest.approx(1 / 6)
    # ties count against the treated effect; NaN placebos are left out
    assert permutation_p_value(0.5, [0.5, np.nan, 0.1]) == pytest.approx(2 / 3)
    with pytest.raises(ParameterError, match="alternative='both'"):
        permutation_p_value(0.1, placebos, "both")


def _ols_post_effect(panel: pd.DataFrame) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = event_study(panel, outcome="flow", unit="unit", time="period",
                             treated="treated", event=panel.attrs["event"], window=(-6, 5),
                             method="ols_log")
    return result.post_effect["estimate"]


def test_placebo_in_space_with_one_treated_unit():
    # One treated destination with a large cut (-1.0 log points) among 12 units: no
    # placebo control comes close, so the p-value is the smallest attainable, 1 / 12.
    panel = simulate_ban_panel(n_units=12, n_treated=1, n_periods=12, event_index=6,
                               effect=-1.0, size=2000, dispersion=0.01, seed=4)
    result = placebo_in_space_panel(panel, _ols_post_effect, assign_by="unit")
    assert len(result.placebos) == 11 and result.treated_units == ["U000"]
    assert result.p_value == pytest.approx(1 / 12)
    assert result.actual == pytest.approx(-1.0, abs=0.1)
    # placebo units are untreated: their effects are centred on zero
    assert result.placebos["estimate"].abs().max() < 0.2
    table = result.tidy()
    assert table.loc[0, "p_value"] == result.p_value and np.isnan(table.loc[0, "std_error"])
    fig = result.plot()
    assert fig.axes[0].get_xlabel().startswith("average post-event effect")
    plt.close(fig)


def test_placebo_in_space_without_effect_is_not_extreme():
    panel = simulate_ban_panel(n_units=9, n_treated=2, n_periods=12, event_index=6,
                               effect=0.0, size=2000, dispersion=0.05, seed=8)
    result = placebo_in_space_panel(panel, _ols_post_effect, assign_by="unit")
    # two treated units: every pair of the 7 controls is a placebo, C(7, 2) = 21
    assert len(result.placebos) == 21
    assert result.p_value > 0.05
    # with a cap below 21 the placebo sets are a random sample without repeats
    capped = placebo_in_space_panel(panel, _ols_post_effect, assign_by="unit",
                                    max_placebos=10, seed=1)
    assert len(capped.placebos) == 10 and capped.placebos["assigned"].is_unique


def test_placebo_input_checks():
    panel = simulate_ban_panel(n_units=6, n_treated=1, n_periods=12, event_index=6, seed=1)
    panel.loc[0, "treated"] = False  # U000 now mixed
    with pytest.raises(ParameterError, match="varies within"):
        placebo_in_space_panel(panel, _ols_post_effect, assign_by="unit")
    with pytest.raises(ParameterError, match="design must be a BanDesign"):
        placebo_in_space(panel)


def test_placebo_in_space_on_the_graphite_products_design():
    # B2 (graphite licensing, Dec 2023) compares the graphite group with the polysilicon
    # and rare-earth groups: reassigning the treatment to each control group gives 2
    # placebos, so p >= 1/3 whatever the effect: the products design cannot reject alone.
    design = ban_design("B2", "graphite")
    result = placebo_in_space(design, method="ols_log", window=(-12, 12))
    assert result.assign_by == "product"
    assert sorted(result.placebos["assigned"]) == ["polysilicon", "rare_earths"]
    assert result.p_value >= 1 / 3
    # without graphite, treating polysilicon vs rare earths and the reverse are the same
    # comparison with opposite signs
    est = result.placebos.set_index("assigned")["estimate"]
    assert est["polysilicon"] == pytest.approx(-est["rare_earths"], abs=1e-8)
    assert result.headline["estimate"] == pytest.approx(100 * np.expm1(result.actual))


def test_placebo_in_space_on_the_2010_japan_design():
    # A2: the 2010 halt to Japan, annual WITS destinations: Japan vs each other destination.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = ban_design("A2", "rare_earths")
    result = placebo_in_space(design, method="ols_log", alternative="less", max_placebos=30,
                              seed=5)
    assert result.assign_by == "partner_iso3" and result.treated_units == ["JPN"]
    assert len(result.placebos) == 30  # a random 30 of the ~80 other destinations
    n_ok = int(result.placebos["estimate"].notna().sum())
    assert n_ok >= 10
    assert 1 / (1 + n_ok) <= result.p_value <= 1
    # p is the rank of Japan's effect among the placebos (one-sided, "less")
    rank = 1 + (result.placebos["estimate"].dropna() <= result.actual).sum()
    assert result.p_value == pytest.approx(rank / (1 + n_ok))


def _clustered_data(seed: int, n_clusters: int = 8, size: int = 25, beta: float = 0.0):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_clusters), size)
    x1 = rng.normal(size=n_clusters)[g] + rng.normal(size=len(g))
    x2 = rng.normal(size=len(g))
    u = rng.normal(size=n_clusters)[g] + rng.normal(size=len(g))
    y = 1 + beta * x1 + 0.5 * x2 + u
    return y, pd.DataFrame({"const": 1.0, "x1": x1, "x2": x2}), g


def _crv1_t(y, x, g, column, null=0.0):
    """Cluster-robust t by the textbook formula (loop over clusters)."""
    n, k = x.shape
    n_clusters = len(np.unique(g))
    inv = np.linalg.inv(x.T @ x)
    beta = inv @ x.T @ y
    e = y - x @ beta
    meat = sum(np.outer(x[g == c].T @ e[g == c], x[g == c].T @ e[g == c])
               for c in np.unique(g))
    v = inv @ meat @ inv * n_clusters / (n_clusters - 1) * (n - 1) / (n - k)
    return (beta[column] - null) / np.sqrt(v[column, column])


def test_wild_bootstrap_matches_a_brute_force_enumeration():
    # 8 clusters, Rademacher: all 2^8 = 256 sign vectors. Brute force: impose the null by
    # dropping x1, rebuild y* = fitted_r + v_g * resid_r, refit and recompute the CRV1 t.
    y, x, g = _clustered_data(seed=0, beta=0.2)
    with pytest.warns(FewClustersWarning, match="webb"):
        result = wild_cluster_bootstrap(y, x, g, "x1")
    assert result.enumerated and result.n_boot == 256
    xa = x.to_numpy()
    restricted = xa[:, [0, 2]]
    fit_r = restricted @ np.linalg.lstsq(restricted, y, rcond=None)[0]
    resid_r = y - fit_r
    t_obs = _crv1_t(y, xa, g, 1)
    t_boot = np.array([_crv1_t(fit_r + resid_r * np.array(v)[g], xa, g, 1)
                       for v in itertools.product([1.0, -1.0], repeat=8)])
    assert result.t_stat == pytest.approx(t_obs, rel=1e-9)
    np.testing.assert_allclose(np.sort(result.t_boot), np.sort(t_boot), rtol=1e-8, atol=1e-10)
    assert result.p_value == pytest.approx(np.mean(np.abs(t_boot) >= abs(t_obs) - 1e-12))
    # the CRV1 standard error is statsmodels' cluster-robust one
    reference = sm.OLS(y, xa).fit(cov_type="cluster", cov_kwds={"groups": g})
    assert result.std_error == pytest.approx(reference.bse[1], rel=1e-9)


def test_wild_bootstrap_interval_inverts_the_test():
    y, x, g = _clustered_data(seed=5, n_clusters=14, beta=0.3)
    result = wild_cluster_bootstrap(y, x, g, "x1", weights="webb", n_boot=1999, seed=2)
    assert result.conf_low < result.estimate < result.conf_high
    # at the bounds the p-value crosses 0.05: just inside is not rejected, outside is
    width = result.conf_high - result.conf_low
    for bound, inward in ((result.conf_low, 1), (result.conf_high, -1)):
        inside = wild_cluster_bootstrap(y, x, g, "x1", null=bound + inward * 1e-3 * width,
                                        weights="webb", n_boot=1999, seed=2).p_value
        outside = wild_cluster_bootstrap(y, x, g, "x1", null=bound - inward * 1e-3 * width,
                                         weights="webb", n_boot=1999, seed=2).p_value
        assert inside > 0.05 >= outside


def test_wild_bootstrap_linear_combination_and_inputs():
    y, x, g = _clustered_data(seed=3, n_clusters=12)
    combo = wild_cluster_bootstrap(y, x, g, {"x1": 0.5, "x2": 0.5}, n_boot=999, seed=1)
    beta = np.linalg.lstsq(x.to_numpy(), y, rcond=None)[0]
    assert combo.estimate == pytest.approx(0.5 * beta[1] + 0.5 * beta[2])
    same = wild_cluster_bootstrap(y, x, g, np.array([0, 0.5, 0.5]), n_boot=999, seed=1)
    assert same.p_value == combo.p_value
    with pytest.raises(ParameterError, match="weights='mammen'"):
        wild_cluster_bootstrap(y, x, g, "x1", weights="mammen")
    with pytest.raises(ParameterError, match="'x9'"):
        wild_cluster_bootstrap(y, x, g, "x9")
    with pytest.warns(FewClustersWarning, match="1 treated cluster"):
        wild_cluster_bootstrap(y, x, g, "x1", n_boot=199, seed=1, treated_clusters=1)


@pytest.mark.slow
def test_wild_bootstrap_rejects_about_5_percent_under_the_null():
    # 300 data sets with the null true (beta = 0), 12 clusters with correlated errors and
    # regressor. A correct 5 % test rejects with probability 0.05: the rejection share has
    # binomial SD sqrt(0.05 * 0.95 / 300) = 0.0126, so it lies in [0.012, 0.088] (3 SD)
    # with probability > 0.99. (The CRV1 t with normal critical values over-rejects here.)
    rejections, naive = [], []
    for seed in range(300):
        y, x, g = _clustered_data(seed=100 + seed, n_clusters=12, size=20)
        result = wild_cluster_bootstrap(y, x, g, "x1", weights="webb", n_boot=399,
                                        seed=seed)
        rejections.append(result.p_value <= 0.05)
        naive.append(abs(result.t_stat) > 1.96)
    assert 0.012 <= np.mean(rejections) <= 0.088
    assert np.mean(naive) >= np.mean(rejections)


def test_wild_bootstrap_event_study_on_the_graphite_design():
    design = ban_design("B2", "graphite")
    result = wild_bootstrap_event_study(design, window=(-12, 12), n_boot=1999, seed=3)
    # 14 destination clusters (all treated: the treated group is exported to 8 of them)
    assert result.n_clusters == design.panel["partner_iso3"].nunique()
    assert result.weights == "webb" and not result.enumerated
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ols = event_study(design.panel, outcome="value_usd", unit="unit", time="period",
                          treated="treated", event=design.event, window=(-12, 12),
                          cluster="partner_iso3", method="ols_log")
    # same point estimate as the log-linear event study's post average
    assert result.estimate == pytest.approx(ols.post_effect["estimate"], abs=1e-9)
    assert 0 < result.p_value <= 1 and result.conf_low < result.estimate < result.conf_high
    assert result.tidy().loc[0, "term"] == "post_average"
    fig = result.plot()
    plt.close(fig)


def test_wild_bootstrap_needs_two_clusters():
    y, x, g = _clustered_data(seed=1)
    with pytest.raises(EstimationError, match="at least 2 clusters"):
        wild_cluster_bootstrap(y, x, np.zeros(len(y)), "x1")


def test_wild_bootstrap_with_one_treated_destination_warns_and_is_unbounded():
    # A2 (2010 halt to Japan): one treated destination among ~80. The WCR test cannot
    # reject anything with a single treated cluster (MacKinnon and Webb 2017): warned,
    # and the inverted interval is unbounded.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IdentificationWarning)
        design = ban_design("A2", "rare_earths")
    with pytest.warns(FewClustersWarning, match="1 treated cluster"):
        result = wild_bootstrap_event_study(design, n_boot=999, seed=1)
    assert np.isinf(result.conf_low) and np.isinf(result.conf_high)
    assert any("unbounded" in note for note in result.notes)
