"""SCENARIO module: a past episode's profile applied to a projected flow."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from research.errors import EstimationError, ParameterError  # noqa: E402
from research.estimate.event_study import event_study  # noqa: E402
from research.estimate.scenario import (  # noqa: E402
    SCENARIO_COLUMNS,
    Profile,
    apply_profile,
    ban_scenario,
    profile_from_event_study,
    usable_episodes,
)

BAN = pd.Timestamp("2026-01-06")
TRUE_PROFILE = 1 - 0.6 * 0.75 ** np.arange(12)  # flow / counterfactual: -60%, recovering


def seasonal_series(seed: int = 7) -> pd.Series:
    """2017-01..2024-12, level 5e7 USD with a +-25% seasonal wave and 2% noise."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2017-01-01", "2024-12-01", freq="MS")
    season = np.exp(0.25 * np.sin(2 * np.pi * (index.month - 1) / 12))
    values = 5e7 * season * np.exp(0.02 * rng.standard_normal(len(index)))
    series = pd.Series(values, index=index, name="simulated flow")
    series.attrs["unit"] = "USD"
    return series


def episode_panel(seed: int = 11) -> pd.DataFrame:
    """A past episode: 10 treated and 10 control units, Poisson counts of mean ~2e4, with
    treated flows multiplied by TRUE_PROFILE[k] in event month k = 0..11 (event 2019-01)."""
    rng = np.random.default_rng(seed)
    periods = pd.date_range("2018-01-01", "2019-12-01", freq="MS")
    shocks = np.exp(0.1 * rng.standard_normal(len(periods)))  # common, absorbed by period FE
    rows = []
    for unit in range(20):
        treated = unit < 10
        level = 2e4 * np.exp(0.3 * rng.standard_normal())
        for t, period in enumerate(periods):
            k = t - 12
            effect = TRUE_PROFILE[k] if treated and k >= 0 else 1.0
            rows.append({"unit": f"u{unit}", "period": period, "treated": treated,
                         "y": rng.poisson(level * shocks[t] * effect)})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def estimated_profile() -> Profile:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 20 clusters: FewClustersWarning
        result = event_study(episode_panel(), outcome="y", unit="unit", time="period",
                             treated="treated", event="2019-01-01", window=(-12, 11))
    return profile_from_event_study(result, "SIM", "simulated episode")


def test_scenario_reproduces_a_known_profile(estimated_profile):
    # Derivation: the scenario is s_t = c_t * exp(b^_k) for event month k = t - ban, so
    # s_t / c_t = exp(b^_k) exactly. The episode was simulated with E[y] multiplied by
    # TRUE_PROFILE[k] for treated units, so PPML with unit and period effects gives
    # b^_k -> log TRUE_PROFILE[k]; with 10 units of mean ~2e4 per side, Var(b^_k) is about
    # 4 / (10 * 2e4) (four cell totals), se ~ 0.005, so a 0.03 tolerance is > 5 se.
    result = apply_profile(seasonal_series(), BAN, estimated_profile, horizon=12)
    post = result.tidy().query("event_time >= 0")
    ratio = (post["scenario"] / post["counterfactual"]).to_numpy()
    assert ratio == pytest.approx(np.exp(estimated_profile.log_effect[:12]), rel=1e-9)
    assert ratio == pytest.approx(TRUE_PROFILE, abs=0.03)
    assert post["profile_pct"].to_numpy() == pytest.approx(100 * (TRUE_PROFILE - 1), abs=3)
    # the projection carries the simulated seasonal wave: exp(0.25 sin(2 pi (month-1)/12))
    table = result.tidy()
    wave = 5e7 * np.exp(0.25 * np.sin(2 * np.pi * (table["period"].dt.month - 1) / 12))
    assert table["counterfactual"].to_numpy() == pytest.approx(wave.to_numpy(), rel=0.05)
    # before the ban the scenario is the projection
    pre = table[table["event_time"] < 0]
    assert (pre["scenario"] == pre["counterfactual"]).all()
    assert len(pre) == 12 and pre["period"].min() == pd.Timestamp("2025-01-01")
    # total: sum of c_t (exp(b_k) - 1) over the 12 months, in % of sum c_t
    c = post["counterfactual"].to_numpy()
    expected_pct = 100 * (c * (ratio - 1)).sum() / c.sum()
    assert result.totals["scenario_gap_pct"] == pytest.approx(expected_pct)
    assert result.totals["scenario_gap_pct_low"] < expected_pct \
        < result.totals["scenario_gap_pct_high"]


def widens(width: np.ndarray) -> bool:
    """Wider at the end than at the start, and never more than 1% below the widest so far.

    The forecast variance is sigma^2 * sum_{j<h} psi_j^2 (never falls with h) plus a term
    from the uncertainty about the state at the data's end, which can shrink slightly at
    long horizons (0.1% of the variance on the bundled rare-earth series): hence the 1%.
    """
    return bool(width[-1] > width[0] and (width >= 0.99 * np.maximum.accumulate(width)).all())


def test_bands_widen_with_the_horizon():
    # with a constant profile se, sqrt(s_t^2 + se^2) widens as s_t does
    profile = Profile("FLAT", "constant -30% with se 0.1", "M", np.arange(12),
                      np.full(12, np.log(0.7)), np.full(12, 0.1))
    table = apply_profile(seasonal_series(), BAN, profile, horizon=12).tidy()
    cf_width = np.log(table["counterfactual_high"] / table["counterfactual_low"]).to_numpy()
    assert widens(cf_width)
    post = table[table["event_time"] >= 0]
    sc_width = np.log(post["scenario_high"] / post["scenario_low"]).to_numpy()
    assert widens(sc_width)
    # the scenario band adds the profile's variance to the forecast's
    assert (sc_width > cf_width[table["event_time"].to_numpy() >= 0]).all()


