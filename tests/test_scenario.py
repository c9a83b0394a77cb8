"""SCENARIO module: a past episode's published profile applied to a projected flow."""

from __future__ import annotations

import dataclasses
import json
import warnings
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from research.errors import EstimationError, ParameterError  # noqa: E402
from research.estimate.ban_study import ban_study  # noqa: E402
from research.estimate.event_study import event_study  # noqa: E402
from research.estimate.result import Headline  # noqa: E402
from research.estimate.scenario import (  # noqa: E402
    SCENARIO_COLUMNS,
    Profile,
    apply_profile,
    ban_scenario,
    compare_episodes,
    episode_study,
    measure_scope,
    positive_reason,
    profile_from_event_study,
    usable_episodes,
)
from research.plots import scenario_profile_plot  # noqa: E402
from research.report.outputs import record_result  # noqa: E402

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
    fig = result.plot(caption="A made-up profile.")
    ax = fig.axes[0]
    assert "SCENARIO" in ax.get_title()
    assert ax.get_ylabel() == "USD million per month"
    assert ax.get_xlabel() == "month"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("SCENARIO") for t in legend)
    assert any(t.get_text().startswith("A made-up profile. Source:") for t in fig.texts)
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
    with pytest.raises(EstimationError, match="A4 .* no untreated destination"):
        ban_scenario("C6", "rare_earths", "A4")
    # B5 took effect 2024-12-03 and the monthly data end 2024-12: one post-event month
    with pytest.raises(EstimationError, match="B5 .* 1 post-event month"):
        ban_scenario("C6", "rare_earths", "B5")
    with pytest.raises(ParameterError, match="basket 'antimony' has no monthly product "
                                             "group; allowed: .*'rare_earths'"):
        ban_scenario("C6", "antimony", "B1")
    with pytest.raises(ParameterError, match="horizon"):
        ban_scenario("C6", "rare_earths", "B1", horizon=0)


# --- the C6 scenarios on the bundled data, against the published episode estimates -------

def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@pytest.fixture(scope="module")
def published_b2():
    # the published ban-impact report's call: default window (-24, 12), anticipation from
    # the registry dates, value_usd, basket graphite
    return quiet(ban_study, "B2", "graphite", sensitivity=False)


@pytest.fixture(scope="module")
def c6_b2():
    return quiet(ban_scenario, "C6", "rare_earths", "B2", 12, n_sim=200)


@pytest.fixture(scope="module")
def c6_a2():
    return quiet(ban_scenario, "C6", "rare_earths", "A2", 12, n_sim=200)


@pytest.fixture(scope="module")
def c6_b1():
    return quiet(ban_scenario, "C6", "gallium", "B1", 12, n_sim=200)


def test_b2_profile_is_the_published_estimate(c6_b2, published_b2):
    table = c6_b2.tidy()
    # bundled monthly data end 2024-12; C6 took effect 2026-01-06 (registry)
    assert c6_b2.last_observed == pd.Timestamp("2024-12-01")
    assert c6_b2.ban == pd.Timestamp("2026-01-01")
    assert table["period"].min() == pd.Timestamp("2025-01-01")
    assert table["period"].max() == pd.Timestamp("2026-12-01")
    post = table[table["event_time"] >= 0]
    assert len(post) == 12 and table["actual"].isna().all()
    # scenario month m takes the published coefficient b_m exactly: s_t / c_t = exp(b_m)
    published = published_b2.fits["value_usd"].coef.loc[list(range(12))].to_numpy()
    ratio = (post["scenario"] / post["counterfactual"]).to_numpy()
    assert ratio == pytest.approx(np.exp(published), rel=1e-9)
    # and its aggregates and verdict are the published ones
    h = c6_b2.headline
    assert h.verdict == published_b2.headline.verdict
    assert h.verdict_reasons == published_b2.headline.verdict_reasons
    assert [e["pct"] for e in h.profile] == [e["pct"] for e in published_b2.headline.profile]
    assert all(e["episode"] == "B2" for e in h.profile)
    assert h.months_to_recovery == published_b2.headline.months_to_recovery
    # B2 was announced 2023-10-20 and took effect 2023-12-01: October and November are its
    # 2 anticipation months; C6 took effect the day it was announced, so they are not applied
    assert published_b2.design.anticipation == 2
    assert "published B2 profile (its 2 anticipation month(s) not applied)" in h.label
    assert "differs from the published estimate" not in h.label
    assert h.conf_low <= h.estimate <= h.conf_high
    # a negative total carries no "because" clause
    assert (h.estimate > 0) == ("above the projection because" in h.label)
    # the 2025 measures on rare earths are named as missing from the projection
    assert any("B7 (2025-04-04" in n for n in c6_b2.notes)
    plt.close(c6_b2.plot())


def test_a_longer_horizon_or_another_outcome_is_stated():
    # the published window ends at event month 12; 14 months need months 0..13
    _, differences = quiet(episode_study, "B2", horizon=14)
    assert differences == ("re-estimated with event months -24 to 13 for the 14-month "
                           "horizon (published: -24 to 12)",)
    _, differences = quiet(episode_study, "B2", outcome="quantity")
    assert "led by quantity (kg)" in differences[0]
    # the data end 2024-12 = B2 event month 12 (2023-12 + 12), so month 13 does not exist
    with pytest.raises(ParameterError, match="horizon=14 months exceeds the 13 months"):
        quiet(ban_scenario, "C6", "rare_earths", "B2", 14, n_sim=200)


