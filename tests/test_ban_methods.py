"""One ban, three estimators: ITS and synthetic control on a ban design, compared."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from research.errors import EstimationError
from research.estimate.ban_impact import ban_design, ban_event_study
from research.estimate.ban_methods import (
    COMPARISON_COLUMNS,
    ban_its,
    ban_synth,
    compare_methods,
    few_cluster_inference,
    other_methods,
)
from research.estimate.its import ITSResult
from research.estimate.synth import SynthResult

EFFECTIVE = pd.Timestamp("2023-12-01")  # B2 graphite licensing, registry


def fake_flows() -> pd.DataFrame:
    """Monthly group flows 2017-2024: controls rare_earths and polysilicon to JPN and KOR
    (smooth positive random paths); China's world graphite exports equal
    0.5 * rare_earths:JPN + 0.5 * polysilicon:KOR before December 2023 and 0.6 times that
    from December 2023 on (a 40% drop)."""
    rng = np.random.default_rng(3)
    periods = pd.date_range("2017-01-01", "2024-12-01", freq="MS")
    paths = {}
    for product in ("rare_earths", "polysilicon", "graphite"):
        for partner in ("JPN", "KOR"):
            walk = np.cumsum(0.05 * rng.standard_normal(len(periods)))
            paths[(product, partner)] = 1e7 * np.exp(walk + rng.uniform(0, 1))
    base = 0.5 * paths[("rare_earths", "JPN")] + 0.5 * paths[("polysilicon", "KOR")]
    paths[("graphite", "WLD")] = base * np.where(periods >= EFFECTIVE, 0.6, 1.0)
    rows = []
    for (product, partner), values in paths.items():
        rows.append(pd.DataFrame({"reporter_iso3": "CHN", "partner_iso3": partner,
                                  "flow": "export", "product": product,
                                  "product_level": "group", "period": periods, "freq": "M",
                                  "value_usd": values, "quantity": values / 50.0,
                                  "quantity_unit": "kg", "source": "simulated"}))
    return pd.concat(rows, ignore_index=True)


def test_synthetic_control_recovers_a_known_drop():
    # Before the measure the treated flow is 0.5 A + 0.5 B in levels, a convex combination
    # of two donors once each is indexed to its pre-mean (weights m_A / (m_A + m_B) and
    # m_B / (m_A + m_B)), so the pre-period fit is exact; afterwards the flow is 0.6 times
    # that combination, so every post gap is -0.4 * synthetic and the average post gap is
    # 100 * (0.6 - 1) = -40% of the synthetic.
    flows = fake_flows()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = ban_design("B2", "graphite", flows=flows)
        result = ban_synth(design, window=(-24, 12), anticipation=1, flows=flows)
    assert sorted(design.controls) == ["polysilicon", "rare_earths"]
    assert result.average_post_gap_pct == pytest.approx(-40.0, abs=0.5)
    assert result.pre_rmspe < 0.01
    assert set(result.weights[result.weights > 0.01].index) == {"JPN:rare_earths",
                                                               "KOR:polysilicon"}
    # the window runs from 2021-12 to 2024-12 without the anticipation month 2023-11
    index = result.paths.index
    assert index.min() == pd.Timestamp("2021-12-01")
    assert index.max() == pd.Timestamp("2024-12-01")
    assert pd.Timestamp("2023-11-01") not in index and len(index) == 37 - 1


@pytest.fixture(scope="module")
def b2():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result, design = ban_event_study("B2", "graphite", anticipation=1)
        others = other_methods(design, anticipation=1, window=(-24, 12))
    return result, design, others


def test_graphite_b2_three_methods(b2):
    result, design, others = b2
    its, synth = others["interrupted time series"], others["synthetic control"]
    assert isinstance(its, ITSResult) and isinstance(synth, SynthResult)
    # ITS on China's world graphite exports, post months 2023-12 .. 2024-12 (window_post 12)
    assert its.series.name == "graphite to WLD"
    assert its.counterfactual.index.min() == EFFECTIVE
    assert its.counterfactual.index.max() == pd.Timestamp("2024-12-01")
    assert its.shortfall["months"] == 13
    assert synth.treated_unit == "treated: graphite"
    assert synth.weights.sum() == pytest.approx(1.0)
    assert set(synth.weights.index) <= set(design.panel.loc[~design.panel["treated"], "unit"])
    table = compare_methods({"event study": result, **others})
    assert list(table.columns) == COMPARISON_COLUMNS
    rows = table.set_index("method")
    assert rows.loc["event study", "effect_pct"] == pytest.approx(result.post_effect["pct"])
    s = its.shortfall  # the ITS shortfall in % of the counterfactual total
    assert rows.loc["interrupted time series", "effect_pct"] == pytest.approx(
        100 * s["estimate"] / s["counterfactual_total"])
    # the interval: the actual total against the counterfactual total's upper bound
    # (actual - conf_low of the shortfall), so never below -100 %
    actual, upper = s["actual_total"], s["actual_total"] - s["conf_low"]
    assert rows.loc["interrupted time series", "conf_low"] == pytest.approx(
        100 * (actual / upper - 1))
    assert rows.loc["interrupted time series", "conf_low"] > -100
    assert rows.loc["synthetic control", "effect_pct"] == pytest.approx(
        synth.average_post_gap_pct)
    assert np.isnan(rows.loc["synthetic control", "conf_low"])


def test_annual_design_has_no_pre_period_for_its_or_synth():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        design = ban_design("A2", "rare_earths")
    with pytest.raises(EstimationError, match="data start in 2010"):
        ban_its(design)
    with pytest.raises(EstimationError, match="data start in 2010"):
        ban_synth(design)
    others = other_methods(design)
    assert all(isinstance(v, str) and "2010" in v for v in others.values())
    table = compare_methods(others)
    assert table["effect_pct"].isna().all()
    assert table["note"].str.startswith("not run: ").all()


def test_compare_methods_rejects_unknown_objects():
    with pytest.raises(TypeError, match="cannot compare a int"):
        compare_methods({"x": 3})


def test_few_cluster_inference_on_graphite_b2(b2):
    result, design, _ = b2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table, runs = few_cluster_inference(result, design, anticipation=1, n_boot=999)
    assert len(table) == 3 and table["effect_pct"].notna().all()
    rows = table.set_index(table["inference"].str.split(" ").str[0])
    # the cluster-robust and placebo rows report the same PPML post average
    assert rows.loc["cluster-robust", "effect_pct"] == pytest.approx(result.post_effect["pct"])
    assert rows.loc["placebo", "effect_pct"] == pytest.approx(result.post_effect["pct"])
    # products design: the treatment is reassigned to each of the 2 control groups, so the
    # permutation p-value is a multiple of 1 / (1 + 2)
    p = rows.loc["placebo", "p_value"]
    assert len(runs["placebo in space"].placebos) == 2
    assert 3 * p == pytest.approx(round(3 * p)) and 1 / 3 <= p <= 1
    wild = rows.loc["wild"]
    assert wild["conf_low"] <= wild["effect_pct"] <= wild["conf_high"]
    assert 0 <= wild["p_value"] <= 1