def test_one_month_total_matches_the_analytic_band():
    # with horizon 1 the total is the single month, so its simulated quantiles estimate
    # the same lognormal quantiles as the analytic monthly band (Monte Carlo error with
    # 20,000 draws ~1% of the band)
    profile = Profile("ONE", "one month -50%, se 0.2", "M", [0], [np.log(0.5)], [0.2])
    result = apply_profile(seasonal_series(), BAN, profile, horizon=1, n_sim=20000)
    month = result.tidy().iloc[-1]
    assert result.totals["scenario_total_low"] == pytest.approx(month["scenario_low"],
                                                                rel=0.04)
    assert result.totals["scenario_total_high"] == pytest.approx(month["scenario_high"],
                                                                 rel=0.04)


def test_labels_say_scenario():
    profile = Profile("FLAT", "constant -30% with se 0.1", "M", np.arange(12),
                      np.full(12, np.log(0.7)), np.full(12, 0.1))
    result = apply_profile(seasonal_series(), BAN, profile, horizon=12, target="sim flow")
    assert result.method == "scenario: FLAT profile applied to sim flow"
    assert result.headline["label"].startswith("SCENARIO (not an estimate)")
    assert list(result.tidy().columns) == SCENARIO_COLUMNS
    assert not any("estimate" in c for c in result.tidy().columns)
    assert not any("estimate" in c for c in result.totals_table().columns)
    assert result.summary().startswith("SCENARIO, not an estimate")
    fig = result.plot()
    ax = fig.axes[0]
    assert "SCENARIO" in ax.get_title()
    assert ax.get_ylabel() == "USD million per month"
    assert ax.get_xlabel() == "month"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("SCENARIO") for t in legend)
    assert any(t.get_text().startswith("Source:") for t in fig.texts)
    plt.close(fig)


def test_annual_profile_maps_years_to_months():
    # annual event time k covers scenario months 12k .. 12k + 11
    profile = Profile("ANN", "annual", "A", [0, 1], [np.log(0.9), np.log(0.5)], [0.1, 0.1])
    assert profile.positions(24).tolist() == [0] * 12 + [1] * 12
    with pytest.raises(ParameterError, match="horizon=25 months exceeds the 24 months"):
        profile.positions(25)
    gappy = Profile("GAP", "monthly with a hole", "M", [0, 2], [0.0, 0.0], [0.1, 0.1])
    with pytest.raises(EstimationError, match=r"event time\(s\) \[1\]"):
        gappy.positions(3)


def test_event_study_without_post_coefficients_raises():
    table = pd.DataFrame({"event_time": [-3, -2, -1], "estimate": [0.1, 0.2, 0.0],
                          "std_error": [0.1, 0.1, 0.0]})
    with pytest.raises(EstimationError, match="no usable post-event coefficient"):
        profile_from_event_study(SimpleNamespace(event_time=table, freq="M"), "X", "x")


def test_parameter_checks():
    assert {"A2", "B1", "B2"} <= set(usable_episodes())
    with pytest.raises(ParameterError, match="unknown episode 'Z9'.*'B1'"):
        ban_scenario("C6", "rare_earths", "Z9")
    with pytest.raises(EstimationError, match="C2 has no usable event-time coefficients: it "
                                              "names no product basket"):
        ban_scenario("C6", "rare_earths", "C2")
    with pytest.raises(EstimationError, match="A4 .* needs a specific target"):
        ban_scenario("C6", "rare_earths", "A4")
    with pytest.raises(ParameterError, match="basket 'antimony' has no monthly product "
                                             "group; allowed: .*'rare_earths'"):
        ban_scenario("C6", "antimony", "B1")
    with pytest.raises(ParameterError, match="horizon"):
        ban_scenario("C6", "rare_earths", "B1", horizon=0)


@pytest.mark.parametrize("episode", ["A2", "B1"])
def test_c6_on_the_bundled_data(episode):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = ban_scenario("C6", "rare_earths", episode, horizon=12)
    table = result.tidy()
    # bundled monthly data end 2024-12; C6 took effect 2026-01-06 (registry)
    assert result.last_observed == pd.Timestamp("2024-12-01")
    assert result.ban == pd.Timestamp("2026-01-01")
    assert table["period"].min() == pd.Timestamp("2025-01-01")
    assert table["period"].max() == pd.Timestamp("2026-12-01")
    post = table[table["event_time"] >= 0]
    assert len(post) == 12 and table["actual"].isna().all()
    assert (table["unit"] == "USD").all()
    assert result.method.startswith(f"scenario: {episode} profile applied to China's "
                                    "rare_earths exports to JPN")
    ratio = (post["scenario"] / post["counterfactual"]).to_numpy()
    if episode == "A2":  # annual: one coefficient (2011 against 2010) for all 12 months
        assert np.allclose(ratio, ratio[0])
        assert any("Annual profile" in n for n in result.notes)
    else:
        assert np.ptp(ratio) > 0
    cf_width = np.log(table["counterfactual_high"] / table["counterfactual_low"]).to_numpy()
    assert widens(cf_width)
    assert (post["scenario_low"] <= post["scenario"]).all()
    assert (post["scenario"] <= post["scenario_high"]).all()
    # the 2025 measures on rare earths are named as missing from the projection
    assert any("B7 (2025-04-04" in n for n in result.notes)
    h = result.headline
    assert h["conf_low"] <= h["estimate"] <= h["conf_high"]
    plt.close(result.plot())