def test_not_identified_episodes_give_no_number(c6_a2, c6_b1):
    # A2: annual data from 2010, the year of the halt: no untreated pre-period, no profile
    h = c6_a2.headline
    assert c6_a2.path == "none" and c6_a2.profile is None
    assert h.verdict == "not identified" and "no untreated pre-period" in h.verdict_reasons[0]
    assert h.estimate is None and h.conf_low is None
    assert h.label.startswith("SCENARIO not available: A2 is not identified and has no "
                              "event-time profile to borrow")
    post = c6_a2.tidy().query("event_time >= 0")
    assert post["scenario"].isna().all() and post["counterfactual"].notna().all()
    assert np.isnan(c6_a2.totals["scenario_gap_pct"])
    # B1: 811292 mixes Ga/Ge with other metals, so the study is not identified; its
    # coefficients give a descriptive path without band or total
    h = c6_b1.headline
    assert c6_b1.path == "descriptive"
    assert h.verdict == "not identified" and "811292" in h.verdict_reasons[0]
    assert h.estimate is None
    assert h.label.startswith("SCENARIO not quotable: B1 is not identified")
    post = c6_b1.tidy().query("event_time >= 0")
    assert post["scenario"].notna().all() and post["scenario_low"].isna().all()
    assert np.isnan(c6_b1.totals["scenario_gap_pct"])
    assert not c6_b1.totals_table()["scenario"].iloc[1:].notna().any()
    for result in (c6_a2, c6_b1):
        assert "not identified" in result.summary()
        fig = result.plot()
        assert "not identified" in fig.axes[0].get_title()
        plt.close(fig)
        fig = scenario_profile_plot(result)
        assert "(not identified)" in fig.axes[0].get_title()
        plt.close(fig)
    # B1: announced 2023-07-03, effective 2023-08-01, so 1 anticipation month: anticipation,
    # impact, persistence and cumulative are published
    assert c6_a2.profile_table().empty and len(c6_b1.profile_table()) == 4


def test_positive_headline_carries_its_reason():
    # months 0-2 at -20%, months 3-11 at +30%: with equal weights the total is
    # (3 * -0.2 + 9 * 0.3) / 12 = +17.5%; the +-25% seasonal wave cannot flip the sign
    # (even weights e^0.25 on the falls and e^-0.25 on the rises give 2.10 - 0.77 > 0)
    b = np.log(np.r_[np.full(3, 0.8), np.full(9, 1.3)])
    up = Profile("UP", "fall then rise", "M", np.arange(12), b, np.full(12, 0.01))
    result = apply_profile(seasonal_series(), BAN, up, horizon=12, n_sim=200)
    assert result.headline.estimate > 0
    assert result.headline.label.endswith(
        "above the projection because the borrowed UP profile rises in month(s) 3-11 (up "
        "to +30%), which outweighs its fall in month(s) 0-2 (down to -20%)")
    assert positive_reason(np.log([1.1, 0.9, 1.1, 1.1]), "X") == (
        "above the projection because the borrowed X profile rises in month(s) 0, 2-3 "
        "(up to +10%), which outweighs its fall in month(s) 1 (down to -10%)")


def test_scope_of_the_measure_is_stated(c6_b2):
    # registry: C6 bans dual-use exports to Japanese military end-users; C10 (2026-01-08)
    # reports broader de facto curbs on rare earths and magnets to Japanese firms
    text, short = measure_scope("C6", "JPN", "rare_earths")
    assert "military end-users" in text and "not every buyer" in text
    assert "upper bound on the flow the end-user ban affects" in text
    assert "closer to the broader curbs reported in C10" in text
    assert short == ("whole flow scaled: an upper bound for C6's end-user scope (broader "
                     "curbs reported: C10)")
    assert text in c6_b2.headline.estimand
    assert c6_b2.headline.label.endswith(short)
    # C10 is on rare earths and magnets, not on the gallium group: no "closer to" claim
    text, short = measure_scope("C6", "JPN", "gallium_germanium")
    assert "closer to" not in text and short.endswith("end-user scope")


def test_result_contract_and_record(c6_b1, monkeypatch, tmp_path):
    assert isinstance(c6_b1.headline, Headline)
    assert not hasattr(c6_b1, "headline_record")
    with pytest.raises(dataclasses.FrozenInstanceError):
        c6_b1.method = "x"
    assert list(c6_b1.tidy().columns) == SCENARIO_COLUMNS
    fig = c6_b1.plot(title="a title", caption="a caption")
    assert fig.axes[0].get_title() == "a title"
    plt.close(fig)
    monkeypatch.setenv("RESEARCH_RUN_DIR", str(tmp_path))
    record_result(c6_b1, kind="scenario")
    written = json.loads((tmp_path / "headline.json").read_text())
    assert written["verdict"] == "not identified"
    assert written["verdict_reasons"] == list(c6_b1.headline.verdict_reasons)
    assert written["estimate"] is None and written["label"] == c6_b1.headline.label
    assert written["method"] == c6_b1.method and written["kind"] == "scenario"


def test_compare_episodes_shows_each_verdict(published_b2):
    table = quiet(compare_episodes, "C6", "rare_earths", ["A2", "B2", "C2"], n_sim=200)
    rows = table.set_index("episode")
    assert rows.loc["A2", "verdict"] == "not identified"
    assert np.isnan(rows.loc["A2", "scenario_gap_pct"])
    assert rows.loc["A2", "note"] == "not identified: no profile to borrow"
    assert rows.loc["B2", "verdict"] == published_b2.verdict
    assert np.isfinite(rows.loc["B2", "scenario_gap_pct"])
    assert rows.loc["C2", "verdict"] == "not run"
    assert "names no product basket" in rows.loc["C2", "note"]
